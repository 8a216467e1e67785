"""Scenario: one master publishing to three slaves; one slave is down during the push."""

from __future__ import annotations

from typing import TYPE_CHECKING

import pytest

from tests.registrykit import requires_registry
from tests.scenarios.scenariokit import (
    assert_nothing_deleted,
    assert_same_everywhere,
    executions,
    manual_policies,
    push,
    push_while_down,
    quiesce,
    reconcile_once,
    syncd_config,
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

SLAVES = ("s1", "s2", "s3")


def test_down_slave_is_repaired_by_the_masters_policy_for_it_only(
    cluster: SimCluster, images: dict[str, Image], tmp_path: Path
) -> None:
    """s2 misses a push while down; one pass triggers only master->s2 and all four agree."""
    master = cluster.add("master", data_plane=True)
    slaves = [cluster.add(name, data_plane=True) for name in SLAVES]
    for inst in (master, *slaves):
        inst.create_project("library")
    policy = {name: cluster.link("master", name) for name in SLAVES}
    first = push(master, images["first"], target="library/app:v1")
    quiesce(master)

    lost = push_while_down(
        source=master, down=[cluster["s2"]], pushes={"library/app:v2": images["second"]}
    )
    assert ("library/app", "v2") not in cluster["s2"].state.tag_map()

    run = reconcile_once(syncd_config(cluster.instances, tmp=tmp_path))

    assert run.code == 0, run.stderr
    assert run.doc["outcome"] == "converged"
    assert run.doc["drift"] == []
    assert run.actions == [("trigger", "master", policy["s2"], "succeeded")]
    assert manual_policies(master) == [policy["s2"]]
    assert all(executions(s) == [] for s in slaves)  # slaves own no policy: nothing ran there
    assert_same_everywhere([master, *slaves], {("library/app", "v1"): first, **lost})
    assert_nothing_deleted(master, *slaves)
