"""Who may act: leader election between syncd replicas that share a PostgreSQL state.

Only the leader plans, acts, writes state and restores toggled policies; the others stand by.
The leader holds a session-level advisory lock on a dedicated connection (``LeaderSession``),
so the lock ends with that session: a leader killed with -9, or a database restart, frees it
without any timeout. Each acquisition starts a new *epoch*; the store checks it in every write
transaction (fencing), and `FencedClient` checks on the lock's own session before every Harbor
write, so an ex-leader that has not noticed its loss yet neither writes state nor acts.

With SQLite state there is one process per state file (``engine.lock``): it always leads.
"""

from __future__ import annotations

import threading
from enum import StrEnum
from typing import TYPE_CHECKING, Any, Protocol

import structlog

from syncd.errors import StateError
from syncd.harbor.client import HarborClient
from syncd.store import FencedError

if TYPE_CHECKING:
    from collections.abc import Callable, Mapping

    from syncd.store.postgres import LeaderSession, PostgresStore

__all__ = ["LOCK_RETRY_SECONDS", "FencedClient", "Leadership", "PgLeadership", "Role", "Solo"]

log = structlog.get_logger("syncd.engine.leader")

LOCK_RETRY_SECONDS = 5.0
"""At most this long between a standby's attempts at the lock (and a leader's self-checks)."""


class Role(StrEnum):
    """Whether this process may act."""

    LEADER = "leader"
    STANDBY = "standby"


class Leadership(Protocol):
    """The election as the daemon and the CLI see it."""

    @property
    def role(self) -> Role:
        """The role as of the last `poll` (or `guard`)."""
        ...

    def poll(self) -> Role:
        """Leader: check the lock still holds; standby: try once to take it."""
        ...

    def guard(self) -> None:
        """Raise `FencedError` unless this process leads, checked at the database now."""
        ...

    def close(self) -> None:
        """Give up the lock (if held)."""
        ...


class Solo:
    """SQLite state: one process per state file, which always leads."""

    role = Role.LEADER

    def poll(self) -> Role:
        """Return LEADER: the only process on this state file."""
        return Role.LEADER

    def guard(self) -> None:
        """Never fenced."""

    def close(self) -> None:
        """Nothing to release (the pass lock is per pass)."""


class PgLeadership:
    """The advisory-lock election over a ``PostgresStore``; thread-safe."""

    def __init__(self, store: PostgresStore) -> None:
        self._store = store
        self._session: LeaderSession = store.leader_session()
        self._epoch: int | None = None
        self._standing_by = False
        self._mutex = threading.Lock()

    @property
    def role(self) -> Role:
        """Leader while an epoch is held."""
        return Role.STANDBY if self._epoch is None else Role.LEADER

    def poll(self) -> Role:
        """Leader: check the lock still holds; standby: try once to take it."""
        with self._mutex:
            if self._epoch is None:
                self._try_acquire()
            else:
                self._verify()
            return self.role

    def guard(self) -> None:
        """Raise `FencedError` unless this process leads, checked on the lock's session now."""
        with self._mutex:
            if self._epoch is not None:
                self._verify()
            if self._epoch is None:
                raise FencedError(f"state database {self._store.path}: this syncd does not lead")

    def close(self) -> None:
        """End the lock's session; a leader logs that it released the lock."""
        with self._mutex:
            if self._epoch is not None:
                log.info("leader.released", epoch=self._epoch)
            self._epoch = None
            self._store.fence(None)
            self._session.close()

    def _try_acquire(self) -> None:
        try:
            if not self._session.try_lock():
                self._stand_by()
                return
            epoch = self._session.claim_epoch()
        except StateError as exc:
            log.debug("leader.lock_unavailable", error=str(exc))
            return
        self._epoch, self._standing_by = epoch, False
        self._store.fence(epoch)
        log.info("leader.acquired", epoch=epoch, state=self._store.path)

    def _stand_by(self) -> None:
        # Once per stretch as standby, not on every retry.
        if not self._standing_by:
            self._standing_by = True
            log.info("leader.standby", state=self._store.path)

    def _verify(self) -> None:
        try:
            current = self._session.current_epoch()
        except StateError as exc:
            self._lose(f"lock session lost: {exc}")
            return
        if current != self._epoch:
            self._lose(f"superseded by epoch {current}")

    def _lose(self, reason: str) -> None:
        # Fence first: from here on no write of this process can commit.
        self._store.fence(None)
        log.warning("leader.lost", epoch=self._epoch, reason=reason)
        self._epoch = None
        self._session.close()


class FencedClient(HarborClient):
    """A Harbor client that proves leadership (`Leadership.guard`) before every write."""

    def __init__(self, *, guard: Callable[[], None], **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self._guard = guard

    def put_policy(self, policy_id: int, body: Mapping[str, Any]) -> None:
        """Guarded ``HarborClient.put_policy``."""
        self._guard()
        super().put_policy(policy_id, body)

    def start_execution(self, policy_id: int) -> int:
        """Guarded ``HarborClient.start_execution``."""
        self._guard()
        return super().start_execution(policy_id)

    def stop_execution(self, execution_id: int) -> None:
        """Guarded ``HarborClient.stop_execution``."""
        self._guard()
        super().stop_execution(execution_id)

    def delete_tag(self, repo_full: str, *, reference: str, tag: str) -> None:
        """Guarded ``HarborClient.delete_tag``."""
        self._guard()
        super().delete_tag(repo_full, reference=reference, tag=tag)

    def delete_artifact(self, repo_full: str, digest: str) -> None:
        """Guarded ``HarborClient.delete_artifact``."""
        self._guard()
        super().delete_artifact(repo_full, digest)
