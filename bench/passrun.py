"""One real pass in a child process (``bench.passproc``) and the figures it reported.

Owns starting the child, reading its JSON line, adding the simulator's CPU during the pass, and
the split of API calls into listing calls (repositories, artifacts: they grow with the catalog)
and fixed calls (system info, projects, registries, policies, executions: per instance).
"""

from __future__ import annotations

import json
import subprocess
import sys
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from collections.abc import Mapping

    from bench.simproc import SimProcess

__all__ = ["ROOT", "RealPass", "is_listing", "run_real_pass"]

ROOT = Path(__file__).resolve().parent.parent


def is_listing(kind: str) -> bool:
    """Whether an endpoint kind (``"GET /repositories"``) lists repositories or artifacts."""
    return kind.endswith(("/repositories", "/artifacts"))


@dataclass(frozen=True, slots=True)
class RealPass:
    """What one ``reconcile --once`` pass cost, measured in its own process."""

    name: str
    calls: Mapping[str, Mapping[str, int]]
    """``{instance: {"GET /kind": calls}}``."""
    cpu_seconds: float
    wall_seconds: float
    gc_seconds: float
    peak_rss_bytes: int
    rss_before_bytes: int
    """Peak RSS after the imports, before the pass: the interpreter and syncd's code."""
    threads_started: int
    threads_most_alive: int
    outcome: str
    drift: int
    actions: int
    sim_cpu_seconds: float
    received_bytes: int = 0
    """Response bodies received from Harbor (as sent on the wire), all instances."""
    profile: Mapping[str, Any] | None = field(default=None)
    phase_peaks: Mapping[str, int] = field(default_factory=dict)
    """Peak RSS bytes per phase (``bench.phases``), in the order the phases began."""

    @property
    def api_calls(self) -> int:
        """Every request attempt of the pass, all instances."""
        return sum(sum(kinds.values()) for kinds in self.calls.values())

    def listing_calls(self, instance: str) -> int:
        """Repository and artifact listing calls to one instance."""
        return sum(n for kind, n in self.calls.get(instance, {}).items() if is_listing(kind))

    def fixed_calls(self, instance: str) -> dict[str, int]:
        """Return the calls to one instance that list no repositories or artifacts, by endpoint."""
        return {k: n for k, n in self.calls.get(instance, {}).items() if not is_listing(k)}


def _figures(stdout: str) -> dict[str, Any]:
    lines = [line for line in stdout.splitlines() if line.startswith("{")]
    if not lines:
        raise RuntimeError(f"pass process printed no figures: {stdout[-2000:]}")
    figures: dict[str, Any] = json.loads(lines[-1])
    return figures


def run_real_pass(
    config: Path, *, name: str, sim: SimProcess, profile: bool = False, daemon: bool = False
) -> RealPass:
    """Run ``python -m bench.passproc CONFIG`` and return its figures (a failure raises)."""
    args = [sys.executable, "-m", "bench.passproc", str(config)]
    if profile:
        args.append("--profile")
    if daemon:
        args.append("--daemon")
    sim0 = sim.cpu_seconds()
    done = subprocess.run(args, cwd=ROOT, capture_output=True, text=True, check=False)
    sim_cpu = sim.cpu_seconds() - sim0
    if done.returncode != 0:
        raise RuntimeError(f"pass process exited {done.returncode}: {done.stderr[-2000:]}")
    raw = _figures(done.stdout)
    if raw["error"]:
        raise RuntimeError(f"pass {name} failed: {raw['error']}")
    return RealPass(
        name=name,
        calls=raw["calls"],
        cpu_seconds=raw["cpu_seconds"],
        wall_seconds=raw["wall_seconds"],
        gc_seconds=raw["gc_seconds"],
        peak_rss_bytes=raw["peak_rss_bytes"],
        rss_before_bytes=raw["rss_before_bytes"],
        threads_started=raw["threads_started"],
        threads_most_alive=raw["threads_most_alive"],
        outcome=raw["outcome"],
        drift=raw["drift"],
        actions=raw["actions"],
        sim_cpu_seconds=sim_cpu,
        received_bytes=raw.get("received_bytes", 0),
        profile=raw["profile"],
        phase_peaks=raw.get("phase_peak_rss_bytes", {}),
    )
