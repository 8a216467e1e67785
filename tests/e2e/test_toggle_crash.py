"""Crash safety of toggle mode: a real ``kill -9`` between the disable and the enable of a policy.

The simulator holds every enabling policy PUT (``hold_policy_enable``), so the syncd process is
reliably caught with the policy disabled; the held PUT then fails without being applied, exactly
as if the process had died before sending it.
"""

from __future__ import annotations

import threading
from typing import TYPE_CHECKING

import httpx
import pytest

from syncd.store import StateStore
from tests.e2e.e2ekit import POLICIES, finished, push_during_outage, quiesce, requests, spawn
from tests.simkit import api, wait_for

if TYPE_CHECKING:
    from pathlib import Path

    from tests.e2e.e2ekit import Pair, RunCli, WriteConfig


def _pending(state_path: Path) -> list[tuple[str, int]]:
    with StateStore.open(state_path) as store:
        return [(i.instance, i.policy_id) for i in store.pending_intents()]


@pytest.mark.slow
@pytest.mark.xdist_group("e2e-proc")
def test_kill_between_disable_and_enable_is_repaired_on_next_start(
    pair: Pair,
    syncd_config: WriteConfig,
    cli: RunCli,
    state_path: Path,
    tmp_path: Path,
) -> None:
    """A SIGKILL mid-toggle leaves b->a disabled; the next start re-enables it and converges."""
    pair.a.push("library/app", "v1")
    quiesce(*pair.both)
    push_during_outage(pair, pushed_on="b", tags=[("library/app", "v2")])
    config = syncd_config(pair, reconcile={"mode": "toggle"})
    policy = pair.b.state.policies[pair.b_to_a]
    pair.b.faults.hold_policy_enable(True)
    logs = tmp_path / "killed"

    proc = spawn(config, "reconcile", "--once", logs=logs)
    try:
        wait_for(lambda: pair.b.faults.enables_held == 1, timeout=30)  # enable PUT in flight
        assert pair.b.state.policies[pair.b_to_a].enabled is False
    finally:
        proc.kill()
    killed = finished(proc, logs=logs)
    pair.b.faults.hold_policy_enable(False)  # the held enable fails, unapplied

    assert killed.code == -9
    assert pair.b.state.policies[pair.b_to_a].enabled is False
    assert _pending(state_path) == [("b", pair.b_to_a)]
    assert requests(pair.b, "POST", "/api/v2.0/replication/executions") == []

    run = cli(config, "reconcile", "--once", "--output", "json")

    restored = run.events("toggle.restored")
    assert [(e["instance"], e["policy_id"]) for e in restored] == [("b", pair.b_to_a)]
    assert pair.b.state.policies[pair.b_to_a].enabled is True
    assert _pending(state_path) == []
    assert run.code == 0
    after = pair.b.state.policies[pair.b_to_a]
    assert (after.filters, after.trigger, after.override) == (
        policy.filters,
        policy.trigger,
        policy.override,
    )
    assert set(requests(pair.b, "PUT")) == {f"{POLICIES}{pair.b_to_a}"}
    quiesce(*pair.both)
    assert pair.a.state.tag_map() == pair.b.state.tag_map()


def test_hold_policy_enable_blocks_enabling_puts_then_fails_them(pair: Pair) -> None:
    """hold-policy-enable holds only enabling policy PUTs; once released they fail unapplied."""
    path = f"/replication/policies/{pair.a_to_b}"
    answers: list[int] = []
    with api(pair.a) as client, httpx.Client(base_url=pair.a.url) as admin:
        body = client.get(path).json()
        assert admin.post("/_sim/hold-policy-enable", json={"on": True}).status_code == 200
        assert client.put(path, json={**body, "enabled": False}).status_code == 200
        enabling = threading.Thread(
            target=lambda: answers.append(
                client.put(path, json={**body, "enabled": True}).status_code
            )
        )
        enabling.start()
        wait_for(lambda: pair.a.faults.enables_held == 1)
        assert admin.post("/_sim/hold-policy-enable", json={"on": False}).status_code == 200
        enabling.join()
        assert (answers, pair.a.faults.enables_held) == ([503], 0)
        assert pair.a.state.policies[pair.a_to_b].enabled is False
        assert client.put(path, json={**body, "enabled": True}).status_code == 200
    assert pair.a.state.policies[pair.a_to_b].enabled is True
