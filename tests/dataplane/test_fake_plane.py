"""The fake /v2/ plane (no registry): HEADs answered from the state, for syncd's parity probe."""

from __future__ import annotations

from typing import TYPE_CHECKING

import httpx
import pytest

from syncd.sim import SimInstance
from tests.registrykit import AUTH, head

if TYPE_CHECKING:
    from collections.abc import Iterator


@pytest.fixture(scope="module")
def fake() -> Iterator[SimInstance]:
    """Start an instance without a data plane, with an image and a multi-arch index."""
    with SimInstance("a", data_plane=False) as inst:
        inst.create_project("library")
        inst.push("library/app", "v1")
        kids = (inst.push("library/multi", None, content="amd64"),)
        inst.push("library/multi", "1", references=kids)
        yield inst
        assert inst.errors == []


@pytest.mark.parametrize(
    ("repo", "ref", "status"),
    [
        ("library/app", "v1", 200),
        ("library/app", "DIGEST", 200),
        ("library/app", "v2", 404),
        ("library/app", "sha256:" + "0" * 64, 404),
        ("library/nope", "v1", 404),
    ],
)
def test_manifest_head_answers_from_state(fake, repo, ref, status):
    """HEAD by tag or digest: 200 with the state's digest, 404 when unknown."""
    digest = fake.state.tag_map()["library/app", "v1"]
    resp = head(fake, repo, digest if ref == "DIGEST" else ref)
    assert resp.status_code == status
    assert resp.headers["X-Harbor-Sim-Plane"] == "fake"
    if status == 200:
        assert resp.headers["Docker-Content-Digest"] == digest


def test_blob_head_knows_only_manifest_digests(fake):
    """Blob HEAD: 200 for digests the state knows as manifests (children too), else 404."""
    index = fake.state.tag_map()["library/multi", "1"]
    [child] = fake.state.repos["library/multi"].artifacts[index].references
    url = f"{fake.url}/v2/library/multi/blobs/"
    assert httpx.head(url + child, auth=AUTH).status_code == 200
    assert httpx.head(url + "sha256:" + "1" * 64, auth=AUTH).status_code == 404


def test_fake_plane_answers_heads_only(fake):
    """The ping works; GETs of content and writes are unsupported (405) without a registry."""
    assert httpx.get(fake.url + "/v2/", auth=AUTH).status_code == 200
    assert httpx.get(fake.url + "/v2/library/app/manifests/v1", auth=AUTH).status_code == 405
    assert httpx.post(fake.url + "/v2/library/app/blobs/uploads/", auth=AUTH).status_code == 405
    assert fake.state.repos["library/app"].pull_count == 0


def test_fake_plane_challenges_anonymous(fake):
    """Without credentials the fake plane answers 401 with the Basic challenge too."""
    resp = httpx.head(fake.url + "/v2/library/app/manifests/v1")
    assert resp.status_code == 401
    assert resp.headers["WWW-Authenticate"] == 'Basic realm="harbor"'


def test_storage_lost_node_404s_with_registry_error_body(fake):
    """storage_lost: manifests 404 with MANIFEST_UNKNOWN, while the API still lists them."""
    fake.set_storage_lost(True)
    try:
        resp = head(fake, "library/app", "v1")
        body = httpx.get(f"{fake.url}/v2/library/app/manifests/v1", auth=AUTH).json()
        ping = httpx.get(fake.url + "/v2/", auth=AUTH)
    finally:
        fake.set_storage_lost(False)
    assert resp.status_code == 404
    assert body["errors"][0]["code"] == "MANIFEST_UNKNOWN"
    assert ping.status_code == 200
    listed = httpx.get(
        f"{fake.url}/api/v2.0/projects/library/repositories/app/artifacts", auth=AUTH
    ).json()
    assert len(listed) == 1
