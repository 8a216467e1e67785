"""``syncd reconcile --once`` end to end against two simulators in dual-master.

The outage story (trigger and toggle modes), non-converging policies and their backoff, hung
executions, and the safety defaults: no deletes, no overwrites, conflicts only reported.
"""

from __future__ import annotations

from dataclasses import asdict
from typing import TYPE_CHECKING, Any

import pytest

from tests.e2e.e2ekit import (
    POLICIES,
    drift_rows,
    executions,
    push_during_outage,
    quiesce,
    requests,
    starts,
)

if TYPE_CHECKING:
    from pathlib import Path

    from tests.e2e.e2ekit import CliRun, MakePair, Pair, RunCli, WriteConfig

RECONCILE = ("reconcile", "--once", "--output", "json")
STORY_TAGS = [("library/app", "v2"), ("library/web", "v1")]


def _story(pair: Pair) -> None:
    """v1 replicated; a goes down, images are pushed to b, a comes back: b->a events are lost."""
    pair.a.push("library/app", "v1")
    quiesce(*pair.both)
    push_during_outage(pair, pushed_on="b", tags=STORY_TAGS)
    assert set(STORY_TAGS).isdisjoint(pair.a.state.tag_map())


def _actions(run: CliRun) -> list[tuple[Any, ...]]:
    return [(a["kind"], a["instance"], a["policy_id"], a["result"]) for a in run.json["actions"]]


def _policy_view(pair: Pair, policy_id: int) -> dict[str, Any]:
    """Everything a full-replace PUT could lose (times change on every PUT)."""
    with pair.b.state.lock:
        view = asdict(pair.b.state.policies[policy_id])
    return {k: v for k, v in view.items() if k not in {"update_time", "enabled"}}


def test_outage_story_triggers_exactly_the_b_to_a_policy(
    pair: Pair, syncd_config: WriteConfig, cli: RunCli
) -> None:
    """Pushes to b while a was down: one manual b->a execution on b, converged, exit 0."""
    _story(pair)
    config = syncd_config(pair)

    run = cli(config, *RECONCILE)

    assert run.code == 0
    assert run.json["outcome"] == "converged"
    assert _actions(run) == [("trigger", "b", pair.b_to_a, "succeeded")]
    assert [e.id for e in executions(pair.b, policy_id=pair.b_to_a)] == [
        run.json["actions"][0]["execution_id"]
    ]
    assert executions(pair.a, policy_id=pair.a_to_b) == []
    assert (len(starts(pair.b)), starts(pair.a)) == (1, [])
    quiesce(*pair.both)  # the echo of the copy on a is a no-op event execution
    assert pair.a.state.tag_map() == pair.b.state.tag_map()
    assert set(STORY_TAGS) <= set(pair.a.state.tag_map())

    again = cli(config, *RECONCILE)

    assert (again.code, again.json["outcome"], again.json["actions"]) == (0, "converged", [])
    assert (len(starts(pair.b)), starts(pair.a)) == (1, [])


def test_toggle_mode_keeps_every_policy_field(
    make_pair: MakePair, syncd_config: WriteConfig, cli: RunCli
) -> None:
    """Toggle mode disables and re-enables b->a with full PUT bodies and converges, exit 0."""
    pair = make_pair(
        filters=[{"type": "name", "value": "library/**"}, {"type": "tag", "value": "v*"}],
        dest_namespace_replace_count=1,
        replicate_deletion=True,
    )
    _story(pair)
    before = _policy_view(pair, pair.b_to_a)

    run = cli(syncd_config(pair, reconcile={"mode": "toggle"}), *RECONCILE)

    assert run.code == 0
    assert _actions(run) == [("toggle", "b", pair.b_to_a, "succeeded")]
    assert pair.b.state.policies[pair.b_to_a].enabled is True
    assert _policy_view(pair, pair.b_to_a) == before
    assert before["filters"] != []
    assert (before["dest_namespace_replace_count"], before["replicate_deletion"]) == (1, True)
    puts = requests(pair.b, "PUT")
    assert puts == [f"{POLICIES}{pair.b_to_a}"] * 2  # disable, enable
    assert requests(pair.a, "PUT") == []
    quiesce(*pair.both)
    assert pair.a.state.tag_map() == pair.b.state.tag_map()


def _moved_on_a_while_b_down(pair: Pair, config: Path, cli: RunCli) -> None:
    pair.a.push("library/app", "v1")
    quiesce(*pair.both)
    assert cli(config, *RECONCILE).code == 0  # the converged base
    push_during_outage(pair, pushed_on="a", tags=[("library/app", "v1")], content="moved-")


