"""``syncd reconcile --once`` end to end with the settings that are off by default.

Deletion propagation, conflict preference, re-enabling disabled policies, observe mode and the
per-pass caps. Each test asserts what the simulators end with (catalogs, requests, executions)
and the JSON report; tests that enable deletions opt in with ``allow_tag_deletes``, so their
teardown still refuses any DELETE that is not a tag deletion by digest.
"""

from __future__ import annotations

from dataclasses import asdict
from datetime import timedelta
from typing import TYPE_CHECKING, Any

import pytest

from syncd.sim.state import utcnow
from tests.e2e.e2ekit import (
    POLICIES,
    drift_rows,
    executions,
    push_during_outage,
    quiesce,
    requests,
    starts,
    tag_delete_path,
    write_config,
)

if TYPE_CHECKING:
    from pathlib import Path

    from syncd.sim import SimCluster, SimInstance
    from tests.e2e.e2ekit import CliRun, MakePair, Pair, RunCli, WriteConfig

RECONCILE = ("reconcile", "--once", "--output", "json")
APP = "library/app"
KEEP = (APP, "keep")
DELETES: dict[str, Any] = {"propagate_deletions": True}


def _converge(cli: RunCli, config: Path) -> None:
    run = cli(config, *RECONCILE)
    assert (run.code, run.json["outcome"], run.json["actions"]) == (0, "converged", [])


def _actions(run: CliRun) -> list[tuple[str, str, str]]:
    return [(a["kind"], a["instance"], a["result"]) for a in run.json["actions"]]


def _reasons(run: CliRun) -> set[str]:
    return {s["reason"] for s in run.json["skipped"]}


def _replicated(pair: Pair, tags: list[str]) -> dict[str, str]:
    """Push ``app:<tag>`` for each tag plus ``app:keep`` to a; event replication copies them."""
    digests = {tag: pair.a.push(APP, tag) for tag in [*tags, "keep"]}
    quiesce(*pair.both)
    assert pair.a.state.tag_map() == pair.b.state.tag_map()
    return digests


def _deleted_on_a(pair: Pair, cli: RunCli, config: Path, tags: list[str]) -> dict[str, str]:
    """Replicate the tags, converge a base, delete them on a; b keeps them (no deletion events)."""
    digests = _replicated(pair, tags)
    _converge(cli, config)
    for tag in tags:
        pair.a.delete_tag(APP, tag)
    quiesce(*pair.both)
    assert {(APP, tag) for tag in tags} <= set(pair.b.state.tag_map())
    return digests


def _deletes(inst: SimInstance) -> list[str]:
    return requests(inst, "DELETE")


def _writes(inst: SimInstance) -> list[tuple[str, str]]:
    return [(m, p) for m, p, _ in list(inst.request_log) if m not in {"GET", "HEAD"}]


# --------------------------------------------------------------------------- deletions


@pytest.mark.usefixtures("allow_tag_deletes")
def test_propagated_deletion_deletes_the_tag_on_b_by_digest(
    pair: Pair, syncd_config: WriteConfig, cli: RunCli
) -> None:
    """propagate_deletions: a tag deleted on a is deleted on b by digest once, then converged."""
    config = syncd_config(pair, reconcile=DELETES)
    digests = _deleted_on_a(pair, cli, config, ["v1"])
    expected = {k: v for k, v in pair.b.state.tag_map().items() if k != (APP, "v1")}

    run = cli(config, *RECONCILE)

    assert (run.code, run.json["outcome"]) == (0, "converged")
    assert _actions(run) == [("delete", "b", "succeeded")]
    assert _deletes(pair.b) == [tag_delete_path(APP, digest=digests["v1"], tag="v1")]
    assert _writes(pair.a) == []
    assert (starts(pair.a), starts(pair.b)) == ([], [])
    assert pair.b.state.tag_map() == expected == pair.a.state.tag_map()
    assert KEEP in expected

    again = cli(config, *RECONCILE)

    assert (again.code, again.json["outcome"], again.json["actions"]) == (0, "converged", [])
    assert len(_deletes(pair.b)) == 1


