"""The PostgreSQL backend's tables: the same rows and encodings as the SQLite mixins.

Bulk rows (a base or a catalog of 200k tags) go in with COPY; rows that record what the leader
did (bases, intents, executions, audit) carry the epoch that was checked in their transaction.
"""

from __future__ import annotations

import json
from typing import TYPE_CHECKING, Any

from syncd.core.model import Catalog, HealthState
from syncd.errors import StateError
from syncd.store import _codec as c
from syncd.store._journal import AuditEntry, OpenExecution, ToggleIntent
from syncd.store._pg_db import PgDatabase

if TYPE_CHECKING:
    from collections.abc import Iterable, Mapping
    from datetime import datetime

    import psycopg

    from syncd.core.model import Repository

__all__ = ["PgJournal", "PgSnapshots", "PgStatus"]

_FAILED_OUTCOME = "error"


class PgSnapshots(PgDatabase):
    """Bases, the catalog cache and drift first-seen times."""

    def load_base(self, edge_name: str) -> dict[tuple[str, str], str] | None:
        """Return the edge's last converged ``(repository, tag) -> digest``, or None if never."""
        with self._tx(fenced=False) as conn:
            if _converged_at(conn, edge_name) is None:
                return None
            rows = conn.execute(
                "SELECT repository, tag, digest FROM base WHERE edge = %s", (edge_name,)
            ).fetchall()
        return {(str(r), str(t)): str(d) for r, t, d in rows}

    def save_base(
        self, edge_name: str, mapping: Mapping[tuple[str, str], str], *, at: datetime
    ) -> None:
        """Replace the edge's base with ``mapping``, converged at ``at``."""
        with self._epoch_tx() as (conn, epoch):
            conn.execute("DELETE FROM base WHERE edge = %s", (edge_name,))
            with conn.cursor().copy("COPY base (edge, repository, tag, digest) FROM STDIN") as cp:
                for (repo, tag), digest in mapping.items():
                    cp.write_row(_text_row(edge_name, repo, tag, digest))
            conn.execute(
                "INSERT INTO base_edge VALUES (%s, %s, %s) ON CONFLICT (edge)"
                " DO UPDATE SET converged_at = excluded.converged_at, epoch = excluded.epoch",
                (edge_name, c.ts(at), epoch),
            )

    def update_base(
        self,
        edge_name: str,
        *,
        set_: Mapping[tuple[str, str], str],
        remove: Iterable[tuple[str, str]],
    ) -> bool:
        """Amend an existing base; return False (no change) if the edge has none."""
        with self._tx() as conn:
            if _converged_at(conn, edge_name) is None:
                return False
            conn.cursor().executemany(
                "DELETE FROM base WHERE edge = %s AND repository = %s AND tag = %s",
                [(edge_name, repo, tag) for repo, tag in remove],
            )
            conn.cursor().executemany(
                "INSERT INTO base VALUES (%s, %s, %s, %s) ON CONFLICT (edge, repository, tag)"
                " DO UPDATE SET digest = excluded.digest",
                [(edge_name, repo, tag, digest) for (repo, tag), digest in set_.items()],
            )
            return True

    def last_converged(self, edge_name: str) -> datetime | None:
        """Return when the edge's base was last saved in full, or None."""
        with self._tx(fenced=False) as conn:
            return c.opt_dt(_converged_at(conn, edge_name))

    def load_catalog(self, instance: str) -> Catalog | None:
        """Return the cached catalog of ``instance``, or None if never saved."""
        with self._tx(fenced=False) as conn:
            head = conn.execute(
                "SELECT taken_at, projects, public_projects FROM catalog WHERE instance = %s",
                (instance,),
            ).fetchone()
            if head is None:
                return None
            rows = conn.execute(
                "SELECT name, artifact_count, update_time, artifacts FROM catalog_repo"
                " WHERE instance = %s",
                (instance,),
            ).fetchall()
        return Catalog(
            instance=instance,
            taken_at=c.dt(head[0]),
            repositories={row[0]: c.decode_repo(*row) for row in rows},
            projects=frozenset(json.loads(head[1])),
            public_projects=frozenset(json.loads(head[2])),
        )

    def save_catalog(self, catalog: Catalog) -> None:
        """Replace the cached catalog of ``catalog.instance``."""
        with self._tx() as conn:
            conn.execute("DELETE FROM catalog_repo WHERE instance = %s", (catalog.instance,))
            _write_head(
                conn,
                catalog.instance,
                catalog.taken_at,
                catalog.projects,
                public=catalog.public_projects,
            )
            with conn.cursor().copy("COPY catalog_repo FROM STDIN") as cp:
                for repo in catalog.repositories.values():
                    cp.write_row(c.repo_row(catalog.instance, repo))

    def replace_repositories(
        self,
        instance: str,
        repos: Iterable[Repository],
        removed: Iterable[str],
        *,
        taken_at: datetime,
        projects: frozenset[str] | None = None,
        public_projects: frozenset[str] | None = None,
    ) -> None:
        """Update the cache incrementally: upsert ``repos``, drop ``removed``, move ``taken_at``."""
        with self._tx() as conn:
            head = conn.execute(
                "SELECT projects, public_projects FROM catalog WHERE instance = %s", (instance,)
            ).fetchone()
            old = ("[]", "[]") if head is None else (head[0], head[1])
            _write_head(
                conn,
                instance,
                taken_at,
                frozenset(json.loads(old[0])) if projects is None else projects,
                public=frozenset(json.loads(old[1]))
                if public_projects is None
                else public_projects,
            )
            conn.cursor().executemany(
                "DELETE FROM catalog_repo WHERE instance = %s AND name = %s",
                [(instance, name) for name in removed],
            )
            conn.cursor().executemany(
                "INSERT INTO catalog_repo VALUES (%s, %s, %s, %s, %s) ON CONFLICT (instance, name)"
                " DO UPDATE SET artifact_count = excluded.artifact_count,"
                " update_time = excluded.update_time, artifacts = excluded.artifacts",
                [c.repo_row(instance, repo) for repo in repos],
            )

    def load_first_seen(self) -> dict[tuple[str, str, str, str], datetime]:
        """Return when each ``(edge, repository, tag, drift class)`` was first seen drifting."""
        with self._tx(fenced=False) as conn:
            rows = conn.execute(
                "SELECT edge, repository, tag, drift_class, at FROM first_seen"
            ).fetchall()
        return {(e, r, t, cls): c.dt(at) for e, r, t, cls, at in rows}

    def save_first_seen(self, mapping: Mapping[tuple[str, str, str, str], datetime]) -> None:
        """Replace all first-seen times; drift absent from ``mapping`` is forgotten."""
        with self._tx() as conn:
            conn.execute("DELETE FROM first_seen")
            with conn.cursor().copy("COPY first_seen FROM STDIN") as cp:
                for (e, r, t, cls), at in mapping.items():
                    cp.write_row((e, r, t, str(cls), c.ts(at)))


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

    def audit(
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
                    "DELETE FROM execution WHERE finished_at < %s",
                )
            )


def _text_row(*values: object) -> tuple[str, ...]:
    # COPY would turn a list into an array literal; a non-text value is refused, as in SQLite.
    if not all(isinstance(v, str) for v in values):
        raise StateError(f"cannot store non-text values {values!r}")
    return tuple(str(v) for v in values)


def _converged_at(conn: psycopg.Connection[tuple[Any, ...]], edge_name: str) -> str | None:
    row = conn.execute(
        "SELECT converged_at FROM base_edge WHERE edge = %s", (edge_name,)
    ).fetchone()
    return None if row is None else str(row[0])


def _write_head(
    conn: psycopg.Connection[tuple[Any, ...]],
    instance: str,
    taken_at: datetime,
    projects: frozenset[str],
    *,
    public: frozenset[str],
) -> None:
    conn.execute(
        "INSERT INTO catalog VALUES (%s, %s, %s, %s) ON CONFLICT (instance) DO UPDATE SET"
        " taken_at = excluded.taken_at, projects = excluded.projects,"
        " public_projects = excluded.public_projects",
        (instance, c.ts(taken_at), c.dumps(sorted(projects)), c.dumps(sorted(public))),
    )
