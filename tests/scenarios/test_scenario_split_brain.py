"""Scenario: split brain - one tag pushed with different content to both sides of a partition.

Both masters of a dual-master pair take a push of the same tag while they cannot reach each
other. With the default ``conflict_preference: report`` syncd must report the conflict and
leave both sides alone: no trigger, no delete, no overwrite.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import pytest

from tests.registrykit import requires_registry
from tests.scenarios.scenariokit import (
    assert_nothing_deleted,
    executions,
    push,
    push_while_down,
    quiesce,
    reconcile_once,
    syncd_config,
    v2_digests,
)

if TYPE_CHECKING:
    from pathlib import Path

    from syncd.sim import SimCluster
    from tests.scenarios.scenariokit import Image

pytestmark = [
    pytest.mark.needs_registry,
    pytest.mark.slow,
    pytest.mark.xdist_group("scenarios"),
    requires_registry,
]

TAG = ("library/app", "v1")


def test_same_tag_pushed_on_both_sides_is_a_conflict_and_nothing_is_overwritten(
    cluster: SimCluster, images: dict[str, Image], tmp_path: Path
) -> None:
    """Both sides moved v1 apart: conflict on both edges, exit 1, each keeps its own digest."""
    a, b = cluster.add("a", data_plane=True), cluster.add("b", data_plane=True)
    for inst in (a, b):
        inst.create_project("library")
    cluster.dual_master("a", "b")
    base = push(a, images["first"], target="library/app:v1")
    quiesce(a, b)
    config = syncd_config(cluster.instances, tmp=tmp_path)
    assert reconcile_once(config).code == 0  # records the converged base: v1 = base everywhere

    # The partition: each side takes a push of v1 while it cannot reach the other.
    on_b = push_while_down(source=b, down=[a], pushes={"library/app:v1": images["second"]})[TAG]
    on_a = push_while_down(source=a, down=[b], pushes={"library/app:v1": images["third"]})[TAG]
    assert len({base, on_a, on_b}) == 3
    manual_before = {i.name: executions(i, trigger="manual") for i in (a, b)}

    run = reconcile_once(config)

    assert run.code == 1, run.stderr
    assert run.doc["outcome"] == "drift"
    rows = {(d["edge"], d["class"], d["repository"], d["tag"]) for d in run.doc["drift"]}
    assert rows == {("a->b", "conflict", *TAG), ("b->a", "conflict", *TAG)}
    assert {d["base_digest"] for d in run.doc["drift"]} == {base}
    assert run.doc["actions"] == []
    assert (
        {i.name: executions(i, trigger="manual") for i in (a, b)}
        == manual_before
        == {
            "a": [],
            "b": [],
        }
    )
    for inst, own in ((a, on_a), (b, on_b)):
        assert inst.state.tag_map() == {TAG: own}, inst.name
        assert v2_digests(inst, [TAG]) == {TAG: own}, inst.name
    assert_nothing_deleted(a, b)
