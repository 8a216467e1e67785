"""PostgreSQL backend specifics: schema versions, foreign databases, fencing, credentials."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from syncd.store import FencedError, StateError
from syncd.store.postgres import SCHEMA_VERSION, PostgresStore
from tests.pgkit import lead

T0 = datetime(2026, 1, 1, 12, 0, tzinfo=UTC)


def test_new_database_is_migrated_and_reopens(pg_db):
    """A fresh database gets SCHEMA_VERSION; a pending intent survives a reopen."""
    with PostgresStore.open(pg_db.url, password=pg_db.password) as first:
        assert first.schema_version() == SCHEMA_VERSION
        first.fence(lead(first))
        first.journal_disable_intent("a", 7, policy_json={"id": 7}, at=T0)
    with PostgresStore.open(pg_db.url, password=pg_db.password) as second:
        assert second.schema_version() == SCHEMA_VERSION
        assert [(i.instance, i.policy_id) for i in second.pending_intents()] == [("a", 7)]


def test_newer_schema_is_refused(pg_server, pg_db):
    """A database written by a newer syncd is refused with one line, not downgraded."""
    PostgresStore.open(pg_db.url, password=pg_db.password).close()
    newer = f"UPDATE syncd_schema SET version = {SCHEMA_VERSION + 1}"  # noqa: S608 - a constant
    pg_server.admin(newer, dbname=pg_db.name)
    with pytest.raises(StateError, match="newer than this syncd") as err:
        PostgresStore.open(pg_db.url, password=pg_db.password)
    assert "\n" not in str(err.value)


def test_foreign_database_is_refused(pg_server, pg_db):
    """A database holding someone else's tables (Harbor's, say) is never written into."""
    pg_server.admin("CREATE TABLE harbor_user (id INTEGER)", dbname=pg_db.name)
    with pytest.raises(StateError, match="not syncd's"):
        PostgresStore.open(pg_db.url, password=pg_db.password)
    tables = pg_server.admin(
        "SELECT tablename FROM pg_tables WHERE schemaname = 'public'", dbname=pg_db.name
    )
    assert tables == [("harbor_user",)]


@pytest.mark.parametrize(
    "write",
    [
        lambda s: s.save_base("a->b", {("p/r", "t"): "sha256:1"}, at=T0),
        lambda s: s.journal_disable_intent("a", 1, policy_json={}, at=T0),
        lambda s: s.audit(
            pass_id="p",
            at=T0,
            kind="trigger",
            instance="a",
            policy_id=1,
            edge=None,
            reason="r",
            result="succeeded",
        ),
        lambda s: s.remember_execution("a", 1, 9, started_at=T0),
    ],
    ids=["base", "journal", "audit", "execution"],
)
def test_superseded_leader_cannot_write(pg_db, write):
    """Once a newer epoch exists, the old leader's writes fail in their own transaction."""
    with (
        PostgresStore.open(pg_db.url, password=pg_db.password) as old,
        PostgresStore.open(pg_db.url, password=pg_db.password) as new,
    ):
        old.fence(lead(old))
        write(old)
        new.fence(lead(new))
        with pytest.raises(FencedError, match="superseded"):
            write(old)
        write(new)
        assert old.audit_entries() == new.audit_entries()


def test_standby_cannot_write_but_reads_and_is_writable(pg_db):
    """A store that was never granted an epoch refuses writes; /readyz still sees it ready."""
    with PostgresStore.open(pg_db.url, password=pg_db.password) as standby:
        with pytest.raises(FencedError, match="does not lead"):
            standby.save_first_seen({})
        assert standby.load_base("a->b") is None
        assert standby.writable() is True


def test_wrong_password_is_one_line_without_the_password(pg_db):
    """Authentication failures name the URL, never the password tried."""
    with pytest.raises(StateError) as err:
        PostgresStore.open(pg_db.url, password="not-the-5ecret")
    assert "not-the-5ecret" not in str(err.value)
    assert pg_db.url in str(err.value)
    assert "password authentication failed" in str(err.value)
    assert "\n" not in str(err.value)


def test_closed_store_raises_state_error(pg_db):
    """Use after close is a StateError, and closing twice is harmless."""
    store = PostgresStore.open(pg_db.url, password=pg_db.password)
    store.close()
    store.close()
    with pytest.raises(StateError, match="closed"):
        store.load_base("a->b")
    assert store.writable() is False