@pytest.mark.usefixtures("allow_tag_deletes")
@pytest.mark.parametrize(
    ("settings", "args"),
    [({"dry_run": True}, ()), ({}, ("--dry-run",))],
    ids=["setting", "flag"],
)
def test_dry_run_deletion_is_reported_and_not_sent(
    pair: Pair,
    syncd_config: WriteConfig,
    cli: RunCli,
    settings: dict[str, Any],
    args: tuple[str, ...],
) -> None:
    """Dry run: the deletion is a dry_run action, no DELETE, b unchanged; a real pass deletes."""
    dry = syncd_config(pair, reconcile={**DELETES, **settings})
    digests = _deleted_on_a(pair, cli, dry, ["v1"])
    before = pair.b.state.tag_map()

    run = cli(dry, *RECONCILE, *args)

    assert (run.code, run.json["outcome"]) == (1, "drift")
    assert _actions(run) == [("delete", "b", "dry_run")]
    assert ("a->b", "deleted_unpropagated", APP, "v1") in drift_rows(run.json)
    assert (_writes(pair.a), _writes(pair.b)) == ([], [])
    assert pair.b.state.tag_map() == before

    real = cli(syncd_config(pair, reconcile=DELETES), *RECONCILE)  # the base was left alone

    assert (real.code, _actions(real)) == (0, [("delete", "b", "succeeded")])
    assert _deletes(pair.b) == [tag_delete_path(APP, digest=digests["v1"], tag="v1")]


@pytest.mark.usefixtures("allow_tag_deletes")
def test_deletion_cap_defers_the_rest_to_the_next_pass(
    pair: Pair, syncd_config: WriteConfig, cli: RunCli
) -> None:
    """max_deletions_per_pass 2 with 3 deletions: 2 deleted (cap_reached), the third next pass."""
    config = syncd_config(pair, reconcile={**DELETES, "max_deletions_per_pass": 2})
    tags = ["v1", "v2", "v3"]
    digests = _deleted_on_a(pair, cli, config, tags)
    every = {tag_delete_path(APP, digest=digests[t], tag=t) for t in tags}

    first = cli(config, *RECONCILE)

    assert (first.code, first.json["outcome"]) == (1, "drift")
    assert _actions(first) == [("delete", "b", "succeeded")] * 2
    assert "cap_reached" in _reasons(first)
    assert len(_deletes(pair.b)) == 2
    assert set(_deletes(pair.b)) < every
    left = {t for t in tags if (APP, t) in pair.b.state.tag_map()}
    assert len(left) == 1

    second = cli(config, *RECONCILE)

    assert (second.code, _actions(second)) == (0, [("delete", "b", "succeeded")])
    assert set(_deletes(pair.b)) == every
    assert pair.b.state.tag_map() == pair.a.state.tag_map() == {KEEP: digests["keep"]}


def test_deletion_without_the_setting_is_only_reported(
    pair: Pair, syncd_config: WriteConfig, cli: RunCli
) -> None:
    """Default: the deletion is deleted_unpropagated, skipped deletion_not_enabled, exit 1."""
    config = syncd_config(pair)
    _deleted_on_a(pair, cli, config, ["v1"])
    before = pair.b.state.tag_map()

    run = cli(config, *RECONCILE)

    assert (run.code, run.json["outcome"], run.json["actions"]) == (1, "drift", [])
    assert drift_rows(run.json) == {
        ("a->b", "deleted_unpropagated", APP, "v1"),
        ("b->a", "deleted_unpropagated", APP, "v1"),
    }
    assert _reasons(run) == {"deletion_not_enabled"}
    assert (_writes(pair.a), _writes(pair.b)) == ([], [])
    assert pair.b.state.tag_map() == before


# --------------------------------------------------------------------------- conflicts


def _set_push_time(inst: SimInstance, digest: str, *, hours_ago: int) -> None:
    when = utcnow() - timedelta(hours=hours_ago)
    with inst.state.lock:
        artifact = inst.state.repos[APP].artifacts[digest]
        artifact.push_time = when
        for tag in artifact.tags.values():
            tag.push_time = when


def _conflict(pair: Pair, cli: RunCli, config: Path, *, newer: str) -> dict[str, str]:
    """Converge v1, then move it on a and on b during partitions; ``newer`` has the later push."""
    _replicated(pair, ["v1"])
    _converge(cli, config)
    moved = {
        side: push_during_outage(pair, pushed_on=side, tags=[(APP, "v1")], content="moved-")
        for side in ("a", "b")
    }
    digests = {side: found[APP, "v1"] for side, found in moved.items()}
    for side in ("a", "b"):
        _set_push_time(pair.cluster[side], digests[side], hours_ago=0 if side == newer else 1)
    return digests


