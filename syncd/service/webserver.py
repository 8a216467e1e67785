"""syncd's single HTTP listener: metrics, liveness, readiness, the last report and webhooks.

Owns the WSGI application (routing, HEAD and OPTIONS, the views); it runs on waitress as set
up by :mod:`syncd.service.listener` (bounded worker threads and connections, a whole-request
deadline, strict ``Content-Length``).

Nothing here decides anything: readiness and the report come from callbacks, webhook bodies are
parsed by :mod:`syncd.service.webhook` and accepted events are handed to a callback; ``/metrics`` is
prometheus-client's WSGI app (OpenMetrics and gzip negotiation). Request headers and bodies are
never logged, so a webhook's shared secret cannot leak through access logs.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from http import HTTPStatus
from typing import TYPE_CHECKING, Any

import structlog
from prometheus_client import make_wsgi_app

from syncd.service.listener import ListenerLimits, RunningListener, listen
from syncd.service.webhook import WebhookError, WebhookEvent, parse_webhook

if TYPE_CHECKING:
    from collections.abc import Iterable

    from prometheus_client import CollectorRegistry

__all__ = [
    "DEFAULT_PORT",
    "MAX_WEBHOOK_BYTES",
    "ListenerLimits",
    "RunningListener",
    "start_server",
]

DEFAULT_PORT = 9477
MAX_WEBHOOK_BYTES = 1024 * 1024
_READ = frozenset({"GET", "HEAD"})
_ROUTES: dict[str, frozenset[str]] = {
    "/metrics": _READ,
    "/healthz": _READ,
    "/readyz": _READ,
    "/report": _READ,
    "/webhook/harbor": frozenset({"POST"}),
}
_log = structlog.get_logger(__name__)
StartResponse = Callable[..., Any]
_DEFAULT_LIMITS = ListenerLimits()


class _App:
    """The WSGI application: routing, views and the webhook receiver."""

    def __init__(
        self,
        *,
        metrics_registry: CollectorRegistry,
        readiness: Callable[[], tuple[bool, str]],
        report: Callable[[], str | None],
        on_webhook: Callable[[WebhookEvent], None],
        webhook_secret: str | None,
    ) -> None:
        self.metrics = make_wsgi_app(metrics_registry)
        self.readiness = readiness
        self.report = report
        self.on_webhook = on_webhook
        self.webhook_secret = webhook_secret

    def __call__(self, environ: dict[str, Any], start: StartResponse) -> Iterable[bytes]:
        """Route one request."""
        method, path = environ["REQUEST_METHOD"], environ.get("PATH_INFO", "")
        _log.debug("webserver.request", method=method, path=path)
        allowed = _ROUTES.get(path)
        if allowed is None:
            return _json(start, HTTPStatus.NOT_FOUND, {"error": "not found"})
        allow = {"Allow": ", ".join(sorted(allowed | {"OPTIONS"}))}
        if method == "OPTIONS":
            return _send(start, HTTPStatus.NO_CONTENT, b"", "text/plain", headers=allow)
        if method not in allowed:
            error = {"error": f"method {method[:16]} not allowed"}
            return _json(start, HTTPStatus.METHOD_NOT_ALLOWED, error, headers=allow)
        if path == "/webhook/harbor":
            return self._webhook(environ, start)
        if method == "HEAD":
            return _headers_only(self._get(path, environ, start))
        return self._get(path, environ, start).sent

    def _get(self, path: str, environ: dict[str, Any], start: StartResponse) -> _Response:
        response = _Response(start)
        if path == "/metrics":  # prometheus-client negotiates OpenMetrics and gzip
            as_get = {**environ, "REQUEST_METHOD": "GET"}  # it refuses HEAD; we strip the body
            response.body = list(self.metrics(as_get, response.start_response))
        else:
            views = {"/healthz": self._healthz, "/readyz": self._readyz, "/report": self._report}
            response.body = views[path](response.start_response)
        return response

    # ------------------------------------------------------------------- views

    def _healthz(self, start: StartResponse) -> list[bytes]:
        return _text(start, HTTPStatus.OK, "ok")

    def _readyz(self, start: StartResponse) -> list[bytes]:
        try:
            ready, reason = self.readiness()
        except Exception:
            _log.exception("webserver.readiness_failed")
            ready, reason = False, "readiness check failed"
        status = HTTPStatus.OK if ready else HTTPStatus.SERVICE_UNAVAILABLE
        return _text(start, status, reason or ("ready" if ready else "not ready"))

    def _report(self, start: StartResponse) -> list[bytes]:
        try:
            document = self.report()
        except Exception:
            _log.exception("webserver.report_failed")
            return _json(start, HTTPStatus.INTERNAL_SERVER_ERROR, {"error": "internal error"})
        if document is None:
            error = {"error": "no pass has finished yet"}
            return _json(start, HTTPStatus.SERVICE_UNAVAILABLE, error)
        return _send(start, HTTPStatus.OK, document.encode(), "application/json")

    def _webhook(self, environ: dict[str, Any], start: StartResponse) -> list[bytes]:
        if not environ.get("CONTENT_LENGTH"):
            return _json(start, HTTPStatus.LENGTH_REQUIRED, {"error": "Content-Length required"})
        # waitress has read exactly Content-Length bytes (at most MAX_WEBHOOK_BYTES) already.
        body = environ["wsgi.input"].read(MAX_WEBHOOK_BYTES + 1)
        try:
            event = parse_webhook(
                body,
                authorization=environ.get("HTTP_AUTHORIZATION"),
                secret=self.webhook_secret,
            )
        except WebhookError as exc:
            _log.warning("webhook.rejected", status=exc.status, reason=exc.message)
            return _json(start, exc.status, {"error": exc.message})
        if not event.actionable:
            _log.debug("webhook.ignored", event_type=event.type)
            return _json(start, HTTPStatus.ACCEPTED, {"status": "ignored"})
        try:
            self.on_webhook(event)
        except Exception:
            _log.exception("webhook.handler_failed", event_type=event.type)
            return _json(start, HTTPStatus.INTERNAL_SERVER_ERROR, {"error": "internal error"})
        _log.debug("webhook.accepted", event_type=event.type, repository=event.repository)
        return _json(start, HTTPStatus.ACCEPTED, {"status": "accepted"})


# ----------------------------------------------------------------------- responses


class _Response:
    """A response whose status line and headers are passed on only when sent (HEAD support)."""

    def __init__(self, start: StartResponse) -> None:
        self._start = start
        self.status = ""
        self.headers: list[tuple[str, str]] = []
        self.body: list[bytes] = []

    def start_response(self, status: str, headers: list[tuple[str, str]], *_: object) -> None:
        """Record what a view answers; :attr:`sent` passes it on."""
        self.status, self.headers = status, headers

    @property
    def sent(self) -> list[bytes]:
        """Send the recorded status and headers; return the body."""
        self._start(self.status, self.headers)
        return self.body


def _headers_only(response: _Response) -> list[bytes]:
    """HEAD: the GET response's status and headers (with its Content-Length), no body."""
    size = sum(len(chunk) for chunk in response.body)
    if not any(name.lower() == "content-length" for name, _ in response.headers):
        response.headers.append(("Content-Length", str(size)))
    response.body = []
    return response.sent


