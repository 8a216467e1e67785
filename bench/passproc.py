"""``python -m bench.passproc CONFIG``: one real pass, measured from inside its own process.

Owns running exactly what ``syncd reconcile --once`` runs (``syncd.wiring.build_runtime`` +
``syncd.engine.reconcile.run_pass``) in a fresh process, so the CPU, peak RSS and threads it
reports are syncd's alone, and printing them as one JSON line on stdout: API calls by instance
and endpoint (from ``on_request``), CPU and wall seconds of the pass, garbage-collection time,
peak RSS, threads started, the pass's outcome and, with ``--profile``, where the CPU went.
"""

from __future__ import annotations

import argparse
import gc
import json
import resource
import sys
import threading
import time
from collections import Counter
from pathlib import Path
from typing import TYPE_CHECKING, Any

# httpx imports httpcore when its first client is built: an import, excluded like all others
# (the figures measure the pass, not the interpreter's start or syncd's imports).
import httpcore  # noqa: F401

from bench.phases import PhaseProbe
from bench.profiling import ThreadProfiler
from syncd.engine.reconcile import run_pass
from syncd.service.logs import configure_logging
from syncd.settings import load_settings
from syncd.wiring import build_runtime

if TYPE_CHECKING:
    from collections.abc import Callable, Sequence

    from syncd.harbor.client import RequestRecord

__all__ = ["main"]


class ThreadCounter:
    """Counts ``threading.Thread.start`` calls and the most threads alive at once."""

    def __init__(self) -> None:
        self.started = 0
        self.most_alive = threading.active_count()
        self._lock = threading.Lock()
        self._original: Callable[[threading.Thread], None] | None = None

    def install(self) -> None:
        """Patch ``Thread.start`` (this benchmark process only) to count every start."""
        original = threading.Thread.start
        self._original = original
        counter = self

        def start(self: threading.Thread) -> None:
            original(self)
            with counter._lock:
                counter.started += 1
                counter.most_alive = max(counter.most_alive, threading.active_count())

        threading.Thread.start = start  # type: ignore[method-assign]

    def uninstall(self) -> None:
        """Restore ``Thread.start``."""
        if self._original is not None:
            threading.Thread.start = self._original  # type: ignore[method-assign,assignment]


class GcTimer:
    """Wall time spent in the cyclic garbage collector (``gc.callbacks``), by generation."""

    def __init__(self) -> None:
        self.seconds = 0.0
        self.collections: Counter[int] = Counter()
        self._started = 0.0

    def __call__(self, phase: str, info: dict[str, int]) -> None:
        """Time one collection (the ``gc.callbacks`` hook)."""
        if phase == "start":
            self._started = time.perf_counter()
        else:
            self.seconds += time.perf_counter() - self._started
            self.collections[info["generation"]] += 1


