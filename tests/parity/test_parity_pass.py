"""The parity probe inside a reconcile pass: nodes of one cluster, one losing its storage."""

from __future__ import annotations

import json
from typing import TYPE_CHECKING

import pytest
from prometheus_client import CollectorRegistry
from structlog.testing import capture_logs

from syncd.engine.reconcile import run_pass
from syncd.service.metrics import Metrics
from syncd.settings import load_settings
from syncd.sim import SimCluster
from syncd.wiring import build_runtime

if TYPE_CHECKING:
    from collections.abc import Iterator
    from pathlib import Path

    from syncd.engine.runtime import Runtime


@pytest.fixture
def cluster_runtime(tmp_path: Path) -> Iterator[tuple[SimCluster, Runtime]]:
    """Two nodes of cluster ``prod`` (fake plane) configured in syncd with the same cluster."""
    with SimCluster() as cluster:
        n1 = cluster.add("node-1", data_plane=False)
        n2 = cluster.add_node("node-2", of="node-1")
        n1.create_project("library")
        for repo in ("library/a", "library/b"):
            for tag in ("1", "2", "3"):
                n1.push(repo, tag)
        config = {
            "instances": {
                node.name: {
                    "url": node.url,
                    "username": "admin",
                    "password": "Harbor12345",
                    "cluster": "prod",
                }
                for node in (n1, n2)
            },
            "state": {"path": str(tmp_path / "state.sqlite3")},
            "parity": {"sample_size": 10},
        }
        path = tmp_path / "syncd.yaml"
        path.write_text(json.dumps(config), encoding="utf-8")
        runtime = build_runtime(load_settings(path, env={}))
        try:
            yield cluster, runtime
        finally:
            runtime.close()


def test_lost_storage_is_named_in_result_metric_and_log(cluster_runtime):
    """A node that lost its storage is detected within one pass, by name."""
    cluster, runtime = cluster_runtime
    cluster["node-2"].set_storage_lost(True)
    metrics = Metrics(registry=CollectorRegistry())
    with capture_logs() as logs:
        result = run_pass(runtime.deps)
    metrics.record_pass(result, now=result.finished_at)
    by_node = {r.instance: r for r in result.parity}
    assert by_node["node-1"].missing == ()
    assert len(by_node["node-2"].missing) == by_node["node-2"].checked > 0
    assert (
        metrics.registry.get_sample_value("syncd_parity_missing", {"instance": "node-2"}) or 0
    ) > 0
    assert metrics.registry.get_sample_value("syncd_parity_missing", {"instance": "node-1"}) == 0
    assert [e["instance"] for e in logs if e["event"] == "parity.missing"] == ["node-2"]


def test_healthy_cluster_reports_full_parity_and_is_observed_once(cluster_runtime):
    """A healthy cluster has no missing manifests, and only its first node is listed via the API."""
    cluster, runtime = cluster_runtime
    result = run_pass(runtime.deps)
    assert all(r.missing == () and r.checked > 0 for r in result.parity)
    assert {r.instance for r in result.parity} == {"node-1", "node-2"}
    listed = [path for _m, path, _s in cluster["node-2"].request_log if "/repositories" in path]
    assert listed == []
    assert not [m for m, _p, _s in cluster["node-2"].v2_log if m != "HEAD"]
