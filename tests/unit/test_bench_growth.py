"""``python -m bench.growth`` at a tiny size: one row per size and per share changed."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]

pytestmark = [pytest.mark.slow, pytest.mark.timeout(300)]


def test_prints_one_row_per_size_and_share():
    """Two sizes and one share give three rows of figures, in that order."""
    args = [sys.executable, "-m", "bench.growth", "--repos", "5", "10", "--shares", "50"]
    done = subprocess.run(
        [*args, "--latency", "0"], cwd=ROOT, capture_output=True, text=True, check=False
    )
    assert done.returncode == 0, done.stderr
    rows = [
        line for line in done.stdout.splitlines() if line.startswith("| ") and "---" not in line
    ]
    cells = [[cell.strip() for cell in row.split("|")[1:-1]] for row in rows]
    assert [row[:2] for row in cells[1:]] == [
        ["100", "1% (1)"],
        ["200", "1% (1)"],
        ["200", "50% (5)"],
    ]
    assert all(len(row) == len(cells[0]) == 14 for row in cells)
