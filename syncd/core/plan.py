"""The planner: from classified drift to a capped, ordered list of actions plus reasoned skips.

Owns: which drift syncd acts on and how (trigger/toggle a covering policy, delete, resolve a
conflict, re-enable a policy), every reason it leaves drift alone (``SkipReason``), and the
non-converging backoff bookkeeping. Pure: stdlib and ``syncd`` core only; no I/O, no logging.

Decisions worth knowing:
* One trigger per covering policy, for MISSING, STALE moved on the source and NON_CONVERGING
  drift, only when both edge ends are not DOWN (DEGRADED is enough; unknown health is DOWN),
  the policy has no running execution and is not in non-converging backoff. STALE under
  ``override: false`` is reported (``OVERRIDE_OFF``), never triggered: Harbor would skip it.
* A manual execution copies everything the policy selects, so each trigger is checked against
  the policy's blast radius (``syncd.core.radius``): a whole-policy trigger only when no write
  is harmful; otherwise a ``SCOPED_TRIGGER`` of exactly the wanted tags (``repair: auto`` or
  ``scoped``) or a ``REPAIR_BLOCKED`` skip (``repair: policy``). Reasons carry the radius.
* Changes made on an edge's *destination* (STALE moved there, deletions there) are left to a
  reverse edge, where they show up as source-side changes; they are reported, never undone.
* Deletions propagate only in the edge's direction, delete the tag (``Action.tag``) of the
  artifact ``Action.digest`` on the destination, are deduplicated across edges and capped.
* Trigger, toggle, enable and conflict actions share ``max_actions_per_pass``, oldest drift
  first, then most drift; observe mode plans the same, then turns every action into an
  ``OBSERVE_ONLY`` skip whose detail says what would have been done.

The non-converging bookkeeping (``PolicyHistory``, ``next_history``) lives in ``syncd.core.backoff``
and is re-exported here.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from typing import TYPE_CHECKING

from syncd.core.backoff import PolicyHistory, next_history
from syncd.core.model import (
    Action,
    ActionKind,
    Drift,
    DriftClass,
    Edge,
    HealthState,
    Plan,
    PolicyProblem,
    ReconcileMode,
    Skip,
    SkipReason,
    Topology,
)
from syncd.core.radius import Radius, RepairMode, WriteClass, radius_of_drift

if TYPE_CHECKING:
    from collections.abc import Collection, Iterable, Mapping, Sequence
    from datetime import datetime

    from syncd.core.model import Outcome, TagKey
    from syncd.core.radius import Write

__all__ = ["PlanSettings", "PolicyHistory", "make_plan", "next_history", "policy_key", "remaining"]

PolicyKey = tuple[str, int]
_ALIVE = frozenset({HealthState.UP, HealthState.DEGRADED})
_TRIGGERABLE = frozenset({DriftClass.MISSING, DriftClass.STALE, DriftClass.NON_CONVERGING})


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
class _Inputs:
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
        return [name for name in instances if self.health.get(name) not in _ALIVE]

    def radius(self, key: PolicyKey, edge: Edge) -> Radius:
        """Return the policy's radius from the assessment, else rebuilt from the edge's drift."""
        known = self.radii.get(key)
        if known is not None:
            return known
        policy = self.topology.policies.get(key)
        return radius_of_drift(edge, self.drift, override=policy is None or policy.override)


_Ranked = tuple[tuple[object, ...], Action]


def make_plan(  # noqa: PLR0913 - every input of the decision, keyword-only; same in, same out
    *,
    drift: Sequence[Drift],
    topology: Topology,
    running: Collection[PolicyKey],
    health: Mapping[str, HealthState],
    history: Mapping[PolicyKey, PolicyHistory],
    settings: PlanSettings,
    now: datetime,
    push_times: Mapping[tuple[str, str, str], datetime] | None = None,
    radii: Mapping[PolicyKey, Radius] | None = None,
) -> Plan:
    """Decide this pass's actions and skips; the same inputs always give the same plan.

    ``radii`` holds each policy's blast radius (``assess``); a missing one is rebuilt from
    the drift of the policy's edge.
    """
    ctx = _Inputs(
        topology, running, health, history, settings, now, push_times or {}, drift, radii or {}
    )
    skips: list[Skip] = []
    ranked: list[_Ranked] = []
    by_class = _bucket(drift)
    ranked += _triggers(by_class[DriftClass.STALE] + by_class[DriftClass.MISSING], ctx, skips)
    ranked += _enables(ctx, skips)
    taken = {policy_key(action) for _, action in ranked}
    ranked += _conflicts(by_class[DriftClass.CONFLICT], ctx, skips, taken=taken)
    actions = _cap(ranked, settings.max_actions_per_pass, SkipReason.CAP_REACHED, skips)
    deletes = _deletions(by_class[DriftClass.DELETED_UNPROPAGATED], ctx, skips)
    actions += _cap(deletes, settings.max_deletions_per_pass, SkipReason.CAP_REACHED, skips)
    skips += _report(by_class[DriftClass.EXTRA], SkipReason.EXTRA_REPORTED, "only on destination")
    if settings.mode == ReconcileMode.OBSERVE:
        skips += [_would(action) for action in actions]
        actions = []
    return Plan(actions=tuple(actions), skips=tuple(sorted(skips, key=_skip_order)))


def _bucket(drift: Iterable[Drift]) -> dict[DriftClass, list[Drift]]:
    by_class: dict[DriftClass, list[Drift]] = {cls: [] for cls in DriftClass}
    for item in drift:
        # NON_CONVERGING is still repaired by a trigger; backoff decides when.
        cls = DriftClass.MISSING if item.drift_class is DriftClass.NON_CONVERGING else None
        by_class[cls or item.drift_class].append(item)
    for items in by_class.values():
        items.sort(key=_drift_order)
    return by_class


def _drift_order(item: Drift) -> tuple[object, ...]:
    """Order drift entries totally, so that input order never shows in the plan."""
    edge = item.edge
    digests = (item.source_digest or "", item.destination_digest or "", item.base_digest or "")
    seen = item.first_seen.isoformat() if item.first_seen else ""
    where = (edge.name, edge.policy_owner, edge.policy_id, item.repository, item.tag)
    return (*where, item.drift_class.value, *digests, item.moved_on, seen)


def _skip_order(skip: Skip) -> tuple[str, str, int, str, int]:
    edge = skip.edge.name if skip.edge else ""
    return (skip.reason.value, edge, skip.policy_id or 0, skip.detail, skip.drift_count)


# --------------------------------------------------------------------------- triggers


def _triggers(items: list[Drift], ctx: _Inputs, skips: list[Skip]) -> list[_Ranked]:
    per_policy: dict[PolicyKey, list[Drift]] = {}
    for item in items:
        if item.drift_class is DriftClass.STALE and item.moved_on != item.edge.source:
            skips += _report([item], SkipReason.EXTRA_REPORTED, "tag moved on destination")
            continue
        per_policy.setdefault((item.edge.policy_owner, item.edge.policy_id), []).append(item)
    ranked: list[_Ranked] = []
    for key in sorted(per_policy):
        radius = ctx.radius(key, per_policy[key][0].edge)
        fixable = _wanted(per_policy[key], radius.index(), skips)
        if fixable and (blocker := _trigger_blocker(key, fixable, ctx)) is not None:
            skips.append(_skip(blocker[0], fixable, blocker[1]))
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
            skips += _report([item], SkipReason.OVERRIDE_OFF, detail)
        else:
            skips += _report([item], SkipReason.EXTRA_REPORTED, f"{write.reason}; not overwritten")
    return keep


def _repairs(
    key: PolicyKey, items: list[Drift], radius: Radius, ctx: _Inputs, skips: list[Skip]
) -> list[_Ranked]:
    """Trigger the whole policy when its radius is harmless, else scope the repair or block it."""
    mode = ctx.settings.repair
    if not radius.harmful and mode is not RepairMode.SCOPED:
        return [(_rank(0, items, ctx), _trigger_action(key, items, ctx, radius))]
    if mode is RepairMode.POLICY:
        detail = f"whole-policy trigger would do harm (repair: policy): {radius.summary()}"
        skips.append(_skip(SkipReason.REPAIR_BLOCKED, items, detail))
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
    return [(_rank(0, items, ctx), action)]


def _trigger_blocker(
    key: PolicyKey, items: list[Drift], ctx: _Inputs
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


def _trigger_action(key: PolicyKey, items: list[Drift], ctx: _Inputs, radius: Radius) -> Action:
    kind = ActionKind.TOGGLE if ctx.settings.mode == ReconcileMode.TOGGLE else ActionKind.TRIGGER
    edges = tuple(sorted({item.edge for item in items}, key=lambda edge: edge.name))
    counts: dict[str, int] = {}
    for item in items:
        counts[item.drift_class.value] = counts.get(item.drift_class.value, 0) + 1
    summary = ", ".join(f"{count} {cls}" for cls, count in sorted(counts.items()))
    where = ", ".join(edge.name for edge in edges)
    reason = f"{summary} on {where}; policy {key[1]} covers it; {radius.summary()}"
    return Action(kind, key[0], key[1], edges, reason, drift_count=len(items))


def _rank(priority: int, items: list[Drift], ctx: _Inputs) -> tuple[object, ...]:
    oldest = min((item.first_seen or ctx.now for item in items), default=ctx.now)
    first = items[0]
    return (priority, oldest, -len(items), first.edge.name, first.repository, first.tag)


# --------------------------------------------------------------------------- policies


def _enables(ctx: _Inputs, skips: list[Skip]) -> list[_Ranked]:
    problems: dict[PolicyKey, set[PolicyProblem]] = {}
    for owner, policy_id, problem, _detail in ctx.topology.problems:
        problems.setdefault((owner, policy_id), set()).add(problem)
    ranked: list[_Ranked] = []
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


# --------------------------------------------------------------------------- conflicts


def policy_key(action: Action) -> PolicyKey:
    """Return the policy an action starts (a resolve triggers the carrier's owner)."""
    return (action.policy_owner or action.instance, action.policy_id or 0)


def _conflicts(
    items: list[Drift], ctx: _Inputs, skips: list[Skip], *, taken: set[PolicyKey]
) -> list[_Ranked]:
    """Resolve conflicts by preference; at most one execution per policy per pass.

    ``taken`` holds the policies other actions already start; a conflict whose carrier policy
    is taken (or running, backing off, or has a down end) waits for a later pass.
    """
    preference = ctx.settings.conflict_preference
    ranked: dict[tuple[str, str, str], _Ranked] = {}
    for item in items:
        winner = None if preference == "report" else _winner(item, preference, ctx)
        if winner is None:
            skips += _report([item], SkipReason.CONFLICT_REPORTED, f"preference {preference!r}")
            continue
        action = _resolve_action(item, winner_is_source=winner, topology=ctx.topology)
        if action is None:
            detail = "no enabled policy replicates the winner onto the losing side"
            skips += _report([item], SkipReason.CONFLICT_REPORTED, detail)
            continue
        # Dual-master edges report one conflict twice; one resolution is enough.
        ident = (action.instance, action.repository or "", action.tag or "")
        if ident in ranked:
            continue
        key = policy_key(action)
        if harm := _collateral(action, item, items, ctx):
            detail = f"resolving through policy {key[1]} would also write {harm}"
            skips.append(_skip(SkipReason.REPAIR_BLOCKED, [item], detail))
        elif (blocker := _trigger_blocker(key, [item], ctx)) is not None:
            skips.append(_skip(blocker[0], [item], blocker[1]))
        elif key in taken:
            detail = f"policy {key[1]} on {key[0]} already runs this pass; resolved next pass"
            skips.append(_skip(SkipReason.CONFLICT_REPORTED, [item], detail))
        else:
            taken.add(key)
            ranked[ident] = (_rank(2, [item], ctx), action)
    return list(ranked.values())


def _collateral(action: Action, item: Drift, conflicts: list[Drift], ctx: _Inputs) -> str:
    """Harmful writes of the carrier's whole-policy run beyond conflicts its source wins."""
    key = policy_key(action)
    carrier = next((e for e in ctx.topology.edges if (e.policy_owner, e.policy_id) == key), None)
    carrier = carrier or item.edge
    preference = ctx.settings.conflict_preference
    allowed = {
        (c.repository, c.tag)
        for c in conflicts
        if c.edge == carrier and _winner(c, preference, ctx) is True
    }
    allowed.add((item.repository if carrier == item.edge else item.source_repository, item.tag))
    harm = [w for w in ctx.radius(key, carrier).harmful if w.key not in allowed]
    return ", ".join(f"{w.repository}:{w.tag} ({w.harm})" for w in harm[:3])


def _winner(item: Drift, preference: str, ctx: _Inputs) -> bool | None:
    """Whether the source side wins (``None``: undecidable, report instead)."""
    if item.source_digest is None or item.destination_digest is None:
        return None  # a deletion against a move: no digest to copy over the other side
    if preference != "newest":
        sides = {item.edge.source: True, item.edge.destination: False}
        return sides.get(preference)
    source_time = ctx.push_times.get((item.edge.source, item.source_repository, item.source_digest))
    dest_time = ctx.push_times.get(
        (item.edge.destination, item.repository, item.destination_digest)
    )
    if source_time is None or dest_time is None or source_time == dest_time:
        return None
    return source_time > dest_time


def _resolve_action(item: Drift, *, winner_is_source: bool, topology: Topology) -> Action | None:
    """Delete the loser's tag (by its digest), then trigger the winner -> loser policy."""
    edge = item.edge
    if winner_is_source:
        carrier: Edge | None = edge
        loser, repo, digest = edge.destination, item.repository, item.destination_digest
        origin = f"{edge.source}:{item.source_repository}@{item.source_digest}"
    else:
        carrier = next(
            (
                e
                for e in topology.edges
                if (e.source, e.destination) == (edge.destination, edge.source)
            ),
            None,
        )
        loser, repo, digest = edge.source, item.source_repository, item.source_digest
        origin = f"{edge.destination}:{item.repository}@{item.destination_digest}"
    if carrier is None:
        return None
    reason = f"conflict on {edge.name} {item.repository}:{item.tag}; winner {origin}"
    return Action(
        ActionKind.RESOLVE_CONFLICT,
        loser,
        carrier.policy_id,
        (edge,),
        reason,
        1,
        repo,
        digest,
        item.tag,
        carrier.policy_owner,
    )


# --------------------------------------------------------------------------- deletions


def _deletions(items: list[Drift], ctx: _Inputs, skips: list[Skip]) -> list[_Ranked]:
    if not ctx.settings.propagate_deletions:
        skips += _report(items, SkipReason.DELETION_NOT_ENABLED, "propagate_deletions is off")
        return []
    ranked: dict[tuple[str, str, str], _Ranked] = {}
    for item in items:
        if item.moved_on != item.edge.source:
            detail = "deleted on destination; deletions only follow an edge's direction"
            skips += _report([item], SkipReason.DELETION_NOT_ENABLED, detail)
        elif ctx.down(item.edge.destination):
            skips.append(_skip(SkipReason.ENDPOINT_DOWN, [item], "destination not up"))
        else:
            action = _delete_action(item)
            ident = (action.instance, item.repository, item.tag)
            ranked.setdefault(ident, (_rank(3, [item], ctx), action))
    return list(ranked.values())


def _delete_action(item: Drift) -> Action:
    edge = item.edge
    reason = (
        f"{item.repository}:{item.tag} deleted on {edge.source} since the last converged "
        f"pass; delete the tag on {edge.destination}"
    )
    return Action(
        ActionKind.DELETE,
        edge.destination,
        None,
        (edge,),
        reason,
        1,
        item.repository,
        item.destination_digest,
        item.tag,
    )


# --------------------------------------------------------------------------- shared


def _cap(ranked: list[_Ranked], limit: int, reason: SkipReason, skips: list[Skip]) -> list[Action]:
    ordered = [action for _, action in sorted(ranked, key=lambda pair: pair[0])]
    for action in ordered[max(limit, 0) :]:
        edge = action.edges[0] if action.edges else None
        detail = f"cap {limit} reached; deferred: {action.reason}"
        skips.append(Skip(reason, edge, action.policy_id, detail, action.drift_count))
    return ordered[: max(limit, 0)]


def _would(action: Action) -> Skip:
    edge = action.edges[0] if action.edges else None
    detail = f"would {action.kind.value} on {action.instance}: {action.reason}"
    return Skip(SkipReason.OBSERVE_ONLY, edge, action.policy_id, detail, action.drift_count)


def _skip(reason: SkipReason, items: list[Drift], detail: str) -> Skip:
    edge = items[0].edge
    return Skip(reason, edge, edge.policy_id, detail, len(items))


def _report(items: Iterable[Drift], reason: SkipReason, detail: str) -> list[Skip]:
    """One skip per edge (not per tag), with a few example tags in the detail."""
    per_edge: dict[Edge, list[Drift]] = {}
    for item in items:
        per_edge.setdefault(item.edge, []).append(item)
    skips = []
    for group in per_edge.values():
        examples = ", ".join(f"{item.repository}:{item.tag}" for item in group[:3])
        more = f" (+{len(group) - 3} more)" if len(group) > 3 else ""  # noqa: PLR2004
        skips.append(_skip(reason, group, f"{detail}: {examples}{more}"))
    return skips


def remaining(settings: PlanSettings, done: Iterable[Outcome]) -> PlanSettings:
    """Return the settings with this pass's earlier actions taken off the per-pass caps."""
    kinds = [o.action.kind for o in done]
    deletes = sum(1 for k in kinds if k is ActionKind.DELETE)
    return replace(
        settings,
        max_actions_per_pass=max(settings.max_actions_per_pass - (len(kinds) - deletes), 0),
        max_deletions_per_pass=max(settings.max_deletions_per_pass - deletes, 0),
    )
