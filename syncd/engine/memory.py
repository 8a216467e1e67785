"""What a pass remembers for the next one: policy backoff history and drift first-seen times.

Owns reading and writing the non-converging backoff per policy (recorded after each repair
round, settled after the pass) and carrying drift's first-seen times across passes. Honest about
blind spots: the backoff and first-seen times of edges a pass could not observe are kept as
they were, never reset, because nothing is known about them.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import structlog

from syncd.core import edges as edge_view
from syncd.core.backoff import (
    PolicyHistory,
    from_record,
    label_non_converging,
    next_history,
    policy_drift,
    settle,
    to_record,
)
from syncd.core.diff import carry_first_seen, drift_key
from syncd.core.model import ActionKind, ActionResult
from syncd.store import history_from_json

if TYPE_CHECKING:
    from collections.abc import Iterable, Mapping
    from datetime import datetime, timedelta

    from syncd.core.model import Drift, Outcome
    from syncd.engine.rounds import Round
    from syncd.store import Store

__all__ = ["History", "carried_drift", "load_history", "save_history", "settled", "updated"]

log = structlog.get_logger("syncd.engine.memory")
History = dict[tuple[str, int], PolicyHistory]
_REPAIRS = frozenset({ActionKind.TRIGGER, ActionKind.TOGGLE, ActionKind.SCOPED_TRIGGER})
"""Actions whose effect on the policy's drift feeds the non-converging backoff."""


def load_history(store: Store) -> History:
    """Every policy's backoff record."""
    return {key: from_record(history_from_json(rec)) for key, rec in store.load_history().items()}


def save_history(store: Store, history: Mapping[tuple[str, int], PolicyHistory]) -> None:
    """Persist every policy's backoff record."""
    for (owner, policy_id), record in history.items():
        store.save_history(owner, policy_id, to_record(record))


def updated(
    history: Mapping[tuple[str, int], PolicyHistory],
    *,
    outcomes: Iterable[Outcome],
    before: tuple[Drift, ...],
    after: tuple[Drift, ...],
    now: datetime,
    base_backoff: timedelta,
) -> History:
    """Record each repair's effect on its policy's drift (a non-converging one backs off)."""
    history = dict(history)
    for outcome in outcomes:
        action = outcome.action
        # A blocked repair (403 on create) is retried every pass so the blocked gauge holds.
        blocked = outcome.result == ActionResult.BLOCKED
        if action.kind not in _REPAIRS or action.policy_id is None or blocked:
            continue
        key = (action.instance, action.policy_id)
        record = next_history(
            previous=history.get(key),
            policy=key,
            execution_result=outcome.result,
            drift_before=policy_drift(before, *key),
            drift_after=policy_drift(after, *key),
            now=now,
            base_backoff=base_backoff,
        )
        history[key] = record
        if record.non_converging_since is not None:
            log.warning(
                "plan.non_converging",
                instance=action.instance,
                policy_id=action.policy_id,
                drift=policy_drift(after, *key),
                backoff_until=record.backoff_until.isoformat() if record.backoff_until else None,
            )
    return history


def settled(history: Mapping[tuple[str, int], PolicyHistory], rnd: Round) -> History:
    """Settle backoffs of observed policies only: an unobserved edge's drift is unknown."""
    blind = {u.instance for u in rnd.unobserved}
    blind_edges = {(e.edge.policy_owner, e.edge.policy_id) for e in rnd.edges if not e.observable}
    after = settle(history, rnd.drift)
    return {
        key: history[key] if key[0] in blind or key in blind_edges else record
        for key, record in after.items()
    }


def carried_drift(
    store: Store, rnd: Round, history: Mapping[tuple[str, int], PolicyHistory], *, now: datetime
) -> tuple[Drift, ...]:
    """Return the drift with first-seen times carried from the store, non-converging labelled."""
    first_seen = store.load_first_seen()
    seen = {drift_key(d): first_seen.get(edge_view.store_key(drift_key(d))) for d in rnd.drift}
    carried = carry_first_seen(rnd.drift, {k: v for k, v in seen.items() if v}, now)
    return label_non_converging(carried, history)


def save_first_seen(store: Store, rnd: Round, *, drift: tuple[Drift, ...], now: datetime) -> None:
    """Persist first-seen times; those of edges not observed this pass are kept, not cleared."""
    seen = {edge_view.store_key(drift_key(d)): d.first_seen or now for d in drift}
    if rnd.unobserved:
        observed = {edge_view.edge_key(e.edge) for e in rnd.edges if e.observable}
        kept = store.load_first_seen().items()
        seen = {k: v for k, v in kept if k[0] not in observed} | seen
    store.save_first_seen(seen)
