"""``python -m bench.decodebench``: the artifact listing's decoder before and after, one process.

Owns the cold pass's parsing hot path measured alone: project-wide artifact pages as Harbor (and
the simulator) render them, one tag per artifact (``v0``..``v19`` per repository, as the
simulator generates), decoded for two instances with identical catalogs and grouped by repository
as ``HarborClient.list_project_artifacts`` does. Two decoders run on the same pages:

- **before**: the wire dataclasses (``TypeAdapter(list[ProjectArtifact])``) mapped row by row onto
  the core's ``Artifact`` (a frozenset per artifact, the digest as parsed), kept here as the
  baseline;
- **after**: ``syncd.harbor.decode.decode_project_artifacts`` (``syncd.harbor.rows``).

CPU is the best of ``--repeat`` runs (process time, garbage collection on, as in a pass); memory
is ``tracemalloc``'s (the Python heap: what the catalogs keep after decoding, and the peak while
decoding), per 100k artifacts. Prints figures and ratios; never asserts a time.
"""

from __future__ import annotations

import argparse
import gc
import json
import random
import time
import tracemalloc
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import TYPE_CHECKING

from pydantic import TypeAdapter

from bench.report import MB
from syncd.core.model import Artifact
from syncd.harbor import models as wire
from syncd.harbor.decode import decode_project_artifacts
from syncd.harbor.rows import when

if TYPE_CHECKING:
    from collections.abc import Callable, Sequence

__all__ = ["main", "pages"]

PER_100K = 100_000
INSTANCES = 2
_WIRE = TypeAdapter(list[wire.ProjectArtifact])
_EMPTY_SET: frozenset[str] = frozenset()


def _time(value: datetime) -> str:
    return value.strftime("%Y-%m-%dT%H:%M:%S.") + f"{value.microsecond // 1000:03d}Z"


def _row(i: int, *, digest: str, tags_per_repo: int, repos_per_project: int) -> dict[str, object]:
    repo, tag = divmod(i, tags_per_repo)
    pushed = _time(datetime(2026, 1, 1, tzinfo=UTC) + timedelta(seconds=7 * i, milliseconds=i))
    never = "0001-01-01T00:00:00.000Z"
    return {
        "id": i + 1,
        "type": "IMAGE",
        "media_type": "application/vnd.oci.image.config.v1+json",
        "manifest_media_type": "application/vnd.oci.image.manifest.v1+json",
        "project_id": repo // repos_per_project + 1,
        "repository_id": repo + 1,
        "repository_name": f"gen1-p{repo // repos_per_project:04d}/repo-{repo:05d}",
        "digest": digest,
        "size": 1234 + i,
        "push_time": pushed,
        "pull_time": never,
        "tags": [
            {
                "id": i + 1,
                "repository_id": repo + 1,
                "artifact_id": i + 1,
                "name": f"v{tag}",
                "push_time": pushed,
                "pull_time": never,
                "immutable": False,
            }
        ],
        "labels": None,
        "references": None,
        "accessories": None,
    }


def pages(artifacts: int, *, tags_per_repo: int = 20, repos_per_project: int = 100) -> list[bytes]:
    """Project-wide artifact pages of 100 rows, rendered as Harbor renders them."""
    rng = random.Random(1)
    rows = [
        _row(
            i,
            digest=f"sha256:{rng.getrandbits(256):064x}",
            tags_per_repo=tags_per_repo,
            repos_per_project=repos_per_project,
        )
        for i in range(artifacts)
    ]
    return [json.dumps(rows[i : i + 100]).encode() for i in range(0, len(rows), 100)]


def _before_row(a: wire.Artifact) -> Artifact:
    # The mapping as it was: fresh containers per artifact, only the short strings interned.
    tags, labels, refs, accessories = a.tags, a.labels, a.references, a.accessories
    return Artifact(
        digest=a.digest,
        tags=frozenset([t.name for t in tags]) if tags else _EMPTY_SET,
        push_time=when(a.push_time),
        type=a.type,
        media_type=a.manifest_media_type,
        references=tuple([r.child_digest for r in refs]) if refs else (),
        accessories=tuple([x.digest for x in accessories]) if accessories else (),
        labels=frozenset([x.name for x in labels]) if labels else _EMPTY_SET,
    )


