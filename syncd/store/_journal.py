"""State tables about *what syncd did*: toggle and repair intents, executions, the audit trail.

The toggle-intent journal is the crash-safety net: an intent is committed (fsynced) before a
policy is disabled and completed only after the re-enable is verified, so a restart finds every
policy that may still be disabled in `JournalTables.pending_intents`. The repair-intent journal
does the same for temporary repair policies: committed before the create POST, completed once
the policy is verified gone, listed by `JournalTables.pending_repairs`.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from syncd.store import _codec as c
from syncd.store._db import Database

if TYPE_CHECKING:
    from collections.abc import Mapping
    from datetime import datetime

__all__ = ["AuditEntry", "JournalTables", "OpenExecution", "RepairIntent", "ToggleIntent"]


@dataclass(frozen=True, slots=True)
class ToggleIntent:
    """A policy syncd disabled (or was about to) and must re-enable, even after a crash."""

    id: int
    instance: str
    policy_id: int
    policy_json: Mapping[str, Any]
    """The policy as read before the disable: the body the re-enable PUT sends back."""
    created_at: datetime


@dataclass(frozen=True, slots=True)
class RepairIntent:
    """A temporary repair policy syncd created (or was about to) and must delete."""

    id: int
    instance: str
    origin_policy_id: int
    name: str
    policy_id: int | None
    """None until the create POST answered (a crash may leave it unknown: find it by name)."""
    created_at: datetime


@dataclass(frozen=True, slots=True)
class OpenExecution:
    """An execution syncd started and has not yet seen finish."""

    instance: str
    policy_id: int
    execution_id: int
    started_at: datetime


@dataclass(frozen=True, slots=True)
class AuditEntry:
    """One side effect syncd performed, or decided against, with its reason and result."""

    id: int
    pass_id: str
    at: datetime
    kind: str
    instance: str
    policy_id: int | None
    edge: str | None
    reason: str
    result: str
    detail: str
    execution_id: int | None


class JournalTables(Database):
    """Toggle intents, started executions and the audit trail."""

    # ------------------------------------------------------------------ toggle intents

    def journal_disable_intent(
        self, instance: str, policy_id: int, *, policy_json: Mapping[str, Any], at: datetime
    ) -> int:
        """Durably record, BEFORE the disable PUT, that the policy must be re-enabled."""
        with self._tx() as conn:
            cursor = conn.execute(
                "INSERT INTO toggle_intent (instance, policy_id, policy_json, created_at)"
                " VALUES (?, ?, ?, ?)",
                (instance, policy_id, c.dumps(policy_json), c.ts(at)),
            )
            return int(cursor.lastrowid or 0)

    def complete_intent(self, intent_id: int, *, at: datetime) -> None:
        """Mark the intent done once the re-enable PUT has been verified."""
        with self._tx() as conn:
            conn.execute(
                "UPDATE toggle_intent SET completed_at = ? WHERE id = ? AND completed_at IS NULL",
                (c.ts(at), intent_id),
            )

    def pending_intents(self) -> list[ToggleIntent]:
        """Return intents not yet completed, oldest first: policies that may still be disabled."""
        with self._tx(write=False) as conn:
            rows = conn.execute(
                "SELECT id, instance, policy_id, policy_json, created_at FROM toggle_intent"
                " WHERE completed_at IS NULL ORDER BY id"
            ).fetchall()
        return [
            ToggleIntent(intent_id, instance, policy_id, json.loads(body), c.dt(at))
            for intent_id, instance, policy_id, body, at in rows
        ]

    # ------------------------------------------------------------------ repair intents

    def journal_repair_intent(
        self, instance: str, *, origin_policy_id: int, name: str, at: datetime
    ) -> int:
        """Durably record, BEFORE the create POST, that policy ``name`` must be deleted."""
        with self._tx() as conn:
            cursor = conn.execute(
                "INSERT INTO repair_intent (instance, origin_policy_id, name, created_at)"
                " VALUES (?, ?, ?, ?)",
                (instance, origin_policy_id, name, c.ts(at)),
            )
            return int(cursor.lastrowid or 0)

    def set_repair_policy(self, intent_id: int, policy_id: int) -> None:
        """Record the id Harbor gave the temporary policy."""
        with self._tx() as conn:
            conn.execute(
                "UPDATE repair_intent SET policy_id = ? WHERE id = ?", (policy_id, intent_id)
            )

    def complete_repair_intent(self, intent_id: int, *, at: datetime) -> None:
        """Mark the intent done once the temporary policy is gone."""
        with self._tx() as conn:
            conn.execute(
                "UPDATE repair_intent SET completed_at = ? WHERE id = ? AND completed_at IS NULL",
                (c.ts(at), intent_id),
            )

    def pending_repairs(self) -> list[RepairIntent]:
        """Return repair intents not yet completed, oldest first: policies that may remain."""
        with self._tx(write=False) as conn:
            rows = conn.execute(
                "SELECT id, instance, origin_policy_id, name, policy_id, created_at"
                " FROM repair_intent WHERE completed_at IS NULL ORDER BY id"
            ).fetchall()
        return [
            RepairIntent(intent_id, instance, origin, name, policy_id, c.dt(at))
            for intent_id, instance, origin, name, policy_id, at in rows
        ]

    # ------------------------------------------------------------------ executions

    def remember_execution(
        self, instance: str, policy_id: int, execution_id: int, *, started_at: datetime
    ) -> None:
        """Record an execution syncd started, so a restart can resume watching it."""
        with self._tx() as conn:
            conn.execute(
                "INSERT OR REPLACE INTO execution VALUES (?, ?, ?, ?, NULL, NULL)",
                (instance, execution_id, policy_id, c.ts(started_at)),
            )

    def open_executions(self) -> list[OpenExecution]:
        """Return executions syncd started and has not seen finish, oldest first."""
        with self._tx(write=False) as conn:
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
                "UPDATE execution SET status = ?, finished_at = ?"
                " WHERE instance = ? AND execution_id = ?",
                (str(status), c.ts(at), instance, execution_id),
            )

    # ------------------------------------------------------------------ audit trail

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
        """Append one entry to the audit trail."""
        row = (pass_id, c.ts(at), kind, instance, policy_id, edge, reason, result, detail)
        with self._tx() as conn:
            conn.execute(
                "INSERT INTO audit (pass_id, at, kind, instance, policy_id, edge, reason, result,"
                " detail, execution_id) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
                (*row, execution_id),
            )

    def audit_entries(self, limit: int = 100) -> list[AuditEntry]:
        """Return the newest ``limit`` audit entries, newest first."""
        with self._tx(write=False) as conn:
            rows = conn.execute(
                "SELECT id, pass_id, at, kind, instance, policy_id, edge, reason, result, detail,"
                " execution_id FROM audit ORDER BY id DESC LIMIT ?",
                (limit,),
            ).fetchall()
        return [AuditEntry(row[0], row[1], c.dt(row[2]), *row[3:]) for row in rows]

    def prune(self, *, before: datetime) -> int:
        """Drop audit entries, completed intents and finished executions older than ``before``.

        Pending intents and open executions are never pruned. Returns the number of rows dropped.
        """
        cutoff = c.ts(before)
        with self._tx() as conn:
            return sum(
                conn.execute(sql, (cutoff,)).rowcount
                for sql in (
                    "DELETE FROM audit WHERE at < ?",
                    "DELETE FROM toggle_intent WHERE completed_at < ?",
                    "DELETE FROM repair_intent WHERE completed_at < ?",
                    "DELETE FROM execution WHERE finished_at < ?",
                )
            )
