"""Repair metrics: scoped triggers among the actions, blocked repairs per edge and reason."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from prometheus_client import CollectorRegistry

from syncd.core.model import (
    Action,
    ActionKind,
    ActionResult,
    Edge,
    Outcome,
    PassOutcome,
    PassResult,
    Plan,
    RepairScope,
    Skip,
    SkipReason,
    Topology,
)
from syncd.service.metrics import Metrics

T0 = datetime(2024, 5, 1, 12, 0, tzinfo=UTC)
AB = Edge("a", "b", "a", 1)
BA = Edge("b", "a", "b", 2)
SCOPED = Action(
    ActionKind.SCOPED_TRIGGER,
    "a",
    1,
    (AB,),
    "radius a->b policy 1: ...",
    scopes=(RepairScope("lib/app", ("v1",)),),
)


def _pass(*, skips=(), outcomes=()) -> PassResult:
    """Build a drift pass ending at T0 with the given skips and outcomes."""
    return PassResult(
        pass_id="p",
        started_at=T0 - timedelta(seconds=5),
        finished_at=T0,
        outcome=PassOutcome.DRIFT,
        plan=Plan(skips=tuple(skips)),
        outcomes=tuple(outcomes),
        topology=Topology(edges=(AB, BA)),
    )


@pytest.fixture
def metrics() -> Metrics:
    """Metrics on a fresh registry."""
    return Metrics(registry=CollectorRegistry())


def _blocked(m: Metrics, edge: str, reason: str) -> float | None:
    return m.registry.get_sample_value("syncd_repairs_blocked", {"edge": edge, "reason": reason})


def test_scoped_trigger_counts_as_an_action_kind(metrics):
    """A scoped repair's outcome is counted under kind scoped_trigger."""
    metrics.record_pass(_pass(outcomes=[Outcome(SCOPED, ActionResult.SUCCEEDED)]), now=T0)
    sample = metrics.registry.get_sample_value(
        "syncd_actions_total", {"kind": "scoped_trigger", "result": "succeeded"}
    )
    assert sample == 1


def test_blocked_repairs_per_edge_and_reason_then_reset(metrics):
    """Blocked skips and 403-blocked outcomes are gauged per edge; a later pass resets them."""
    skip = Skip(SkipReason.REPAIR_BLOCKED, BA, 2, "whole-policy trigger would do harm", 3)
    metrics.record_pass(
        _pass(skips=[skip], outcomes=[Outcome(SCOPED, ActionResult.BLOCKED)]), now=T0
    )
    assert _blocked(metrics, "b->a", "harmful_radius") == 1
    assert _blocked(metrics, "a->b", "permission_denied") == 1

    metrics.record_pass(_pass(), now=T0)

    assert _blocked(metrics, "b->a", "harmful_radius") == 0
    assert _blocked(metrics, "a->b", "permission_denied") == 0
