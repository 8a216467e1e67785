"""Replication between data-plane simulators copies real manifests and blobs, digests intact."""

from __future__ import annotations

import hashlib
from typing import TYPE_CHECKING

import httpx
import pytest

from syncd.sim import SimCluster
from tests import ocikit
from tests.registrykit import (
    AUTH,
    get_manifest,
    head,
    requires_registry,
    settled,
    skopeo_push,
)
from tests.simkit import wait_for

if TYPE_CHECKING:
    from collections.abc import Iterator
    from pathlib import Path

pytestmark = [pytest.mark.needs_registry, requires_registry]


@pytest.fixture(scope="module")
def trio(image: tuple[Path, str]) -> Iterator[SimCluster]:
    """a<->b dual-master (event-based), a->c manual; ``library/app:v1`` pushed into a."""
    with SimCluster() as cluster:
        for name in ("a", "b", "c"):
            cluster.add(name, data_plane=True)
        cluster.dual_master("a", "b")
        cluster.link("a", "c", trigger="manual")
        cluster["a"].create_project("library")
        skopeo_push(image[0], "v1", cluster["a"], "library/app:v1")
        yield cluster
        for inst in cluster.instances.values():
            assert inst.errors == []


def _digest_of(resp: httpx.Response) -> str:
    return "sha256:" + hashlib.sha256(resp.content).hexdigest()


def test_event_replication_copies_bytes_with_the_same_digest(trio, image):
    """The push event copies manifest and blobs to b; HEAD and GET agree with a."""
    a, b = trio["a"], trio["b"]
    digest = image[1]
    wait_for(lambda: b.state.tag_map().get(("library/app", "v1")) == digest)
    assert head(b, "library/app", "v1").headers["Docker-Content-Digest"] == digest
    assert head(a, "library/app", "v1").headers["Docker-Content-Digest"] == digest
    assert _digest_of(get_manifest(b, "library/app", "v1")) == digest
    layer = get_manifest(b, "library/app", digest).json()["layers"][0]["digest"]
    blob = httpx.get(f"{b.url}/v2/library/app/blobs/{layer}", auth=AUTH, follow_redirects=True)
    assert "sha256:" + hashlib.sha256(blob.content).hexdigest() == layer


def test_dual_master_echo_ends_in_a_noop(trio, image):
    """The echo from b back to a finds the digest there: a no-op, every execution succeeds."""
    a, b = trio["a"], trio["b"]
    wait_for(lambda: b.state.tag_map().get(("library/app", "v1")) == image[1])
    statuses = wait_for(lambda: settled(a) and settled(b) and settled(a) + settled(b))
    assert set(statuses) == {"Succeed"}
    assert [p for m, p, _ in a.v2_log if m == "PUT" and "/manifests/" in p] == [
        "/v2/library/app/manifests/v1"
    ]


def test_manual_replication_copies_to_c(trio, image):
    """A manual execution a->c copies the real bytes; c serves the same digest."""
    a, c = trio["a"], trio["c"]
    [pid] = [p.id for p in a.state.policies.values() if p.trigger == "manual"]
    eid = a.start_execution(pid)
    wait_for(lambda: a.execution_status(eid) != "InProgress")
    assert a.execution_status(eid) == "Succeed"
    assert c.state.tag_map()[("library/app", "v1")] == image[1]
    assert _digest_of(get_manifest(c, "library/app", "v1")) == image[1]


def test_manual_replication_fails_while_destination_is_down(trio):
    """A destination answering 503 fails the execution, as without a data plane."""
    a, c = trio["a"], trio["c"]
    [pid] = [p.id for p in a.state.policies.values() if p.trigger == "manual"]
    c.set_down("503")
    try:
        eid = a.start_execution(pid)
        wait_for(lambda: a.execution_status(eid) != "InProgress")
    finally:
        c.set_down("up")
    assert a.execution_status(eid) == "Failed"


def test_multi_arch_index_replicates_with_children(trio, index):
    """An index pushed with --all reaches b with its children, digests preserved."""
    a, b = trio["a"], trio["b"]
    layout, digest, children = index
    assert skopeo_push(layout, "multi", a, "library/app:multi", all_=True) == digest
    wait_for(lambda: b.state.tag_map().get(("library/app", "multi")) == digest)
    art = b.state.repos["library/app"].artifacts[digest]
    assert art.media_type == ocikit.INDEX
    assert art.references == children
    for ref in (digest, *children):
        assert _digest_of(get_manifest(b, "library/app", ref)) == ref
