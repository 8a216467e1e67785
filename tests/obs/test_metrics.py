"""Metrics derived from hand-built pass results and request records."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

import pytest
from prometheus_client import CollectorRegistry

from syncd import __version__
from syncd.core.model import (
    Action,
    ActionKind,
    ActionResult,
    Drift,
    DriftClass,
    Edge,
    HealthState,
    InstanceHealth,
    Outcome,
    PassResult,
    PolicyProblem,
    Topology,
)
from syncd.service.metrics import Metrics

T0 = datetime(2024, 5, 1, 12, 0, tzinfo=UTC)
AB = Edge(source="a", destination="b", policy_owner="a", policy_id=1)
BA = Edge(source="b", destination="a", policy_owner="b", policy_id=2)


def drift(edge: Edge, cls: DriftClass, *, tag: str = "v1", age: float = 60.0) -> Drift:
    """Build a drifted tag first seen ``age`` seconds before T0."""
    return Drift(
        edge=edge,
        repository="lib/nginx",
        tag=tag,
        drift_class=cls,
        source_digest="sha256:aa",
        destination_digest=None,
        base_digest=None,
        first_seen=T0 - timedelta(seconds=age),
    )


def result(**changes: object) -> PassResult:
    """Build a drift pass of 12 s ending at T0, overridable field by field."""
    fields: dict[str, object] = {
        "pass_id": "p1",
        "started_at": T0 - timedelta(seconds=12),
        "finished_at": T0,
        "outcome": "drift",
        "topology": Topology(edges=(AB, BA)),
    }
    return PassResult(**(fields | changes))  # type: ignore[arg-type]


@pytest.fixture
def metrics() -> Metrics:
    """Metrics on a fresh registry."""
    return Metrics(registry=CollectorRegistry())


def value(m: Metrics, name: str, **labels: str) -> float | None:
    """Read one sample from the metrics' registry."""
    return m.registry.get_sample_value(name, labels)


def test_drift_gauges_count_per_edge_and_class(metrics):
    """Drift is counted per edge and class, with the oldest actionable age per edge."""
    res = result(
        drift=(
            drift(AB, DriftClass.MISSING, tag="v1", age=100),
            drift(AB, DriftClass.MISSING, tag="v2", age=30),
            drift(AB, DriftClass.EXTRA, tag="x", age=5000),
            drift(BA, DriftClass.STALE, age=10),
        )
    )
    metrics.record_pass(res, now=T0)
    assert value(metrics, "syncd_drift_tags", edge="a->b", **{"class": "missing"}) == 2
    assert value(metrics, "syncd_drift_tags", edge="a->b", **{"class": "extra"}) == 1
    assert value(metrics, "syncd_drift_tags", edge="b->a", **{"class": "stale"}) == 1
    assert value(metrics, "syncd_drift_oldest_age_seconds", edge="a->b") == 100
    assert value(metrics, "syncd_drift_oldest_age_seconds", edge="b->a") == 10


def test_vanished_drift_label_sets_reset_to_zero(metrics):
    """Edges and classes that stop drifting read 0 on the next pass, not their old value."""
    first = result(drift=(drift(AB, DriftClass.MISSING), drift(BA, DriftClass.CONFLICT)))
    metrics.record_pass(first, now=T0)
    second = result(pass_id="p2", drift=(drift(AB, DriftClass.STALE),))
    metrics.record_pass(second, now=T0)
    assert value(metrics, "syncd_drift_tags", edge="a->b", **{"class": "missing"}) == 0
    assert value(metrics, "syncd_drift_tags", edge="b->a", **{"class": "conflict"}) == 0
    assert value(metrics, "syncd_drift_tags", edge="a->b", **{"class": "stale"}) == 1
    assert value(metrics, "syncd_drift_oldest_age_seconds", edge="b->a") == 0


def test_converged_pass_sets_success_and_edge_timestamps(metrics):
    """A converged pass stamps last success and every converged edge, and zeroes drift age."""
    metrics.record_pass(result(drift=(drift(AB, DriftClass.MISSING),)), now=T0)
    later = T0 + timedelta(minutes=5)
    done = result(outcome="converged", finished_at=later, converged_edges=("a->b", "b->a"))
    metrics.record_pass(done, now=later)
    assert value(metrics, "syncd_passes_total", outcome="converged") == 1
    assert value(metrics, "syncd_passes_total", outcome="drift") == 1
    assert value(metrics, "syncd_passes_total", outcome="error") == 0
    assert value(metrics, "syncd_last_success_timestamp_seconds") == later.timestamp()
    stamp = value(metrics, "syncd_edge_last_converged_timestamp_seconds", edge="b->a")
    assert stamp == later.timestamp()
    assert value(metrics, "syncd_drift_oldest_age_seconds", edge="a->b") == 0
    assert value(metrics, "syncd_drift_tags", edge="a->b", **{"class": "missing"}) == 0
    assert value(metrics, "syncd_pass_duration_seconds_count") == 2


