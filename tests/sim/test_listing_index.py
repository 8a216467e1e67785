"""The listing indexes (repositories by name, a project's artifacts): pages as the sorting path."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import httpx
import pytest

from syncd.sim import SimInstance
from tests.simkit import api

if TYPE_CHECKING:
    from collections.abc import Callable

REPOS = [f"{p}/r{i:02d}" for p in ("zeta", "alpha", "mid") for i in (3, 1, 2, 10)]


def _page(c: httpx.Client, *, sort: str, page: int, size: int) -> tuple[list[str], str, bool]:
    resp = c.get("/repositories", params={"sort": sort, "page": page, "page_size": size})
    resp.raise_for_status()
    names = [row["name"] for row in resp.json()]
    return names, resp.headers["X-Total-Count"], "Link" in resp.headers


@pytest.mark.parametrize(("page", "size"), [(1, 5), (2, 5), (3, 5), (4, 5), (1, 100), (2, 7)])
def test_name_pages_equal_the_sorting_path(page, size):
    """Each page by name equals the general path's (sort name,id: by name, stable)."""
    with SimInstance("v") as sim, api(sim) as c:
        for project in ("zeta", "alpha", "mid"):
            sim.create_project(project, public=project != "mid")
        for name in REPOS:
            sim.push(name, "v1", content=name)
        fast = _page(c, sort="name", page=page, size=size)
        assert fast == _page(c, sort="name,id", page=page, size=size)
        assert fast[0] == sorted(REPOS)[(page - 1) * size : page * size]


def test_new_repository_appears_and_hidden_projects_stay_hidden():
    """A repository pushed after a listing shows up; an anonymous caller sees public ones only."""
    with SimInstance("v") as sim, api(sim) as c:
        sim.create_project("pub", public=True)
        sim.create_project("priv")
        sim.push("pub/a", "v1")
        sim.push("priv/b", "v1")
        assert _page(c, sort="name", page=1, size=10)[0] == ["priv/b", "pub/a"]
        sim.push("pub/0", "v1")
        assert _page(c, sort="name", page=1, size=10)[0] == ["priv/b", "pub/0", "pub/a"]
        with httpx.Client(base_url=sim.url + "/api/v2.0") as anonymous:
            assert _page(anonymous, sort="name", page=1, size=10)[0] == ["pub/0", "pub/a"]


ARTS = "/projects/{project}/artifacts"
FLAGS = {"with_tag": "true", "with_label": "true", "with_accessory": "true"}


def _project_rows(c: httpx.Client, project: str, **params: str) -> tuple[list[Any], str]:
    query = {**FLAGS, "page_size": "100", **params}
    resp = c.get(ARTS.format(project=project), params=query)
    resp.raise_for_status()
    return resp.json(), resp.headers["X-Total-Count"]


def _per_repository(c: httpx.Client, project: str) -> list[Any]:
    """List a project's rows through the per-repository listings (no project index)."""
    rows: list[Any] = []
    for repo in c.get(f"/projects/{project}/repositories", params={"page_size": "100"}).json():
        short = repo["name"].split("/", 1)[1]
        path = f"/projects/{project}/repositories/{short}/artifacts"
        rows += c.get(path, params={**FLAGS, "page_size": "100"}).json()
    return sorted(rows, key=lambda a: (a["push_time"], a["id"]), reverse=True)


def _seed(sim: SimInstance) -> None:
    sim.create_project("p")
    for i in range(12):
        sim.push(f"p/r{i % 3}", f"t{i}", content=f"c{i}")
    sig_of = sim.push("p/r0", "signed", content="signed")
    sim.push("p/r0", None, content="sig", accessory_of=sig_of, artifact_type="SIGNATURE")
    kids = (sim.push("p/r1", None, content="amd64"), sim.push("p/r1", None, content="arm64"))
    sim.push("p/r1", "multi", references=kids)


@pytest.mark.parametrize(("page", "size"), [(1, 5), (2, 5), (4, 5), (1, 100), (2, 7)])
def test_project_pages_equal_the_sorting_path(page: int, size: int) -> None:
    """Each default-order page of a project's artifacts equals the general path's page."""
    with SimInstance("v") as sim, api(sim) as c:
        _seed(sim)
        params = {"page": str(page), "page_size": str(size)}
        fast = _project_rows(c, "p", **params)
        assert fast == _project_rows(c, "p", sort="-push_time,-id", **params)
        assert fast[0] == _per_repository(c, "p")[(page - 1) * size : page * size]


CHANGES: list[Callable[[SimInstance], object]] = [
    lambda sim: sim.push("p/r2", "new", content="new"),
    lambda sim: sim.push("p/r0", "t0", content="moved"),
    lambda sim: sim.retag("p/r1", "again", sim.state.repos["p/r1"].tag_index["t1"]),
    lambda sim: sim.delete_tag("p/r2", "t2"),
    lambda sim: sim.delete_artifact("p/r1", sim.state.repos["p/r1"].tag_index["multi"]),
    lambda sim: sim.pull("p/r0", "t3"),
    lambda sim: sim.push("p/r9", "fresh", content="a new repository"),
]


@pytest.mark.parametrize("change", CHANGES)
def test_project_listing_follows_changes(change: Callable[[SimInstance], object]) -> None:
    """After any catalog change the project listing and artifact counts show it at once."""
    with SimInstance("v") as sim, api(sim) as c:
        _seed(sim)
        before = _project_rows(c, "p")
        change(sim)
        rows, total = _project_rows(c, "p")
        assert rows != before[0]
        assert rows == _per_repository(c, "p")
        assert total == str(len(rows))
        listed = c.get("/repositories", params={"sort": "name", "page_size": "100"}).json()
        for repo in listed:
            single = c.get(f"/projects/p/repositories/{repo['name'].split('/', 1)[1]}").json()
            assert repo["artifact_count"] == single["artifact_count"]
