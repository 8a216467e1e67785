"""State tables about *how things stand*: instance health, the last pass, policy history.

Small tables read by /readyz, /metrics and the planner's non-converging backoff.
"""

from __future__ import annotations

import json
from typing import TYPE_CHECKING, Any

from syncd.core.model import HealthState
from syncd.store import _codec as c
from syncd.store._db import Database

if TYPE_CHECKING:
    from collections.abc import Mapping
    from datetime import datetime

__all__ = ["StatusTables"]

_COMPLETE_OUTCOMES = frozenset({"converged", "drift"})
"""``PassResult.outcome`` values of a pass that observed everything: only they are a success."""


class StatusTables(Database):
    """Health states with their transition times, pass bookkeeping and policy history."""

    # ------------------------------------------------------------------ health

    def record_health(self, instance: str, state: HealthState, at: datetime) -> HealthState | None:
        """Store a probe result; return the previous state on a transition, else None.

        The first observation of an instance is not a transition: there is no previous state.
        """
        with self._tx() as conn:
            row = conn.execute(
                "SELECT state FROM health WHERE instance = ?", (instance,)
            ).fetchone()
            previous = None if row is None else HealthState(row[0])
            if previous == state:
                conn.execute(
                    "UPDATE health SET checked_at = ? WHERE instance = ?", (c.ts(at), instance)
                )
                return None
            conn.execute(
                "INSERT OR REPLACE INTO health VALUES (?, ?, ?, ?)",
                (instance, state.value, c.ts(at), c.ts(at)),
            )
            return previous

    def health_states(self) -> dict[str, tuple[HealthState, datetime]]:
        """Return each instance's current state and since when it has been in it."""
        with self._tx(write=False) as conn:
            rows = conn.execute("SELECT instance, state, since FROM health")
            return {inst: (HealthState(state), c.dt(since)) for inst, state, since in rows}

    # ------------------------------------------------------------------ passes

    def record_pass(
        self, pass_id: str, *, started_at: datetime, finished_at: datetime, outcome: str
    ) -> None:
        """Remember a finished pass; a complete one (converged, drift) is also the last success."""
        row = (pass_id, c.ts(started_at), c.ts(finished_at), outcome)
        with self._tx() as conn:
            conn.execute("INSERT OR REPLACE INTO pass VALUES ('last', ?, ?, ?, ?)", row)
            if outcome in _COMPLETE_OUTCOMES:
                conn.execute("INSERT OR REPLACE INTO pass VALUES ('success', ?, ?, ?, ?)", row)

    def last_pass(self) -> tuple[str, datetime, str] | None:
        """Return ``(pass_id, finished_at, outcome)`` of the last recorded pass, or None."""
        row = self._pass_row("last")
        return None if row is None else (row[0], c.dt(row[1]), row[2])

    def last_success(self) -> datetime | None:
        """Return when the last complete pass (converged or drift) finished, or None."""
        row = self._pass_row("success")
        return None if row is None else c.dt(row[1])

    def _pass_row(self, slot: str) -> tuple[str, str, str] | None:
        with self._tx(write=False) as conn:
            row = conn.execute(
                "SELECT pass_id, finished_at, outcome FROM pass WHERE slot = ?", (slot,)
            ).fetchone()
        return None if row is None else (row[0], row[1], row[2])

    # ------------------------------------------------------------------ policy history

    def load_history(self) -> dict[tuple[str, int], dict[str, Any]]:
        """Return every policy's history record (times as ISO text; see `history_from_json`)."""
        with self._tx(write=False) as conn:
            rows = conn.execute("SELECT owner, policy_id, record FROM policy_history")
            return {(owner, pid): json.loads(record) for owner, pid, record in rows}

    def save_history(self, owner: str, policy_id: int, record: Mapping[str, Any]) -> None:
        """Store one policy's history record; datetimes in it are stored as ISO text."""
        with self._tx() as conn:
            conn.execute(
                "INSERT OR REPLACE INTO policy_history VALUES (?, ?, ?)",
                (owner, policy_id, c.dumps(c.history_to_json(record))),
            )

    def delete_history(self, owner: str, policy_id: int) -> None:
        """Forget a policy's history (the policy no longer exists)."""
        with self._tx() as conn:
            conn.execute(
                "DELETE FROM policy_history WHERE owner = ? AND policy_id = ?", (owner, policy_id)
            )
