"""Harbor's API quirks as the simulator reproduces them: paging, q/sort, auth, CSRF, encoding."""

from __future__ import annotations

import httpx
import pytest

from syncd.sim import SimInstance
from tests.simkit import AUTH, api, check


def test_page_size_over_100_is_422(client: httpx.Client) -> None:
    """page_size=101 gives go-swagger's 422 validation message."""
    resp = client.get("/projects", params={"page_size": 101})
    assert resp.status_code == 422
    assert resp.json()["errors"][0] == {
        "code": "UNPROCESSABLE_ENTITY",
        "message": "validation failure list:\n"
        "page_size in query should be less than or equal to 100",
    }


def test_link_header_is_path_only_and_unescaped(sim: SimInstance, client: httpx.Client) -> None:
    """Link carries prev and next joined by ' , ', path-only, with the query unescaped."""
    for i in range(3):
        sim.create_project(f"p{i}")
    resp = client.get("/projects", params={"page": 2, "page_size": 1, "q": "name={p0 p1 p2}"})
    assert resp.headers["X-Total-Count"] == "3"
    assert [p["name"] for p in resp.json()] == ["p1"]
    assert resp.headers["Link"] == (
        '</api/v2.0/projects?page=1&page_size=1&q=name={p0 p1 p2}>; rel="prev" , '
        '</api/v2.0/projects?page=3&page_size=1&q=name={p0 p1 p2}>; rel="next"'
    )
    assert "Link" not in client.get("/projects", params={"q": "name=none"}).headers


@pytest.mark.parametrize(
    ("q", "sort", "expected"),
    [
        ("name=library", "", ["library"]),
        ("name=~EAM", "", ["team"]),
        ("name={team library}", "-name", ["team", "library"]),
        ("bogus=1", "bogus", ["library", "team"]),
        ("creation_time=[2000-01-01T00:00:00~]", "name", ["library", "team"]),
        ("creation_time=[~2000-01-01T00:00:00]", "", []),
    ],
)
def test_q_and_sort_on_projects(
    client: httpx.Client, q: str, sort: str, expected: list[str]
) -> None:
    """Exact, fuzzy, OR-list and range q clauses apply; unknown keys are ignored."""
    params = {"q": q, **({"sort": sort} if sort else {})}
    assert [p["name"] for p in client.get("/projects", params=params).json()] == expected


def test_wrong_password_is_anonymous(sim: SimInstance) -> None:
    """Bad credentials see public projects only and get 401 on guarded endpoints."""
    with httpx.Client(base_url=sim.url + "/api/v2.0", auth=("admin", "wrong")) as bad:
        assert [p["name"] for p in bad.get("/projects").json()] == ["library"]
        assert {r["name"] for r in bad.get("/repositories").json()} == {
            "library/nginx",
            "library/multi",
        }
        assert bad.get("/replication/policies", params={"page_size": 1}).status_code == 401
        assert bad.get("/projects/team/repositories").status_code == 401
        assert bad.get("/registries").status_code == 401


def test_robot_account_authenticates(sim: SimInstance) -> None:
    """robot$name with its secret sees private projects."""
    with httpx.Client(base_url=sim.url + "/api/v2.0", auth=("robot$syncd", "s3cret")) as robot:
        assert {p["name"] for p in robot.get("/projects").json()} == {"library", "team"}
        assert robot.get("/replication/policies").status_code == 200


def test_sid_cookie_triggers_csrf(sim: SimInstance) -> None:
    """Every API response sets sid; a POST that sends it back without the token gets 403."""
    with httpx.Client(base_url=sim.url + "/api/v2.0", auth=AUTH) as keeps_cookies:
        first = keeps_cookies.get("/projects")
        assert "sid=" in first.headers["set-cookie"]
        assert keeps_cookies.get("/projects").status_code == 200
        resp = keeps_cookies.post("/replication/executions", json={"policy_id": 1})
    assert resp.status_code == 403
    assert resp.json()["errors"][0]["message"] == "CSRF token not found in request"


def test_request_id_is_echoed(client: httpx.Client) -> None:
    """X-Request-Id is echoed when sent and generated otherwise."""
    assert client.get("/ping", headers={"X-Request-Id": "abc"}).headers["X-Request-Id"] == "abc"
    assert client.get("/ping").headers["X-Request-Id"]


