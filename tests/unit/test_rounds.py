"""A running scoped repair blocks its origin policy: the same tags are never copied twice."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from syncd.core.model import (
    Edge,
    Execution,
    ExecutionStatus,
    HealthState,
    InstanceHealth,
    Policy,
    RepairScope,
    Topology,
)
from syncd.engine.observe import InstanceView
from syncd.engine.repair import repair_body, repair_origin
from syncd.engine.rounds import Round

T0 = datetime(2026, 1, 1, tzinfo=UTC)
ORIGIN = Policy(owner="a", id=1, name="a-to-b", enabled=True, src_registry_id=0, dest_registry_id=2)


def _temporary(name: str = "syncd-repair-0001") -> Policy:
    body = repair_body(ORIGIN, RepairScope("lib/app", ("v1",)), name=name)
    return Policy(
        owner="a", id=9, name=name, enabled=True, src_registry_id=0, dest_registry_id=2, raw=body
    )


@pytest.mark.parametrize(
    ("policy", "origin"),
    [
        (_temporary(), 1),
        (ORIGIN, None),
        (_temporary(name="someone-elses-policy"), None),
    ],
    ids=["syncd-repair", "ordinary-policy", "marker-without-prefix"],
)
def test_repair_origin_is_read_from_syncds_own_description(policy, origin):
    """Only a policy with syncd's prefix and marker names an origin policy."""
    assert repair_origin(policy) == origin


def test_running_scoped_repair_counts_as_running_origin_policy():
    """An InProgress execution of repair policy 9 makes origin policy 1 'running' for the plan."""
    view = InstanceView(
        name="a",
        health=InstanceHealth("a", HealthState.UP, T0),
        running=(Execution("a", 77, 9, ExecutionStatus.IN_PROGRESS, "manual", start_time=T0),),
    )
    rnd = Round(
        views={"a": view},
        topology=Topology(edges=(Edge("a", "b", "a", 1),)),
        edges=(),
        repair_origins={("a", 9): 1},
    )
    assert rnd.running == {("a", 9), ("a", 1)}
    assert Round(views={"a": view}, topology=Topology(), edges=()).running == {("a", 9)}
