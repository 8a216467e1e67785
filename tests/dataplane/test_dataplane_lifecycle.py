"""The registry subprocess: lazy or eager start, clean stop, and shared-storage cluster nodes."""

from __future__ import annotations

from typing import TYPE_CHECKING

import httpx
import psutil
import pytest

from syncd.sim import SimCluster, SimInstance, dataplane
from tests.registrykit import AUTH, head, requires_registry, skopeo_push

if TYPE_CHECKING:
    from pathlib import Path

pytestmark = [pytest.mark.needs_registry, requires_registry]


def _gone(pid: int) -> bool:
    try:
        return bool(psutil.Process(pid).status() == psutil.STATUS_ZOMBIE)
    except psutil.NoSuchProcess:
        return True


def test_stop_leaves_no_process_and_no_files():
    """data_plane=True starts the registry with the instance; stop kills it and removes its dir."""
    inst = SimInstance("a", data_plane=True).start()
    assert inst.data_plane is not None
    pid, root = inst.data_plane.pid, inst.data_plane.root
    assert pid is not None
    assert root is not None
    assert root.is_dir()
    assert httpx.get(inst.url + "/v2/", auth=AUTH).headers["X-Harbor-Sim-Plane"] == "registry"
    inst.stop()
    assert _gone(pid)
    assert not root.exists()
    assert inst.data_plane.pid is None


def test_auto_plane_starts_on_first_v2_request():
    """With data_plane auto, the registry starts lazily on the first /v2/ request."""
    with SimInstance("a") as inst:
        assert inst.data_plane is not None
        assert not inst.data_plane.started
        assert httpx.get(inst.url + "/v2/", auth=AUTH).status_code == 200
        assert inst.data_plane.started


def test_shared_node_serves_the_same_content(image: tuple[Path, str]):
    """A node added with add_node shares the API view and storage; storage loss is per node."""
    with SimCluster() as cluster:
        a = cluster.add("a", data_plane=True)
        a2 = cluster.add_node("a2", of="a")
        a.create_project("library")
        digest = skopeo_push(image[0], "v1", a, "library/app:v1")
        assert a2.state is a.state
        assert head(a2, "library/app", "v1").headers["Docker-Content-Digest"] == digest
        a2.set_storage_lost(True)
        assert head(a2, "library/app", digest).status_code == 404
        assert head(a, "library/app", digest).status_code == 200
        pid = a.data_plane.pid if a.data_plane else None
    assert pid is not None
    assert _gone(pid)


def test_required_plane_without_binary_fails(monkeypatch):
    """data_plane=True without docker-registry on PATH is an error, not a silent fake."""
    monkeypatch.setattr("syncd.sim.dataplane.shutil.which", lambda _name: None)
    with pytest.raises(dataplane.DataPlaneError, match="docker-registry"):
        SimInstance("a", data_plane=True)
    assert SimInstance("b").data_plane is None
