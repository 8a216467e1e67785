"""The election on a real PostgreSQL: one leader, epochs, fencing after a lost lock session."""

from __future__ import annotations

from typing import TYPE_CHECKING

import pytest
from structlog.testing import capture_logs

from syncd.engine.leader import FencedClient, PgLeadership, Role
from syncd.settings import InstanceSettings
from syncd.sim import SimCluster
from syncd.store import FencedError
from syncd.store.postgres import PostgresStore

if TYPE_CHECKING:
    from collections.abc import Iterator

    from tests.pgkit import PgDatabase, PgServer

T = "2026-01-01T00:00:00+00:00"


@pytest.fixture
def two(pg_db: PgDatabase) -> Iterator[tuple[PostgresStore, PostgresStore]]:
    """Give two stores on one database, as two replicas would have."""
    with (
        PostgresStore.open(pg_db.url, password=pg_db.password) as one,
        PostgresStore.open(pg_db.url, password=pg_db.password) as other,
    ):
        yield one, other


def _terminate_lock_session(server: PgServer, db: PgDatabase) -> None:
    """Kill the backend holding the leader lock, as a network cut or a server crash would."""
    server.admin(
        "SELECT pg_terminate_backend(pid) FROM pg_locks"  # noqa: S608 - a test-made name
        " WHERE locktype = 'advisory' AND database = (SELECT oid FROM pg_database"
        f" WHERE datname = '{db.name}')"
    )


def test_one_leads_the_other_stands_by_until_the_lock_is_released(two):
    """The first poll wins; the second stands by; closing the leader hands over with epoch 2."""
    one, other = two
    first, second = PgLeadership(one), PgLeadership(other)
    with capture_logs() as logs:
        assert (first.poll(), second.poll(), second.poll()) == (
            Role.LEADER,
            Role.STANDBY,
            Role.STANDBY,
        )
        first.close()
        assert second.poll() is Role.LEADER
    events = [(e["event"], e.get("epoch")) for e in logs if e["event"].startswith("leader.")]
    assert events == [
        ("leader.acquired", 1),
        ("leader.standby", None),
        ("leader.released", 1),
        ("leader.acquired", 2),
    ]
    assert (one.epoch, other.epoch) == (None, 2)
    second.close()


def test_lost_lock_session_fences_writes_and_harbor_calls(two, pg_server, pg_db):
    """After its lock session dies the ex-leader cannot write state nor start an execution."""
    one, other = two
    first, second = PgLeadership(one), PgLeadership(other)
    assert first.poll() is Role.LEADER
    _terminate_lock_session(pg_server, pg_db)
    assert second.poll() is Role.LEADER
    with pytest.raises(FencedError, match="superseded"):
        one.save_first_seen({})
    with SimCluster() as cluster:
        sim = cluster.add("a")
        settings = InstanceSettings(url=sim.url, username="admin", password="Harbor12345")
        client = FencedClient(guard=first.guard, name="a", settings=settings)
        with capture_logs() as logs, pytest.raises(FencedError, match="does not lead"):
            client.start_execution(1)
        client.close()
        assert sim.request_log == []
    assert [e["event"] for e in logs] == ["leader.lost"]
    assert first.role is Role.STANDBY
    assert first.poll() is Role.STANDBY
    first.close()
    second.close()
