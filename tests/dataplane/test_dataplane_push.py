"""A real client (skopeo) pushing through one simulator's /v2/ proxy into its real registry."""

from __future__ import annotations

import hashlib
from typing import TYPE_CHECKING

import httpx
import pytest

from syncd.sim import SimInstance
from tests import ocikit
from tests.registrykit import (
    AUTH,
    api_artifacts,
    get_manifest,
    head,
    requires_registry,
    skopeo_push,
)

if TYPE_CHECKING:
    from collections.abc import Iterator
    from pathlib import Path

pytestmark = [pytest.mark.needs_registry, requires_registry]


@pytest.fixture(scope="module")
def pushed(image: tuple[Path, str]) -> Iterator[tuple[SimInstance, str]]:
    """Start an instance with a data plane; push ``library/app:v1`` with skopeo."""
    with SimInstance("a", data_plane=True) as inst:
        inst.create_project("library")
        digest = skopeo_push(image[0], "v1", inst, "library/app:v1")
        yield inst, digest
        assert inst.errors == []


def test_pushed_artifact_is_listed_with_skopeos_digest(pushed, image):
    """The API lists the pushed manifest under the digest skopeo reports and we computed."""
    inst, digest = pushed
    assert digest == image[1]
    [art] = api_artifacts(inst, "library/app")
    assert art["digest"] == digest
    assert [t["name"] for t in art["tags"]] == ["v1"]
    assert art["manifest_media_type"] == ocikit.MANIFEST


def test_head_reports_the_digest_without_counting_a_pull(pushed):
    """HEAD answers Docker-Content-Digest and leaves the pull count alone."""
    inst, digest = pushed
    resp = head(inst, "library/app", "v1")
    assert resp.status_code == 200
    assert resp.headers["Docker-Content-Digest"] == digest
    assert inst.state.repos["library/app"].pull_count == 0


def test_manifest_get_returns_bytes_and_counts_a_pull(pushed):
    """GET returns the exact bytes (sha256 = digest) and Harbor counts it as a pull."""
    inst, digest = pushed
    before = inst.state.repos["library/app"].pull_count
    resp = get_manifest(inst, "library/app", digest)
    assert "sha256:" + hashlib.sha256(resp.content).hexdigest() == digest
    assert inst.state.repos["library/app"].pull_count == before + 1


@pytest.mark.parametrize("auth", [None, ("admin", "wrong")])
def test_v2_challenges_without_valid_credentials(pushed, auth):
    """No or wrong credentials: 401 with a Basic realm="harbor" challenge, the ping too."""
    inst, _ = pushed
    for path in ("/v2/", "/v2/library/app/manifests/v1"):
        resp = httpx.get(inst.url + path, auth=auth)
        assert resp.status_code == 401
        assert resp.headers["WWW-Authenticate"] == 'Basic realm="harbor"'
        assert resp.json()["errors"][0]["code"] == "UNAUTHORIZED"
    assert httpx.get(inst.url + "/v2/", auth=AUTH).status_code == 200


def test_upload_location_points_back_at_the_simulator(pushed):
    """A started upload's Location is rewritten from the registry to the simulator."""
    inst, _ = pushed
    resp = httpx.post(f"{inst.url}/v2/library/app/blobs/uploads/", auth=AUTH)
    assert resp.status_code == 202
    assert resp.headers["Location"].startswith(f"{inst.url}/v2/library/app/blobs/uploads/")


def test_push_into_a_missing_project_is_refused(pushed):
    """Like Harbor, writes into a project that does not exist fail with 404."""
    inst, _ = pushed
    resp = httpx.post(f"{inst.url}/v2/nope/app/blobs/uploads/", auth=AUTH)
    assert resp.status_code == 404
    assert "nope" not in inst.state.projects


def test_storage_lost_hides_content_but_api_lists_it(pushed):
    """With storage lost, /v2/ 404s manifests and blobs while the API still lists them."""
    inst, digest = pushed
    inst.set_storage_lost(True)
    try:
        resp = head(inst, "library/app", digest)
        body = get_manifest(inst, "library/app", digest).json()
        blob = httpx.head(f"{inst.url}/v2/library/app/blobs/{digest}", auth=AUTH)
    finally:
        inst.set_storage_lost(False)
    assert resp.status_code == 404
    assert body["errors"][0]["code"] == "MANIFEST_UNKNOWN"
    assert blob.status_code == 404
    assert [a["digest"] for a in api_artifacts(inst, "library/app")] == [digest]


def test_manifest_delete_removes_the_artifact(pushed, image):
    """A manifest DELETE through /v2/ deletes the artifact, like the API delete."""
    inst, digest = pushed
    skopeo_push(image[0], "v1", inst, "library/gone:v1")
    resp = httpx.delete(f"{inst.url}/v2/library/gone/manifests/{digest}", auth=AUTH)
    assert resp.status_code == 202
    assert api_artifacts(inst, "library/gone") == []
    assert head(inst, "library/gone", digest).status_code == 404