def test_repository_names_are_double_encoded(client: httpx.Client) -> None:
    """a/b must be sent as a%252Fb; single encoding does not reach the repository."""
    assert client.get("/projects/team/repositories/sub%252Fapp").json()["name"] == "team/sub/app"
    assert client.get("/projects/team/repositories/sub%252Fapp/artifacts").status_code == 200
    assert client.get("/projects/team/repositories/sub%2Fapp").status_code == 404


def test_artifact_listing_hides_children_and_accessories(client: httpx.Client) -> None:
    """Index children and accessories are not listed; accessories embed with with_accessory."""
    multi = client.get("/projects/library/repositories/multi/artifacts").json()
    assert [len(a["references"]) for a in multi] == [2]
    base = client.get("/projects/library/repositories/multi/artifacts", params={"q": "base=*"})
    assert base.headers["X-Total-Count"] == "3"
    nginx = client.get(
        "/projects/library/repositories/nginx/artifacts",
        params={"with_accessory": "true", "with_label": "true"},
    ).json()
    assert len(nginx) == 3
    tagged = [a for a in nginx if a.get("tags")]
    signed = next(a for a in tagged if a["tags"][0]["name"] == "1.0")
    assert len(signed["accessories"]) == 1
    assert [label["name"] for label in signed["labels"]] == ["prod"]
    repo = client.get("/projects/library/repositories/nginx").json()
    assert repo["artifact_count"] == 3
    untagged = client.get(
        "/projects/library/repositories/nginx/artifacts", params={"q": "tags=nil"}
    )
    assert untagged.headers["X-Total-Count"] == "1"


@pytest.mark.parametrize(("version", "bumped"), [("v2.15.2-abc", True), ("v2.14.0-abc", False)])
def test_update_time_bump_depends_on_version(version: str, bumped: bool) -> None:
    """Repository update_time moves on tag create only from v2.15.2; never on HEAD."""
    with SimInstance("v", harbor_version=version) as sim, api(sim) as c:
        sim.create_project("p")
        sim.push("p/r", "1")
        before = sim.state.repos["p/r"].update_time
        sim.state.repos["p/r"].update_time = before.replace(year=2000)
        sim.push("p/r", "2")
        c.head("/projects/p/repositories/r/artifacts/2")
        moved = sim.state.repos["p/r"].update_time.year != 2000
        assert moved is bumped
        assert c.get("/systeminfo").json()["harbor_version"] == version


def test_systeminfo_hides_version_from_anonymous(sim: SimInstance) -> None:
    """Anonymous callers get systeminfo without protected fields."""
    body = httpx.get(sim.url + "/api/v2.0/systeminfo").json()
    assert "harbor_version" not in body
    assert body["auth_mode"] == "db_auth"


def test_health_is_always_200(sim: SimInstance, client: httpx.Client) -> None:
    """An unhealthy component makes the overall status unhealthy, still with 200."""
    sim.set_component_health("jobservice", False)
    resp = client.get("/health")
    assert resp.status_code == 200
    body = check(resp)
    assert body["status"] == "unhealthy"
    assert [c["name"] for c in body["components"]] == sorted(c["name"] for c in body["components"])
    assert next(c for c in body["components"] if c["name"] == "jobservice")["status"] == "unhealthy"


def test_rate_limit_gives_429_with_retry_after(sim: SimInstance, client: httpx.Client) -> None:
    """The next n requests get 429 with Retry-After, then service resumes."""
    sim.set_rate_limit(2, retry_after=7)
    statuses = [client.get("/projects") for _ in range(3)]
    assert [r.status_code for r in statuses] == [429, 429, 200]
    assert statuses[0].headers["Retry-After"] == "7"


def test_failures_are_reduced_to_internal_server_error(
    sim: SimInstance, client: httpx.Client
) -> None:
    """Injected 5xx answers say only 'internal server error'; /ping is not spared."""
    sim.set_failure_rate(1.0, seed=1)
    resp = client.get("/ping")
    assert resp.status_code == 500
    assert resp.json()["errors"][0]["message"] == "internal server error"
    sim.set_failure_rate(0.0)
    assert client.get("/ping").text == "Pong"
    assert [s for _, _, s in sim.request_log][-2:] == [500, 200]
