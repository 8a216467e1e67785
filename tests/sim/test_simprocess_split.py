"""bench.simproc with one process per instance: the dual-master pair still replicates both ways."""

from __future__ import annotations

from pathlib import Path

import pytest

from bench.simproc import SimProcess
from tests.simkit import wait_for

ROOT = Path(__file__).parents[2]


@pytest.mark.parametrize("split", [True, False])
def test_dual_master_replicates_across_processes(split: bool) -> None:
    """A new tag pushed on a and a tag moved on b reach the peer, split or not."""
    with SimProcess(instances=("a", "b"), cwd=ROOT, dual_master=("a", "b"), split=split) as sim:
        assert len({*sim.urls.values()}) == 2
        for name in ("a", "b"):
            sim.admin(name, "generate", projects=1, repos_per_project=2, tags_per_repo=2, seed=1)
        repo = "gen1-p0000/repo-00001"
        new = sim.admin("a", "push", repository=repo, tag="new", content="new")
        moved = sim.admin("b", "push", repository=repo, tag="v0", content="moved")
        wait_for(lambda: sim.catalog("a") == sim.catalog("b"), timeout=30)
        assert sim.catalog("a")[repo, "new"] == new
        assert sim.catalog("a")[repo, "v0"] == moved
        assert len(sim.catalog("a")) == 5
