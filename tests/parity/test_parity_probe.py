"""syncd's shared-storage parity probe against two simulator nodes sharing one database."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import TYPE_CHECKING

import pytest
from hypothesis import given
from hypothesis import strategies as st
from structlog.testing import capture_logs

from syncd.core.model import Artifact, Catalog, Repository
from syncd.engine.parity import probe_cluster, probe_targets, sample_artifacts
from syncd.harbor.client import HarborClient
from syncd.settings import InstanceSettings
from syncd.sim import SimCluster

if TYPE_CHECKING:
    from collections.abc import Iterator

    from syncd.sim import SimInstance

NOW = datetime(2026, 1, 1, tzinfo=UTC)


def _client(inst: SimInstance) -> HarborClient:
    settings = InstanceSettings(url=inst.url, username="admin", password="Harbor12345")
    return HarborClient(name=inst.name, settings=settings)


def _catalog(inst: SimInstance) -> Catalog:
    """Build the shared database's view from the simulator's state (what observe lists)."""
    with inst.state.lock:
        repos = {
            repo.name: Repository(
                name=repo.name,
                artifacts=tuple(
                    Artifact(digest=a.digest, tags=frozenset(a.tags), references=a.references)
                    for a in repo.visible()
                ),
            )
            for repo in inst.state.repos.values()
        }
    return Catalog(instance=inst.name, taken_at=NOW, repositories=repos)


@pytest.fixture
def nodes() -> Iterator[SimCluster]:
    """Nodes n1 and n2 of one cluster (fake plane) with images and a multi-arch index."""
    with SimCluster() as cluster:
        n1 = cluster.add("n1", data_plane=False)
        cluster.add_node("n2", of="n1")
        n1.create_project("library")
        for repo in ("library/a", "library/b", "library/c/d"):
            for tag in ("1", "2"):
                n1.push(repo, tag)
        kids = (n1.push("library/m", None, content="amd"), n1.push("library/m", None))
        n1.push("library/m", "1", references=kids)
        yield cluster
        for inst in cluster.instances.values():
            assert inst.errors == []


def _probe(cluster: SimCluster, *, size: int = 50):
    clients = {name: _client(inst) for name, inst in cluster.instances.items()}
    try:
        return probe_cluster(
            cluster="c1", nodes=clients, catalog=_catalog(cluster["n1"]), sample_size=size, seed=7
        )
    finally:
        for client in clients.values():
            client.close()


def test_healthy_cluster_has_nothing_missing(nodes):
    """Both nodes serve every sampled manifest (9 HEADs each: 7 artifacts + 2 children)."""
    result = _probe(nodes)
    assert result.missing == {"n1": (), "n2": ()}
    assert result.checked == {"n1": 9, "n2": 9}
    assert result.ok


def test_node_with_lost_storage_is_named_in_one_call(nodes):
    """The node whose storage is lost is named with every (repo, digest) it 404s."""
    nodes["n2"].set_storage_lost(True)
    with capture_logs() as logs:
        result = _probe(nodes)
    expected = set(probe_targets(sample_artifacts(_catalog(nodes["n1"]), size=50, seed=7)))
    assert result.missing["n1"] == ()
    assert set(result.missing["n2"]) == expected
    assert len(expected) == 9
    assert not result.ok
    [event] = [e for e in logs if e["event"] == "parity.missing"]
    assert event["instance"] == "n2"
    assert event["cluster"] == "c1"
    assert event["missing"] == 9


def test_probe_never_gets_a_manifest(nodes):
    """Only HEADs reach /v2/ and no pull is counted (a manifest GET is a pull in Harbor)."""
    nodes["n2"].set_storage_lost(True)
    _probe(nodes)
    for inst in nodes.instances.values():
        assert inst.v2_log
        assert {method for method, _, _ in inst.v2_log} == {"HEAD"}
    assert all(r.pull_count == 0 for r in nodes["n1"].state.repos.values())


def test_unreachable_node_is_an_error_not_missing(nodes):
    """A refusing node yields an error entry and no missing digests."""
    nodes["n2"].set_down("refuse")
    with capture_logs() as logs:
        result = _probe(nodes, size=2)
    assert result.missing["n2"] == ()
    assert result.checked["n2"] == 0
    assert "n2" in result.errors
    assert [e["instance"] for e in logs if e["event"] == "parity.probe_failed"] == ["n2"]


def _big_catalog(repos: int, per_repo: int) -> Catalog:
    return Catalog(
        instance="x",
        taken_at=NOW,
        repositories={
            f"p/r{r}": Repository(
                name=f"p/r{r}",
                artifacts=tuple(
                    Artifact(digest=f"sha256:{r:032x}{a:032x}") for a in range(per_repo)
                ),
            )
            for r in range(repos)
        },
    )


@given(
    repos=st.integers(0, 6),
    per_repo=st.integers(0, 5),
    size=st.integers(-1, 40),
    seed=st.one_of(st.integers(), st.text(max_size=5)),
)
def test_sample_is_deterministic_spread_and_bounded(repos, per_repo, size, seed):
    """Same seed, same sample; never over size; no repo gets a 2nd pick before all got one."""
    catalog = _big_catalog(repos, per_repo)
    sample = sample_artifacts(catalog, size=size, seed=seed)
    assert sample == sample_artifacts(catalog, size=size, seed=seed)
    assert len(sample) == min(max(size, 0), repos * per_repo)
    assert len(set(sample)) == len(sample)
    counts = [sum(1 for name, _ in sample if name == repo) for repo in catalog.repositories]
    if per_repo and counts:
        assert max(counts) - min(counts) <= 1


def test_different_seeds_pick_different_samples():
    """The seed matters: two seeds pick different artifacts from a large catalog."""
    catalog = _big_catalog(10, 10)
    assert sample_artifacts(catalog, size=5, seed=1) != sample_artifacts(catalog, size=5, seed=2)