def _text(start: StartResponse, status: HTTPStatus, text: str) -> list[bytes]:
    return _send(start, status, f"{text}\n".encode(), "text/plain; charset=utf-8")


def _json(
    start: StartResponse,
    status: int,
    payload: dict[str, str],
    *,
    headers: dict[str, str] | None = None,
) -> list[bytes]:
    return _send(start, status, json.dumps(payload).encode(), "application/json", headers=headers)


def _send(
    start: StartResponse,
    status: int,
    body: bytes,
    content_type: str,
    *,
    headers: dict[str, str] | None = None,
) -> list[bytes]:
    line = f"{int(status)} {HTTPStatus(status).phrase}"
    fields = [("Content-Type", content_type), ("Content-Length", str(len(body)))]
    start(line, fields + list((headers or {}).items()))
    return [body]


# ----------------------------------------------------------------------- lifecycle


def start_server(
    *,
    bind: str,
    port: int,
    metrics_registry: CollectorRegistry,
    readiness: Callable[[], tuple[bool, str]],
    on_webhook: Callable[[WebhookEvent], None],
    webhook_secret: str | None,
    report: Callable[[], str | None] = lambda: None,
    limits: ListenerLimits = _DEFAULT_LIMITS,
) -> RunningListener:
    """Bind ``bind:port`` and serve until :meth:`RunningListener.stop`; ``ListenerError`` if not."""
    app = _App(
        metrics_registry=metrics_registry,
        readiness=readiness,
        report=report,
        on_webhook=on_webhook,
        webhook_secret=webhook_secret,
    )
    running = listen(app, bind=bind, port=port, limits=limits, max_body=MAX_WEBHOOK_BYTES)
    _log.info("webserver.started", bind=bind, port=running.port)
    return running
