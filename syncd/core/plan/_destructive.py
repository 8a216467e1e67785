"""Conflict resolution and deletion propagation: the only plans that delete anything.

Both happen only behind a setting (``conflict_preference``, ``propagate_deletions``), delete by
digest reference (a tag that moved since the plan is left alone) and are capped per pass.
"""

from __future__ import annotations

from syncd.core.model import (
    Action,
    ActionKind,
    Drift,
    Edge,
    Skip,
    SkipReason,
    Topology,
)
from syncd.core.plan._inputs import Inputs, PolicyKey, Ranked, rank, report, skip
from syncd.core.plan._triggers import trigger_blocker

__all__ = ["conflicts", "deletions", "policy_key"]

# --------------------------------------------------------------------------- conflicts


def policy_key(action: Action) -> PolicyKey:
    """Return the policy an action starts (a resolve triggers the carrier's owner)."""
    return (action.policy_owner or action.instance, action.policy_id or 0)


def conflicts(
    items: list[Drift], ctx: Inputs, skips: list[Skip], *, taken: set[PolicyKey]
) -> list[Ranked]:
    """Resolve conflicts by preference; at most one execution per policy per pass.

    ``taken`` holds the policies other actions already start; a conflict whose carrier policy
    is taken (or running, backing off, or has a down end) waits for a later pass.
    """
    preference = ctx.settings.conflict_preference
    ranked: dict[tuple[str, str, str], Ranked] = {}
    for item in items:
        winner = None if preference == "report" else _winner(item, preference, ctx)
        if winner is None:
            skips += report([item], SkipReason.CONFLICT_REPORTED, f"preference {preference!r}")
            continue
        action = _resolve_action(item, winner_is_source=winner, topology=ctx.topology)
        if action is None:
            detail = "no enabled policy replicates the winner onto the losing side"
            skips += report([item], SkipReason.CONFLICT_REPORTED, detail)
            continue
        # Dual-master edges report one conflict twice; one resolution is enough.
        ident = (action.instance, action.repository or "", action.tag or "")
        if ident in ranked:
            continue
        key = policy_key(action)
        if harm := _collateral(action, item, items, ctx):
            detail = f"resolving through policy {key[1]} would also write {harm}"
            skips.append(skip(SkipReason.REPAIR_BLOCKED, [item], detail))
        elif (blocker := trigger_blocker(key, [item], ctx)) is not None:
            skips.append(skip(blocker[0], [item], blocker[1]))
        elif key in taken:
            detail = f"policy {key[1]} on {key[0]} already runs this pass; resolved next pass"
            skips.append(skip(SkipReason.CONFLICT_REPORTED, [item], detail))
        else:
            taken.add(key)
            ranked[ident] = (rank(2, [item], ctx), action)
    return list(ranked.values())


def _collateral(action: Action, item: Drift, conflicts: list[Drift], ctx: Inputs) -> str:
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


def _winner(item: Drift, preference: str, ctx: Inputs) -> bool | None:
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


def deletions(items: list[Drift], ctx: Inputs, skips: list[Skip]) -> list[Ranked]:
    if not ctx.settings.propagate_deletions:
        skips += report(items, SkipReason.DELETION_NOT_ENABLED, "propagate_deletions is off")
        return []
    ranked: dict[tuple[str, str, str], Ranked] = {}
    for item in items:
        if item.moved_on != item.edge.source:
            detail = "deleted on destination; deletions only follow an edge's direction"
            skips += report([item], SkipReason.DELETION_NOT_ENABLED, detail)
        elif ctx.down(item.edge.destination):
            skips.append(skip(SkipReason.ENDPOINT_DOWN, [item], "destination not up"))
        else:
            action = _delete_action(item)
            ident = (action.instance, item.repository, item.tag)
            ranked.setdefault(ident, (rank(3, [item], ctx), action))
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
