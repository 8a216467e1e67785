"""Triggers and re-enables: repairs by a covering policy, whole or scoped to the wanted tags."""

from __future__ import annotations

from typing import TYPE_CHECKING

from syncd.core.model import (
    Action,
    ActionKind,
    Drift,
    DriftClass,
    PolicyProblem,
    ReconcileMode,
    Skip,
    SkipReason,
)
from syncd.core.radius import Radius, RepairMode, WriteClass

if TYPE_CHECKING:
    from collections.abc import Mapping

    from syncd.core.model import TagKey
    from syncd.core.radius import Write

from syncd.core.plan._inputs import Inputs, PolicyKey, Ranked, rank, report, skip

__all__ = ["enables", "trigger_blocker", "triggers"]

# --------------------------------------------------------------------------- triggers


def triggers(items: list[Drift], ctx: Inputs, skips: list[Skip]) -> list[Ranked]:
    per_policy: dict[PolicyKey, list[Drift]] = {}
    for item in items:
        if item.drift_class is DriftClass.STALE and item.moved_on != item.edge.source:
            skips += report([item], SkipReason.EXTRA_REPORTED, "tag moved on destination")
            continue
        per_policy.setdefault((item.edge.policy_owner, item.edge.policy_id), []).append(item)
    ranked: list[Ranked] = []
    for key in sorted(per_policy):
        radius = ctx.radius(key, per_policy[key][0].edge)
        fixable = _wanted(per_policy[key], radius.index(), skips)
        if fixable and (blocker := trigger_blocker(key, fixable, ctx)) is not None:
            skips.append(skip(blocker[0], fixable, blocker[1]))
        elif fixable:
            ranked += _repairs(key, fixable, radius, ctx, skips)
    return ranked


def _wanted(items: list[Drift], writes: Mapping[TagKey, Write], skips: list[Skip]) -> list[Drift]:
    """Keep the drift a copy would repair; report the rest (override off, moved there)."""
    keep: list[Drift] = []
    for item in items:
        write = writes.get((item.repository, item.tag))
        if write is None or write.write_class is WriteClass.WANTED:
            keep.append(item)
        elif write.write_class is WriteClass.NO_OP:
            detail = f"override is off on policy {item.edge.policy_id}: Harbor skips the tag"
            skips += report([item], SkipReason.OVERRIDE_OFF, detail)
        else:
            skips += report([item], SkipReason.EXTRA_REPORTED, f"{write.reason}; not overwritten")
    return keep


def _repairs(
    key: PolicyKey, items: list[Drift], radius: Radius, ctx: Inputs, skips: list[Skip]
) -> list[Ranked]:
    """Trigger the whole policy when its radius is harmless, else scope the repair or block it."""
    mode = ctx.settings.repair
    if not radius.harmful and mode is not RepairMode.SCOPED:
        return [(rank(0, items, ctx), _trigger_action(key, items, ctx, radius))]
    if mode is RepairMode.POLICY:
        detail = f"whole-policy trigger would do harm (repair: policy): {radius.summary()}"
        skips.append(skip(SkipReason.REPAIR_BLOCKED, items, detail))
        return []
    scopes = radius.scopes({(item.repository, item.tag) for item in items})
    if not scopes:
        return []
    edges = tuple(sorted({item.edge for item in items}, key=lambda edge: edge.name))
    shown = "; ".join(f"{s.source_repository}:{{{','.join(s.tags)}}}" for s in scopes)
    reason = f"scoped repair of policy {key[1]}: {shown}; {radius.summary()}"
    action = Action(
        ActionKind.SCOPED_TRIGGER, key[0], key[1], edges, reason, len(items), scopes=scopes
    )
    return [(rank(0, items, ctx), action)]


def trigger_blocker(
    key: PolicyKey, items: list[Drift], ctx: Inputs
) -> tuple[SkipReason, str] | None:
    edges = {item.edge for item in items}
    down = ctx.down(*sorted({name for edge in edges for name in (edge.source, edge.destination)}))
    if down:
        return SkipReason.ENDPOINT_DOWN, f"not up: {', '.join(down)}"
    if key in ctx.running:
        return SkipReason.EXECUTION_RUNNING, "an execution of the policy is in progress"
    past = ctx.history.get(key)
    if past is not None and past.backoff_until is not None and past.backoff_until > ctx.now:
        return SkipReason.NON_CONVERGING_BACKOFF, f"backing off until {past.backoff_until}"
    return None


def _trigger_action(key: PolicyKey, items: list[Drift], ctx: Inputs, radius: Radius) -> Action:
    kind = ActionKind.TOGGLE if ctx.settings.mode == ReconcileMode.TOGGLE else ActionKind.TRIGGER
    edges = tuple(sorted({item.edge for item in items}, key=lambda edge: edge.name))
    counts: dict[str, int] = {}
    for item in items:
        counts[item.drift_class.value] = counts.get(item.drift_class.value, 0) + 1
    summary = ", ".join(f"{count} {cls}" for cls, count in sorted(counts.items()))
    where = ", ".join(edge.name for edge in edges)
    reason = f"{summary} on {where}; policy {key[1]} covers it; {radius.summary()}"
    return Action(kind, key[0], key[1], edges, reason, drift_count=len(items))


# --------------------------------------------------------------------------- policies


def enables(ctx: Inputs, skips: list[Skip]) -> list[Ranked]:
    problems: dict[PolicyKey, set[PolicyProblem]] = {}
    for owner, policy_id, problem, _detail in ctx.topology.problems:
        problems.setdefault((owner, policy_id), set()).add(problem)
    ranked: list[Ranked] = []
    for owner, policy_id, problem, detail in ctx.topology.problems:
        if problem is not PolicyProblem.DISABLED:
            continue
        usable = problems[owner, policy_id] == {PolicyProblem.DISABLED}
        if ctx.settings.reenable_disabled_policies and usable and not ctx.down(owner):
            action = Action(ActionKind.ENABLE_POLICY, owner, policy_id, (), f"re-enable: {detail}")
            ranked.append(((1, ctx.now, 0, owner, str(policy_id), ""), action))
        else:
            skips.append(Skip(SkipReason.POLICY_DISABLED, None, policy_id, f"{owner}: {detail}"))
    return ranked
