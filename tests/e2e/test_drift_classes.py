"""``syncd diff`` end to end against two simulated Harbors in dual-master: the three-way classes.

Each test converges a base first (a ``diff`` that finds both sides equal), then breaks the pair the
way production breaks it and checks the JSON drift, the exit code and that nothing was written.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import pytest

from tests.e2e.e2ekit import (
    assert_spec_conformant,
    drift_rows,
    push_during_outage,
    quiesce,
    requests,
    starts,
)

if TYPE_CHECKING:
    from pathlib import Path

    from tests.e2e.e2ekit import Pair, RunCli, WriteConfig

DIFF = ("diff", "--output", "json")


def _converged_base(cli: RunCli, config: Path) -> None:
    first = cli(config, *DIFF)
    assert (first.code, first.json["outcome"], first.json["drift"]) == (0, "converged", [])


def _no_writes(pair: Pair) -> None:
    for inst in pair.both:
        assert starts(inst) == []
        assert [m for m, _, _ in inst.request_log if m not in {"GET", "HEAD"}] == []


def test_push_while_peer_down_is_missing_on_that_edge(
    synced: Pair, syncd_config: WriteConfig, cli: RunCli
) -> None:
    """A tag pushed to a while b is down is `missing` on a->b and nothing else is actionable."""
    config = syncd_config(synced)
    _converged_base(cli, config)
    push_during_outage(synced, pushed_on="a", tags=[("library/app", "v2")])

    run = cli(config, *DIFF)

    assert run.code == 1
    assert run.json["outcome"] == "drift"
    assert drift_rows(run.json) == {
        ("a->b", "missing", "library/app", "v2"),
        ("b->a", "extra", "library/app", "v2"),  # reported, never acted on
    }
    assert run.err.count('"level": "error"') == 0
    _no_writes(synced)


def test_deletion_after_converged_pass_is_deleted_unpropagated(
    synced: Pair, syncd_config: WriteConfig, cli: RunCli
) -> None:
    """A tag deleted on a after a converged pass is `deleted_unpropagated` on both edges."""
    config = syncd_config(synced)
    _converged_base(cli, config)
    synced.a.delete_tag("library/app", "v1")

    run = cli(config, *DIFF)

    assert run.code == 1
    assert drift_rows(run.json) == {
        ("a->b", "deleted_unpropagated", "library/app", "v1"),
        ("b->a", "deleted_unpropagated", "library/app", "v1"),
    }
    assert {d["moved_on"] for d in run.json["drift"]} == {"a"}
    _no_writes(synced)


def test_tag_moved_on_both_sides_is_conflict(
    synced: Pair, syncd_config: WriteConfig, cli: RunCli
) -> None:
    """A tag moved to different digests on a and b while replication failed is a `conflict`."""
    config = syncd_config(synced)
    _converged_base(cli, config)
    base = synced.a.state.tag_map()[("library/app", "v1")]
    on_a = push_during_outage(synced, pushed_on="a", tags=[("library/app", "v1")])
    on_b = push_during_outage(synced, pushed_on="b", tags=[("library/app", "v1")])

    run = cli(config, *DIFF)

    assert run.code == 1
    assert drift_rows(run.json) == {
        ("a->b", "conflict", "library/app", "v1"),
        ("b->a", "conflict", "library/app", "v1"),
    }
    a_to_b = next(d for d in run.json["drift"] if d["edge"] == "a->b")
    digests = (a_to_b["source_digest"], a_to_b["destination_digest"], a_to_b["base_digest"])
    assert digests == (on_a["library/app", "v1"], on_b["library/app", "v1"], base)
    _no_writes(synced)


def test_wrong_password_is_a_clear_auth_error(
    synced: Pair, syncd_config: WriteConfig, cli: RunCli
) -> None:
    """Wrong credentials for b: exit 2, stderr names the instance, stdout only the JSON error."""
    config = syncd_config(synced, passwords={"b": "not-the-password-4711"})

    run = cli(config, *DIFF)

    assert run.code == 2
    assert run.json["error"]["kind"] == "auth"
    assert "not-the-password-4711" not in run.out
    assert "authentication failed" in run.err
    assert "credentials for instance b were rejected" in run.err
    assert "not-the-password-4711" not in run.err
    _no_writes(synced)


@pytest.mark.parametrize(
    ("look", "expected"),
    [
        (("--no-store",), "deleted_unpropagated"),  # the base still holds v1
        ((), "missing"),  # the stored look dropped v1 from the base
    ],
)
def test_no_store_does_not_advance_the_base(
    synced: Pair,
    syncd_config: WriteConfig,
    cli: RunCli,
    look: tuple[str, ...],
    expected: str,
) -> None:
    """A look with --no-store leaves the base: a re-push is still judged against the old one."""
    config = syncd_config(synced)
    _converged_base(cli, config)
    digest = synced.a.state.tag_map()[("library/app", "v1")]
    for inst in synced.both:  # gone from both sides: a stored look forgets v1 ever existed
        inst.delete_tag("library/app", "v1")
    between = cli(config, *DIFF, *look)
    assert (between.code, between.json["drift"]) == (0, [])
    synced.b.set_down("refuse")
    synced.a.push("library/app", "v1", digest=digest)
    quiesce(synced.a)
    synced.b.set_down("up")

    run = cli(config, *DIFF)

    assert run.code == 1
    a_to_b = {(c, r, t) for e, c, r, t in drift_rows(run.json) if e == "a->b"}
    assert a_to_b == {(expected, "library/app", "v1")}


def test_every_request_syncd_sends_conforms_to_the_spec(
    synced: Pair, syncd_config: WriteConfig, cli: RunCli
) -> None:
    """Diff and reconcile send only requests Harbor's spec defines (method, path, query)."""
    config = syncd_config(synced)
    _converged_base(cli, config)
    push_during_outage(synced, pushed_on="b", tags=[("library/app", "v2")])
    assert cli(config, *DIFF).code == 1
    assert cli(config, "reconcile", "--once", "--output", "json").code == 0

    checked = assert_spec_conformant(*synced.both)

    gets = {p.split("?")[0].rsplit("/", 1)[-1] for p in requests(synced.b, "GET")}
    assert {"ping", "health", "systeminfo", "repositories", "policies", "executions"} <= gets
    assert len(starts(synced.b)) == 1
    assert checked == len(synced.a.request_log) + len(synced.b.request_log) > 20
