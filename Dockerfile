# syntax=docker/dockerfile:1
# syncd container image: multi-stage, non-root (uid 10001), read-only-root friendly.
#   docker build -t syncd:0.1.0 .
#   docker run --read-only -v ./syncd.yaml:/etc/syncd/syncd.yaml:ro -v syncd-state:/var/lib/syncd \
#     -p 9477:9477 syncd:0.1.0
# The base is python:3.11-slim (3.11.10, Debian bookworm) pinned by digest; bump tag and digest
# together (e.g. with Renovate or `docker buildx imagetools inspect python:3.11-slim`).

FROM python:3.11.10-slim-bookworm@sha256:5148c0e4bbb64271bca1d3322360ebf4bfb7564507ae32dd639322e4952a6b16 AS builder

ENV PIP_NO_CACHE_DIR=1 \
    PIP_DISABLE_PIP_VERSION_CHECK=1 \
    PYTHONDONTWRITEBYTECODE=1

WORKDIR /src
COPY pyproject.toml README.md ./
COPY syncd ./syncd
# Wheels for syncd and its dependencies, then an install into a prefix copied whole into the
# runtime stage: no compiler, pip cache or source tree reaches the final image.
RUN pip wheel --wheel-dir /wheels . \
    && pip install --no-index --find-links /wheels --prefix /install /wheels/*.whl


FROM python:3.11.10-slim-bookworm@sha256:5148c0e4bbb64271bca1d3322360ebf4bfb7564507ae32dd639322e4952a6b16 AS runtime

LABEL org.opencontainers.image.title="syncd" \
      org.opencontainers.image.description="Keeps replicating Harbor registries consistent" \
      org.opencontainers.image.licenses="Apache-2.0"

ENV PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    SYNCD_CONFIG=/etc/syncd/syncd.yaml \
    SYNCD_HTTP__BIND=0.0.0.0 \
    SYNCD_HTTP__PORT=9477 \
    SYNCD_STATE__PATH=/var/lib/syncd/state.sqlite3 \
    SYNCD_LOGGING__FORMAT=json

COPY --from=builder /install /usr/local

# libpq for psycopg (the PostgreSQL state backend, state.url): Debian's, like on the hosts.
RUN apt-get update \
    && apt-get install -y --no-install-recommends libpq5=15.* \
    && rm -rf /var/lib/apt/lists/*

RUN groupadd --system --gid 10001 syncd \
    && useradd --system --uid 10001 --gid 10001 --no-create-home \
       --home-dir /var/lib/syncd --shell /usr/sbin/nologin syncd \
    && install -d -o 10001 -g 10001 -m 0700 /var/lib/syncd \
    && install -d -m 0755 /etc/syncd

USER 10001:10001
WORKDIR /var/lib/syncd
VOLUME ["/var/lib/syncd"]
EXPOSE 9477

# The slim image has no curl: probe /healthz with the interpreter that is already there.
HEALTHCHECK --interval=30s --timeout=5s --start-period=20s --retries=3 \
    CMD ["python", "-c", "import urllib.request; urllib.request.urlopen('http://127.0.0.1:9477/healthz', timeout=3)"]

ENTRYPOINT ["syncd"]
CMD ["run"]
