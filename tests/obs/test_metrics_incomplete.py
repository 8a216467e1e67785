"""Metrics of an incomplete pass: nothing unobserved is zeroed, nothing counts as a success."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from prometheus_client import CollectorRegistry

from syncd.core.model import (
    Drift,
    DriftClass,
    Edge,
    HealthState,
    InstanceHealth,
    PassOutcome,
    PassResult,
    Topology,
    Unobserved,
    UnobservedCause,
)
from syncd.service.metrics import Metrics

T0 = datetime(2026, 1, 1, tzinfo=UTC)
AB = Edge("a", "b", "a", 1)
BC = Edge("b", "c", "b", 2)


def _drift(edge: Edge) -> Drift:
    return Drift(edge, "lib/x", "v1", DriftClass.MISSING, "sha256:a", None, None, first_seen=T0)


def _pass(at: datetime, outcome: PassOutcome, *drift: Drift, blind: str = "") -> PassResult:
    return PassResult(
        pass_id="p",
        started_at=at,
        finished_at=at,
        outcome=outcome,
        health=tuple(InstanceHealth(n, HealthState.UP, at) for n in "abc"),
        drift=drift,
        topology=Topology(edges=(AB, BC)),
        unobserved=(Unobserved(blind, UnobservedCause.TIMEOUT),) if blind else (),
    )


def _value(metrics: Metrics, name: str, **labels: str) -> float | None:
    return metrics.registry.get_sample_value(name, labels)


@pytest.mark.parametrize("later", [PassOutcome.INCOMPLETE, PassOutcome.ERROR])
def test_unobserved_edges_keep_their_drift_and_success_does_not_advance(later):
    """Blind edge a->b keeps 1; observed b->c drops to 0 (incomplete only); success stays put."""
    metrics = Metrics(registry=CollectorRegistry())
    metrics.record_pass(_pass(T0, PassOutcome.DRIFT, _drift(AB), _drift(BC)), now=T0)
    t1 = T0 + timedelta(minutes=5)

    metrics.record_pass(_pass(t1, later, blind="a"), now=t1)

    assert _value(metrics, "syncd_last_success_timestamp_seconds") == T0.timestamp()
    assert _value(metrics, "syncd_drift_tags", edge="a->b", **{"class": "missing"}) == 1
    expected_bc = 0 if later is PassOutcome.INCOMPLETE else 1
    assert _value(metrics, "syncd_drift_tags", edge="b->c", **{"class": "missing"}) == expected_bc
    assert _value(metrics, "syncd_passes_total", outcome=later.value) == 1


def test_instance_observed_gauge_follows_the_pass():
    """1 for every observed instance, 0 for the blind one."""
    metrics = Metrics(registry=CollectorRegistry())
    metrics.record_pass(_pass(T0, PassOutcome.INCOMPLETE, blind="a"), now=T0)
    observed = {n: _value(metrics, "syncd_instance_observed", instance=n) for n in "abc"}
    assert observed == {"a": 0, "b": 1, "c": 1}
