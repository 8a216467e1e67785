"""Health classification from /ping and /health answers, and transition detection."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest
from hypothesis import given
from hypothesis import strategies as st

from syncd.core.health import CRITICAL_COMPONENTS, classify, recovered, transitions
from syncd.core.model import HealthState, InstanceHealth

NOW = datetime(2026, 1, 1, tzinfo=UTC)
UP, DEGRADED, DOWN = HealthState.UP, HealthState.DEGRADED, HealthState.DOWN
ALL = ("core", "database", "jobservice", "portal", "redis", "registry", "registryctl", "trivy")


def _body(*unhealthy: str, error: str = "boom") -> dict[str, object]:
    """Build a Harbor /health body in which ``unhealthy`` components fail."""
    components: list[dict[str, str]] = []
    for name in ALL:
        if name in unhealthy:
            components.append({"name": name, "status": "unhealthy", "error": error})
        else:
            components.append({"name": name, "status": "healthy"})
    return {"status": "unhealthy" if unhealthy else "healthy", "components": components}


@pytest.mark.parametrize(
    ("ping_ok", "health", "state", "components", "detail_has"),
    [
        (False, _body(), DOWN, (), "ping failed"),
        (False, None, DOWN, (), "ping failed"),
        (True, None, DEGRADED, (), "health unavailable"),
        (True, _body(), UP, (), ""),
        (True, {"status": "healthy"}, UP, (), ""),
        (True, _body("jobservice"), DEGRADED, ("jobservice",), "jobservice (boom)"),
        (True, _body("redis", "database"), DEGRADED, ("database", "redis"), "critical"),
        (True, _body("core"), DEGRADED, ("core",), "core"),
        (
            True,
            _body("registry", "trivy"),
            DEGRADED,
            ("registry", "trivy"),
            "also unhealthy: trivy",
        ),
        (True, _body("trivy"), UP, ("trivy",), "non-critical components unhealthy: trivy"),
        (True, _body("portal", "registryctl"), UP, ("portal", "registryctl"), "portal"),
        (
            True,
            {"status": "unhealthy", "components": [{"name": "redis", "status": "unknown status"}]},
            DEGRADED,
            ("redis",),
            "redis (unknown status)",
        ),
        (True, {"status": "unhealthy", "components": []}, DEGRADED, (), "no component"),
        (True, {"components": []}, DEGRADED, (), "malformed"),
        (True, {"status": "fine"}, DEGRADED, (), "malformed"),
        (True, {"status": "healthy", "components": "core"}, DEGRADED, (), "malformed"),
        (True, {"status": "healthy", "components": [{"status": "healthy"}]}, DEGRADED, (), "name"),
        (True, {"status": "healthy", "components": [42]}, DEGRADED, (), "malformed"),
        (True, ["not", "an", "object"], DEGRADED, (), "malformed"),
    ],
)
def test_classify(ping_ok, health, state, components, detail_has):
    """Each probe result maps to the documented state, components and detail."""
    result = classify(instance="a", ping_ok=ping_ok, health=health, now=NOW)
    assert result.instance == "a"
    assert result.checked_at == NOW
    assert result.state is state
    assert result.unhealthy_components == components
    assert detail_has in result.detail


def test_classify_truncates_long_component_errors():
    """A huge component error is cut so the detail stays a readable line."""
    result = classify(instance="a", ping_ok=True, health=_body("redis", error="x" * 5000), now=NOW)
    assert result.state is DEGRADED
    assert len(result.detail) < 300


@given(st.sets(st.sampled_from(ALL)))
def test_classify_degraded_iff_a_critical_component_fails(unhealthy):
    """With ping up, DEGRADED exactly when a critical component is unhealthy, else UP."""
    result = classify(instance="a", ping_ok=True, health=_body(*unhealthy), now=NOW)
    assert result.state is (DEGRADED if unhealthy & CRITICAL_COMPONENTS else UP)
    assert set(result.unhealthy_components) == unhealthy


def _probe(instance: str, state: HealthState) -> InstanceHealth:
    return InstanceHealth(instance=instance, state=state, checked_at=NOW)


def test_transitions_lists_changes_and_new_instances_in_order():
    """Unchanged instances are left out; unseen ones have no previous state."""
    previous = {"a": UP, "b": DOWN, "c": DEGRADED}
    current = [_probe("c", DEGRADED), _probe("b", UP), _probe("a", DOWN), _probe("d", UP)]
    assert transitions(previous, current) == [("b", DOWN, UP), ("a", UP, DOWN), ("d", None, UP)]


@pytest.mark.parametrize(
    ("before", "after", "is_recovery"),
    [
        (DOWN, UP, True),
        (DOWN, DEGRADED, True),
        (DEGRADED, UP, False),
        (UP, DOWN, False),
        (None, UP, False),
        (UP, DEGRADED, False),
    ],
)
def test_recovered(before, after, is_recovery):
    """Only a way out of DOWN counts as a recovery that reschedules the instance's edges."""
    assert recovered([("a", before, after)]) == ({"a"} if is_recovery else set())


def test_recovered_from_transitions_end_to_end():
    """Transitions feed recovered() directly."""
    changes = transitions({"a": DOWN, "b": DOWN}, [_probe("a", UP), _probe("b", DOWN)])
    assert recovered(changes) == {"a"}
