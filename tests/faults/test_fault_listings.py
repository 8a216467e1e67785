"""Listings that cannot be proven complete: no action, exit 2 with the cause, no phantom drift."""

from __future__ import annotations

import pytest

from tests.faults.faultproxy import Fault, FaultKind

ARTIFACTS = r"/artifacts$"


@pytest.mark.parametrize(
    ("fault", "cause"),
    [
        pytest.param(
            Fault(FaultKind.UNDERSTATE_TOTAL, path=ARTIFACTS, amount=51),
            "incomplete_listing",
            id="lying-total",
        ),
        pytest.param(
            Fault(FaultKind.UNDERSTATE_TOTAL, path=ARTIFACTS, amount=20),
            "incomplete_listing",
            id="short-of-total",
        ),
        pytest.param(
            Fault(FaultKind.REPEAT_ROW, path=ARTIFACTS), "incomplete_listing", id="dup-row"
        ),
        pytest.param(Fault(FaultKind.HTML, path=ARTIFACTS), "invalid_response", id="html-200"),
        pytest.param(Fault(FaultKind.MALFORMED, path=ARTIFACTS), "invalid_response", id="bad-json"),
    ],
)
def test_untrustworthy_listing_blocks_the_instance_and_heals(make_rig, fault, cause):
    """With deletions on, a bad listing of ``a`` acts on nothing; the next clean diff is clean."""
    rig = make_rig(reconcile={"propagate_deletions": True})
    rig.seed("library/app", 151)
    assert rig.syncd("reconcile", "--once").code == 0  # the base: both sides agree
    for inst in (rig.a, rig.b):  # a push on both sides: the repository is re-listed
        inst.push("library/app", "new")
    rig.mark()
    rig.pa.inject(fault)

    run = rig.syncd("reconcile", "--once", "--output", "json")

    assert rig.writes() == []  # no DELETE, POST or PUT reached either simulator
    assert fault.hits > 0
    assert run.code == 2, run.err
    assert run.json["outcome"] == "incomplete"
    assert [(u["instance"], u["cause"]) for u in run.json["unobserved"]] == [("a", cause)]
    assert run.json["instances"]["a"]["observed"] is False
    assert run.json["drift"] == []
    assert sorted(run.json["unobserved_edges"]) == ["a->b", "b->a"]

    table = rig.syncd("diff")
    assert table.code == 2
    assert f"not observed: a ({cause}" in table.out
    assert "in sync" not in table.out

    rig.pa.clear()
    clean = rig.syncd("diff")
    assert clean.code == 0, clean.out
    assert "(no drift: every edge is in sync)" in clean.out
    assert rig.writes() == []


def test_incomplete_listing_is_named_in_the_table(rig):
    """The table names the instance and says "incomplete listing" (the cause's detail)."""
    rig.seed("library/app", 151)
    rig.pa.inject(Fault(FaultKind.UNDERSTATE_TOTAL, path=ARTIFACTS, amount=51))
    run = rig.syncd("diff")
    assert run.code == 2
    line = next(line for line in run.out.splitlines() if line.startswith("not observed:"))
    assert line.startswith("not observed: a (incomplete_listing: ")
    assert "incomplete listing" in line
    assert rig.writes() == []
