"""Issue 14's targets for a real pass, and printing the real-pass figures.

Owns the limits (warm no-change CPU, calls and RSS; warm 1% CPU; cold RSS and wall; threads per
pass; the 1M-tag run) and their comparison with what ``bench.realpass`` measured. It measures
nothing. A target this run could not measure (the 1M-tag one with ``--no-1m``) prints SKIP.
"""

from __future__ import annotations

import itertools
import math
from dataclasses import dataclass
from typing import TYPE_CHECKING

from bench.measure import PAGE, listing_floor, wall_target
from bench.report import MB, print_pipe_table

if TYPE_CHECKING:
    from collections.abc import Mapping, Sequence

    from bench.passrun import RealPass

__all__ = [
    "Sizes",
    "Target",
    "print_fixed",
    "print_passes",
    "print_phases",
    "print_profile",
    "print_targets",
    "scale_target",
    "targets",
]

WARM_CPU_LIMIT = 0.6
WARM_CHANGED_CPU_LIMIT = 1.0
WARM_RSS_LIMIT_MB = 250.0
COLD_RSS_LIMIT_MB = 300.0
COLD_WALL_FACTOR = 1.2
COLD_CALLS_FACTOR = 1.1
SCALE_TAGS = 1_000_000
SCALE_RSS_LIMIT_MB = 1024.0
THREAD_SLACK = 4
"""Threads a pass may start beyond one pool of ``max_concurrency`` per instance."""


@dataclass(frozen=True, slots=True)
class Sizes:
    """The catalog the passes ran against (per instance) and the client settings."""

    instances: tuple[str, ...]
    repos: int
    tags: int
    latency: float
    concurrency: int


@dataclass(frozen=True, slots=True)
class Target:
    """One row: a target, what was measured, its limit, and the verdict."""

    name: str
    measured: str
    limit: str
    met: bool | None
    """None: not measured by this run (SKIP)."""

    @property
    def verdict(self) -> str:
        """``PASS``, ``MISS`` or ``SKIP``."""
        return "SKIP" if self.met is None else "PASS" if self.met else "MISS"


def _mb(n: int) -> str:
    return f"{n / MB:.1f} MB"


def _fixed_total(p: RealPass, sizes: Sizes) -> int:
    return sum(sum(p.fixed_calls(i).values()) for i in sizes.instances)


def _calls(warm: RealPass, cold: RealPass, sizes: Sizes) -> list[Target]:
    # The client proves a listing whose count is a multiple of the page size complete by
    # asking for one page more (no rows beyond X-Total-Count): part of the floor since then.
    page = math.ceil(sizes.repos / PAGE) + (sizes.repos % PAGE == 0)
    limit = sum(page + sum(warm.fixed_calls(i).values()) for i in sizes.instances)
    floor = len(sizes.instances) * listing_floor(repositories=sizes.repos, artifacts=sizes.tags)
    cold_limit = COLD_CALLS_FACTOR * (floor + _fixed_total(cold, sizes))
    return [
        Target(
            "warm, nothing changed: API calls <= ceil(repos/100) (+1 proof page) + fixed",
            f"{warm.api_calls:,} ({_fixed_total(warm, sizes)} fixed)",
            f"{limit:,}",
            all(warm.listing_calls(i) <= page for i in sizes.instances),
        ),
        Target(
            "cold: API calls <= 1.1 x (listing floor + fixed)",
            f"{cold.api_calls:,}",
            f"{cold_limit:,.0f}",
            cold.api_calls <= cold_limit,
        ),
    ]


def _resources(cold: RealPass, warm: RealPass, changed: RealPass) -> list[Target]:
    warm_rss, cold_rss = warm.peak_rss_bytes / MB, cold.peak_rss_bytes / MB
    return [
        Target(
            "warm, nothing changed: syncd CPU",
            f"{warm.cpu_seconds:.2f} s",
            f"{WARM_CPU_LIMIT} s",
            warm.cpu_seconds <= WARM_CPU_LIMIT,
        ),
        Target(
            "warm, 1% of repositories changed: syncd CPU",
            f"{changed.cpu_seconds:.2f} s",
            f"{WARM_CHANGED_CPU_LIMIT} s",
            changed.cpu_seconds <= WARM_CHANGED_CPU_LIMIT,
        ),
        Target(
            "warm, nothing changed: peak RSS",
            _mb(warm.peak_rss_bytes),
            f"{WARM_RSS_LIMIT_MB:.0f} MB",
            warm_rss <= WARM_RSS_LIMIT_MB,
        ),
        Target(
            "cold: peak RSS",
            _mb(cold.peak_rss_bytes),
            f"{COLD_RSS_LIMIT_MB:.0f} MB",
            cold_rss <= COLD_RSS_LIMIT_MB,
        ),
    ]


