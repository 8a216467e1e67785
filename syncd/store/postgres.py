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

from typing import TYPE_CHECKING, Any

from syncd.store._pg_schema import LEADER_LOCK_KEY, SCHEMA_VERSION
from syncd.store._pg_tables import PgJournal, PgSnapshots, PgStatus

if TYPE_CHECKING:
    import psycopg

__all__ = [
    "LEADER_LOCK_KEY",
    "SCHEMA_VERSION",
    "PostgresStore",
    "claim_epoch",
    "current_epoch",
    "try_leader_lock",
]


class PostgresStore(PgSnapshots, PgStatus, PgJournal):
    """syncd's state in PostgreSQL; open with ``PostgresStore.open(url, password=...)``.

    Thread-safe (a pool, one transaction per call) and a context manager that closes itself.
    """


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
