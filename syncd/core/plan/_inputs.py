"""The planner's inputs and the helpers every kind of action shares (ranking, caps, skips)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

from syncd.core.model import (
    Action,
    Drift,
    DriftClass,
    Edge,
    HealthState,
    ReconcileMode,
    Skip,
    SkipReason,
    Topology,
)
from syncd.core.radius import Radius, RepairMode, radius_of_drift

if TYPE_CHECKING:
    from collections.abc import Collection, Iterable, Mapping, Sequence
    from datetime import datetime

    from syncd.core.backoff import PolicyHistory


__all__ = [
    "ALIVE",
    "TRIGGERABLE",
    "Inputs",
    "PlanSettings",
    "PolicyKey",
    "Ranked",
    "cap",
    "rank",
    "report",
    "skip",
    "would",
]

PolicyKey = tuple[str, int]
ALIVE = frozenset({HealthState.UP, HealthState.DEGRADED})
TRIGGERABLE = frozenset({DriftClass.MISSING, DriftClass.STALE, DriftClass.NON_CONVERGING})


@dataclass(frozen=True)
class PlanSettings:
    """Knobs of the planner (a slice of the daemon's settings)."""

    mode: ReconcileMode
    """``observe`` | ``trigger`` | ``toggle``."""
    max_actions_per_pass: int = 10
    propagate_deletions: bool = False
    conflict_preference: str = "report"
    """``report`` | ``newest`` (later push time wins) | an instance name (that side wins)."""
    max_deletions_per_pass: int = 20
    reenable_disabled_policies: bool = False
    repair: RepairMode = RepairMode.AUTO
    """Whole-policy trigger vs scoped repair (``reconcile.repair``)."""


@dataclass(frozen=True)
class Inputs:
    topology: Topology
    running: Collection[PolicyKey]
    health: Mapping[str, HealthState]
    history: Mapping[PolicyKey, PolicyHistory]
    settings: PlanSettings
    now: datetime
    push_times: Mapping[tuple[str, str, str], datetime]
    drift: Sequence[Drift]
    radii: Mapping[PolicyKey, Radius]

    def down(self, *instances: str) -> list[str]:
        return [name for name in instances if self.health.get(name) not in ALIVE]

    def radius(self, key: PolicyKey, edge: Edge) -> Radius:
        """Return the policy's radius from the assessment, else rebuilt from the edge's drift."""
        known = self.radii.get(key)
        if known is not None:
            return known
        policy = self.topology.policies.get(key)
        return radius_of_drift(edge, self.drift, override=policy is None or policy.override)


Ranked = tuple[tuple[object, ...], Action]


# --------------------------------------------------------------------------- shared


def cap(ranked: list[Ranked], limit: int, reason: SkipReason, skips: list[Skip]) -> list[Action]:
    ordered = [action for _, action in sorted(ranked, key=lambda pair: pair[0])]
    for action in ordered[max(limit, 0) :]:
        edge = action.edges[0] if action.edges else None
        detail = f"cap {limit} reached; deferred: {action.reason}"
        skips.append(Skip(reason, edge, action.policy_id, detail, action.drift_count))
    return ordered[: max(limit, 0)]


def would(action: Action) -> Skip:
    edge = action.edges[0] if action.edges else None
    detail = f"would {action.kind.value} on {action.instance}: {action.reason}"
    return Skip(SkipReason.OBSERVE_ONLY, edge, action.policy_id, detail, action.drift_count)


def skip(reason: SkipReason, items: list[Drift], detail: str) -> Skip:
    edge = items[0].edge
    return Skip(reason, edge, edge.policy_id, detail, len(items))


def report(items: Iterable[Drift], reason: SkipReason, detail: str) -> list[Skip]:
    """One skip per edge (not per tag), with a few example tags in the detail."""
    per_edge: dict[Edge, list[Drift]] = {}
    for item in items:
        per_edge.setdefault(item.edge, []).append(item)
    skips = []
    for group in per_edge.values():
        examples = ", ".join(f"{item.repository}:{item.tag}" for item in group[:3])
        more = f" (+{len(group) - 3} more)" if len(group) > 3 else ""  # noqa: PLR2004
        skips.append(skip(reason, group, f"{detail}: {examples}{more}"))
    return skips


def rank(priority: int, items: list[Drift], ctx: Inputs) -> tuple[object, ...]:
    oldest = min((item.first_seen or ctx.now for item in items), default=ctx.now)
    first = items[0]
    return (priority, oldest, -len(items), first.edge.name, first.repository, first.tag)
