"""One measured snapshot pass: API calls, wall and CPU time, peak RSS, re-listed repositories.

Owns the listing floor and the targets derived from it, plus the request recorder hooked into
``HarborClient(on_request=...)``. The figures are values; printing them is ``bench.report``'s job.
"""

from __future__ import annotations

import math
import resource
import sys
import threading
import time
from collections import Counter
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import TYPE_CHECKING

import psutil

from syncd.core.relist import PAGE
from syncd.engine.snapshot import Scope, snapshot

if TYPE_CHECKING:
    from collections.abc import Callable, Mapping

    from syncd.core.model import Catalog
    from syncd.harbor.client import HarborClient, RequestRecord

__all__ = [
    "PAGE",
    "KindFigures",
    "PassFigures",
    "RequestRecorder",
    "listing_floor",
    "peak_rss_bytes",
    "rss_bytes",
    "run_pass",
    "wall_target",
]

"""Harbor's maximum page size: the unit of the listing floor."""
WALL_SLACK = 5.0
"""Fixed seconds allowed on top of twice the ideal wall time (process start-up, first page)."""


def listing_floor(*, repositories: int, artifacts: int) -> int:
    """Fewest list calls that can read one instance: ``ceil(repos/100) + ceil(artifacts/100)``."""
    return math.ceil(repositories / PAGE) + math.ceil(artifacts / PAGE)


def wall_target(*, floor: int, rtt: float, concurrency: int) -> float:
    """Target wall time: ``2 x (floor x RTT / concurrency) + 5 s``."""
    return 2 * floor * rtt / concurrency + WALL_SLACK


def rss_bytes() -> int:
    """Return this process's current resident set in bytes."""
    return int(psutil.Process().memory_info().rss)


def peak_rss_bytes() -> int:
    """Return this process's resident-set high-water mark in bytes (from ``ru_maxrss``)."""
    # ru_maxrss is in KiB on Linux but in bytes on macOS.
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    return peak if sys.platform == "darwin" else peak * 1024


@dataclass(frozen=True, slots=True)
class KindFigures:
    """Requests of one endpoint kind in one pass."""

    calls: int
    seconds: float
    """Sum of the requests' own durations."""
    span: float
    """From the first request's start to the last one's end."""

    @property
    def mean_ms(self) -> float:
        """Mean request duration in milliseconds."""
        return 1000 * self.seconds / self.calls if self.calls else 0.0


class RequestRecorder:
    """Tallies requests by endpoint kind; thread-safe (the client calls it from its pool)."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._calls: Counter[str] = Counter()
        self._seconds: dict[str, float] = {}
        self._first: dict[str, float] = {}
        self._last: dict[str, float] = {}

    def __call__(self, record: RequestRecord) -> None:
        """Record one finished request (the ``on_request`` hook)."""
        end = time.perf_counter()
        with self._lock:
            kind = record.kind
            self._calls[kind] += 1
            self._seconds[kind] = self._seconds.get(kind, 0.0) + record.seconds
            self._first[kind] = min(self._first.get(kind, math.inf), end - record.seconds)
            self._last[kind] = max(self._last.get(kind, -math.inf), end)

    def take(self) -> dict[str, KindFigures]:
        """Return the tallies since the last ``take`` and start again."""
        with self._lock:
            result = {
                kind: KindFigures(
                    calls=n,
                    seconds=self._seconds[kind],
                    span=self._last[kind] - self._first[kind],
                )
                for kind, n in sorted(self._calls.items())
            }
            self._calls, self._seconds = Counter(), {}
            self._first, self._last = {}, {}
        return result


@dataclass(frozen=True, slots=True)
class PassFigures:
    """What one scenario measured, summed over the instances it covered."""

    scenario: str
    api_calls: int
    floor: int
    wall_seconds: float
    wall_target: float
    cpu_seconds: float
    peak_rss_bytes: int
    rss_after_bytes: int
    """Resident set right after the pass: roughly what the catalogs keep."""
    relisted: int
    changed: int | None = None
    """Repositories changed before a warm pass (None for a cold one)."""
    calls_by_kind: Mapping[str, KindFigures] = field(default_factory=dict)
    sim_cpu_seconds: float | None = None
    """CPU the simulator process spent during the pass (it shares the machine's cores)."""

    @property
    def ratio(self) -> float:
        """API calls over the listing floor."""
        return self.api_calls / self.floor if self.floor else math.inf


def _one(client: HarborClient, *, previous: Catalog | None) -> tuple[Catalog, int]:
    return snapshot(
        client,
        previous=previous,
        scope=Scope(),
        now=datetime.now(UTC),
        incremental=previous is not None,
    )


def run_pass(
    clients: Mapping[str, HarborClient],
    *,
    scenario: str,
    previous: Mapping[str, Catalog] | None,
    floor: int,
    target: float,
    recorder: RequestRecorder,
    changed: int | None = None,
    sim_cpu: Callable[[], float] | None = None,
) -> tuple[dict[str, Catalog], PassFigures]:
    """Snapshot every instance in parallel (cold when ``previous`` is None) and measure it."""
    recorder.take()
    sim0 = sim_cpu() if sim_cpu is not None else 0.0
    before = sum(c.request_count for c in clients.values())
    cpu0, wall0 = time.process_time(), time.perf_counter()
    with ThreadPoolExecutor(max_workers=len(clients), thread_name_prefix="bench") as pool:
        futures = {
            name: pool.submit(_one, c, previous=None if previous is None else previous[name])
            for name, c in clients.items()
        }
        results = {name: fut.result() for name, fut in futures.items()}
    wall, cpu = time.perf_counter() - wall0, time.process_time() - cpu0
    figures = PassFigures(
        scenario=scenario,
        api_calls=sum(c.request_count for c in clients.values()) - before,
        floor=floor,
        wall_seconds=wall,
        wall_target=target,
        cpu_seconds=cpu,
        peak_rss_bytes=peak_rss_bytes(),
        rss_after_bytes=rss_bytes(),
        relisted=sum(relisted for _, relisted in results.values()),
        changed=changed,
        calls_by_kind=recorder.take(),
        sim_cpu_seconds=None if sim_cpu is None else sim_cpu() - sim0,
    )
    return {name: cat for name, (cat, _) in results.items()}, figures
