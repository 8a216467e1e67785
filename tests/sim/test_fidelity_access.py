"""Issue 9, points 1, 3, 5, 10, 14, 16: who may call what, and in which order Harbor checks it.

Each case cites the Harbor source (goharbor/harbor ``src/``) whose behaviour it pins.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import httpx
import pytest

from syncd.sim import SimInstance
from tests.simkit import check, seed_catalog

if TYPE_CHECKING:
    from collections.abc import Iterator

CREDENTIALS = {
    "admin": ("admin", "Harbor12345"),
    "user": ("dev", "devpass"),  # member of team only
    "robot": ("robot$syncd", "s3cret"),  # system robot covering every project
    "project-robot": ("robot$ci", "c1"),  # project permissions on team only
    "anonymous": None,
}


@pytest.fixture(scope="module")
def rbac() -> Iterator[SimInstance]:
    """Start an instance with an admin, a plain user, a system robot and a project robot."""
    with SimInstance(
        "rbac",
        users={"admin": "Harbor12345", "dev": "devpass"},
        robots={"syncd": "s3cret", "ci": "c1"},
        members={"dev": ["team"], "ci": ["team"]},
    ) as inst:
        seed_catalog(inst)
        yield inst
        assert inst.errors == []


def _call(inst: SimInstance, who: str, method: str, path: str, **kw: object) -> httpx.Response:
    auth = CREDENTIALS[who]
    with httpx.Client(base_url=inst.url + "/api/v2.0", auth=auth, timeout=10) as c:
        return c.request(method, path, **kw)  # type: ignore[arg-type]


MISSING = "/projects/ghost"


@pytest.mark.parametrize(
    ("who", "path", "status"),
    [
        # handler/base.go RequireProjectAccess: a missing project is id 0; only a sysadmin passes.
        ("admin", f"{MISSING}/repositories", 404),
        ("robot", f"{MISSING}/repositories", 403),
        ("project-robot", f"{MISSING}/repositories", 403),
        ("user", f"{MISSING}/repositories", 403),
        ("anonymous", f"{MISSING}/repositories", 401),
        ("admin", MISSING, 404),
        ("user", MISSING, 403),
        ("anonymous", MISSING, 401),
        ("robot", f"{MISSING}/repositories/app/artifacts", 403),
        ("anonymous", f"{MISSING}/repositories/app/artifacts", 401),
        # handler/project.go ListArtifactsOfProject: RequireAuthenticated first.
        ("admin", f"{MISSING}/artifacts", 404),
        ("robot", f"{MISSING}/artifacts", 403),
        ("anonymous", "/projects/library/artifacts", 401),
        # A private project the caller is no member of.
        ("user", "/projects/library/repositories", 200),
        ("project-robot", "/projects/team/repositories", 200),
        ("robot", "/projects/team/repositories", 200),
        ("anonymous", "/projects/team/repositories", 401),
    ],
)
def test_project_scope_checks_permission_before_lookup(
    rbac: SimInstance, who: str, path: str, status: int
) -> None:
    """Project-scoped calls: robot/non-member 403, anonymous 401, sysadmin 404 (base.go)."""
    resp = _call(rbac, who, "GET", path)
    assert resp.status_code == status
    check(resp)


@pytest.mark.parametrize(
    "path",
    [
        "/projects/library/repositories/ghost/artifacts",  # repository missing
        "/projects/ghost/repositories/app/artifacts",  # project missing (sysadmin passes)
    ],
)
def test_artifacts_of_missing_repository_list_empty(rbac: SimInstance, path: str) -> None:
    """handler/artifact.go ListArtifacts queries by name without a lookup: 200 [], total 0."""
    resp = _call(rbac, "admin", "GET", path)
    assert (resp.status_code, check(resp), resp.headers["X-Total-Count"]) == (200, [], "0")


def test_single_artifact_of_missing_repository_is_404(rbac: SimInstance) -> None:
    """handler/artifact.go GetArtifact resolves the reference: a missing repository is 404."""
    resp = _call(rbac, "admin", "GET", "/projects/library/repositories/ghost/artifacts/1.0")
    assert resp.status_code == 404


SYSTEM_CALLS = [
    ("GET", "/replication/policies", None),
    ("GET", "/registries", None),
    ("GET", "/replication/executions", None),
    ("POST", "/replication/executions", {"policy_id": 1}),
]


@pytest.mark.parametrize("call", SYSTEM_CALLS)
@pytest.mark.parametrize(
    ("who", "status"), [("user", 403), ("project-robot", 403), ("anonymous", 401)]
)
def test_system_resources_need_system_access(
    rbac: SimInstance, who: str, status: int, call: tuple[str, str, object]
) -> None:
    """handler/replication.go, registry.go RequireSystemAccess: 403 non-admins, 401 anonymous."""
    method, path, body = call
    resp = _call(rbac, who, method, path, json=body)
    assert resp.status_code == status
    check(resp)


@pytest.mark.parametrize(("who", "status"), [("admin", 200), ("robot", 200)])
def test_system_callers_reach_system_resources(rbac: SimInstance, who: str, status: int) -> None:
    """A sysadmin and a system robot list policies (replication.go)."""
    assert _call(rbac, who, "GET", "/replication/policies").status_code == status


@pytest.mark.parametrize(
    ("who", "projects"),
    [
        ("admin", {"library", "team"}),
        ("robot", {"library", "team"}),
        ("user", {"library", "team"}),
        ("anonymous", {"library"}),
    ],
)
def test_project_list_visibility(rbac: SimInstance, who: str, projects: set[str]) -> None:
    """handler/project.go ListProjects: public projects plus the caller's own (all for admins)."""
    assert {p["name"] for p in _call(rbac, who, "GET", "/projects").json()} == projects