@pytest.mark.usefixtures("allow_tag_deletes")
@pytest.mark.parametrize(
    ("preference", "newer", "winner"),
    [
        ("newest", "a", "a"),
        ("newest", "b", "b"),
        ("a", "b", "a"),  # a named instance wins even with the older push
        ("b", "a", "b"),
    ],
)
def test_conflict_preference_resolves_to_the_winner(
    pair: Pair,
    syncd_config: WriteConfig,
    cli: RunCli,
    *,
    preference: str,
    newer: str,
    winner: str,
) -> None:
    """Conflict + preference: loser's tag deleted by its digest, winner's policy run, exit 0."""
    config = syncd_config(pair, reconcile={"conflict_preference": preference})
    digests = _conflict(pair, cli, config, newer=newer)
    loser = "b" if winner == "a" else "a"
    carrier = pair.a_to_b if winner == "a" else pair.b_to_a

    run = cli(config, *RECONCILE)

    assert (run.code, run.json["outcome"]) == (0, "converged")
    assert _actions(run) == [("resolve_conflict", loser, "succeeded")]
    losing, winning = pair.cluster[loser], pair.cluster[winner]
    assert _deletes(losing) == [tag_delete_path(APP, digest=digests[loser], tag="v1")]
    assert _deletes(winning) == []
    assert len(executions(winning, policy_id=carrier)) == len(starts(winning)) == 1
    assert starts(losing) == []
    quiesce(*pair.both)
    for inst in pair.both:
        assert inst.state.tag_map()[APP, "v1"] == digests[winner]
    assert pair.a.state.tag_map() == pair.b.state.tag_map()


@pytest.mark.parametrize(
    ("settings", "expected"),
    [
        ({"conflict_preference": "a", "dry_run": True}, [("resolve_conflict", "b", "dry_run")]),
        ({}, []),  # the default preference 'report'
    ],
    ids=["dry_run", "report"],
)
def test_conflict_dry_run_or_report_sends_nothing(
    pair: Pair,
    syncd_config: WriteConfig,
    cli: RunCli,
    settings: dict[str, Any],
    expected: list[tuple[str, str, str]],
) -> None:
    """Dry run or the default 'report': the conflict stays, nothing is written, exit 1."""
    config = syncd_config(pair, reconcile=settings)
    _conflict(pair, cli, config, newer="a")
    catalogs = [inst.state.tag_map() for inst in pair.both]

    run = cli(config, *RECONCILE)

    assert (run.code, run.json["outcome"], _actions(run)) == (1, "drift", expected)
    assert {c for _, c, _, _ in drift_rows(run.json)} == {"conflict"}
    assert ("conflict_reported" in _reasons(run)) is (not expected)
    assert (_writes(pair.a), _writes(pair.b)) == ([], [])
    assert [inst.state.tag_map() for inst in pair.both] == catalogs


# --------------------------------------------------------------------------- disabled policies


def _policy_view(inst: SimInstance, policy_id: int) -> dict[str, Any]:
    """Everything a full-replace PUT could lose (times change on every PUT)."""
    with inst.state.lock:
        view = asdict(inst.state.policies[policy_id])
    return {k: v for k, v in view.items() if k not in {"update_time", "enabled"}}


def _disabled_with_drift(
    make_pair: MakePair, cli: RunCli, config_of: WriteConfig, **rec: Any
) -> tuple[Pair, Path]:
    """Converge, disable b->a (simulator control), push app:v2 to b: a misses it."""
    pair = make_pair(
        filters=[{"type": "name", "value": "library/**"}, {"type": "tag", "value": "v*"}],
        dest_namespace_replace_count=1,
        replicate_deletion=True,
    )
    config = config_of(pair, reconcile=rec)
    pair.a.push(APP, "v1")
    quiesce(*pair.both)
    _converge(cli, config)
    with pair.b.state.lock:
        pair.b.state.policies[pair.b_to_a].enabled = False
    pair.b.push(APP, "v2")
    quiesce(*pair.both)
    assert (APP, "v2") not in pair.a.state.tag_map()
    return pair, config


def test_reenable_disabled_policy_then_repair_in_the_same_pass(
    make_pair: MakePair, syncd_config: WriteConfig, cli: RunCli
) -> None:
    """reenable_disabled_policies: one full-body PUT enables b->a, its trigger follows, exit 0."""
    pair, config = _disabled_with_drift(
        make_pair, cli, syncd_config, reenable_disabled_policies=True
    )
    before = _policy_view(pair.b, pair.b_to_a)

    run = cli(config, *RECONCILE)

    assert (run.code, run.json["outcome"]) == (0, "converged")
    # The enable is round 1; the re-observed edge b->a is repaired by round 2 of the same pass.
    assert _actions(run) == [("enable_policy", "b", "succeeded"), ("trigger", "b", "succeeded")]
    assert run.json["policy_problems"] == []
    assert pair.b.state.policies[pair.b_to_a].enabled is True
    assert _policy_view(pair.b, pair.b_to_a) == before
    assert (before["dest_namespace_replace_count"], before["replicate_deletion"]) == (1, True)
    assert len(before["filters"]) == 2
    assert requests(pair.b, "PUT") == [f"{POLICIES}{pair.b_to_a}"]
    assert _writes(pair.a) == []
    assert [e.id for e in executions(pair.b, policy_id=pair.b_to_a)] == [
        run.json["actions"][1]["execution_id"]
    ]
    quiesce(*pair.both)
    assert pair.a.state.tag_map() == pair.b.state.tag_map()


