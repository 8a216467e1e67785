"""Human and JSON renderings of a ``PassResult`` for ``syncd diff`` and ``syncd reconcile``.

Pure formatting: takes values and ``now``, returns text. No secrets can reach it (results hold
no credentials). An incomplete pass never reads as "in sync": each instance that was not
observed is named with its cause, and its edges are listed as unknown.
"""

from __future__ import annotations

import json
from typing import TYPE_CHECKING, Any

from syncd.core.diff import summarize

if TYPE_CHECKING:
    from datetime import datetime

    from syncd.core.model import Drift, DriftClass, PassResult


__all__ = ["render_json", "render_table", "result_dict"]


def _age(first_seen: datetime | None, now: datetime) -> str:
    if first_seen is None:
        return "-"
    seconds = max(0, int((now - first_seen).total_seconds()))
    if seconds < 120:  # noqa: PLR2004 - plain thresholds of a human duration
        return f"{seconds}s"
    if seconds < 7200:  # noqa: PLR2004
        return f"{seconds // 60}m"
    return f"{seconds // 3600}h"


def _drift_dict(d: Drift, now: datetime) -> dict[str, Any]:
    return {
        "edge": d.edge.name,
        "policy": {"instance": d.edge.policy_owner, "id": d.edge.policy_id},
        "class": d.drift_class.value,
        "repository": d.repository,
        "source_repository": d.source_repository or d.repository,
        "tag": d.tag,
        "source_digest": d.source_digest,
        "destination_digest": d.destination_digest,
        "base_digest": d.base_digest,
        "moved_on": d.moved_on or None,
        "first_seen": d.first_seen.isoformat() if d.first_seen else None,
        "age_seconds": int((now - d.first_seen).total_seconds()) if d.first_seen else None,
    }


def result_dict(result: PassResult, *, now: datetime) -> dict[str, Any]:
    """Return a JSON-ready view of a pass."""
    unobserved = {u.instance: u for u in result.unobserved}
    return {
        "pass_id": result.pass_id,
        "outcome": str(result.outcome),
        "started_at": result.started_at.isoformat(),
        "finished_at": result.finished_at.isoformat(),
        "instances": {
            h.instance: {
                "state": h.state.value,
                "detail": h.detail,
                "observed": h.instance not in unobserved,
                "cause": unobserved[h.instance].cause.value if h.instance in unobserved else None,
            }
            for h in result.health
        },
        "unobserved": [
            {"instance": u.instance, "cause": u.cause.value, "detail": u.detail}
            for u in result.unobserved
        ],
        "unobserved_edges": list(result.unobserved_edges),
        "reenable_pending": [list(k) for k in result.reenable_pending],
        "edges": [
            {"edge": e.name, "policy": {"instance": e.policy_owner, "id": e.policy_id}}
            for e in result.topology.edges
        ],
        "policy_problems": [
            {"instance": owner, "policy_id": pid, "problem": problem.value, "detail": detail}
            for owner, pid, problem, detail in result.topology.problems
        ],
        "drift": [_drift_dict(d, now) for d in result.drift],
        "actions": [
            {
                "kind": o.action.kind.value,
                "instance": o.action.instance,
                "policy_id": o.action.policy_id,
                "reason": o.action.reason,
                "result": o.result,
                "detail": o.detail,
                "execution_id": o.execution_id,
            }
            for o in result.outcomes
        ],
        "skipped": [
            {
                "reason": s.reason.value,
                "edge": s.edge.name if s.edge else None,
                "policy_id": s.policy_id,
                "detail": s.detail,
                "drift": s.drift_count,
            }
            for s in result.plan.skips
        ],
        "non_converging_policies": [list(k) for k in result.non_converging_policies],
        "converged_edges": list(result.converged_edges),
        "error": result.error or None,
    }


def render_json(result: PassResult, *, now: datetime) -> str:
    """Stable, indented JSON."""
    return json.dumps(result_dict(result, now=now), indent=2, sort_keys=True)


def render_table(result: PassResult, *, now: datetime) -> str:
    """Per edge and class: counts and the oldest age; then actions, skips and problems."""
    examples: dict[tuple[str, DriftClass], Drift] = {}
    for d in result.drift:
        examples.setdefault((d.edge.name, d.drift_class), d)
    groups = summarize(result.drift)
    lines = [f"{'EDGE':<28} {'CLASS':<22} {'COUNT':>6} {'OLDEST':>7}  EXAMPLE"]
    for (edge, cls), (count, oldest) in groups.items():
        example = examples[(edge, cls)]
        lines.append(
            f"{edge:<28} {cls.value:<22} {count:>6} {_age(oldest, now):>7}  "
            f"{example.repository}:{example.tag}"
        )
    if result.unobserved or result.unobserved_edges:
        lines.append(
            "(incomplete: not every instance was observed; drift shown covers observed edges only)"
        )
        lines.extend(
            f"not observed: {u.instance} ({u.cause.value}: {u.detail})" for u in result.unobserved
        )
        lines.extend(
            f"edge {name}: unknown (an end was not observed)" for name in result.unobserved_edges
        )
    elif not groups:
        lines.append("(no drift: every edge is in sync)")
    lines.extend(
        f"action {o.action.kind.value} policy {o.action.policy_id} on {o.action.instance}: "
        f"{o.result} ({o.detail})"
        for o in result.outcomes
    )
    lines.extend(f"skipped [{s.reason.value}] {s.detail}" for s in result.plan.skips)
    lines.extend(
        f"policy {pid} on {owner}: {problem.value} ({detail})"
        for owner, pid, problem, detail in result.topology.problems
    )
    lines.extend(
        f"policy {pid} on {owner}: left disabled by syncd, re-enable pending"
        for owner, pid in result.reenable_pending
    )
    if result.error:
        lines.append(f"not observable: {result.error}")
    return "\n".join(lines)
