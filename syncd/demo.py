"""``syncd demo``: the dual-master outage story, replayed step by step against the simulator.

Starts two simulated Harbors on free loopback ports with event-based replication both ways,
breaks them the way production breaks them (a peer is down while images are pushed: each
event's execution fails at its start and Harbor never retries it), then shows what ``syncd
diff`` sees, what syncd triggers, the converged result and the metrics. The story is the same
on every run: each step awaits exactly the executions it caused (by policy and trigger, never
a count that could include the dual-master echo) before it tells what happened. Everything
lives in a temporary directory and is removed at the end, with the
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


def _started(inst: SimInstance, before: set[int], policy_id: int, trigger: str) -> list[int]:
    """Return the executions of ``policy_id`` by ``trigger`` made on ``inst`` since ``before``."""
    with inst.state.lock:
        return sorted(
            e.id
            for e in inst.state.executions.values()
            if e.id not in before and e.policy_id == policy_id and e.trigger == trigger
        )


def _ids(inst: SimInstance) -> set[int]:
    with inst.state.lock:
        return set(inst.state.executions)


def _settle(inst: SimInstance, ids: list[int], *, timeout: float = 30.0) -> str:
    """Wait until every execution in ``ids`` is terminal; return their statuses, in order."""
    deadline = time.monotonic() + timeout
    while True:
        statuses = [inst.execution_status(i) for i in ids]
        if "InProgress" not in statuses or time.monotonic() > deadline:
            return ", ".join(statuses) or "none"
        time.sleep(0.02)


def _tasks(inst: SimInstance, ids: list[int]) -> int:
    with inst.state.lock:
        return sum(len(inst.state.executions[i].tasks) for i in ids)


def _refused(inst: SimInstance, ids: list[int]) -> bool:
    with inst.state.lock:
        return all("refused" in inst.state.executions[i].status_text for i in ids)


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


def _setup(story: _Story, cluster: SimCluster) -> tuple[SimInstance, SimInstance, int, int]:
    a, b = cluster.add("harbor-a"), cluster.add("harbor-b")
    story.step("Two Harbors in dual-master mode behind a load balancer")
    for inst in (a, b):
        inst.create_project("library")
        story.say(f"{inst.name} at {inst.url}")
    policy_a, policy_b = cluster.dual_master(a.name, b.name)
    story.say(f"policy {policy_a} on harbor-a replicates every push to harbor-b (event-based)")
    story.say(f"policy {policy_b} on harbor-b replicates every push to harbor-a (event-based)")
    before_a, before_b = _ids(a), _ids(b)
    a.push("library/app", "v1")
    copied = _settle(a, _started(a, before_a, policy_a, "event_based"))
    echo = _settle(b, _started(b, before_b, policy_b, "event_based"))
    story.say(f"pushed library/app:v1 to harbor-a; its policy copied it to harbor-b: {copied}")
    story.say(f"harbor-b's echo back to harbor-a found the same digest there (no-op): {echo}")
    story.catalogs(a, b)
    return a, b, policy_a, policy_b


def _outage(story: _Story, a: SimInstance, b: SimInstance, policy_b: int) -> None:
    story.step("harbor-a goes down; the load balancer sends pushes to harbor-b")
    a.set_down("refuse")
    before = _ids(b)
    b.push("library/app", "v2")
    b.push("library/web", "1.0")
    lost = _started(b, before, policy_b, "event_based")
    statuses = _settle(b, lost)
    story.say("pushed library/app:v2 and library/web:1.0 to harbor-b")
    story.say(f"each push started one execution of harbor-b's policy: {statuses}")
    if _tasks(b, lost) == 0 and _refused(b, lost):
        story.say("both failed at their start, before any task: harbor-a refused the connection")

    story.step("harbor-a comes back: Harbor never retries those executions")
    a.set_down("up")
    story.catalogs(a, b)


def _story(out: TextIO, cluster: SimCluster, workdir: Path) -> int:
    story = _Story(out)
    a, b, policy_a, policy_b = _setup(story, cluster)
    _outage(story, a, b, policy_b)

    settings = _settings(a, b, workdir)
    registry = CollectorRegistry()
    metrics = Metrics(registry=registry)
    runtime = build_runtime(settings, on_request=metrics.record_request)
    try:
        story.step("syncd diff: three-way drift per edge")
        diff = run_pass(runtime.deps, act=False)
        out.write(render_table(diff, now=utcnow()) + "\n")

        story.step("syncd reconcile --once: trigger the covering policy, watch it, verify")
        before = _ids(a)
        result = run_pass(runtime.deps)
        metrics.record_pass(result, now=utcnow())
        for outcome in result.outcomes:
            story.say(
                f"{outcome.action.kind.value} policy {outcome.action.policy_id} on "
                f"{outcome.action.instance}: {outcome.result} ({outcome.action.reason})"
            )
        story.say(f"pass outcome: {result.outcome}")
        echoes = _settle(a, _started(a, before, policy_a, "event_based"))
        story.say(f"harbor-a's echoes of the two copies back to harbor-b (no-ops): {echoes}")

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