def test_disabled_policy_is_reported_and_stays_disabled_by_default(
    make_pair: MakePair, syncd_config: WriteConfig, cli: RunCli
) -> None:
    """Default: the disabled policy is a policy problem, skipped policy_disabled, not enabled."""
    pair, config = _disabled_with_drift(make_pair, cli, syncd_config)

    run = cli(config, *RECONCILE)

    assert (run.code, run.json["outcome"], run.json["actions"]) == (1, "drift", [])
    problems = {(p["instance"], p["policy_id"], p["problem"]) for p in run.json["policy_problems"]}
    assert problems == {("b", pair.b_to_a, "disabled")}
    assert "policy_disabled" in _reasons(run)
    assert drift_rows(run.json) == {("a->b", "extra", APP, "v2")}
    assert pair.b.state.policies[pair.b_to_a].enabled is False
    assert (_writes(pair.a), _writes(pair.b)) == ([], [])
    assert (APP, "v2") not in pair.a.state.tag_map()


# --------------------------------------------------------------------------- observe mode, caps


def test_observe_mode_reports_what_it_would_trigger(
    pair: Pair, syncd_config: WriteConfig, cli: RunCli
) -> None:
    """Observe mode: drift reported, skip observe_only 'would trigger', no execution, exit 1."""
    config = syncd_config(pair, reconcile={"mode": "observe"})
    _replicated(pair, ["v1"])
    _converge(cli, config)
    push_during_outage(pair, pushed_on="b", tags=[(APP, "v2")])

    run = cli(config, *RECONCILE)

    assert (run.code, run.json["outcome"], run.json["actions"]) == (1, "drift", [])
    assert ("b->a", "missing", APP, "v2") in drift_rows(run.json)
    observed = [s for s in run.json["skipped"] if s["reason"] == "observe_only"]
    assert [(s["edge"], s["policy_id"]) for s in observed] == [("b->a", pair.b_to_a)]
    assert observed[0]["detail"].startswith("would trigger on b")
    for inst in pair.both:
        assert _writes(inst) == []
        assert executions(inst, policy_id=pair.b_to_a) == []
    assert (APP, "v2") not in pair.a.state.tag_map()


def _fan_out(cluster: SimCluster) -> tuple[SimInstance, dict[str, int]]:
    """Link a to b and c (event-based push); replicate v1, push v2 to a while b and c are down."""
    insts = [cluster.add(name) for name in ("a", "b", "c")]
    for inst in insts:
        inst.create_project("library")
    a = insts[0]
    policies = {peer: cluster.link("a", peer) for peer in ("b", "c")}
    a.push(APP, "v1")
    quiesce(*insts)
    for peer in ("b", "c"):
        cluster[peer].set_down("refuse")
    a.push(APP, "v2")
    quiesce(a)
    for peer in ("b", "c"):
        cluster[peer].set_down("up")
    return a, policies


def test_action_cap_defers_the_second_policy_to_the_next_pass(
    cluster: SimCluster, tmp_path: Path, state_path: Path, cli: RunCli
) -> None:
    """max_actions_per_pass 1, a->b and a->c both behind: one execution per pass, in two passes."""
    a, policies = _fan_out(cluster)
    config = write_config(
        tmp_path / "syncd.yaml",
        cluster.instances.values(),
        state=state_path,
        reconcile={"max_actions_per_pass": 1},
    )

    def ran() -> dict[str, int]:
        return {peer: len(executions(a, policy_id=pid)) for peer, pid in policies.items()}

    first = cli(config, *RECONCILE)

    assert (first.code, first.json["outcome"]) == (1, "drift")
    assert _actions(first) == [("trigger", "a", "succeeded")]
    assert "cap_reached" in _reasons(first)
    assert sorted(ran().values()) == [0, 1]

    second = cli(config, *RECONCILE)

    assert (second.code, _actions(second)) == (0, [("trigger", "a", "succeeded")])
    assert ran() == {"b": 1, "c": 1}
    quiesce(*cluster.instances.values())
    for peer in ("b", "c"):
        assert cluster[peer].state.tag_map() == a.state.tag_map()
