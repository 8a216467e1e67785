"""PostgreSQL tables about *how things stand*: instance health, the last pass, policy history.

The same rows and encodings as the SQLite ``_status``.
"""

from __future__ import annotations

import json
from typing import TYPE_CHECKING, Any

from syncd.core.model import HealthState
from syncd.store import _codec as c
from syncd.store._pg_db import PgDatabase

if TYPE_CHECKING:
    from collections.abc import Mapping
    from datetime import datetime

__all__ = ["PgStatus"]

_FAILED_OUTCOME = "error"
"""``PassResult.outcome`` of a pass that failed; every other outcome counts as a success."""


class PgStatus(PgDatabase):
    """Health states, pass bookkeeping and policy history."""

    def record_health(self, instance: str, state: HealthState, at: datetime) -> HealthState | None:
        """Store a probe result; return the previous state on a transition, else None."""
        with self._tx() as conn:
            row = conn.execute(
                "SELECT state FROM health WHERE instance = %s FOR UPDATE", (instance,)
            ).fetchone()
            previous = None if row is None else HealthState(row[0])
            if previous == state:
                conn.execute(
                    "UPDATE health SET checked_at = %s WHERE instance = %s", (c.ts(at), instance)
                )
                return None
            conn.execute(
                "INSERT INTO health VALUES (%s, %s, %s, %s) ON CONFLICT (instance) DO UPDATE"
                " SET state = excluded.state, since = excluded.since,"
                " checked_at = excluded.checked_at",
                (instance, state.value, c.ts(at), c.ts(at)),
            )
            return previous

    def health_states(self) -> dict[str, tuple[HealthState, datetime]]:
        """Return each instance's current state and since when it has been in it."""
        with self._tx(fenced=False) as conn:
            rows = conn.execute("SELECT instance, state, since FROM health").fetchall()
        return {inst: (HealthState(state), c.dt(since)) for inst, state, since in rows}

    def record_pass(
        self, pass_id: str, *, started_at: datetime, finished_at: datetime, outcome: str
    ) -> None:
        """Remember a finished pass; any outcome but ``error`` is also the last success."""
        row = (pass_id, c.ts(started_at), c.ts(finished_at), outcome)
        slots = ("last",) if outcome == _FAILED_OUTCOME else ("last", "success")
        with self._tx() as conn:
            for slot in slots:
                conn.execute(
                    "INSERT INTO pass VALUES (%s, %s, %s, %s, %s) ON CONFLICT (slot) DO UPDATE"
                    " SET pass_id = excluded.pass_id, started_at = excluded.started_at,"
                    " finished_at = excluded.finished_at, outcome = excluded.outcome",
                    (slot, *row),
                )

    def last_pass(self) -> tuple[str, datetime, str] | None:
        """Return ``(pass_id, finished_at, outcome)`` of the last recorded pass, or None."""
        row = self._pass_row("last")
        return None if row is None else (row[0], c.dt(row[1]), row[2])

    def last_success(self) -> datetime | None:
        """Return when the last pass that did not error finished, or None."""
        row = self._pass_row("success")
        return None if row is None else c.dt(row[1])

    def _pass_row(self, slot: str) -> tuple[str, str, str] | None:
        with self._tx(fenced=False) as conn:
            row = conn.execute(
                "SELECT pass_id, finished_at, outcome FROM pass WHERE slot = %s", (slot,)
            ).fetchone()
        return None if row is None else (row[0], row[1], row[2])

    def load_history(self) -> dict[tuple[str, int], dict[str, Any]]:
        """Return every policy's history record (times as ISO text; see `history_from_json`)."""
        with self._tx(fenced=False) as conn:
            rows = conn.execute("SELECT owner, policy_id, record FROM policy_history").fetchall()
        return {(owner, pid): json.loads(record) for owner, pid, record in rows}

    def save_history(self, owner: str, policy_id: int, record: Mapping[str, Any]) -> None:
        """Store one policy's history record; datetimes in it are stored as ISO text."""
        with self._tx() as conn:
            conn.execute(
                "INSERT INTO policy_history VALUES (%s, %s, %s) ON CONFLICT (owner, policy_id)"
                " DO UPDATE SET record = excluded.record",
                (owner, policy_id, c.dumps(c.history_to_json(record))),
            )

    def delete_history(self, owner: str, policy_id: int) -> None:
        """Forget a policy's history (the policy no longer exists)."""
        with self._tx() as conn:
            conn.execute(
                "DELETE FROM policy_history WHERE owner = %s AND policy_id = %s",
                (owner, policy_id),
            )