def decode_before(body: bytes) -> list[tuple[str, Artifact]]:
    """Decode as the baseline did: wire dataclasses, then one core value per row in Python."""
    return [(a.repository_name, _before_row(a)) for a in _WIRE.validate_json(body)]


DECODERS: dict[str, Callable[[bytes], list[tuple[str, Artifact]]]] = {
    "before": decode_before,
    "after": decode_project_artifacts,
}


def _catalogs(
    decode: Callable[[bytes], list[tuple[str, Artifact]]], bodies: Sequence[bytes]
) -> list[dict[str, tuple[Artifact, ...]]]:
    """Decode ``bodies`` once per instance, grouped by repository as the client groups them."""
    catalogs = []
    for _ in range(INSTANCES):
        grouped: dict[str, list[Artifact]] = {}
        for body in bodies:
            for repo, art in decode(body):
                grouped.setdefault(repo, []).append(art)
        catalogs.append({repo: tuple(arts) for repo, arts in grouped.items()})
    return catalogs


@dataclass(frozen=True, slots=True)
class Figures:
    """One decoder's figures over both instances."""

    cpu_seconds: float
    retained_bytes: int
    peak_bytes: int


def measure(
    decode: Callable[[bytes], list[tuple[str, Artifact]]], bodies: Sequence[bytes], *, repeat: int
) -> Figures:
    """One traced run for the Python heap, then the best CPU of ``repeat`` runs.

    The traced run comes first, so that it also counts what the decoder's caches (the interned
    strings' table) grow by.
    """
    gc.collect()
    tracemalloc.start()
    kept = _catalogs(decode, bodies)
    gc.collect()
    retained, peak = tracemalloc.get_traced_memory()
    tracemalloc.stop()
    del kept
    best = float("inf")
    for _ in range(repeat):
        gc.collect()
        start = time.process_time()
        kept = _catalogs(decode, bodies)
        best = min(best, time.process_time() - start)
        del kept
    return Figures(cpu_seconds=best, retained_bytes=retained, peak_bytes=peak)


def _print(figures: dict[str, Figures], *, artifacts: int) -> None:
    scale = PER_100K / (artifacts * INSTANCES)
    print(f"{'decoder':8} {'CPU s':>7} {'retained MB/100k':>17} {'peak MB/100k':>13}")
    for name, f in figures.items():
        print(
            f"{name:8} {f.cpu_seconds:7.3f} {f.retained_bytes * scale / MB:17.1f}"
            f" {f.peak_bytes * scale / MB:13.1f}"
        )
    before, after = figures["before"], figures["after"]
    print(
        f"after/before: CPU {after.cpu_seconds / before.cpu_seconds:.2f}x, retained"
        f" {after.retained_bytes / before.retained_bytes:.2f}x,"
        f" peak {after.peak_bytes / before.peak_bytes:.2f}x"
    )


def main(argv: Sequence[str] | None = None) -> int:
    """Decode the same pages with both decoders and print their figures; returns 0."""
    parser = argparse.ArgumentParser(prog="python -m bench.decodebench", description=__doc__)
    parser.add_argument("--artifacts", type=int, default=200_000, help="per instance")
    parser.add_argument("--repeat", type=int, default=3, help="CPU runs per decoder (best kept)")
    args = parser.parse_args(argv)
    bodies = pages(args.artifacts)
    size = sum(map(len, bodies))
    print(
        f"decode: {INSTANCES} instances x {args.artifacts:,} artifacts"
        f" ({len(bodies):,} pages, {size / MB:.0f} MB of JSON each)"
    )
    figures = {name: measure(d, bodies, repeat=args.repeat) for name, d in DECODERS.items()}
    _print(figures, artifacts=args.artifacts)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
