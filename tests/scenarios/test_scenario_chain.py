"""Scenario: hierarchical publishing HQ -> region -> city with the middle hop down at a push.

HQ pushes to the region on every push (event-based); the region forwards to the city on demand
(a manual policy), so only syncd carries a repair over the second hop, and it can do so only
once the first hop has delivered: one repair round per hop, in order, within one pass.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import pytest

from tests.registrykit import requires_registry
from tests.scenarios.scenariokit import (
    assert_nothing_deleted,
    assert_same_everywhere,
    executions,
    manual_policies,
    push_while_down,
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


def test_middle_hop_outage_is_repaired_hop_by_hop_in_order(
    cluster: SimCluster, images: dict[str, Image], tmp_path: Path
) -> None:
    """The region missed a push; one pass repairs HQ->region, then region->city after it."""
    hq, region, city = (cluster.add(n, data_plane=True) for n in ("hq", "region", "city"))
    for inst in (hq, region, city):
        inst.create_project("library")
    to_region = cluster.link("hq", "region")
    to_city = cluster.link("region", "city", trigger="manual")
    pushed = push_while_down(source=hq, down=[region], pushes={"library/app:v1": images["first"]})
    assert region.state.tag_map() == city.state.tag_map() == {}

    run = reconcile_once(syncd_config(cluster.instances, tmp=tmp_path))

    assert run.code == 0, run.stderr
    assert run.doc["outcome"] == "converged"
    assert run.actions == [
        ("trigger", "hq", to_region, "succeeded"),
        ("trigger", "region", to_city, "succeeded"),
    ]
    # syncd's own log: the first hop's action finished before the second hop's execution began.
    first_done = run.index("act.action_finished", instance="hq", policy_id=to_region)
    second_started = run.index("act.execution_started", instance="region", policy_id=to_city)
    assert first_done < second_started
    # The simulators' clocks agree: HQ's execution ended before the region's started.
    assert manual_policies(hq) == [to_region]
    assert manual_policies(region) == [to_city]
    [hop1] = executions(hq, trigger="manual")
    [hop2] = executions(region, trigger="manual")
    assert [hop1.id, hop2.id] == [a["execution_id"] for a in run.doc["actions"]]
    assert hop1.end_time <= hop2.start_time
    assert executions(city) == []
    assert_same_everywhere([hq, region, city], pushed)
    assert_nothing_deleted(hq, region, city)