def _wall(cold: RealPass, sizes: Sizes) -> Target:
    floor = listing_floor(repositories=sizes.repos, artifacts=sizes.tags)
    single = wall_target(floor=floor, rtt=sizes.latency, concurrency=sizes.concurrency)
    limit = COLD_WALL_FACTOR * single
    return Target(
        "cold wall <= 1.2 x single-instance (2 x floor x RTT / concurrency + 5 s)",
        f"{cold.wall_seconds:.2f} s",
        f"{limit:.2f} s",
        cold.wall_seconds <= limit,
    )


def _threads(sizes: Sizes, per_size: Mapping[int, int]) -> Target:
    """``per_size``: tags per instance -> most threads one pass started at that size."""
    limit = len(sizes.instances) * sizes.concurrency + THREAD_SLACK
    ordered = sorted(per_size.items())
    grows = any(a[1] < b[1] for a, b in itertools.pairwise(ordered))
    return Target(
        "threads started per pass: bounded by a constant",
        ", ".join(f"{n} at {tags:,} tags" for tags, n in ordered),
        f"{limit} (one pool per instance + {THREAD_SLACK}), not growing",
        not grows and max(per_size.values()) <= limit,
    )


def scale_target(passes: Sequence[RealPass], sizes: Sizes) -> Target:
    """Return the 1M-tag row: every pass at that size within the RSS limit (else SKIP)."""
    name = "1M tags per instance, 2 instances: completes, peak RSS"
    limit = f"{SCALE_RSS_LIMIT_MB:.0f} MB"
    if sizes.tags < SCALE_TAGS:
        return Target(name, f"not run ({sizes.tags:,} tags; --no-1m or --quick)", limit, None)
    peak = max(p.peak_rss_bytes for p in passes)
    return Target(name, _mb(peak), limit, peak / MB <= SCALE_RSS_LIMIT_MB)


def targets(
    passes: Sequence[RealPass], *, sizes: Sizes, threads: Mapping[int, int]
) -> list[Target]:
    """Compare (cold, warm nothing changed, warm 1% changed) with issue 14's targets."""
    cold, warm, changed = passes
    return [
        *_resources(cold, warm, changed),
        *_calls(warm, cold, sizes),
        _wall(cold, sizes),
        _threads(sizes, threads),
        scale_target(passes, sizes),
    ]


def print_targets(rows: Sequence[Target]) -> None:
    """Print ``target | measured | limit | verdict``."""
    print_pipe_table(
        ("target", "measured", "limit", "verdict"),
        [(t.name, t.measured, t.limit, t.verdict) for t in rows],
    )


def print_passes(passes: Sequence[RealPass], sizes: Sizes) -> None:
    """Print one row per pass (a Markdown pipe table)."""
    header = (
        "pass", "api calls", "listing", "fixed", "MB received", "cpu s", "gc s", "wall s",
        "peak RSS MB", "threads started", "most alive", "drift", "actions", "sim cpu s",
    )  # fmt: skip
    rows = [
        (
            p.name,
            str(p.api_calls),
            str(sum(p.listing_calls(i) for i in sizes.instances)),
            str(_fixed_total(p, sizes)),
            f"{p.received_bytes / MB:.1f}",
            f"{p.cpu_seconds:.2f}",
            f"{p.gc_seconds:.2f}",
            f"{p.wall_seconds:.2f}",
            f"{p.peak_rss_bytes / MB:.1f}",
            str(p.threads_started),
            str(p.threads_most_alive),
            str(p.drift),
            str(p.actions),
            f"{p.sim_cpu_seconds:.2f}",
        )
        for p in passes
    ]
    print_pipe_table(header, rows)


def print_fixed(p: RealPass, sizes: Sizes) -> None:
    """Print the fixed (non-listing) calls of one pass, per instance and endpoint."""
    for instance in sizes.instances:
        fixed = p.fixed_calls(instance)
        detail = ", ".join(f"{kind} {n}" for kind, n in sorted(fixed.items()))
        print(f"fixed calls, {p.name}, instance {instance}: {sum(fixed.values())} ({detail})")


def print_phases(passes: Sequence[RealPass]) -> None:
    """Print each pass's peak RSS per phase (MB), where the platform can measure it."""
    for p in passes:
        if p.phase_peaks:
            detail = ", ".join(f"{phase} {b / MB:.1f}" for phase, b in p.phase_peaks.items())
            print(f"peak RSS MB by phase, {p.name}: {detail}")


def print_profile(p: RealPass) -> None:
    """Print where a profiled pass spent its CPU: by module (self) and by syncd function."""
    if p.profile is None:
        return
    total = p.profile["total"]
    print(f"\nWhere the CPU goes, {p.name} ({total:.2f} s CPU profiled, all threads):")
    modules = [(m, f"{s:.2f}", f"{100 * s / total:.0f}%") for m, s in p.profile["modules"]]
    print_pipe_table(("module (self time, top 10)", "cpu s", "share"), modules)
    print()
    functions = [(f, f"{s:.2f}", f"{100 * s / total:.0f}%") for f, s in p.profile["functions"]]
    print_pipe_table(("syncd function (cumulative, top 15)", "cpu s", "share"), functions)