class CallCounter:
    """Requests by instance and endpoint kind (the client's ``on_request`` hook; thread-safe)."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self.calls: Counter[tuple[str, str]] = Counter()
        self.received_bytes = 0

    def __call__(self, record: RequestRecord) -> None:
        """Count one finished request attempt and the bytes of its response body."""
        with self._lock:
            self.calls[record.instance, f"{record.method} {record.kind}"] += 1
            self.received_bytes += record.received_bytes

    def by_instance(self) -> dict[str, dict[str, int]]:
        """``{instance: {"GET /kind": calls}}``."""
        out: dict[str, dict[str, int]] = {}
        for (instance, kind), n in sorted(self.calls.items()):
            out.setdefault(instance, {})[kind] = n
        return out


def _cpu() -> float:
    usage = resource.getrusage(resource.RUSAGE_SELF)
    return usage.ru_utime + usage.ru_stime


def _peak_rss() -> int:
    """Return this process's resident-set high-water mark in bytes.

    Linux's ``ru_maxrss`` is wrong here: exec keeps the high-water mark of the image it replaces,
    which after ``vfork`` is the parent's (the benchmark's, holding catalogs); ``VmHWM`` belongs
    to this process's own address space.
    """
    status = Path("/proc/self/status")
    if status.exists():
        for line in status.read_text(encoding="ascii").splitlines():
            if line.startswith("VmHWM:"):
                return int(line.split()[1]) * 1024
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss  # bytes on macOS


def _run(
    config: Path,
    calls: CallCounter,
    phases: PhaseProbe,
    *,
    restart: Callable[[], None] | None = None,
) -> dict[str, Any]:
    """Load settings and run one acting pass, as ``syncd reconcile --once`` does.

    With ``restart`` (the daemon case): run one pass first, reset the probes, then measure a
    second pass in the same process with the same runtime, as the daemon's next interval runs
    it (pools started, the store remembering its catalogs and bases).
    """
    configure_logging(level="warning", fmt="json")  # to stderr: stdout carries only the figures
    runtime = build_runtime(load_settings(config, env={}), on_request=calls)
    phases.wrap_store(runtime.deps.store)
    try:
        if restart is not None:
            run_pass(runtime.deps, act=True)
            restart()
            cpu0, wall0 = _cpu(), time.perf_counter()
            result = run_pass(runtime.deps, act=True)
            wall = time.perf_counter() - wall0
            second = {"pass_cpu_seconds": _cpu() - cpu0, "pass_wall_seconds": wall}
        else:
            result = run_pass(runtime.deps, act=True)
            second = {}
    finally:
        runtime.close()
    return {
        "outcome": str(result.outcome),
        "drift": len(result.drift),
        "actions": len(result.plan.actions),
        "api_calls_reported": result.api_calls,
        "error": result.error,
        **second,
    }


def _restarter(
    probes: tuple[CallCounter, ThreadCounter, GcTimer, PhaseProbe],
) -> Callable[[], None]:
    calls, threads, gc_timer, phases = probes

    def restart() -> None:
        calls.calls.clear()
        calls.received_bytes = 0
        threads.started, threads.most_alive = 0, threading.active_count()
        gc_timer.seconds = 0.0
        gc_timer.collections.clear()
        phases.restart()

    return restart


def measure(config: Path, *, profile: bool, daemon: bool = False) -> dict[str, Any]:
    """Run the pass with every probe installed; return the figures (imports are not in them)."""
    calls, threads, gc_timer, phases = CallCounter(), ThreadCounter(), GcTimer(), PhaseProbe()
    probes = (calls, threads, gc_timer, phases)
    profiler = ThreadProfiler() if profile else None
    rss_before = _peak_rss()
    phases.install()
    threads.install()
    gc.callbacks.append(gc_timer)
    if profiler is not None:
        profiler.install()
    cpu0, wall0 = _cpu(), time.perf_counter()
    try:
        outcome = _run(config, calls, phases, restart=_restarter(probes) if daemon else None)
    finally:
        wall, cpu = time.perf_counter() - wall0, _cpu() - cpu0
        if profiler is not None:
            profiler.uninstall()
        gc.callbacks.remove(gc_timer)
        threads.uninstall()
        phases.uninstall()
    # The pass's peak, taken before the phase probe resets the high-water mark.
    peak = max(_peak_rss(), *phases.peaks.values(), 0)
    return outcome | {
        "calls": calls.by_instance(),
        "received_bytes": calls.received_bytes,
        "cpu_seconds": outcome.pop("pass_cpu_seconds", cpu),
        "wall_seconds": outcome.pop("pass_wall_seconds", wall),
        "gc_seconds": gc_timer.seconds,
        "gc_collections": {str(k): v for k, v in sorted(gc_timer.collections.items())},
        "peak_rss_bytes": peak,
        "phase_peak_rss_bytes": phases.finish(),
        "rss_before_bytes": rss_before,
        "threads_started": threads.started,
        "threads_most_alive": threads.most_alive,
        "profile": None if profiler is None else profiler.summary(),
    }


def main(argv: Sequence[str] | None = None) -> int:
    """Run one pass and print its figures as one JSON line; returns 0."""
    parser = argparse.ArgumentParser(prog="python -m bench.passproc", description=__doc__)
    parser.add_argument("config", type=Path, help="syncd configuration file")
    parser.add_argument("--profile", action="store_true", help="cProfile every thread")
    parser.add_argument(
        "--daemon", action="store_true", help="measure a second pass in the same process"
    )
    args = parser.parse_args(argv)
    figures = measure(args.config, profile=args.profile, daemon=args.daemon)
    sys.stdout.write(json.dumps(figures) + "\n")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
