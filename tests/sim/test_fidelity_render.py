"""Issue 9, points 2, 8, 9, 11: how artifacts, tags and policies render; creating a tag.

Each case cites the Harbor source (goharbor/harbor ``src/``) whose behaviour it pins.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import pytest

from tests.simkit import INDEX, api, check, wait_for

if TYPE_CHECKING:
    import httpx

    from syncd.sim import SimCluster, SimInstance

NGINX = "/projects/library/repositories/nginx/artifacts"


@pytest.mark.parametrize(
    ("params", "nulls"),
    [
        # server/v2.0/handler/model/artifact.go ToSwagger appends: nothing appended -> null.
        ({"with_tag": "false"}, {"tags", "labels", "references", "accessories"}),
        ({"with_label": "true", "with_accessory": "true"}, {"references"}),
        ({}, {"labels", "references", "accessories"}),
    ],
)
def test_nil_arrays_are_null(client: httpx.Client, params: dict[str, str], nulls: set[str]) -> None:
    """The array keys are always present; the empty ones are JSON null, never omitted."""
    art = check(client.get(f"{NGINX}/1.0", params=params))
    keys = {"tags", "labels", "references", "accessories"}
    assert keys <= set(art)
    assert {k for k in keys if art[k] is None} == nulls


def test_untagged_artifact_has_null_tags(client: httpx.Client, sim: SimInstance) -> None:
    """An untagged artifact listed with_tag=true still has tags: null (populateTags, nil slice)."""
    body = check(client.get(NGINX, params={"q": "tags=nil"}))
    assert [a["tags"] for a in body] == [None]


def test_policy_without_filters_has_null_filters(cluster: SimCluster) -> None:
    """handler/replication.go convertReplicationPolicy appends filters: none -> null."""
    a = cluster.add("a")
    cluster.add("b")
    bare = cluster.link("a", "b")
    filtered = cluster.link("a", "b", policy_name="f", filters=[{"type": "name", "value": "x/**"}])
    with api(a) as c:
        assert check(c.get(f"/replication/policies/{bare}"))["filters"] is None
        assert check(c.get(f"/replication/policies/{filtered}"))["filters"] == [
            {"type": "name", "value": "x/**"}
        ]


def test_tags_newest_push_first(sim: SimInstance, client: httpx.Client) -> None:
    """pkg/tag/model/tag/model.go GetDefaultSorts: push_time desc, then id desc."""
    digest = sim.push("library/app", "a-first", content="same")
    for tag in ("c-second", "b-third"):
        sim.retag("library/app", tag, digest)
    order = ["b-third", "c-second", "a-first"]
    art = check(client.get("/projects/library/repositories/app/artifacts/a-first"))
    assert [t["name"] for t in art["tags"]] == order
    listed = check(client.get("/projects/library/repositories/app/artifacts/a-first/tags"))
    assert [t["name"] for t in listed] == order


@pytest.mark.parametrize(
    ("repo", "ref", "media_type", "manifest_media_type"),
    [
        # controller/artifact/manifest/v2.go: an image's media_type is its config descriptor's.
        (
            "nginx",
            "1.0",
            "application/vnd.oci.image.config.v1+json",
            "application/vnd.oci.image.manifest.v1+json",
        ),
        ("multi", "1", INDEX, INDEX),  # manifest/index.go: MediaType = ManifestMediaType
    ],
)
def test_media_type_is_the_config_media_type(
    client: httpx.Client, repo: str, ref: str, media_type: str, manifest_media_type: str
) -> None:
    """media_type is the config media type, manifest_media_type the manifest's."""
    art = check(client.get(f"/projects/library/repositories/{repo}/artifacts/{ref}"))
    assert (art["media_type"], art["manifest_media_type"]) == (media_type, manifest_media_type)


def test_docker_image_media_type(sim: SimInstance, client: httpx.Client) -> None:
    """A Docker v2 image reports the Docker config media type."""
    manifest = "application/vnd.docker.distribution.manifest.v2+json"
    sim.push("library/old", "1", media_type=manifest)
    art = check(client.get("/projects/library/repositories/old/artifacts/1"))
    assert art["media_type"] == "application/vnd.docker.container.image.v1+json"


def test_create_tag_fires_a_push_event(cluster: SimCluster) -> None:
    """handler/artifact.go CreateTag: 201, then a create-tag event replicates the new tag."""
    a, b = cluster.add("a"), cluster.add("b")
    a.create_project("library")
    digest = a.push("library/app", "v1")
    cluster.link("a", "b")
    path = "/projects/library/repositories/app/artifacts/v1/tags"
    with api(a) as c:
        created = c.post(path, json={"name": "stable"})
        again = c.post(path, json={"name": "stable"})
        missing_body = c.post(path)
    assert (created.status_code, again.status_code, missing_body.status_code) == (201, 409, 422)
    assert a.state.tag_map()[("library/app", "stable")] == digest
    wait_for(lambda: b.state.tag_map().get(("library/app", "stable")) == digest)
