"""The versioned schema of the PostgreSQL state database and its forward-only migrations.

The version lives in ``syncd_schema`` (PostgreSQL has no ``user_version``). Replicas starting at
the same moment migrate one at a time (a transaction-level advisory lock). A database written by
a newer syncd is refused rather than downgraded, and a database that already holds tables which
are not syncd's (Harbor's own ``registry`` database, say) is refused rather than written into.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from syncd.errors import StateError

if TYPE_CHECKING:
    import psycopg

__all__ = ["LEADER_LOCK_KEY", "MIGRATE_LOCK_KEY", "SCHEMA_VERSION", "migrate"]

LEADER_LOCK_KEY = 0x73796E6364_0001
"""The session advisory lock the leading replica holds ("syncd" in hex, then 1)."""
MIGRATE_LOCK_KEY = 0x73796E6364_0002
"""The transaction advisory lock serialising migrations of replicas that start together."""

# Append a tuple of statements per schema change; never edit one that has shipped.
_MIGRATIONS: tuple[tuple[str, ...], ...] = (
    (
        (
            "CREATE TABLE syncd_schema (id INTEGER PRIMARY KEY CHECK (id = 1),"
            " version INTEGER NOT NULL)"
        ),
        "INSERT INTO syncd_schema VALUES (1, 0)",
        "CREATE TABLE syncd_leader (id INTEGER PRIMARY KEY CHECK (id = 1), epoch BIGINT NOT NULL)",
        "INSERT INTO syncd_leader VALUES (1, 0)",
        (
            "CREATE TABLE base_edge (edge TEXT PRIMARY KEY, converged_at TEXT NOT NULL,"
            " epoch BIGINT NOT NULL)"
        ),
        (
            "CREATE TABLE base (edge TEXT NOT NULL, repository TEXT NOT NULL, tag TEXT NOT NULL,"
            " digest TEXT NOT NULL, PRIMARY KEY (edge, repository, tag))"
        ),
        (
            "CREATE TABLE catalog (instance TEXT PRIMARY KEY, taken_at TEXT NOT NULL,"
            " projects TEXT NOT NULL, public_projects TEXT NOT NULL)"
        ),
        (
            "CREATE TABLE catalog_repo (instance TEXT NOT NULL, name TEXT NOT NULL,"
            " artifact_count INTEGER NOT NULL, update_time TEXT, artifacts TEXT NOT NULL,"
            " PRIMARY KEY (instance, name))"
        ),
        (
            "CREATE TABLE first_seen (edge TEXT NOT NULL, repository TEXT NOT NULL,"
            " tag TEXT NOT NULL, drift_class TEXT NOT NULL, at TEXT NOT NULL,"
            " PRIMARY KEY (edge, repository, tag, drift_class))"
        ),
        (
            "CREATE TABLE health (instance TEXT PRIMARY KEY, state TEXT NOT NULL,"
            " since TEXT NOT NULL, checked_at TEXT NOT NULL)"
        ),
        (
            "CREATE TABLE toggle_intent (id BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,"
            " instance TEXT NOT NULL, policy_id INTEGER NOT NULL, policy_json TEXT NOT NULL,"
            " created_at TEXT NOT NULL, completed_at TEXT, epoch BIGINT NOT NULL)"
        ),
        (
            "CREATE TABLE policy_history (owner TEXT NOT NULL, policy_id INTEGER NOT NULL,"
            " record TEXT NOT NULL, PRIMARY KEY (owner, policy_id))"
        ),
        (
            "CREATE TABLE audit (id BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,"
            " pass_id TEXT NOT NULL, at TEXT NOT NULL, kind TEXT NOT NULL, instance TEXT NOT NULL,"
            " policy_id INTEGER, edge TEXT, reason TEXT NOT NULL, result TEXT NOT NULL,"
            " detail TEXT NOT NULL, execution_id INTEGER, epoch BIGINT NOT NULL)"
        ),
        (
            "CREATE TABLE pass (slot TEXT PRIMARY KEY, pass_id TEXT NOT NULL,"
            " started_at TEXT NOT NULL, finished_at TEXT NOT NULL, outcome TEXT NOT NULL)"
        ),
        (
            "CREATE TABLE execution (instance TEXT NOT NULL, execution_id INTEGER NOT NULL,"
            " policy_id INTEGER NOT NULL, started_at TEXT NOT NULL, status TEXT,"
            " finished_at TEXT, epoch BIGINT NOT NULL, PRIMARY KEY (instance, execution_id))"
        ),
    ),
    (
        # v2: the repair-intent journal (temporary policies syncd must delete).
        (
            "CREATE TABLE repair_intent (id BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,"
            " instance TEXT NOT NULL, origin_policy_id INTEGER NOT NULL, name TEXT NOT NULL,"
            " policy_id INTEGER, created_at TEXT NOT NULL, completed_at TEXT,"
            " epoch BIGINT NOT NULL)"
        ),
    ),
    (
        # v3: the generation of each catalog / base write (see syncd.store._memo).
        "ALTER TABLE catalog ADD COLUMN generation BIGINT NOT NULL DEFAULT 0",
        "ALTER TABLE base_edge ADD COLUMN generation BIGINT NOT NULL DEFAULT 0",
    ),
    (
        # v4: row counts and edge stamps (see the SQLite migration of the same version).
        "ALTER TABLE catalog_repo ADD COLUMN artifact_rows INTEGER NOT NULL DEFAULT -1",
        "UPDATE catalog_repo SET artifact_rows = json_array_length(artifacts::json)",
        "ALTER TABLE base_edge ADD COLUMN stamp TEXT",
    ),
)
SCHEMA_VERSION = len(_MIGRATIONS)
"""The schema version this code writes; a newer database is refused rather than downgraded."""


def migrate(conn: psycopg.Connection[tuple[Any, ...]], *, where: str) -> None:
    """Bring the database to `SCHEMA_VERSION` inside the caller's transaction."""
    conn.execute("SELECT pg_advisory_xact_lock(%s)", (MIGRATE_LOCK_KEY,))
    version = _stored_version(conn, where=where)
    if version > SCHEMA_VERSION:
        raise StateError(
            f"state database {where} has schema v{version}, newer than this "
            f"syncd's v{SCHEMA_VERSION}; refusing to downgrade it"
        )
    for statements in _MIGRATIONS[version:]:
        for statement in statements:
            conn.execute(statement)
    conn.execute("UPDATE syncd_schema SET version = %s WHERE id = 1", (SCHEMA_VERSION,))


def _stored_version(conn: psycopg.Connection[tuple[Any, ...]], *, where: str) -> int:
    if conn.execute("SELECT to_regclass('syncd_schema')").fetchone() in (None, (None,)):
        row = conn.execute(
            "SELECT count(*) FROM pg_tables WHERE schemaname = current_schema()"
        ).fetchone()
        if row is not None and int(str(row[0])) > 0:
            raise StateError(
                f"state database {where} holds tables that are not syncd's; refusing to "
                "write into it (give syncd a database of its own)"
            )
        return 0
    row = conn.execute("SELECT version FROM syncd_schema WHERE id = 1").fetchone()
    return 0 if row is None else int(str(row[0]))
