"""``syncd demo``: the dual-master outage story, replayed step by step against the simulator.

Starts two simulated Harbors on free loopback ports with event-based replication both ways,
breaks them the way production breaks them (a peer is down while images are pushed, the events
are lost), then shows what ``syncd diff`` sees, what syncd triggers, the converged result and
the metrics. Everything lives in a temporary directory and is removed at the end, with the
simulator's threads and sockets.
"""

from __future__ import annotations

import json
import sys
import tempfile
import time
from pathlib import Path
from typing import TextIO

from prometheus_client import CollectorRegistry, generate_latest

from syncd.core.model import PassOutcome
from syncd.core.report import render_table
from syncd.engine.reconcile import run_pass
from syncd.engine.runtime import utcnow
from syncd.service.logs import configure_logging
from syncd.service.metrics import Metrics
from syncd.settings import Settings, load_settings
from syncd.sim import SimCluster, SimInstance
from syncd.wiring import build_runtime

__all__ = ["main"]

PASSWORD = "Harbor12345"  # noqa: S105 - the simulator's well-known demo credential


class _Story:
    """Prints numbered steps; the text is the product here."""

    def __init__(self, out: TextIO) -> None:
        self._out = out
        self._step = 0

    def step(self, title: str) -> None:
        self._step += 1
        self._out.write(f"\n==> {self._step}. {title}\n")

    def say(self, text: str) -> None:
        self._out.write(f"    {text}\n")

    def catalogs(self, *instances: SimInstance) -> None:
        for inst in instances:
            tags = sorted(f"{repo}:{tag}" for repo, tag in inst.state.tag_map())
            self.say(f"{inst.name}: {', '.join(tags) or '(empty)'}")


def _wait_replicated(inst: SimInstance, repo: str, tag: str, *, timeout: float = 10.0) -> bool:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if (repo, tag) in inst.state.tag_map():
            return True
        time.sleep(0.02)
    return False


def _wait_events_failed(inst: SimInstance, *, count: int, timeout: float = 10.0) -> int:
    """Wait until ``count`` event-based executions on ``inst`` have failed; return how many."""
    deadline = time.monotonic() + timeout
    failed = 0
    while time.monotonic() < deadline:
        events = [e.id for e in inst.state.executions.values() if e.trigger == "event_based"]
        failed = sum(1 for i in events if inst.execution_status(i) == "Failed")
        if failed >= count:
            break
        time.sleep(0.02)
    return failed


def _settings(a: SimInstance, b: SimInstance, workdir: Path) -> Settings:
    config = {
        "instances": {
            inst.name: {"url": inst.url, "username": "admin", "password": PASSWORD}
            for inst in (a, b)
        },
        "state": {"path": str(workdir / "state.sqlite3")},
        "reconcile": {"poll_interval_seconds": 0.05, "execution_timeout_seconds": 30},
    }
    path = workdir / "syncd.yaml"
    path.write_text(json.dumps(config), encoding="utf-8")  # JSON is YAML
    return load_settings(path, env={})


def _metrics_excerpt(registry: CollectorRegistry) -> list[str]:
    wanted = ("syncd_drift_tags", "syncd_instance_up", "syncd_actions_total", "syncd_passes_total")
    text = generate_latest(registry).decode()
    return [
        line
        for line in text.splitlines()
        if line.startswith(wanted) and not line.startswith("#") and not line.endswith(" 0.0")
    ]


def _story(out: TextIO, cluster: SimCluster, workdir: Path) -> int:
    story = _Story(out)
    a, b = cluster.add("harbor-a"), cluster.add("harbor-b")
    story.step("Two Harbors in dual-master mode behind a load balancer")
    for inst in (a, b):
        inst.create_project("library")
        story.say(f"{inst.name} at {inst.url}")
    cluster.dual_master(a.name, b.name)
    story.say("each has an event-based push policy replicating to the other")
    a.push("library/app", "v1")
    _wait_replicated(b, "library/app", "v1")
    story.say("pushed library/app:v1 to harbor-a; replication copied it to harbor-b")
    story.catalogs(a, b)

    story.step("harbor-a goes down; the load balancer sends pushes to harbor-b")
    a.set_down("refuse")
    b.push("library/app", "v2")
    b.push("library/web", "1.0")
    failed = _wait_events_failed(b, count=2)
    story.say("pushed library/app:v2 and library/web:1.0 to harbor-b")
    story.say(
        f"harbor-b's {failed} event-based executions to harbor-a failed after Harbor's retries"
    )

    story.step("harbor-a comes back: the events are lost, nothing retries them")
    a.set_down("up")
    story.catalogs(a, b)

    settings = _settings(a, b, workdir)
    registry = CollectorRegistry()
    metrics = Metrics(registry=registry)
    runtime = build_runtime(settings, on_request=metrics.record_request)
    try:
        story.step("syncd diff: three-way drift per edge")
        diff = run_pass(runtime.deps, act=False)
        out.write(render_table(diff, now=utcnow()) + "\n")

        story.step("syncd reconcile --once: trigger the covering policy, watch it, verify")
        result = run_pass(runtime.deps)
        metrics.record_pass(result, now=utcnow())
        for outcome in result.outcomes:
            story.say(
                f"{outcome.action.kind.value} policy {outcome.action.policy_id} on "
                f"{outcome.action.instance}: {outcome.result} ({outcome.action.reason})"
            )
        story.say(f"pass outcome: {result.outcome}")

        story.step("Converged")
        story.catalogs(a, b)
        again = run_pass(runtime.deps)
        story.say(f"a second pass triggers {len(again.outcomes)} executions: {again.outcome}")

        story.step("Metrics Prometheus would scrape from syncd run (non-zero series)")
        for line in _metrics_excerpt(registry):
            story.say(line)
    finally:
        runtime.close()
    converged = a.state.tag_map() == b.state.tag_map() and again.outcome == PassOutcome.CONVERGED
    story.step(
        "Done: simulators stopped, temporary files removed" if converged else "NOT converged"
    )
    return 0 if converged else 1


def main(out: TextIO | None = None) -> int:
    """Run the demo; 0 when the story ends converged."""
    configure_logging(level="warning", fmt="console")
    with tempfile.TemporaryDirectory(prefix="syncd-demo-") as tmp, SimCluster() as cluster:
        return _story(out or sys.stdout, cluster, Path(tmp))
