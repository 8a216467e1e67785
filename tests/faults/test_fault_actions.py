"""syncd's own writes failing: a failed start is not backed off; a re-enable is retried."""

from __future__ import annotations

import pytest

from tests.faults.faultproxy import Fault, FaultKind
from tests.simkit import wait_for

EXECUTIONS = "/api/v2.0/replication/executions"
POLICIES = "/api/v2.0/replication/policies/"


def _posts(rig):
    return [p for m, p, _s in rig.writes() if m == "POST" and p.startswith(EXECUTIONS)]


@pytest.mark.parametrize(
    "fault",
    [
        pytest.param(Fault(FaultKind.STATUS, method="POST", path=EXECUTIONS, times=1), id="503"),
        pytest.param(Fault(FaultKind.RESET, method="POST", path=EXECUTIONS, times=1), id="reset"),
        pytest.param(
            Fault(FaultKind.STATUS, method="POST", path=EXECUTIONS, status=500, times=1), id="500"
        ),
    ],
)
def test_failed_start_is_not_backed_off_and_the_next_pass_converges(rig, fault):
    """A failed POST is ``not_started`` (never retried, no backoff); the next pass repairs."""
    rig.seed("library/app", 2)
    rig.b.push("library/app", "extra")
    rig.mark()
    rig.pb.inject(fault)

    run = rig.syncd("reconcile", "--once", "--output", "json")

    assert fault.hits == 1  # the POST was sent once: never retried
    assert _posts(rig) == []  # and it never reached the simulator
    assert run.code == 1
    assert run.json["outcome"] == "drift"
    assert [a["result"] for a in run.json["actions"]] == ["not_started"]
    assert "start failed" in run.json["actions"][0]["detail"]
    assert run.json["non_converging_policies"] == []

    again = rig.syncd("reconcile", "--once", "--output", "json")
    assert again.code == 0, again.out
    assert [a["result"] for a in again.json["actions"]] == ["succeeded"]
    assert rig.a.state.tag_map() == rig.b.state.tag_map()
    assert len(_posts(rig)) == 1


def _enabled(rig, policy_id: int) -> bool:
    with rig.b.state.lock:
        return bool(rig.b.state.policies[policy_id].enabled)


def test_reenable_blip_is_retried_within_the_pass(make_rig):
    """One failed re-enable PUT is retried under the same intent; the pass converges."""
    rig = make_rig(reconcile={"mode": "toggle"})
    rig.seed("library/app", 2)
    rig.b.push("library/app", "extra")
    fault = rig.pb.inject(
        Fault(FaultKind.STATUS, method="PUT", path=POLICIES, skip=1, times=1)  # the disable passes
    )

    run = rig.syncd("reconcile", "--once", "--output", "json")

    assert fault.hits == 1
    assert run.code == 0, run.out + run.err
    assert run.json["reenable_pending"] == []
    assert run.events("toggle.reenable_retry")
    assert _enabled(rig, rig.b_to_a)
    assert rig.a.state.tag_map() == rig.b.state.tag_map()


def test_reenable_failure_is_an_open_problem_until_the_next_pass(make_rig):
    """Every re-enable fails: error event, reported pending, edge still reported; then restored."""
    rig = make_rig(reconcile={"mode": "toggle"})
    rig.seed("library/app", 2)
    rig.b.push("library/app", "extra")
    rig.mark()
    fault = rig.pb.inject(Fault(FaultKind.STATUS, method="PUT", path=POLICIES, skip=1, times=3))

    run = rig.syncd("reconcile", "--once", "--output", "json")

    assert fault.hits == 3
    assert not _enabled(rig, rig.b_to_a)  # syncd's disable went through, its enables did not
    assert _posts(rig) == []  # nothing started through a policy left disabled
    assert run.code == 1
    assert run.json["reenable_pending"] == [["b", rig.b_to_a]]
    assert [e["level"] for e in run.events("toggle.reenable_failed")] == ["error"]
    assert [a["result"] for a in run.json["actions"]] == ["not_started"]
    missing = {(d["edge"], d["tag"]) for d in run.json["drift"] if d["class"] == "missing"}
    assert missing == {("b->a", "extra")}  # the edge stays in the report
    table = rig.syncd("diff")
    assert f"policy {rig.b_to_a} on b: left disabled by syncd, re-enable pending" in table.out

    again = rig.syncd("reconcile", "--once", "--output", "json")
    assert again.code == 0, again.out + again.err
    assert again.json["reenable_pending"] == []
    assert _enabled(rig, rig.b_to_a)
    assert rig.a.state.tag_map() == rig.b.state.tag_map()


def test_post_that_timed_out_but_started_is_never_started_twice(make_rig):
    """A POST stalled past read_timeout may still start: the next pass sees it, never re-POSTs."""
    rig = make_rig(instances={"b": {"read_timeout": 0.3}})
    rig.seed("library/app", 2)
    rig.b.push("library/app", "extra")
    rig.mark()
    fault = rig.pb.inject(
        Fault(FaultKind.STALL, method="POST", path=EXECUTIONS, amount=1.0, times=1)
    )

    run = rig.syncd("reconcile", "--once", "--output", "json")

    assert fault.hits == 1
    assert [a["result"] for a in run.json["actions"]] == ["not_started"]
    assert run.json["non_converging_policies"] == []
    wait_for(lambda: len(_posts(rig)) == 1)  # the stalled POST reached Harbor after all
    wait_for(lambda: rig.a.state.tag_map() == rig.b.state.tag_map())

    again = rig.syncd("reconcile", "--once", "--output", "json")
    assert again.code == 0, again.out
    assert again.json["actions"] == []
    assert len(_posts(rig)) == 1  # one execution, ever
