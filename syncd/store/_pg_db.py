"""The pool, fenced transactions and lifecycle of the PostgreSQL state database.

Every method of a table mixin runs in exactly one transaction (``_tx``) on a pooled connection;
a write transaction first checks that this process's leader epoch is still the newest one.
"""

from __future__ import annotations

import threading
from contextlib import contextmanager
from typing import TYPE_CHECKING, Any, Self

import psycopg
import psycopg_pool

from syncd.errors import StateError
from syncd.store._memo import Memo
from syncd.store._pg_schema import migrate
from syncd.store.interface import FencedError

if TYPE_CHECKING:
    from collections.abc import Iterator

    from syncd.store._lazy import RowSource

__all__ = ["PgDatabase"]

_POOL_SIZE = (1, 4)
"""The daemon's threads (pass, health poll, executor workers) share at most four connections."""
_CONNECT_TIMEOUT = 10
"""Seconds to wait for the database when opening and for a pooled connection."""
_KEEPALIVE = {
    "keepalives": 1,
    "keepalives_idle": 5,
    "keepalives_interval": 2,
    "keepalives_count": 3,
}
"""A half-open connection (the database host vanished) is noticed within ~11 seconds."""


class PgDatabase:
    """Pool lifecycle, fenced transactions and migrations; the tables live in subclasses."""

    def __init__(
        self, pool: psycopg_pool.ConnectionPool, *, url: str, password: str | None
    ) -> None:
        self._pool: psycopg_pool.ConnectionPool | None = pool
        self._url = url
        self._password = password
        self._epoch: int | None = None
        self._epoch_lock = threading.Lock()
        self._memo = Memo()
        self._sources: dict[str, RowSource] = {}
        """Per instance: where the remembered catalog's unread artifact rows come from."""

    @property
    def path(self) -> str:
        """The ``state.url`` (validated to hold no password)."""
        return self._url

    @classmethod
    def open(cls, url: str, *, password: str | None = None) -> Self:
        """Connect, migrate (refusing a newer schema or a foreign database) and return the store."""
        kwargs = _connect_kwargs(password)
        pool = _pool(url, kwargs)
        store = cls(pool, url=url, password=password)
        try:
            # One direct attempt first: the pool would retry a refused password until its
            # timeout and then report only "pool initialization incomplete".
            psycopg.connect(url, **kwargs).close()
            pool.open(wait=True, timeout=_CONNECT_TIMEOUT)
            with store._tx(fenced=False) as conn:
                migrate(conn, where=url)
        except BaseException as exc:
            store.close()
            if isinstance(exc, psycopg.Error):
                raise store.state_error(exc) from None
            raise
        return store

    def connect_dedicated(self) -> psycopg.Connection[tuple[Any, ...]]:
        """Open a connection outside the pool (autocommit): the leader lock's own session."""
        try:
            return psycopg.connect(self._url, autocommit=True, **_connect_kwargs(self._password))
        except psycopg.Error as exc:
            raise self.state_error(exc) from None

    def close(self) -> None:
        """Close the pool; later calls raise `StateError`. Closing twice is harmless."""
        pool, self._pool = self._pool, None
        if pool is not None:
            pool.close()

    def __enter__(self) -> Self:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()

    # ------------------------------------------------------------------ fencing

    def fence(self, epoch: int | None) -> None:
        """Write as leader ``epoch`` from now on; None: this process does not lead (no writes)."""
        with self._epoch_lock:
            self._epoch = epoch

    @property
    def epoch(self) -> int | None:
        """The leader epoch this process writes under, or None on a standby."""
        with self._epoch_lock:
            return self._epoch

    def _check_epoch(self, conn: psycopg.Connection[tuple[Any, ...]]) -> int:
        mine = self.epoch
        if mine is None:
            raise FencedError(f"state database {self._url}: this syncd does not lead; not writing")
        # FOR SHARE: a new leader's epoch bump waits for this transaction, and this one sees it
        # if the bump committed first. Either way no write lands after a newer leader took over.
        row = conn.execute("SELECT epoch FROM syncd_leader WHERE id = 1 FOR SHARE").fetchone()
        if row is None or row[0] != mine:
            raise FencedError(
                f"state database {self._url}: leader epoch {mine} was superseded; not writing"
            )
        return mine

    # ------------------------------------------------------------------ transactions

    def schema_version(self) -> int:
        """Return the schema version stored in the database."""
        with self._tx(fenced=False) as conn:
            row = conn.execute("SELECT version FROM syncd_schema WHERE id = 1").fetchone()
        return 0 if row is None else int(str(row[0]))

    def check_identity(self) -> None:
        """Nothing to check: a database is reached by URL, not by an inode that can be swapped.

        A database dropped and re-created under the daemon fails its next fenced write instead
        (neither its tables nor the leader epoch it holds are there).
        """

    def writable(self) -> bool:
        """Report whether the database answers and accepts writes (not a read-only replica).

        Writes nothing: a standby is ready too, and a standby does not write.
        """
        try:
            with self._tx(fenced=False) as conn:
                row = conn.execute("SELECT NOT pg_is_in_recovery()").fetchone()
        except StateError:
            return False
        return bool(row and row[0])

    @contextmanager
    def _tx(self, *, fenced: bool = True) -> Iterator[psycopg.Connection[tuple[Any, ...]]]:
        """One transaction on a pooled connection; writes (``fenced``) check the epoch first."""
        with self._epoch_tx(fenced=fenced) as (conn, _epoch):
            yield conn

    @contextmanager
    def _epoch_tx(
        self, *, fenced: bool = True
    ) -> Iterator[tuple[psycopg.Connection[tuple[Any, ...]], int]]:
        """`_tx` that also gives the checked epoch (0 when not fenced), for rows that carry it."""
        pool = self._pool
        if pool is None:
            raise StateError(f"state database {self._url} is closed")
        try:
            with pool.connection() as conn:  # commits on success, rolls back on an exception
                yield conn, self._check_epoch(conn) if fenced else 0
        except psycopg.Error as exc:
            raise self.state_error(exc) from None

    def state_error(self, exc: psycopg.Error) -> StateError:
        """Turn a driver error into one `StateError` line naming the URL, never the password."""
        # libpq never echoes the password, but a server message could quote a connection
        # string someone put it in: mask it anyway.
        text = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
        if self._password:
            text = text.replace(self._password, "**********")
        return StateError(f"state database {self._url}: {text}")


def _pool(url: str, kwargs: dict[str, Any]) -> psycopg_pool.ConnectionPool:
    return psycopg_pool.ConnectionPool(
        url,
        kwargs=kwargs,
        min_size=_POOL_SIZE[0],
        max_size=_POOL_SIZE[1],
        open=False,
        timeout=_CONNECT_TIMEOUT,
        # A database restart breaks every pooled connection: check each one on checkout.
        check=psycopg_pool.ConnectionPool.check_connection,
        name="syncd-state",
    )


def _connect_kwargs(password: str | None) -> dict[str, Any]:
    kwargs: dict[str, Any] = {
        "connect_timeout": _CONNECT_TIMEOUT,
        "application_name": "syncd",
        **_KEEPALIVE,
    }
    if password is not None:
        kwargs["password"] = password
    return kwargs
