"""Repairs that never make a catalog worse: scoped repairs end to end against two simulators.

A manual execution copies everything its policy selects. Each test builds drift where that
whole-policy run would do harm (overwrite a conflict, undo a deletion) or could not help
(override off), runs syncd and asserts the end state from the simulators' catalogs and request
logs: what was created, started and deleted, and what each catalog holds afterwards.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import pytest

from syncd.core.model import Action, ActionKind, ActionResult, Edge, RepairScope
from syncd.engine.repair import MARKER, REPAIR_PREFIX, RepairSettings, ScopedRepairer
from syncd.errors import HarborForbidden, HarborServerError
from syncd.harbor.client import HarborClient
from syncd.settings import InstanceSettings
from syncd.sim import SimCluster
from syncd.store import StateStore
from syncd.wiring import utcnow
from tests.e2e.e2ekit import (
    EXECUTIONS,
    POLICIES,
    assert_never_destructive,
    assert_spec_conformant,
    drift_rows,
    finished,
    push_during_outage,
    quiesce,
    requests,
    spawn,
    starts,
)
from tests.simkit import AUTH, wait_for

if TYPE_CHECKING:
    from collections.abc import Iterator, Mapping
    from pathlib import Path

    from syncd.sim import SimInstance
    from tests.e2e.e2ekit import MakePair, Pair, RunCli, WriteConfig

ONCE = ("reconcile", "--once", "--output", "json")
CREATE = POLICIES.rstrip("/")


ORIGINAL: dict[str, set[int]] = {}
"""Policy ids each instance held when syncd was configured (the tests' own policies)."""


@pytest.fixture
def cluster() -> Iterator[SimCluster]:
    """Like the e2e cluster, but DELETEs may target syncd's own temporary policies only."""
    ORIGINAL.clear()
    with SimCluster() as c:
        yield c
        for inst in c.instances.values():
            assert inst.errors == []
            assert_spec_conformant(inst)
            deleted = {int(p.rsplit("/", 1)[1]) for p in requests(inst, "DELETE", POLICIES)}
            assert ORIGINAL.get(inst.name, set()) <= set(inst.state.policies)
            assert not deleted & ORIGINAL.get(inst.name, set())
            inst.request_log[:] = [r for r in inst.request_log if r[0] != "DELETE"]
            assert_never_destructive(inst)


@pytest.fixture
def syncd_config(syncd_config: WriteConfig) -> WriteConfig:
    """Return the e2e config writer, also remembering which policies existed before syncd ran."""

    def write(pair: Pair, **kw: Any) -> Path:
        for inst in pair.both:
            with inst.state.lock:
                ORIGINAL.setdefault(inst.name, set()).update(inst.state.policies)
        return syncd_config(pair, **kw)

    return write


def _repair_policies(inst: SimInstance) -> list[str]:
    """Names of the syncd repair policies ``inst`` holds now (marker in the description)."""
    with inst.state.lock:
        found = [p for p in inst.state.policies.values() if p.name.startswith(REPAIR_PREFIX)]
    assert all(MARKER in p.description for p in found)
    return sorted(p.name for p in found)


def _temporary_runs(inst: SimInstance) -> list[tuple[int, str]]:
    """``(policy id, trigger)`` of executions of policies syncd created on ``inst``."""
    with inst.state.lock:
        return sorted(
            (e.policy_id, e.trigger)
            for e in inst.state.executions.values()
            if e.policy_id not in ORIGINAL.get(inst.name, set())
        )


def _conflict_plus_missing(pair: Pair) -> dict[tuple[str, str], str]:
    """Make a and b disagree on library/nginx:stable (no base) and lose 11 tags on b."""
    lost = push_during_outage(
        pair,
        pushed_on="a",
        tags=[("library/nginx", "stable"), *((("library/app", f"v{i}")) for i in range(11))],
    )
    push_during_outage(pair, pushed_on="b", tags=[("library/nginx", "stable")], content="b")
    return lost


@pytest.mark.slow
def test_conflict_and_missing_repaired_through_a_scoped_policy(
    pair: Pair, syncd_config: WriteConfig, cli: RunCli
) -> None:
    """Missing tags arrive via a temporary policy; b's conflicting stable stays; exit 1."""
    _conflict_plus_missing(pair)
    b_stable = pair.b.state.tag_map()["library/nginx", "stable"]
    config = syncd_config(pair)

    run = cli(config, *ONCE)

    assert run.code == 1
    assert pair.b.state.tag_map()["library/nginx", "stable"] == b_stable
    assert {k: v for k, v in pair.a.state.tag_map().items() if k[0] == "library/app"} == {
        k: v for k, v in pair.b.state.tag_map().items() if k[0] == "library/app"
    }
    assert len([k for k in pair.b.state.tag_map() if k[0] == "library/app"]) == 11
    assert ("a->b", "conflict", "library/nginx", "stable") in drift_rows(run.json)
    (action,) = run.json["actions"]
    assert (action["kind"], action["instance"], action["result"]) == (
        "scoped_trigger",
        "a",
        "succeeded",
    )
    assert "1 harmful (library/nginx:stable overwrites_conflict)" in action["reason"]
    # One temporary policy created, started once, then deleted; the original never started.
    created = requests(pair.a, "POST", CREATE)
    assert [p.split("?")[0] for p in created] == [CREATE]
    (deleted,) = requests(pair.a, "DELETE", POLICIES)
    repair_id = int(deleted.rsplit("/", 1)[1])
    assert starts(pair.a) == [EXECUTIONS]
    assert _temporary_runs(pair.a) == [(repair_id, "manual")]
    assert _repair_policies(pair.a) == []
    assert starts(pair.b) == []


@pytest.mark.slow
def test_deletion_since_base_is_not_undone_by_the_repair_of_a_missing_tag(
    synced: Pair, syncd_config: WriteConfig, cli: RunCli
) -> None:
    """A tag deleted on a stays deleted while b->a repairs a lost push; it stays reported."""
    synced.a.push("library/app", "old")
    quiesce(*synced.both)
    config = syncd_config(synced)
    assert cli(config, *ONCE).code == 0  # the converged base holds library/app:old
    synced.a.delete_tag("library/app", "old")
    quiesce(*synced.both)
    push_during_outage(synced, pushed_on="b", tags=[("library/app", "new")])

    first = cli(config, *ONCE)
    second = cli(config, *ONCE)

    assert ("library/app", "new") in synced.a.state.tag_map()
    assert ("library/app", "old") not in synced.a.state.tag_map()
    for run in (first, second):
        assert run.code == 1
        assert ("b->a", "deleted_unpropagated", "library/app", "old") in drift_rows(run.json)
    assert [a["kind"] for a in first.json["actions"]] == ["scoped_trigger"]
    assert second.json["actions"] == []
    assert len(requests(synced.b, "DELETE", POLICIES)) == len(_temporary_runs(synced.b)) == 1
    assert _repair_policies(synced.b) == []


@pytest.mark.slow
def test_stale_under_override_off_is_reported_and_nothing_starts(
    make_pair: MakePair, syncd_config: WriteConfig, cli: RunCli
) -> None:
    """override=false: a tag moved on a is reported naming override; no execution starts."""
    pair = make_pair(override=False)
    pair.a.push("library/app", "v1")
    quiesce(*pair.both)
    config = syncd_config(pair)
    assert cli(config, *ONCE).code == 0
    pair.b.set_down("refuse")
    pair.a.push("library/app", "v1", content="moved")
    quiesce(pair.a)
    pair.b.set_down("up")

    run = cli(config, *ONCE)

    assert run.code == 1
    assert ("a->b", "stale", "library/app", "v1") in drift_rows(run.json)
    skips = [s for s in run.json["skipped"] if s["reason"] == "override_off"]
    assert [(s["edge"], s["drift"]) for s in skips] == [("a->b", 1)]
    assert "override is off" in skips[0]["detail"]
    assert run.json["actions"] == []
    assert starts(pair.a) == starts(pair.b) == []
    assert requests(pair.a, "POST", CREATE) == []


@pytest.mark.slow
def test_repair_policy_setting_blocks_a_harmful_radius(
    pair: Pair, syncd_config: WriteConfig, cli: RunCli
) -> None:
    """repair: policy with a harmful radius: no execution, `blocked` with the tags at risk."""
    _conflict_plus_missing(pair)
    config = syncd_config(pair, reconcile={"repair": "policy"})

    run = cli(config, *ONCE)

    assert run.code == 1
    blocked = [s for s in run.json["skipped"] if s["reason"] == "repair_blocked"]
    assert [(s["edge"], s["drift"]) for s in blocked] == [("a->b", 11)]
    assert "library/nginx:stable overwrites_conflict" in blocked[0]["detail"]
    assert run.json["actions"] == []
    assert starts(pair.a) == starts(pair.b) == []
    assert requests(pair.a, "POST", CREATE) == requests(pair.b, "POST", CREATE) == []


@pytest.mark.slow
@pytest.mark.xdist_group("e2e-proc")
def test_kill_between_repair_policy_create_and_delete_is_swept_on_next_start(
    pair: Pair, syncd_config: WriteConfig, cli: RunCli, state_path: Path, tmp_path: Path
) -> None:
    """A SIGKILL while the temporary policy exists: the next start deletes it, then repairs."""
    _conflict_plus_missing(pair)
    b_stable = pair.b.state.tag_map()["library/nginx", "stable"]
    config = syncd_config(pair)
    pair.a.hang_executions(None, True)  # the scoped execution stays InProgress
    logs = tmp_path / "killed"

    proc = spawn(config, *ONCE, logs=logs)
    try:
        wait_for(lambda: _temporary_runs(pair.a))
    finally:
        proc.kill()
    assert finished(proc, logs=logs).code == -9
    (left,) = _repair_policies(pair.a)
    with StateStore.open(state_path) as store:
        assert [i.name for i in store.pending_repairs()] == [left]
    pair.a.hang_executions(None, False)
    with pair.a.state.lock:
        hung = [e for e in pair.a.state.executions.values() if e.policy_id not in ORIGINAL["a"]]
    for execution in hung:
        pair.a.engine.stop(execution)  # now final: the sweep may delete its policy

    run = cli(config, *ONCE)

    swept = [(e["instance"], e["name"]) for e in run.events("repair.leftover_deleted")]
    assert swept == [("a", left)]
    assert _repair_policies(pair.a) == []
    with StateStore.open(state_path) as store:
        assert store.pending_repairs() == []
    assert run.code == 1  # the conflict remains, reported
    assert pair.b.state.tag_map()["library/nginx", "stable"] == b_stable
    assert len([k for k in pair.b.state.tag_map() if k[0] == "library/app"]) == 11


# --------------------------------------------------------------------------- the repairer itself


class _NoPolicyCreate(HarborClient):
    """A client whose account lacks the permission to create replication policies."""

    def create_policy(self, body: Mapping[str, Any]) -> int:
        """Answer like Harbor does for a missing ``replication-policy:create``."""
        del body
        raise HarborForbidden("forbidden", instance=self.name, method="POST", status=403)


class _Unavailable(HarborClient):
    """A client whose create (or start) POST meets a 503 from Harbor."""

    fail: str = "create"

    def create_policy(self, body: Mapping[str, Any]) -> int:
        """Answer 503 when creates fail, else create as usual."""
        if self.fail == "create":
            raise HarborServerError("unavailable", instance=self.name, method="POST", status=503)
        return super().create_policy(body)

    def start_execution(self, policy_id: int) -> int:
        """Answer 503 when starts fail, else start as usual."""
        if self.fail == "start":
            raise HarborServerError("unavailable", instance=self.name, method="POST", status=503)
        return super().start_execution(policy_id)


def _repairer(inst: SimInstance, store: StateStore, *, client_type=HarborClient):
    settings = InstanceSettings(url=inst.url, username=AUTH[0], password=AUTH[1])
    client = client_type(name=inst.name, settings=settings)
    fast = RepairSettings(execution_timeout=1, poll_interval=0.05)  # a hang is permanent
    return ScopedRepairer(clients={inst.name: client}, store=store, settings=fast, now=utcnow)


def _scoped(pair: Pair, *tags: str) -> Action:
    edge = Edge("a", "b", "a", pair.a_to_b)
    scope = RepairScope("library/app", tags)
    return Action(ActionKind.SCOPED_TRIGGER, "a", pair.a_to_b, (edge,), "radius", scopes=(scope,))


def test_forbidden_policy_create_is_blocked_and_nothing_starts(pair: Pair) -> None:
    """A 403 on create: `blocked` naming the radius; no execution, no whole-policy fallback."""
    push_during_outage(pair, pushed_on="a", tags=[("library/app", "v1")])
    with StateStore.open(":memory:") as store:
        repairer = _repairer(pair.a, store, client_type=_NoPolicyCreate)
        (outcome,) = repairer.apply([_scoped(pair, "v1")], pass_id="p")
        assert store.pending_repairs() == []
        (row,) = store.audit_entries()
    assert (outcome.result, row.result, row.kind) == ("blocked", "blocked", "scoped_trigger")
    assert "may not create replication policies on a (403)" in outcome.detail
    assert starts(pair.a) == []
    assert ("library/app", "v1") not in pair.b.state.tag_map()


def test_sweep_keeps_a_leftover_while_its_execution_runs_then_deletes_it(pair: Pair) -> None:
    """A temporary policy outlives a sweep only while its execution is not final."""
    push_during_outage(pair, pushed_on="a", tags=[("library/app", "v1"), ("library/app", "v2")])
    ORIGINAL["a"] = set(pair.a.state.policies)
    pair.a.hang_executions(None, True)
    with StateStore.open(":memory:") as store:
        repairer = _repairer(pair.a, store)
        (outcome,) = repairer.apply([_scoped(pair, "v1")], pass_id="p")
        (left,) = _repair_policies(pair.a)

        assert outcome.result == "timeout"
        assert repairer.sweep() == [("a", left, "kept")]

        pair.a.hang_executions(None, False)
        for policy_id, _trigger in _temporary_runs(pair.a):
            with pair.a.state.lock:
                runs = [e for e in pair.a.state.executions.values() if e.policy_id == policy_id]
            for execution in runs:
                pair.a.engine.stop(execution)
        assert repairer.sweep() == [("a", left, "deleted")]
        assert store.pending_repairs() == []
    assert _repair_policies(pair.a) == []
    assert ("library/app", "v2") not in pair.b.state.tag_map()  # never in the scope


@pytest.mark.parametrize("fail", ["create", "start"])
def test_a_failed_post_is_not_started_and_leaves_no_policy(pair: Pair, fail: str) -> None:
    """A 503 on create or start: not_started (no backoff), nothing copied, no policy left."""
    push_during_outage(pair, pushed_on="a", tags=[("library/app", "v1")])
    client_type = type("Failing", (_Unavailable,), {"fail": fail})
    with StateStore.open(":memory:") as store:
        repairer = _repairer(pair.a, store, client_type=client_type)
        (outcome,) = repairer.apply([_scoped(pair, "v1")], pass_id="p")
        if fail == "create":  # the policy may exist anyway: the next sweep looks by name
            repairer.sweep()
        assert store.pending_repairs() == []
    assert outcome.result is ActionResult.NOT_STARTED
    assert f"{fail} refused" in outcome.detail
    assert starts(pair.a) == []
    assert [p for p in pair.a.state.policies.values() if p.name.startswith(REPAIR_PREFIX)] == []
    assert ("library/app", "v1") not in pair.b.state.tag_map()
