"""Printing benchmark figures: the scenario table, the call breakdown and PASS/MISS per target.

Owns only formatting and the comparison with the targets of the issue; it measures nothing.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from collections.abc import Sequence

    from bench.diffbench import DiffFigures
    from bench.measure import PassFigures

__all__ = [
    "MB",
    "Check",
    "checks",
    "print_checks",
    "print_diff",
    "print_kinds",
    "print_pipe_table",
    "print_table",
]

MB = 1024 * 1024
CALLS_RATIO_TARGET = 1.1
RSS_TARGET_MB = 300.0
DIFF_CPU_TARGET = 2.0

_COLUMNS = (
    "scenario",
    "api calls",
    "floor",
    "ratio",
    "wall s",
    "wall target s",
    "cpu s",
    "sim cpu s",
    "peak RSS MB",
    "RSS after MB",
    "relisted repos",
)


@dataclass(frozen=True, slots=True)
class Check:
    """One target: what was measured against what was asked."""

    name: str
    measured: str
    target: str
    met: bool

    @property
    def verdict(self) -> str:
        """``PASS`` or ``MISS``."""
        return "PASS" if self.met else "MISS"


def _row(fig: PassFigures) -> tuple[str, ...]:
    relisted = str(fig.relisted)
    if fig.changed is not None:
        relisted += f" (changed {fig.changed})"
    return (
        fig.scenario,
        str(fig.api_calls),
        str(fig.floor),
        f"{fig.ratio:.3f}",
        f"{fig.wall_seconds:.2f}",
        f"{fig.wall_target:.2f}",
        f"{fig.cpu_seconds:.2f}",
        "-" if fig.sim_cpu_seconds is None else f"{fig.sim_cpu_seconds:.2f}",
        f"{fig.peak_rss_bytes / MB:.1f}",
        f"{fig.rss_after_bytes / MB:.1f}",
        relisted,
    )


def print_pipe_table(header: Sequence[str], rows: Sequence[Sequence[str]]) -> None:
    """Print a Markdown pipe table with padded columns."""
    widths = [max(len(r[i]) for r in (header, *rows)) for i in range(len(header))]
    print("| " + " | ".join(h.ljust(w) for h, w in zip(header, widths, strict=True)) + " |")
    print("|" + "|".join("-" * (w + 2) for w in widths) + "|")
    for row in rows:
        print("| " + " | ".join(c.ljust(w) for c, w in zip(row, widths, strict=True)) + " |")


def print_table(figures: Sequence[PassFigures]) -> None:
    """Print one row per scenario (a Markdown pipe table, pasteable into the docs)."""
    print_pipe_table(_COLUMNS, [_row(f) for f in figures])


def print_kinds(figures: Sequence[PassFigures]) -> None:
    """Print the API calls of each scenario by endpoint kind, with their timing."""
    rows = [
        (fig.scenario, kind, str(k.calls), f"{k.mean_ms:.1f}", f"{k.span:.2f}")
        for fig in figures
        for kind, k in fig.calls_by_kind.items()
    ]
    print_pipe_table(("scenario", "endpoint", "calls", "mean ms", "span s"), rows)


def print_diff(diff: DiffFigures) -> None:
    """Print the diff benchmark's figures."""
    classes = ", ".join(f"{k} {v}" for k, v in sorted(diff.classes.items()))
    print(
        f"diff_edge over {diff.tags:,} tags ({diff.drifted:,} drifted: {classes}): "
        f"{diff.diff_cpu_seconds:.3f} s CPU; converged_base {diff.base_cpu_seconds:.3f} s CPU; "
        f"classes as planted: {'yes' if diff.correct else 'NO'}"
    )


def checks(
    *, cold: PassFigures, warm: PassFigures, diff: DiffFigures | None, warm_correct: bool
) -> list[Check]:
    """Compare the figures with the issue's targets."""
    peak = max(cold.peak_rss_bytes, warm.peak_rss_bytes) / MB
    result = [
        Check(
            "cold calls <= 1.1 x floor",
            f"{cold.ratio:.3f} x",
            f"{CALLS_RATIO_TARGET} x",
            cold.ratio <= CALLS_RATIO_TARGET,
        ),
        Check(
            "cold wall <= 2 x floor x RTT / concurrency + 5 s",
            f"{cold.wall_seconds:.2f} s",
            f"{cold.wall_target:.2f} s",
            cold.wall_seconds <= cold.wall_target,
        ),
        Check(
            "warm re-lists only the changed repositories",
            f"{warm.relisted} relisted, catalog {'matches' if warm_correct else 'DIFFERS'}",
            f"{warm.changed} changed",
            warm.relisted == warm.changed and warm_correct,
        ),
        Check(
            "peak RSS <= 300 MB", f"{peak:.1f} MB", f"{RSS_TARGET_MB:.0f} MB", peak <= RSS_TARGET_MB
        ),
    ]
    if diff is not None:
        result.append(
            Check(
                f"diff of {diff.tags:,} tags <= 2 s CPU",
                f"{diff.diff_cpu_seconds:.3f} s",
                f"{DIFF_CPU_TARGET:.0f} s",
                diff.diff_cpu_seconds <= DIFF_CPU_TARGET and diff.correct,
            )
        )
    return result


def print_checks(results: Sequence[Check]) -> None:
    """Print PASS/MISS per target."""
    print_pipe_table(
        ("target", "measured", "limit", "verdict"),
        [(c.name, c.measured, c.target, c.verdict) for c in results],
    )
