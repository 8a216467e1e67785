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
and is re-exported here. Inside the package: ``_inputs`` (settings, inputs, ranking, caps,
skips), ``_triggers`` (triggers, scoped repairs, re-enables) and ``_destructive`` (conflict
resolution and deletions, the only plans that delete).
"""

from __future__ import annotations

from dataclasses import replace
from typing import TYPE_CHECKING

from syncd.core.backoff import PolicyHistory, next_history
from syncd.core.model import ActionKind, DriftClass, Plan, ReconcileMode, SkipReason

if TYPE_CHECKING:
    from collections.abc import Collection, Iterable, Mapping, Sequence
    from datetime import datetime

    from syncd.core.model import Drift, HealthState, Outcome, Skip, Topology
    from syncd.core.radius import Radius

from syncd.core.plan._destructive import conflicts, deletions, policy_key
from syncd.core.plan._inputs import Inputs, PlanSettings, PolicyKey, Ranked, cap, report, would
from syncd.core.plan._triggers import enables, triggers

__all__ = ["PlanSettings", "PolicyHistory", "make_plan", "next_history", "policy_key", "remaining"]


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
    ctx = Inputs(
        topology, running, health, history, settings, now, push_times or {}, drift, radii or {}
    )
    skips: list[Skip] = []
    ranked: list[Ranked] = []
    by_class = _bucket(drift)
    ranked += triggers(by_class[DriftClass.STALE] + by_class[DriftClass.MISSING], ctx, skips)
    ranked += enables(ctx, skips)
    taken = {policy_key(action) for _, action in ranked}
    ranked += conflicts(by_class[DriftClass.CONFLICT], ctx, skips, taken=taken)
    actions = cap(ranked, settings.max_actions_per_pass, SkipReason.CAP_REACHED, skips)
    deletes = deletions(by_class[DriftClass.DELETED_UNPROPAGATED], ctx, skips)
    actions += cap(deletes, settings.max_deletions_per_pass, SkipReason.CAP_REACHED, skips)
    skips += report(by_class[DriftClass.EXTRA], SkipReason.EXTRA_REPORTED, "only on destination")
    if settings.mode == ReconcileMode.OBSERVE:
        skips += [would(action) for action in actions]
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


def remaining(settings: PlanSettings, done: Iterable[Outcome]) -> PlanSettings:
    """Return the settings with this pass's earlier actions taken off the per-pass caps."""
    kinds = [o.action.kind for o in done]
    deletes = sum(1 for k in kinds if k is ActionKind.DELETE)
    return replace(
        settings,
        max_actions_per_pass=max(settings.max_actions_per_pass - (len(kinds) - deletes), 0),
        max_deletions_per_pass=max(settings.max_deletions_per_pass - deletes, 0),
    )