def test_error_pass_keeps_last_observation(metrics):
    """An errored pass counts as an error but leaves drift and last success untouched."""
    metrics.record_pass(result(drift=(drift(AB, DriftClass.MISSING),)), now=T0)
    failed = result(outcome="error", finished_at=T0 + timedelta(minutes=5), error="boom")
    metrics.record_pass(failed, now=T0)
    assert value(metrics, "syncd_passes_total", outcome="error") == 1
    assert value(metrics, "syncd_drift_tags", edge="a->b", **{"class": "missing"}) == 1
    assert value(metrics, "syncd_last_success_timestamp_seconds") == T0.timestamp()


@pytest.mark.parametrize(
    ("state", "up", "degraded"),
    [(HealthState.UP, 1, 0), (HealthState.DEGRADED, 1, 1), (HealthState.DOWN, 0, 0)],
)
def test_instance_health_gauges(metrics, state, up, degraded):
    """Each health state maps to the up/degraded gauge pair."""
    health = (InstanceHealth(instance="a", state=state, checked_at=T0),)
    metrics.record_pass(result(health=health), now=T0)
    assert value(metrics, "syncd_instance_up", instance="a") == up
    assert value(metrics, "syncd_instance_degraded", instance="a") == degraded


def test_actions_policies_and_executions(metrics):
    """Outcomes, policy lists, topology problems and running executions become gauges/counters."""
    trigger = Action(kind=ActionKind.TRIGGER, instance="a", policy_id=1, edges=(AB,), reason="r")
    res = result(
        outcomes=(
            Outcome(action=trigger, result=ActionResult.SUCCEEDED),
            Outcome(action=trigger, result=ActionResult.SUCCEEDED),
            Outcome(action=trigger, result=ActionResult.FAILED),
        ),
        running_executions=3,
        non_converging_policies=(("a", 1), ("a", 1), ("b", 2)),
        disabled_policies=(("b", 7),),
        topology=Topology(
            edges=(AB,),
            problems=(
                ("a", 9, PolicyProblem.UNKNOWN_REGISTRY, "registry 4 gone"),
                ("b", 7, PolicyProblem.DISABLED, ""),
            ),
        ),
    )
    metrics.record_pass(res, now=T0)
    assert value(metrics, "syncd_actions_total", kind="trigger", result=ActionResult.SUCCEEDED) == 2
    assert value(metrics, "syncd_actions_total", kind="trigger", result=ActionResult.FAILED) == 1
    assert value(metrics, "syncd_executions_in_progress") == 3
    assert value(metrics, "syncd_non_converging_policies") == 2
    assert value(metrics, "syncd_disabled_policies") == 1
    assert value(metrics, "syncd_policy_problems", problem="unknown_registry") == 1
    assert value(metrics, "syncd_policy_problems", problem="invalid_mapping") == 0


@dataclass(frozen=True)
class Record:
    """Shape of the Harbor client's per-request record."""

    instance: str
    method: str
    kind: str
    status_class: str
    seconds: float


def test_record_request_counts_by_status_class(metrics):
    """Requests are counted per instance and status class and timed per instance."""
    metrics.record_request(Record("a", "GET", "list_projects", "2xx", 0.05))
    metrics.record_request(Record("a", "GET", "list_projects", "5xx", 0.5))
    metrics.record_request(Record("a", "POST", "trigger", "2xx", 0.1))
    assert value(metrics, "syncd_api_requests_total", instance="a", status_class="2xx") == 2
    assert value(metrics, "syncd_api_requests_total", instance="a", status_class="5xx") == 1
    assert value(metrics, "syncd_api_request_duration_seconds_count", instance="a") == 3
    assert value(metrics, "syncd_api_request_duration_seconds_sum", instance="a") == (
        pytest.approx(0.65)
    )


def test_hung_parity_and_build_info(metrics):
    """Probe results and the build info are exposed as gauges."""
    metrics.record_hung("a", 2)
    metrics.record_parity("b", checked=50, missing=3)
    assert value(metrics, "syncd_hung_executions", instance="a") == 2
    assert value(metrics, "syncd_parity_checked", instance="b") == 50
    assert value(metrics, "syncd_parity_missing", instance="b") == 3
    assert value(metrics, "syncd_build_info", version=__version__) == 1


def test_no_high_cardinality_labels(metrics):
    """No metric has a repository, tag or digest label."""
    metrics.record_pass(result(drift=(drift(AB, DriftClass.MISSING),)), now=T0)
    labels = {
        label
        for family in metrics.registry.collect()
        for sample in family.samples
        for label in sample.labels
    }
    assert not labels & {"repository", "tag", "digest", "project"}
    assert all(f.name.startswith("syncd_") for f in metrics.registry.collect())
