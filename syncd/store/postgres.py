"""The PostgreSQL state backend: a small connection pool, fenced transactions, versioned schema.

Selected by ``state.url``. Same tables and encodings as the SQLite backend (times as fixed-width
UTC text, catalogs as compact JSON), so both pass one store test suite. What PostgreSQL adds is
*fencing*: several syncd replicas share the database, one leads (``syncd.engine.leader``), and
every write carries the leader epoch this process was granted, checked against ``syncd_leader``
in the same transaction. A replica that lost the lock (a newer epoch exists) cannot write, even
if it has not noticed yet. The password comes from ``state.password_file`` or libpq's own
``PGPASSWORD``; it is never part of `path` or of an error message.
"""

from __future__ import annotations

import contextlib
from typing import TYPE_CHECKING, Any, TypeVar

import psycopg

from syncd.store._pg_journal import PgJournal
from syncd.store._pg_schema import LEADER_LOCK_KEY, SCHEMA_VERSION
from syncd.store._pg_snapshots import PgSnapshots
from syncd.store._pg_status import PgStatus

if TYPE_CHECKING:
    from collections.abc import Callable

__all__ = [
    "LEADER_LOCK_KEY",
    "SCHEMA_VERSION",
    "LeaderSession",
    "PostgresStore",
    "claim_epoch",
    "current_epoch",
    "try_leader_lock",
]

_T = TypeVar("_T")


class PostgresStore(PgSnapshots, PgStatus, PgJournal):
    """syncd's state in PostgreSQL; open with ``PostgresStore.open(url, password=...)``.

    Thread-safe (a pool, one transaction per call) and a context manager that closes itself.
    """

    def leader_session(self) -> LeaderSession:
        """Return a new (not yet connected) session for the leader lock."""
        return LeaderSession(self)


def try_leader_lock(conn: psycopg.Connection[tuple[Any, ...]]) -> bool:
    """Try once to take the leader lock for ``conn``'s session (held until it ends)."""
    row = conn.execute("SELECT pg_try_advisory_lock(%s)", (LEADER_LOCK_KEY,)).fetchone()
    return bool(row and row[0])


def claim_epoch(conn: psycopg.Connection[tuple[Any, ...]]) -> int:
    """Start a new leader epoch; call only on the session holding the leader lock."""
    row = conn.execute(
        "UPDATE syncd_leader SET epoch = epoch + 1 WHERE id = 1 RETURNING epoch"
    ).fetchone()
    assert row is not None  # the migration inserts the single row
    return int(str(row[0]))


def current_epoch(conn: psycopg.Connection[tuple[Any, ...]]) -> int:
    """Read the newest leader epoch (a query on the lock session proves the session is alive)."""
    row = conn.execute("SELECT epoch FROM syncd_leader WHERE id = 1").fetchone()
    assert row is not None
    return int(str(row[0]))


class LeaderSession:
    """The leader lock's own database session (outside the pool); errors become `StateError`.

    A session-level advisory lock lives exactly as long as this session: closing it, the
    process dying, or the server restarting all release the lock.
    """

    def __init__(self, store: PostgresStore) -> None:
        self._store = store
        self._conn: psycopg.Connection[tuple[Any, ...]] | None = None

    def try_lock(self) -> bool:
        """Try once to take the leader lock (connecting first if needed)."""
        return self._run(try_leader_lock)

    def claim_epoch(self) -> int:
        """Start a new leader epoch; call only after `try_lock` returned True."""
        return self._run(claim_epoch)

    def current_epoch(self) -> int:
        """Read the newest epoch on this session (proving the session, hence the lock, lives)."""
        return self._run(current_epoch)

    def close(self) -> None:
        """End the session (releasing the lock if held); closing twice is harmless."""
        conn, self._conn = self._conn, None
        if conn is not None:
            with contextlib.suppress(psycopg.Error):
                # Unlock explicitly: the server ends a closed session asynchronously, and a
                # standby should not find the lock still held after a clean handover.
                if not conn.closed:
                    conn.execute("SELECT pg_advisory_unlock_all()")
                conn.close()

    def _run(self, query: Callable[[psycopg.Connection[tuple[Any, ...]]], _T]) -> _T:
        if self._conn is None or self._conn.closed:
            self._conn = self._store.connect_dedicated()
        try:
            return query(self._conn)
        except psycopg.Error as exc:
            self.close()
            raise self._store.state_error(exc) from None
