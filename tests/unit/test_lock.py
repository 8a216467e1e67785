"""The cross-process pass lock on the state file."""

from __future__ import annotations

import subprocess
import sys

import pytest

from syncd.engine.lock import PassLockedError, pass_lock


def test_second_holder_is_refused_while_the_first_holds_the_lock(tmp_path):
    """A second pass on the same state file is refused, naming the file."""
    state = tmp_path / "state.sqlite3"
    with (
        pass_lock(state),
        pytest.raises(PassLockedError, match=r"state\.sqlite3"),
        pass_lock(state),
    ):
        pass


def test_lock_is_free_again_after_release(tmp_path):
    """Releasing the lock lets the next pass take it."""
    state = tmp_path / "state.sqlite3"
    with pass_lock(state):
        pass
    with pass_lock(state):
        assert (tmp_path / "state.sqlite3.lock").exists()


def test_a_killed_holder_leaves_no_stale_lock(tmp_path):
    """The kernel drops the lock of a process killed with SIGKILL."""
    state = tmp_path / "state.sqlite3"
    code = (
        "import os, signal, sys; from syncd.engine.lock import pass_lock\n"
        f"with pass_lock({str(state)!r}):\n"
        "    print('held', flush=True); os.kill(os.getpid(), signal.SIGKILL)\n"
    )
    proc = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=False)
    assert proc.stdout.strip() == "held"
    assert proc.returncode == -9
    with pass_lock(state):
        assert (tmp_path / "state.sqlite3.lock").exists()


def test_memory_store_needs_no_lock():
    """An in-memory store (tests) takes no file lock and can nest."""
    with pass_lock(":memory:"), pass_lock(":memory:"):
        assert True
