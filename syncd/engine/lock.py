"""A cross-process lock per state file, so two syncd processes never run a pass at once.

A cron ``syncd reconcile --once`` that overlaps a slow previous run (or a daemon sharing the
state file) must not plan from the same observations and start a second execution of a policy.
``fcntl.flock`` is released by the kernel when the process dies, so a kill -9 never leaves a
stale lock behind.
"""

from __future__ import annotations

import contextlib
import fcntl
import os
from pathlib import Path
from typing import TYPE_CHECKING

from syncd.errors import StateError

if TYPE_CHECKING:
    from collections.abc import Iterator

__all__ = ["PassLockedError", "pass_lock"]


class PassLockedError(StateError):
    """Another process is running a pass on the same state file."""


@contextlib.contextmanager
def pass_lock(state_path: Path | str) -> Iterator[None]:
    """Hold an exclusive, non-blocking lock on ``<state_path>.lock`` for one pass."""
    # PostgreSQL state (a URL) is serialised by the leader lock instead (``engine.leader``).
    if str(state_path) == ":memory:" or "://" in str(state_path):
        yield
        return
    lock_path = Path(f"{state_path}.lock")
    fd = os.open(lock_path, os.O_RDWR | os.O_CREAT, 0o600)
    try:
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            raise PassLockedError(
                f"another syncd process is running a pass on {state_path}; not starting a second"
            ) from None
        try:
            yield
        finally:
            fcntl.flock(fd, fcntl.LOCK_UN)
    finally:
        os.close(fd)