def test_override_false_differing_digest_is_reported_never_triggered(
    make_pair: MakePair, syncd_config: WriteConfig, cli: RunCli
) -> None:
    """override=false + a tag moved on a: stale, reported naming override, never triggered."""
    pair = make_pair(override=False)
    config = syncd_config(pair)
    _moved_on_a_while_b_down(pair, config, cli)

    for _ in range(2):
        run = cli(config, *RECONCILE)

        assert run.code == 1
        assert {d["class"] for d in run.json["drift"] if d["edge"] == "a->b"} == {"stale"}
        assert ("override_off", "a->b") in {(s["reason"], s["edge"]) for s in run.json["skipped"]}
        assert starts(pair.a) == starts(pair.b) == []


def test_replication_that_cannot_converge_is_backed_off(
    pair: Pair, syncd_config: WriteConfig, cli: RunCli
) -> None:
    """A policy whose run succeeds yet copies nothing is non_converging, then backed off."""
    _story(pair)
    pair.a.state.projects["library"].registry_id = 7  # a proxy-cache project: Harbor skips it
    config = syncd_config(pair)

    first = cli(config, *RECONCILE)

    assert first.code == 1
    assert _actions(first) == [("trigger", "b", pair.b_to_a, "succeeded")]
    b_to_a = {(c, r, t) for e, c, r, t in drift_rows(first.json) if e == "b->a"}
    assert b_to_a == {("non_converging", repo, tag) for repo, tag in STORY_TAGS}
    assert first.json["non_converging_policies"] == [["b", pair.b_to_a]]

    second = cli(config, *RECONCILE)

    assert (second.code, second.json["actions"], len(starts(pair.b))) == (1, [], 1)
    skips = {(s["reason"], s["edge"]) for s in second.json["skipped"]}
    assert ("non_converging_backoff", "b->a") in skips
    assert {reason for reason, _ in skips} == {"non_converging_backoff", "extra_reported"}


@pytest.mark.parametrize("stop_hung", [False, True])
def test_hung_execution_is_reported_as_timeout(
    pair: Pair, syncd_config: WriteConfig, cli: RunCli, stop_hung: bool
) -> None:
    """A hung execution ends as `timeout`, exit 1; with stop_hung it is stopped and retried once."""
    _story(pair)
    pair.b.hang_executions(pair.b_to_a, True)
    reconcile = {"execution_timeout_seconds": 0.5, "stop_hung_executions": stop_hung}

    run = cli(syncd_config(pair, reconcile=reconcile), *RECONCILE)

    assert run.code == 1
    assert _actions(run) == [("trigger", "b", pair.b_to_a, "timeout")]
    finished = run.events("act.action_finished")
    assert [(e["policy_id"], e["result"]) for e in finished] == [(pair.b_to_a, "timeout")]
    runs = executions(pair.b, policy_id=pair.b_to_a)
    statuses = [pair.b.execution_status(e.id) for e in runs]
    stops = [p for p in requests(pair.b, "PUT") if "/replication/executions/" in p]
    if stop_hung:
        assert statuses == ["Stopped", "InProgress"]
        assert stops == [f"/api/v2.0/replication/executions/{runs[0].id}"]
        assert len(run.events("act.hung_execution_retried")) == 1
    else:
        assert (statuses, stops) == (["InProgress"], [])
    assert run.json["actions"][0]["execution_id"] == runs[-1].id
    assert starts(pair.a) == []


def test_defaults_never_delete_overwrite_or_resolve_conflicts(
    synced: Pair, syncd_config: WriteConfig, cli: RunCli
) -> None:
    """Deletions and conflicts are reported: no DELETE, no PUT, no execution with defaults."""
    synced.a.push("library/app", "v2")
    quiesce(*synced.both)
    config = syncd_config(synced)
    assert cli(config, *RECONCILE).code == 0  # the converged base
    synced.a.delete_tag("library/app", "v1")
    push_during_outage(synced, pushed_on="a", tags=[("library/app", "v2")], content="x")
    push_during_outage(synced, pushed_on="b", tags=[("library/app", "v2")], content="y")
    catalogs = [inst.state.tag_map() for inst in synced.both]

    run = cli(config, *RECONCILE)

    assert run.code == 1
    assert {c for _, c, _, _ in drift_rows(run.json)} == {"deleted_unpropagated", "conflict"}
    assert {s["reason"] for s in run.json["skipped"]} == {
        "deletion_not_enabled",
        "conflict_reported",
    }
    assert run.json["actions"] == []
    for inst in synced.both:
        assert starts(inst) == []
        assert {m for m, _, _ in inst.request_log} == {"GET"}
    assert [inst.state.tag_map() for inst in synced.both] == catalogs
