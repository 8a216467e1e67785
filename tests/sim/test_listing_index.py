"""The name-ordered repository index: ``GET /repositories?sort=name`` pages as the sorting path."""

from __future__ import annotations

import httpx
import pytest

from syncd.sim import SimInstance
from tests.simkit import api

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
