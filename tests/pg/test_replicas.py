"""Two ``syncd run`` replicas on one real PostgreSQL and one dual-master simulator pair.

Real processes all the way: the daemons are subprocesses, PostgreSQL is a throwaway server from
the Debian package, and what syncd did is read from the simulators' request logs.
"""

from __future__ import annotations

import json
from typing import TYPE_CHECKING, Any

import httpx
import pytest

from syncd.store.postgres import PostgresStore
from tests.daemonkit import converged, poll_until, post_webhook, push_payload, push_while_down
from tests.pg.replicakit import (
    EXECUTIONS,
    leader_gauge,
    readyz,
    replica_config,
    started_executions,
    writes,
)
from tests.pgkit import PASSWORD, PgServer

if TYPE_CHECKING:
    from collections.abc import Callable, Iterator

    from syncd.sim import SimInstance
    from tests.daemonkit import DaemonProcess

pytestmark = [pytest.mark.slow, pytest.mark.xdist_group("pg-replicas")]


def _webhook_v2(a: SimInstance) -> bytes:
    return json.dumps(
        push_payload("library/app", "v2", a.state.tag_map()["library/app", "v2"])
    ).encode()


def _two_replicas(
    start: Callable[..., DaemonProcess], config: dict[str, Any]
) -> tuple[DaemonProcess, DaemonProcess]:
    """Start a leader (converged first pass), then a second replica that stands by."""
    first = start(config)
    first.wait_for("leader.acquired")
    first.wait_for("reconcile.pass_finished", outcome="converged")
    second = start(config)
    second.wait_for("leader.standby")
    return first, second


@pytest.fixture
def own_server() -> Iterator[PgServer]:
    """Give the test a PostgreSQL server of its own, which it may stop and start."""
    server = PgServer.start_new()
    yield server
    server.close()


def test_exactly_one_replica_leads_and_alone_repairs_a_lost_push(sims, replicas, pg_db, tmp_path):
    """One leader, one ready standby; a webhook to both: only the leader triggers, once."""
    a, b = sims
    config = replica_config(instances={"a": a, "b": b}, db=pg_db, password_file=tmp_path / "pw")
    first, second = _two_replicas(replicas, config)
    assert (leader_gauge(first), leader_gauge(second)) == (1.0, 0.0)
    assert (readyz(first), readyz(second)) == ((200, "ready"), (200, "ready (standby)"))
    assert httpx.get(f"{second.url}/healthz", timeout=10).status_code == 200

    push_while_down(source=a, peer=b, repository="library/app", tag="v2")
    marks = first.mark(), second.mark()
    for daemon in (first, second):
        assert post_webhook(daemon, _webhook_v2(a)).status_code == 202
    second.wait_for("reconcile.standby_skipped", since=marks[1])
    finished = first.wait_for("act.action_finished", since=marks[0], result="succeeded")
    first.wait_for("reconcile.pass_finished", since=finished, outcome="converged")

    assert converged(a, b)
    assert (started_executions(a), started_executions(b)) == ([EXECUTIONS], [])
    assert second.find("leader.acquired") == second.find("act.execution_started") == []
    assert PASSWORD not in first.output() + second.output()


def test_standby_takes_over_from_a_killed_leader_and_restores_its_toggle(
    sims, replicas, pg_db, tmp_path
):
    """Kill -9 mid-toggle: the standby leads, re-enables the policy, finishes the repair once."""
    a, b = sims
    config = replica_config(
        instances={"a": a, "b": b}, db=pg_db, password_file=tmp_path / "pw", mode="toggle"
    )
    first, second = _two_replicas(replicas, config)
    [policy_id] = list(a.state.policies)
    push_while_down(source=a, peer=b, repository="library/app", tag="v2")
    a.faults.hold_policy_enable(True)
    mark = second.mark()
    assert post_webhook(first, _webhook_v2(a)).status_code == 202
    poll_until(lambda: a.faults.enables_held == 1, what="the re-enable PUT to be in flight")
    first.proc.kill()
    assert first.wait_exit() == -9
    a.faults.hold_policy_enable(False)  # the held enable fails, unapplied: the policy stays off
    poll_until(lambda: a.faults.enables_held == 0, what="the held PUT to fail")
    assert a.state.policies[policy_id].enabled is False
    assert started_executions(a) == []

    acquired = second.wait_for("leader.acquired", since=mark)
    restored = second.wait_for("toggle.restored", since=acquired, instance="a")
    second.wait_for("reconcile.pass_finished", since=restored, outcome="converged")

    assert second.events[restored]["policy_id"] == policy_id
    assert a.state.policies[policy_id].enabled is True
    assert converged(a, b)
    assert (started_executions(a), started_executions(b)) == ([EXECUTIONS], [])
    with PostgresStore.open(pg_db.url, password=pg_db.password) as store:
        assert store.pending_intents() == []


def test_database_restart_fences_the_leader_until_it_returns(sims, replicas, own_server, tmp_path):
    """PostgreSQL down: nobody acts, even on a webhook; back: one replica leads and repairs once."""
    a, b = sims
    db = own_server.database()
    config = replica_config(instances={"a": a, "b": b}, db=db, password_file=tmp_path / "pw")
    first, second = _two_replicas(replicas, config)
    own_server.stop(mode="fast")
    lost = first.wait_for("leader.lost")
    marks = first.mark(), second.mark()

    push_while_down(source=a, peer=b, repository="library/app", tag="v2")
    for daemon, since in zip((first, second), marks, strict=True):
        assert post_webhook(daemon, _webhook_v2(a)).status_code == 202
        daemon.wait_for("reconcile.standby_skipped", since=since)
    assert (writes(a), writes(b)) == ([], [])

    own_server.start()
    leader = poll_until(
        lambda: next(
            (
                d
                for d, m in zip((first, second), (lost, marks[1]), strict=True)
                if d.find("leader.acquired", since=m)
            ),
            None,
        ),
        what="a replica to lead again",
    )
    acquired = leader.find("leader.acquired")[-1]
    leader.wait_for("reconcile.pass_finished", since=acquired, outcome="converged")

    other = second if leader is first else first
    assert other.find("leader.acquired", since=marks[other is second]) == []
    assert converged(a, b)
    assert (started_executions(a), started_executions(b)) == ([EXECUTIONS], [])
    with PostgresStore.open(db.url, password=db.password) as store:
        triggers = [e for e in store.audit_entries() if e.kind == "trigger"]
        assert [(e.instance, e.result) for e in triggers] == [("a", "succeeded")]
        assert store.open_executions() == []
        assert store.pending_intents() == []
        # Nothing lost: the base the first leader saved was advanced past the repair.
        [policy_id] = list(a.state.policies)
        base = store.load_base(f"a->b#a/{policy_id}")
        assert base is not None
        assert {tag for _, tag in base} == {"v1", "v2"}
