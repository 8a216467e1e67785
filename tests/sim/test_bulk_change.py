"""A burst of changes on a dual-master pair: every one reaches the peer (bench.realpass's setup)."""

from __future__ import annotations

from typing import TYPE_CHECKING

import pytest

from tests.simkit import wait_for

if TYPE_CHECKING:
    from syncd.sim import SimCluster, SimInstance

REPOS = 200
CHANGES = 100


def _statuses(inst: SimInstance) -> list[str]:
    with inst.state.lock:
        return [inst.engine.status(e, fresh=True)[0] for e in inst.state.executions.values()]


def _settled(inst: SimInstance) -> bool:
    return "InProgress" not in _statuses(inst)


def _failed(inst: SimInstance) -> list[str]:
    with inst.state.lock:
        return [
            f"{inst.name} execution {e.id}: {inst.engine.status(e, fresh=True)}"
            for e in inst.state.executions.values()
            if inst.engine.status(e, fresh=True)[0] == "Failed"
        ]


def _converged_or_failed(a: SimInstance, b: SimInstance, expected: object) -> bool:
    """Stop waiting once converged, or once a run failed (it is never retried)."""
    failed = _failed(a) + _failed(b)
    assert not failed, failed
    return a.state.tag_map() == b.state.tag_map() == expected


@pytest.mark.timeout(150)  # 200 replication runs on a loaded 2-core CI machine
@pytest.mark.parametrize("tags_per_repo", [2, 20])
def test_burst_of_new_and_moved_tags_converges(cluster: SimCluster, tags_per_repo: int) -> None:
    """100 pushes at once (new tags and moved ones, both sides) converge; no execution fails."""
    a, b = cluster.add("a"), cluster.add("b")
    for inst in (a, b):
        inst.generate(projects=2, repos_per_project=REPOS // 2, tags_per_repo=tags_per_repo)
    cluster.dual_master("a", "b")
    expected = a.state.tag_map()
    for i in range(CHANGES):
        where, repo = (a, b)[i % 2], f"gen0-p{i % 2:04d}/repo-{i:05d}"
        tag = "bench-warm" if i % 4 < 2 else "v0"  # a new tag, or an existing tag moved
        expected[repo, tag] = where.push(repo, tag, content=f"{repo}:{tag}:changed")
    wait_for(lambda: _converged_or_failed(a, b, expected), timeout=120)
    wait_for(lambda: _settled(a) and _settled(b), timeout=20)
    assert set(_statuses(a)) | set(_statuses(b)) == {"Succeed"}
    assert len(a.state.executions) + len(b.state.executions) == 2 * CHANGES
