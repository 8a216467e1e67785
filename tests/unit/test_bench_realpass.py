"""``python -m bench.realpass`` at a tiny size: it runs to the end and prints every target row."""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]

TARGETS = (
    "warm, nothing changed: syncd CPU",
    "warm, 1% of repositories changed: syncd CPU",
    "warm, nothing changed: peak RSS",
    "cold: peak RSS",
    "warm, nothing changed: API calls <= ceil(repos/100) (+1 proof page) + fixed",
    "cold: API calls <= 1.1 x (listing floor + fixed)",
    "cold wall <= 1.2 x single-instance (2 x floor x RTT / concurrency + 5 s)",
    "threads started per pass: bounded by a constant",
    "1M tags per instance, 2 instances: completes, peak RSS",
)

pytestmark = [pytest.mark.slow, pytest.mark.timeout(300)]


@pytest.fixture(scope="module")
def bench_run() -> subprocess.CompletedProcess[str]:
    """One run of the benchmark: 20 repositories per instance, no injected latency."""
    args = [sys.executable, "-m", "bench.realpass", "--repos", "20", "--latency", "0", "--profile"]
    return subprocess.run(args, cwd=ROOT, capture_output=True, text=True, check=False, timeout=280)


def test_exits_zero(bench_run):
    """Exit code 0 whatever the figures, and nothing on stderr that looks like a traceback."""
    assert bench_run.returncode == 0, bench_run.stderr
    assert "Traceback" not in bench_run.stderr


@pytest.mark.parametrize("target", TARGETS)
def test_prints_target_row(bench_run, target):
    """Every target of issue 14 is a ``target | measured | limit | verdict`` row."""
    verdict = r"\| (PASS|MISS|SKIP) +\|$"
    row = re.compile(rf"^\| {re.escape(target)} +\| .+ \| .+ {verdict}", re.MULTILINE)
    assert row.search(bench_run.stdout), bench_run.stdout


@pytest.mark.parametrize(
    "line",
    [
        "| cold ",
        "| warm, nothing changed ",
        "| warm, 1% changed ",
        "fixed calls, warm, nothing changed, instance a:",
        "fixed calls, warm, nothing changed, instance b:",
        "Where the CPU goes, warm, nothing changed, profiled",
        "Thread probe at 40 tags per instance",
        "simulator (separate process, for information): peak RSS",
    ],
)
def test_prints_pass_figures(bench_run, line):
    """The per-pass table, the fixed calls, the profile and the thread probe are printed."""
    assert line in bench_run.stdout, bench_run.stdout
