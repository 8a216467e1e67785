"""The connection, its lock, transactions and the versioned schema of the state database.

One connection is shared by all threads (``check_same_thread=False``) and serialised by a lock;
every method body runs in exactly one transaction. Schema changes are forward-only migrations
keyed by ``PRAGMA user_version``. Integrity: only a path that does not exist becomes a new
store (an empty, foreign, corrupt or newer file is refused: starting over would forget every
base and resurrect deleted tags), and the file's device/inode are remembered so a state file
deleted or replaced under a running daemon is noticed (``check_identity``).
"""

from __future__ import annotations

import sqlite3
import threading
from contextlib import contextmanager, suppress
from pathlib import Path
from typing import TYPE_CHECKING, Self

from syncd.errors import StateError
from syncd.store._memo import Memo

if TYPE_CHECKING:
    from collections.abc import Iterator

    from syncd.store._lazy import RowSource

__all__ = ["SCHEMA_VERSION", "Database"]

# Append a tuple of statements per schema change; never edit one that has shipped.
_MIGRATIONS: tuple[tuple[str, ...], ...] = (
    (
        "CREATE TABLE base_edge (edge TEXT PRIMARY KEY, converged_at TEXT NOT NULL)",
        (
            "CREATE TABLE base (edge TEXT NOT NULL, repository TEXT NOT NULL, tag TEXT NOT NULL,"
            " digest TEXT NOT NULL, PRIMARY KEY (edge, repository, tag)) WITHOUT ROWID"
        ),
        (
            "CREATE TABLE catalog (instance TEXT PRIMARY KEY, taken_at TEXT NOT NULL,"
            " projects TEXT NOT NULL, public_projects TEXT NOT NULL)"
        ),
        (
            "CREATE TABLE catalog_repo (instance TEXT NOT NULL, name TEXT NOT NULL,"
            " artifact_count INTEGER NOT NULL, update_time TEXT, artifacts TEXT NOT NULL,"
            " PRIMARY KEY (instance, name)) WITHOUT ROWID"
        ),
        (
            "CREATE TABLE first_seen (edge TEXT NOT NULL, repository TEXT NOT NULL,"
            " tag TEXT NOT NULL, drift_class TEXT NOT NULL, at TEXT NOT NULL,"
            " PRIMARY KEY (edge, repository, tag, drift_class)) WITHOUT ROWID"
        ),
        (
            "CREATE TABLE health (instance TEXT PRIMARY KEY, state TEXT NOT NULL,"
            " since TEXT NOT NULL, checked_at TEXT NOT NULL)"
        ),
        (
            "CREATE TABLE toggle_intent (id INTEGER PRIMARY KEY AUTOINCREMENT,"
            " instance TEXT NOT NULL, policy_id INTEGER NOT NULL, policy_json TEXT NOT NULL,"
            " created_at TEXT NOT NULL, completed_at TEXT)"
        ),
        (
            "CREATE TABLE policy_history (owner TEXT NOT NULL, policy_id INTEGER NOT NULL,"
            " record TEXT NOT NULL, PRIMARY KEY (owner, policy_id))"
        ),
        (
            "CREATE TABLE audit (id INTEGER PRIMARY KEY AUTOINCREMENT, pass_id TEXT NOT NULL,"
            " at TEXT NOT NULL, kind TEXT NOT NULL, instance TEXT NOT NULL, policy_id INTEGER,"
            " edge TEXT, reason TEXT NOT NULL, result TEXT NOT NULL, detail TEXT NOT NULL,"
            " execution_id INTEGER)"
        ),
        (
            "CREATE TABLE pass (slot TEXT PRIMARY KEY, pass_id TEXT NOT NULL,"
            " started_at TEXT NOT NULL, finished_at TEXT NOT NULL, outcome TEXT NOT NULL)"
        ),
        (
            "CREATE TABLE execution (instance TEXT NOT NULL, execution_id INTEGER NOT NULL,"
            " policy_id INTEGER NOT NULL, started_at TEXT NOT NULL, status TEXT,"
            " finished_at TEXT, PRIMARY KEY (instance, execution_id))"
        ),
        "CREATE TABLE probe (id INTEGER PRIMARY KEY CHECK (id = 1), writes INTEGER NOT NULL)",
    ),
    (
        # v2: the repair-intent journal (temporary policies syncd must delete).
        (
            "CREATE TABLE repair_intent (id INTEGER PRIMARY KEY AUTOINCREMENT,"
            " instance TEXT NOT NULL, origin_policy_id INTEGER NOT NULL, name TEXT NOT NULL,"
            " policy_id INTEGER, created_at TEXT NOT NULL, completed_at TEXT)"
        ),
    ),
    (
        # v3: the generation of each catalog / base write, so a store can trust (and diff
        # against) the value it remembers instead of re-reading or rewriting every row.
        "ALTER TABLE catalog ADD COLUMN generation INTEGER NOT NULL DEFAULT 0",
        "ALTER TABLE base_edge ADD COLUMN generation INTEGER NOT NULL DEFAULT 0",
    ),
    (
        # v4: assessment in proportion to change. Each cached repository's row count (so a
        # warm pass need not decode its artifacts to compare it with Harbor's count), and the
        # stamp an edge's base was assessed against (syncd.core.incremental.EdgeStamp).
        "ALTER TABLE catalog_repo ADD COLUMN artifact_rows INTEGER NOT NULL DEFAULT -1",
        "UPDATE catalog_repo SET artifact_rows = json_array_length(artifacts)",
        "ALTER TABLE base_edge ADD COLUMN stamp TEXT",
    ),
)
SCHEMA_VERSION = len(_MIGRATIONS)
"""The schema version this code writes; a newer file is refused rather than downgraded."""

