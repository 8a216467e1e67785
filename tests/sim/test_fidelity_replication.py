"""Issue 9, points 4, 11 (task log), 12: how executions fail, their logs, registry status.

Each case cites the Harbor source (goharbor/harbor ``src/``) whose behaviour it pins.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import pytest

from syncd.sim import SimTiming
from tests.simkit import api, check, wait_for

if TYPE_CHECKING:
    from syncd.sim import SimCluster, SimInstance


def _finished(inst: SimInstance, eid: int) -> dict[str, Any]:
    def done() -> dict[str, Any] | None:
        with api(inst) as c:
            body = check(c.get(f"/replication/executions/{eid}"))
        return body if body["status"] != "InProgress" else None

    result: dict[str, Any] = wait_for(done)
    return result


def _only_execution(inst: SimInstance) -> int:
    [eid] = list(inst.state.executions)
    return eid


@pytest.mark.parametrize("mode", ["refuse", "503"])
def test_destination_down_at_flow_start_fails_without_tasks(cluster: SimCluster, mode: str) -> None:
    """controller/replication/flow/copy.go: PrepareForPush fails -> Failed, 0 tasks, no retry."""
    a, b = cluster.add("a"), cluster.add("b")
    a.create_project("library")
    cluster.link("a", "b")
    b.set_down(mode)
    a.push("library/app", "v1")
    execution = _finished(a, _only_execution(a))
    assert (execution["status"], execution["total"]) == ("Failed", 0)
    expected = "Connection refused" if mode == "refuse" else "HTTP 503"
    assert expected in execution["status_text"]
    b.set_down("up")
    flow_calls = [path.rsplit("/", 1)[-1] for _, path, _ in b.admin_log if "-" in path]
    # The one failed preparation at most (a 503 answers it); no copy ever, not even after "up".
    assert flow_calls in ([], ["prepare-push"])
    assert _finished(a, _only_execution(a))["status"] == "Failed"
    assert ("library/app", "v1") not in b.state.tag_map()


@pytest.mark.parametrize(
    ("failures", "status", "attempts"),
    [
        (1, "Succeed", 2),  # pkg/task + jobservice: a failed attempt is retried
        (2, "Succeed", 3),
        (3, "Failed", 3),  # MaxFails: 3 attempts, then the task is Failed for good
    ],
)
def test_task_failing_mid_copy_is_retried(
    cluster: SimCluster, failures: int, status: str, attempts: int
) -> None:
    """A task failing after the flow prepared the destination gets 3 attempts with backoff."""
    a, b = cluster.add("a"), cluster.add("b")
    a.create_project("library")
    cluster.link("a", "b")
    b.faults.fail_copies(failures)
    a.push("library/app", "v1")
    execution = _finished(a, _only_execution(a))
    assert (execution["status"], execution["total"]) == (status, 1)
    copies = [path for _, path, _ in b.admin_log if path.endswith("/replicate-in")]
    assert len(copies) == attempts
    assert (("library/app", "v1") in b.state.tag_map()) is (status == "Succeed")


def test_task_log_is_plain_text(cluster: SimCluster) -> None:
    """handler/replication.go GetReplicationLog writes the job log as text/plain."""
    a, b = cluster.add("a"), cluster.add("b")
    a.create_project("library")
    cluster.link("a", "b")
    b.faults.fail_copies(1)
    a.push("library/app", "v1")
    eid = _only_execution(a)
    _finished(a, eid)
    with api(a) as c:
        [task] = check(c.get(f"/replication/executions/{eid}/tasks"))
        log = c.get(f"/replication/executions/{eid}/tasks/{task['id']}/log")
        missing = c.get(f"/replication/executions/{eid}/tasks/999/log")
    assert log.status_code == 200
    assert log.headers["content-type"].startswith("text/plain")
    assert "attempt failed" in log.text
    assert "library/app" in log.text
    assert missing.status_code == 404


def test_registry_status_follows_reachability(cluster: SimCluster) -> None:
    """controller/registry: core re-checks every endpoint periodically and stores its status."""
    timing = SimTiming(registry_refresh=0.05)
    a, b = cluster.add("a", timing=timing), cluster.add("b")
    rid = a.add_registry("b", b.url, username="admin", password="Harbor12345")

    def status() -> str:
        with api(a) as c:
            body = check(c.get(f"/registries/{rid}"))
        return str(body["status"])

    wait_for(lambda: status() == "healthy")
    b.set_down("refuse")
    wait_for(lambda: status() == "unhealthy")
    b.set_down("up")
    wait_for(lambda: status() == "healthy")
