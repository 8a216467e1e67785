"""Classify one Harbor instance's health from its /ping and /health answers, and spot transitions.

Pure (stdlib and ``syncd.core.model`` only): the caller does the HTTP and hands in the results.
Harbor's ``/health`` answers 200 even when unhealthy, so the verdict comes from the body's
``status`` and ``components``. Replication runs in jobservice, pulls from and pushes to the
registry and keeps its state in the database and redis, so those components (and core, which
serves the API) decide between UP and DEGRADED; the rest only add detail.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import TYPE_CHECKING

from syncd.core.model import HealthState, InstanceHealth

if TYPE_CHECKING:
    from datetime import datetime

__all__ = ["CRITICAL_COMPONENTS", "Transition", "classify", "recovered", "transitions"]

CRITICAL_COMPONENTS = frozenset({"core", "jobservice", "registry", "database", "redis"})
"""Components replication cannot do without; others (portal, registryctl, trivy) are cosmetic."""

_HEALTHY = "healthy"
_UNHEALTHY = "unhealthy"
_ERROR_LIMIT = 120
"""Characters of a component's error message kept in the detail."""

Transition = tuple[str, HealthState | None, HealthState]
"""``(instance, previous state or None if never seen, current state)``."""


class _MalformedError(ValueError):
    """The /health body does not have the documented shape."""


def classify(
    *, instance: str, ping_ok: bool, health: Mapping[str, object] | None, now: datetime
) -> InstanceHealth:
    """Turn one probe's results into an `InstanceHealth`.

    ``ping_ok`` is False when /ping failed or could not be reached (DOWN). ``health`` is the
    decoded /health body, or None when core answered /ping but /health failed (DEGRADED: the
    instance is alive but cannot vouch for its components).
    """
    if not ping_ok:
        return InstanceHealth(instance, HealthState.DOWN, now, detail="ping failed")
    if health is None:
        return InstanceHealth(instance, HealthState.DEGRADED, now, detail="health unavailable")
    try:
        status, unhealthy = _parse(health)
    except _MalformedError as exc:
        return InstanceHealth(
            instance, HealthState.DEGRADED, now, detail=f"malformed health: {exc}"
        )
    state, detail = _verdict(status, unhealthy)
    return InstanceHealth(instance, state, now, tuple(sorted(unhealthy)), detail)


def _verdict(status: str, unhealthy: Mapping[str, str]) -> tuple[HealthState, str]:
    """Decide the state from the unhealthy components, and say why."""
    names = sorted(unhealthy)
    critical = [name for name in names if name in CRITICAL_COMPONENTS]
    others = [name for name in names if name not in CRITICAL_COMPONENTS]
    if critical:
        detail = f"critical components unhealthy: {_describe(critical, unhealthy)}"
        if others:
            detail += f"; also unhealthy: {_describe(others, unhealthy)}"
        return HealthState.DEGRADED, detail
    if others:
        return HealthState.UP, f"non-critical components unhealthy: {_describe(others, unhealthy)}"
    if status == _UNHEALTHY:
        # Overall unhealthy with no component to blame: do not trust it with replication.
        return HealthState.DEGRADED, "status unhealthy but no component reported unhealthy"
    return HealthState.UP, ""


def _parse(health: object) -> tuple[str, dict[str, str]]:
    """Return the overall status and ``{unhealthy component: error}``; raise if malformed."""
    if not isinstance(health, Mapping):
        raise _MalformedError(f"body is a {type(health).__name__}, not an object")
    status = health.get("status")
    if status not in {_HEALTHY, _UNHEALTHY}:
        raise _MalformedError(f"status is {status!r}")
    components = health.get("components", [])
    if not isinstance(components, Sequence) or isinstance(components, str):
        raise _MalformedError("components is not a list")
    unhealthy: dict[str, str] = {}
    for component in components:
        if not isinstance(component, Mapping) or not isinstance(component.get("name"), str):
            raise _MalformedError(f"component {component!r} has no name")
        # Anything but "healthy" counts: before its first check Harbor says "unknown status".
        if component.get("status") != _HEALTHY:
            error = component.get("error") or component.get("status")
            unhealthy[component["name"]] = str(error)[:_ERROR_LIMIT]
    return str(status), unhealthy


def _describe(names: Sequence[str], errors: Mapping[str, str]) -> str:
    return ", ".join(f"{name} ({errors[name]})" for name in names)


def transitions(
    previous: Mapping[str, HealthState], current: Sequence[InstanceHealth]
) -> list[Transition]:
    """List the instances whose state changed (or that are new), in ``current`` order."""
    return [
        (probe.instance, previous.get(probe.instance), probe.state)
        for probe in current
        if previous.get(probe.instance) != probe.state
    ]


def recovered(changes: Sequence[Transition]) -> set[str]:
    """Return instances that came back from DOWN: every edge touching them needs a reconcile."""
    return {
        instance
        for instance, before, after in changes
        if before is HealthState.DOWN and after is not HealthState.DOWN
    }