@pytest.mark.parametrize(
    ("who", "query", "status"),
    [
        ("admin", "?project_name=library", 200),
        ("admin", "?project_name=ghost", 404),
        ("anonymous", "?project_name=library", 401),  # handler/project.go HeadProject
        ("anonymous", "", 422),  # required query parameter: go-swagger, before the handler
        ("anonymous", "?project_name=", 422),  # validate.RequiredString: empty is missing
        ("admin", "", 422),
    ],
)
def test_head_project(rbac: SimInstance, who: str, query: str, status: int) -> None:
    """HEAD /projects: 422 without project_name, then a login (401), then 200/404."""
    assert _call(rbac, who, "HEAD", f"/projects{query}").status_code == status


@pytest.mark.parametrize(("who", "has_version"), [("admin", True), ("anonymous", False)])
def test_systeminfo_hides_version_from_anonymous(
    rbac: SimInstance, who: str, *, has_version: bool
) -> None:
    """handler/systeminfo.go: protected fields (harbor_version) only for a login."""
    body = check(_call(rbac, who, "GET", "/systeminfo"))
    assert ("harbor_version" in body) is has_version
    assert body["auth_mode"] == "db_auth"


def test_csrf_token_round_trip(rbac: SimInstance) -> None:
    """middleware/csrf/csrf.go: with sid, X-Harbor-CSRF-Token must match _gorilla_csrf."""
    with httpx.Client(base_url=rbac.url + "/api/v2.0", auth=CREDENTIALS["admin"]) as c:
        assert "_gorilla_csrf" not in c.get("/ping").headers.get("set-cookie", "")
        first = c.get("/projects")  # now carries sid: gorilla/csrf runs
        token = first.headers["X-Harbor-CSRF-Token"]
        assert "_gorilla_csrf" in c.cookies
        wrong = c.post(
            "/projects", json={"project_name": "x1"}, headers={"X-Harbor-CSRF-Token": "no"}
        )
        missing = c.post("/projects", json={"project_name": "x2"})
        ok = c.post(
            "/projects", json={"project_name": "x3"}, headers={"X-Harbor-CSRF-Token": token}
        )
    assert [r.status_code for r in (wrong, missing, ok)] == [403, 403, 201]
    assert wrong.json()["errors"][0]["message"] == "CSRF token invalid"
    assert missing.json()["errors"][0]["message"] == "CSRF token not found in request"
    assert "x3" in rbac.state.projects
    assert "x1" not in rbac.state.projects


def test_no_sid_skips_csrf(rbac: SimInstance) -> None:
    """middleware/csrf/csrf.go csrfSkipper: an API call without sid needs no token."""
    resp = _call(rbac, "admin", "POST", "/projects", json={"project_name": "nocookie"})
    assert resp.status_code == 201
    assert "X-Harbor-CSRF-Token" not in resp.headers
