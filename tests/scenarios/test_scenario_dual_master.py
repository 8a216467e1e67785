"""Scenario: dual-master outage repaired by the ``syncd run`` daemon as a real subprocess.

A goes down, B takes pushes whose event replication to A fails for good (Harbor never
retries it), A comes back: the daemon's health poll sees the recovery, its recovery pass
triggers B's policy towards A, and both sides end with the same digests.
"""

from __future__ import annotations

import signal
from typing import TYPE_CHECKING

import pytest

from tests.daemonkit import DaemonProcess, daemon_config, write_config
from tests.registrykit import requires_registry
from tests.scenarios.scenariokit import (
    assert_nothing_deleted,
    assert_same_everywhere,
    manual_policies,
    push,
    push_while_down,
    quiesce,
)

if TYPE_CHECKING:
    from collections.abc import Callable, Iterator
    from pathlib import Path

    from syncd.sim import SimCluster
    from tests.scenarios.scenariokit import Image

pytestmark = [
    pytest.mark.needs_registry,
    pytest.mark.slow,
    pytest.mark.xdist_group("scenarios"),
    requires_registry,
]


@pytest.fixture
def start_daemon(cluster: SimCluster, tmp_path: Path) -> Iterator[Callable[[], DaemonProcess]]:
    """Start ``syncd run`` for the cluster's instances (health polled every 0.25 s); stop it."""
    started: list[DaemonProcess] = []

    def start() -> DaemonProcess:
        config = daemon_config(
            instances=cluster.instances, state=tmp_path / "state.sqlite3", health_interval=0.25
        )
        path = write_config(tmp_path / "syncd.yaml", config)
        started.append(DaemonProcess(config=path, cwd=tmp_path))
        return started[-1].start()

    yield start
    for daemon in started:
        daemon.close()


def test_outage_on_a_is_repaired_by_the_daemon_after_recovery(
    cluster: SimCluster, images: dict[str, Image], start_daemon: Callable[[], DaemonProcess]
) -> None:
    """Pushes to B while A is down are lost; the daemon's recovery pass copies them to A."""
    a, b = cluster.add("a", data_plane=True), cluster.add("b", data_plane=True)
    for inst in (a, b):
        inst.create_project("library")
    a_to_b, b_to_a = cluster.dual_master("a", "b")
    before = {("library/app", "v1"): push(a, images["first"], target="library/app:v1")}
    quiesce(a, b)
    daemon = start_daemon()
    daemon.wait_for("reconcile.pass_finished", outcome="converged")

    mark = daemon.mark()
    a.set_down("refuse")
    daemon.wait_for("health.transition", since=mark, instance="a", state="down")
    lost = push_while_down(
        source=b,
        down=[a],
        pushes={"library/app:v2": images["second"], "library/tools:v1": images["third"]},
    )  # ends with A up again
    assert a.state.tag_map() == before

    recovery = daemon.wait_for("daemon.recovery_reconcile", since=mark, instance="a")
    repaired = daemon.wait_for("act.action_finished", since=recovery, edge="b->a")
    assert daemon.events[repaired]["result"] == "succeeded"
    assert daemon.events[repaired]["policy_id"] == b_to_a
    daemon.wait_for("reconcile.pass_finished", since=repaired, outcome="converged")

    assert manual_policies(b) == [b_to_a]
    assert manual_policies(a) == []
    assert daemon.find("act.execution_started", instance="a", policy_id=a_to_b) == []
    assert_same_everywhere([a, b], before | lost)
    assert_nothing_deleted(a, b)
    daemon.send(signal.SIGTERM)
    assert daemon.wait_exit() == 0
