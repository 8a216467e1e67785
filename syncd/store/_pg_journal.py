"""PostgreSQL tables about *what syncd did*: toggle intents, executions, the audit trail.

The same rows and encodings as the SQLite ``_journal``; each row also records the leader epoch
that was checked in the transaction writing it.
"""

from __future__ import annotations

import json
from typing import TYPE_CHECKING, Any

from syncd.store import _codec as c
from syncd.store._journal import AuditEntry, OpenExecution, RepairIntent, ToggleIntent
from syncd.store._pg_db import PgDatabase

if TYPE_CHECKING:
    from collections.abc import Mapping
    from datetime import datetime

__all__ = ["PgJournal"]


class PgJournal(PgDatabase):
    """Toggle intents, started executions and the audit trail, each row with its epoch."""

    def journal_disable_intent(
        self, instance: str, policy_id: int, *, policy_json: Mapping[str, Any], at: datetime
    ) -> int:
        """Durably record, BEFORE the disable PUT, that the policy must be re-enabled."""
        with self._epoch_tx() as (conn, epoch):
            row = conn.execute(
                "INSERT INTO toggle_intent (instance, policy_id, policy_json, created_at, epoch)"
                " VALUES (%s, %s, %s, %s, %s) RETURNING id",
                (instance, policy_id, c.dumps(policy_json), c.ts(at), epoch),
            ).fetchone()
        return int(row[0]) if row else 0

    def complete_intent(self, intent_id: int, *, at: datetime) -> None:
        """Mark the intent done once the re-enable PUT has been verified."""
        with self._tx() as conn:
            conn.execute(
                "UPDATE toggle_intent SET completed_at = %s WHERE id = %s AND completed_at IS NULL",
                (c.ts(at), intent_id),
            )

    def pending_intents(self) -> list[ToggleIntent]:
        """Return intents not yet completed, oldest first: policies that may still be disabled."""
        with self._tx(fenced=False) as conn:
            rows = conn.execute(
                "SELECT id, instance, policy_id, policy_json, created_at FROM toggle_intent"
                " WHERE completed_at IS NULL ORDER BY id"
            ).fetchall()
        return [
            ToggleIntent(int(i), inst, pid, json.loads(b), c.dt(at)) for i, inst, pid, b, at in rows
        ]

    def journal_repair_intent(
        self, instance: str, *, origin_policy_id: int, name: str, at: datetime
    ) -> int:
        """Durably record, BEFORE the create POST, that policy ``name`` must be deleted."""
        with self._epoch_tx() as (conn, epoch):
            row = conn.execute(
                "INSERT INTO repair_intent (instance, origin_policy_id, name, created_at, epoch)"
                " VALUES (%s, %s, %s, %s, %s) RETURNING id",
                (instance, origin_policy_id, name, c.ts(at), epoch),
            ).fetchone()
        return int(row[0]) if row else 0

    def set_repair_policy(self, intent_id: int, policy_id: int) -> None:
        """Record the id Harbor gave the temporary policy."""
        with self._epoch_tx() as (conn, _epoch):
            conn.execute(
                "UPDATE repair_intent SET policy_id = %s WHERE id = %s", (policy_id, intent_id)
            )

    def complete_repair_intent(self, intent_id: int, *, at: datetime) -> None:
        """Mark the intent done once the temporary policy is gone."""
        with self._tx() as conn:
            conn.execute(
                "UPDATE repair_intent SET completed_at = %s WHERE id = %s AND completed_at IS NULL",
                (c.ts(at), intent_id),
            )

    def pending_repairs(self) -> list[RepairIntent]:
        """Return repair intents not yet completed, oldest first: policies that may remain."""
        with self._tx(fenced=False) as conn:
            rows = conn.execute(
                "SELECT id, instance, origin_policy_id, name, policy_id, created_at"
                " FROM repair_intent WHERE completed_at IS NULL ORDER BY id"
            ).fetchall()
        return [
            RepairIntent(int(i), inst, origin, name, pid, c.dt(at))
            for i, inst, origin, name, pid, at in rows
        ]

    def remember_execution(
        self, instance: str, policy_id: int, execution_id: int, *, started_at: datetime
    ) -> None:
        """Record an execution syncd started, so a restart can resume watching it."""
        with self._epoch_tx() as (conn, epoch):
            conn.execute(
                "INSERT INTO execution VALUES (%s, %s, %s, %s, NULL, NULL, %s)"
                " ON CONFLICT (instance, execution_id) DO UPDATE"
                " SET policy_id = excluded.policy_id,"
                " started_at = excluded.started_at, status = NULL, finished_at = NULL,"
                " epoch = excluded.epoch",
                (instance, execution_id, policy_id, c.ts(started_at), epoch),
            )

    def open_executions(self) -> list[OpenExecution]:
        """Return executions syncd started and has not seen finish, oldest first."""
        with self._tx(fenced=False) as conn:
            rows = conn.execute(
                "SELECT instance, policy_id, execution_id, started_at FROM execution"
                " WHERE finished_at IS NULL ORDER BY started_at, instance, execution_id"
            ).fetchall()
        return [OpenExecution(inst, pid, eid, c.dt(at)) for inst, pid, eid, at in rows]

    def finish_execution(
        self, instance: str, execution_id: int, *, status: str, at: datetime
    ) -> None:
        """Mark the execution finished with its terminal ``status`` (an ``ExecutionStatus``)."""
        with self._tx() as conn:
            conn.execute(
                "UPDATE execution SET status = %s, finished_at = %s"
                " WHERE instance = %s AND execution_id = %s",
                (str(status), c.ts(at), instance, execution_id),
            )

    def audit(  # noqa: PLR0913 - one keyword per audit column, all keyword-only
        self,
        *,
        pass_id: str,
        at: datetime,
        kind: str,
        instance: str,
        policy_id: int | None,
        edge: str | None,
        reason: str,
        result: str,
        detail: str = "",
        execution_id: int | None = None,
    ) -> None:
        """Append one entry to the audit trail, stamped with the leader epoch."""
        row = (pass_id, c.ts(at), kind, instance, policy_id, edge, reason, result, detail)
        with self._epoch_tx() as (conn, epoch):
            conn.execute(
                "INSERT INTO audit (pass_id, at, kind, instance, policy_id, edge, reason, result,"
                " detail, execution_id, epoch) VALUES (%s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s)",
                (*row, execution_id, epoch),
            )

    def audit_entries(self, limit: int = 100) -> list[AuditEntry]:
        """Return the newest ``limit`` audit entries, newest first."""
        with self._tx(fenced=False) as conn:
            rows = conn.execute(
                "SELECT id, pass_id, at, kind, instance, policy_id, edge, reason, result, detail,"
                " execution_id FROM audit ORDER BY id DESC LIMIT %s",
                (limit,),
            ).fetchall()
        return [AuditEntry(int(row[0]), row[1], c.dt(row[2]), *row[3:]) for row in rows]

    def prune(self, *, before: datetime) -> int:
        """Drop audit entries, completed intents and finished executions older than ``before``."""
        cutoff = c.ts(before)
        with self._tx() as conn:
            return sum(
                conn.execute(sql, (cutoff,)).rowcount
                for sql in (
                    "DELETE FROM audit WHERE at < %s",
                    "DELETE FROM toggle_intent WHERE completed_at < %s",
                    "DELETE FROM repair_intent WHERE completed_at < %s",
                    "DELETE FROM execution WHERE finished_at < %s",
                )
            )
