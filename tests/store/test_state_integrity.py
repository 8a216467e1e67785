"""State integrity: only a missing path creates a store; a swapped file is noticed."""

from __future__ import annotations

import sqlite3
from datetime import UTC, datetime
from typing import TYPE_CHECKING

import pytest

from syncd.store import StateError, StateStore

if TYPE_CHECKING:
    from pathlib import Path

T0 = datetime(2026, 1, 1, tzinfo=UTC)


def _sqlite(path: Path, *statements: str) -> None:
    conn = sqlite3.connect(path)
    for statement in statements:
        conn.execute(statement)
    conn.commit()
    conn.close()


@pytest.mark.parametrize(
    ("make", "says"),
    [
        (lambda p: p.write_bytes(b""), "is empty (0 bytes)"),
        (lambda p: p.write_bytes(b"PK\x03\x04 a zip, not a database"), "not an SQLite database"),
        (lambda p: _sqlite(p, "CREATE TABLE t (x)"), "syncd did not create"),
        (lambda p: _sqlite(p, "PRAGMA user_version = 42"), "newer than this syncd"),
        (lambda p: p.write_bytes(b"SQLite format 3\x00" + b"\xff" * 200), "may be corrupt"),
        (lambda p: p.mkdir(), "cannot read state database"),
    ],
    ids=["empty", "foreign-file", "foreign-sqlite", "newer", "corrupt", "directory"],
)
def test_existing_file_that_is_not_a_syncd_store_is_refused(tmp_path, make, says):
    """Anything but a missing path or a syncd database: StateError naming the file and remedy."""
    path = tmp_path / "state.sqlite3"
    make(path)
    with pytest.raises(StateError) as info:
        StateStore.open(path)
    assert str(path) in str(info.value)
    assert says in str(info.value)


def test_missing_path_creates_and_reopens(tmp_path):
    """A path that does not exist becomes a new store, which then reopens with its data."""
    path = tmp_path / "state.sqlite3"
    with StateStore.open(path) as store:
        store.record_pass("p1", started_at=T0, finished_at=T0, outcome="converged")
    with StateStore.open(path) as store:
        assert store.last_success() == T0


@pytest.mark.parametrize(
    ("outcome", "success"), [("converged", True), ("drift", True), ("incomplete", False)]
)
def test_only_a_complete_pass_is_the_last_success(outcome, success):
    """An incomplete pass is the last pass, never the last success."""
    with StateStore.open(":memory:") as store:
        store.record_pass("p", started_at=T0, finished_at=T0, outcome=outcome)
        assert store.last_pass() == ("p", T0, outcome)
        assert (store.last_success() == T0) is success


@pytest.mark.parametrize("how", ["deleted", "replaced"])
def test_identity_check_notices_a_deleted_or_replaced_file(tmp_path, how):
    """Deleting or replacing the file under an open store fails check_identity, naming it."""
    path = tmp_path / "state.sqlite3"
    with StateStore.open(path) as store:
        store.check_identity()
        path.unlink()
        if how == "replaced":
            with StateStore.open(path):
                pass
        with pytest.raises(StateError, match=f"{path}.*{how}"):
            store.check_identity()


def test_memory_store_has_no_identity_to_lose():
    """An in-memory store always passes the identity check."""
    with StateStore.open(":memory:") as store:
        store.check_identity()