_MEMORY = ":memory:"
_SQLITE_MAGIC = b"SQLite format 3\x00"
_REMEDY = (
    "restore it from a backup, or move it aside to start over with an empty state "
    "(syncd then re-learns every base; deletions made meanwhile are not propagated)"
)
_READY_LOCK_TIMEOUT = 5.0
"""Seconds /readyz waits for the lock: a long write (a 200k-row base) must not look like a hang."""


class Database:
    """Connection lifecycle, transactions and migrations; the tables live in subclasses."""

    def __init__(self, conn: sqlite3.Connection, *, path: str) -> None:
        self._conn: sqlite3.Connection | None = conn
        self._path = path
        self._lock = threading.Lock()
        self._identity: tuple[int, int] | None = None
        self._memo = Memo()
        self._sources: dict[str, RowSource] = {}
        """Per instance: where the remembered catalog's unread artifact rows come from."""

    @property
    def path(self) -> str:
        """Where the database lives (``:memory:`` for an in-memory store)."""
        return self._path

    @classmethod
    def open(cls, path: Path | str) -> Self:
        """Open (migrating if needed) the database at ``path``; ``:memory:`` works.

        A new database is created only where no file exists; anything else that is not a
        syncd database raises `StateError` naming the file and the remedy.
        """
        target = str(path)
        existed = target != _MEMORY and _check_existing(Path(target))
        try:
            conn = sqlite3.connect(
                target, timeout=10.0, isolation_level=None, check_same_thread=False
            )
            # WAL lets other readers (CLI, a second process) proceed during a long write; FULL
            # sync makes a journalled toggle intent durable before the disable PUT goes out.
            conn.execute("PRAGMA journal_mode=WAL")
            conn.execute("PRAGMA synchronous=FULL")
        except sqlite3.Error as exc:
            hint = f"; the file may be corrupt: {_REMEDY}" if existed else ""
            raise StateError(f"cannot open state database {target}: {exc}{hint}") from exc
        store = cls(conn, path=target)
        try:
            store._migrate(existed=existed)
        except BaseException:
            store.close()
            raise
        store._identity = _identity(target)
        return store

    def check_identity(self) -> None:
        """Raise `StateError` if the file at ``path`` is no longer the one opened.

        Deleted or replaced: writing on would go to an orphaned inode and lose syncd's memory.
        """
        if self._identity is None:
            return
        current = _identity(self._path)
        if current is None:
            raise StateError(
                f"state database {self._path} was deleted while syncd was running; "
                "restart syncd once it is restored (or to start over with an empty state)"
            )
        if current != self._identity:
            raise StateError(
                f"state database {self._path} was replaced by another file while syncd was "
                "running; restart syncd to use it"
            )

    def close(self) -> None:
        """Close the connection; later calls raise `StateError`. Closing twice is harmless."""
        with self._lock:
            if self._conn is not None:
                self._conn.close()
                self._conn = None

    def __enter__(self) -> Self:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()

    def schema_version(self) -> int:
        """Return the schema version stored in the file."""
        with self._tx(write=False) as conn:
            return int(conn.execute("PRAGMA user_version").fetchone()[0])

    def writable(self) -> bool:
        """Report whether a small write can be committed right now (for /readyz)."""
        try:
            with self._tx(lock_timeout=_READY_LOCK_TIMEOUT) as conn:
                conn.execute(
                    "INSERT INTO probe (id, writes) VALUES (1, 1)"
                    " ON CONFLICT (id) DO UPDATE SET writes = writes + 1"
                )
        except StateError:
            return False
        return True

    @contextmanager
    def _tx(self, *, write: bool = True, lock_timeout: float = -1) -> Iterator[sqlite3.Connection]:
        """Run the block as one transaction under the lock; sqlite errors become `StateError`."""
        if not self._lock.acquire(timeout=lock_timeout):
            raise StateError(f"state database {self._path} is busy")
        try:
            if self._conn is None:
                raise StateError(f"state database {self._path} is closed")
            conn = self._conn
            try:
                # IMMEDIATE takes the write lock up front, so a second process fails at BEGIN
                # (after the busy timeout) rather than half way through.
                conn.execute("BEGIN IMMEDIATE" if write else "BEGIN")
                yield conn
                conn.execute("COMMIT")
            except BaseException as exc:
                _rollback(conn)
                if isinstance(exc, sqlite3.Error):
                    raise StateError(f"state database {self._path}: {exc}") from exc
                raise
        finally:
            self._lock.release()

    def _migrate(self, *, existed: bool) -> None:
        try:
            self._migrate_tx(existed=existed)
        except StateError as exc:
            if _REMEDY in str(exc):
                raise
            raise StateError(f"{exc}; the file may be corrupt: {_REMEDY}") from exc

    def _migrate_tx(self, *, existed: bool) -> None:
        with self._tx() as conn:
            version = int(conn.execute("PRAGMA user_version").fetchone()[0])
            if version > SCHEMA_VERSION:
                raise StateError(
                    f"state database {self._path} has schema v{version}, newer than this "
                    f"syncd's v{SCHEMA_VERSION}; refusing to downgrade it: run the newer syncd, "
                    f"or {_REMEDY}"
                )
            if existed and version == 0:
                raise StateError(
                    f"state database {self._path} is an SQLite file that syncd did not "
                    f"create (no syncd schema); {_REMEDY}"
                )
            for statements in _MIGRATIONS[version:]:
                for statement in statements:
                    conn.execute(statement)
            conn.execute(f"PRAGMA user_version = {SCHEMA_VERSION:d}")


def _check_existing(path: Path) -> bool:
    """Return whether ``path`` exists; raise if it exists but cannot be a syncd database."""
    try:
        with path.open("rb") as handle:
            head = handle.read(len(_SQLITE_MAGIC))
    except FileNotFoundError:
        return False
    except OSError as exc:
        raise StateError(f"cannot read state database {path}: {exc.strerror or exc}") from None
    if not head:
        raise StateError(f"state database {path} is empty (0 bytes); {_REMEDY}")
    if head != _SQLITE_MAGIC:
        raise StateError(f"state database {path} is not an SQLite database; {_REMEDY}")
    return True


def _identity(path: str) -> tuple[int, int] | None:
    if path == _MEMORY:
        return None
    try:
        stat = Path(path).stat()
    except FileNotFoundError:
        return None
    return stat.st_dev, stat.st_ino


def _rollback(conn: sqlite3.Connection) -> None:
    # The original error matters more than a failed rollback (e.g. the disk just vanished).
    if conn.in_transaction:
        with suppress(sqlite3.Error):
            conn.execute("ROLLBACK")
