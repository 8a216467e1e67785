"""``python -m bench.growth``: how a real pass's standing cost grows with tags and with change.

Runs ``bench.realpass``'s cold, warm and warm-after-changes passes (each in its own process,
against the simulator in another) at several catalog sizes with 1% changed, then at one size
with a growing share changed, and prints one row per run: API calls, MB received from Harbor,
syncd CPU seconds and peak RSS per pass kind. For docs/benchmarks.md; targets are
``bench.realpass``'s (this prints no verdicts). Exits 0 whatever the figures.
"""

from __future__ import annotations

import argparse
from dataclasses import replace
from typing import TYPE_CHECKING

from bench.realpass import SizeRun, base_config, measure_size
from bench.report import MB, print_pipe_table

if TYPE_CHECKING:
    from collections.abc import Sequence

    from bench.passrun import RealPass

__all__ = ["main"]

SIZES = (50, 500, 2500)
"""Repositories per instance (20 tags each): 1k, 10k and 50k tags."""
SHARES = (0.1, 10.0, 50.0)
"""Percent of repositories changed, at the largest of ``SIZES`` (1% is in the size rows)."""


def _cells(p: RealPass) -> tuple[str, ...]:
    return (
        f"{p.api_calls:,}",
        f"{p.received_bytes / MB:.2f}",
        f"{p.cpu_seconds:.2f}",
        f"{p.peak_rss_bytes / MB:.0f}",
    )


def _row(run: SizeRun, percent: float) -> tuple[str, ...]:
    cold, warm, changed = run.passes
    return (
        f"{run.sizes.tags:,}",
        f"{percent:g}% ({run.changed})",
        *_cells(cold),
        *_cells(warm),
        *_cells(changed),
    )


HEADER = (
    "tags per instance", "changed",
    "cold calls", "cold MB recv", "cold cpu s", "cold RSS MB",
    "warm calls", "warm MB recv", "warm cpu s", "warm RSS MB",
    "changed calls", "changed MB recv", "changed cpu s", "changed RSS MB",
)  # fmt: skip


def main(argv: Sequence[str] | None = None) -> int:
    """Measure every size and share; print the table; returns 0."""
    parser = argparse.ArgumentParser(prog="python -m bench.growth", description=__doc__)
    parser.add_argument("--latency", type=float, default=0.02, help="seconds per request")
    parser.add_argument("--repos", type=int, nargs="+", default=SIZES, help="sizes (repos)")
    parser.add_argument("--shares", type=float, nargs="+", default=SHARES, help="percent changed")
    args = parser.parse_args(argv)
    cfg = replace(base_config(), latency=args.latency, million=False, thread_probe=False)
    rows = []
    for repos in args.repos:
        sized = replace(cfg, repos=repos, repos_per_project=min(100, repos))
        rows.append(_row(measure_size(sized, changes=True, daemon=False), 1.0))
        print(f"measured {repos} repositories per instance", flush=True)
    largest = max(args.repos)
    for percent in args.shares:
        shared = replace(cfg, repos=largest, repos_per_project=min(100, largest))
        shared = replace(shared, changed_percent=percent)
        rows.append(_row(measure_size(shared, changes=True, daemon=False), percent))
        print(f"measured {percent:g}% changed", flush=True)
    print()
    print_pipe_table(HEADER, rows)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
