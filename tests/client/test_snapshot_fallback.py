"""Older Harbor (< v2.12): the missing project-wide listing is asked once per client and version."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from syncd.engine.snapshot import Scope, has_project_listing, snapshot

API = "/api/v2.0"
NOW = datetime(2026, 1, 1, tzinfo=UTC)
PROJECTS = ("lib", "app", "ops")


REPOS = ("r", "s")  # two repositories per project: one project listing beats two


def _serve(router, *, project_listing: bool) -> None:
    repos = [{"name": f"{p}/{r}", "artifact_count": 1} for p in PROJECTS for r in REPOS]
    router.get(f"{API}/repositories").respond(200, json=repos, headers={"X-Total-Count": "6"})
    for n, project in enumerate(PROJECTS):
        arts = {
            r: {"digest": f"sha256:{n:063x}{i}", "tags": [{"name": "v1"}]}
            for i, r in enumerate(REPOS)
        }
        listing = router.get(f"{API}/projects/{project}/artifacts")
        if project_listing:
            rows = [{**a, "repository_name": f"{project}/{r}"} for r, a in arts.items()]
            listing.respond(200, json=rows, headers={"X-Total-Count": "2"})
        else:
            listing.respond(404, json={"errors": [{"code": "NOT_FOUND", "message": "no route"}]})
        for r, art in arts.items():
            router.get(f"{API}/projects/{project}/repositories/{r}/artifacts").respond(
                200, json=[art], headers={"X-Total-Count": "1"}
            )


def _project_calls(sent) -> int:
    return sum(
        1
        for r in sent
        if r.url.path.startswith(f"{API}/projects/") and "/repositories/" not in r.url.path
    )


def _take(client, version: str) -> None:
    catalog, _ = snapshot(
        client, previous=None, scope=Scope(), now=NOW, incremental=False, version=version
    )
    assert sorted(catalog.repositories) == sorted(f"{p}/{r}" for p in PROJECTS for r in REPOS)
    assert all(len(r.artifacts) == 1 for r in catalog.repositories.values())


def test_fallback_is_remembered_for_the_version(client, router, sent):
    """After a 404 on v2.11 the route is not asked again, in this pass or later ones."""
    _serve(router, project_listing=False)
    _take(client, "v2.11.1-abc")
    first = _project_calls(sent)
    assert 1 <= first <= len(PROJECTS)  # concurrent listings may each ask before the first 404
    for _ in range(2):
        _take(client, "v2.11.1-abc")
    assert _project_calls(sent) == first


def test_an_upgrade_asks_again(client, router, sent):
    """Another harbor_version (an upgrade) tries the project-wide listing again."""
    _serve(router, project_listing=False)
    _take(client, "v2.11.1")
    before = _project_calls(sent)
    _take(client, "v2.11.2")
    assert _project_calls(sent) > before


def test_modern_harbor_404_is_a_missing_project_not_a_missing_route(client, router, sent):
    """On v2.12+ a 404 is a project gone meanwhile: the next snapshot asks the route again."""
    _serve(router, project_listing=False)
    _take(client, "v2.15.0")
    assert _project_calls(sent) == len(PROJECTS)
    _take(client, "v2.15.0")
    assert _project_calls(sent) == 2 * len(PROJECTS)


@pytest.mark.parametrize(
    ("version", "expected"),
    [("v2.12.0", True), ("v2.15.2-abc", True), ("2.13.1", True), ("v2.11.9", False),
     ("v1.10.0", False), ("", False), ("dev", False)],
)  # fmt: skip
def test_has_project_listing(version, expected):
    """The project-wide listing exists from v2.12.0 on; an unknown version is not trusted."""
    assert has_project_listing(version) is expected
