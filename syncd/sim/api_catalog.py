"""``/api/v2.0`` liveness, system info, projects and repositories; the shared ``listing``.

Handlers follow ``src/server/v2.0/handler/{ping,health,systeminfo,project,repository}.go``.
"""

from __future__ import annotations

import weakref
from typing import TYPE_CHECKING, Any
from urllib.parse import unquote

from syncd.sim.access import existing_project, resource_name, visible
from syncd.sim.auth import require_login
from syncd.sim.catalog import SimError
from syncd.sim.faults import COMPONENTS
from syncd.sim.index import project_artifacts, repos_of
from syncd.sim.query import Getters, Page, apply_query, link_header, paginate
from syncd.sim.serialize import config_media_type, fmt_time, project_json, repo_json
from syncd.sim.state import SimRepo, utcnow
from syncd.sim.validate import PAGED, Params
from syncd.sim.web import Request, Response, Router

if TYPE_CHECKING:
    from collections.abc import Callable, Sequence

    from syncd.sim.state import SimState

__all__ = ["find_repo", "listing", "page_response", "router", "text_listing"]

router = Router()

PROJECT_KEYS: Getters = {
    "name": lambda p: p.name,
    "project_id": lambda p: p.id,
    "id": lambda p: p.id,
    "public": lambda p: p.public,
    "creation_time": lambda p: p.creation_time,
    "update_time": lambda p: p.update_time,
}
REPO_KEYS: Getters = {
    "name": lambda r: r.name,
    "id": lambda r: r.id,
    "repository_id": lambda r: r.id,
    "project_id": lambda r: r.project_id,
    "creation_time": lambda r: r.creation_time,
    "update_time": lambda r: r.update_time,
    "pull_count": lambda r: r.pull_count,
}
ARTIFACT_KEYS: Getters = {
    "id": lambda a: a.id,
    "digest": lambda a: a.digest,
    "push_time": lambda a: a.push_time,
    "pull_time": lambda a: a.pull_time,
    "type": lambda a: a.type,
    "media_type": lambda a: config_media_type(a.media_type),
}
TAG_KEYS: Getters = {
    "id": lambda t: t.id,
    "name": lambda t: t.name,
    "push_time": lambda t: t.push_time,
}


def listing(
    req: Request,
    items: Sequence[Any],
    keys: Getters,
    render: Callable[[Any], dict[str, Any]],
    *,
    default_sort: str,
    use_q: bool = True,
) -> Response:
    """Filter, sort, paginate and render a list with ``X-Total-Count`` and ``Link``.

    ``Link`` repeats every parameter of the request, ``q`` included (``handler/base.go`` Links
    builds it from the request URL), even where the operation ignores ``q`` (``use_q=False``).
    """
    page = Page(req.query)
    query = req.query if use_q else {k: v for k, v in req.query.items() if k != "q"}
    matched = apply_query(items, query, keys, default_sort=default_sort)
    rows = [render(it) for it in paginate(matched, page)]
    return page_response(req, page, total=len(matched), rows=rows)


def text_listing(
    req: Request,
    items: Sequence[Any],
    keys: Getters,
    render_page: Callable[[list[Any]], str],
    *,
    default_sort: str,
) -> Response:
    """Run ``listing`` with the page's rows rendered at once as JSON text (``rows_text``)."""
    page = Page(req.query)
    matched = apply_query(items, req.query, keys, default_sort=default_sort)
    text = render_page(paginate(matched, page))
    return page_response(req, page, total=len(matched), json_text=text)


def page_response(
    req: Request,
    page: Page,
    *,
    total: int,
    rows: list[dict[str, Any]] | None = None,
    json_text: str | None = None,
) -> Response:
    """One page (``rows``, or rows already encoded) with ``X-Total-Count`` and ``Link``."""
    headers = {"X-Total-Count": str(total)}
    link = link_header(req.path, req.query, page, total)
    if link:
        headers["Link"] = link
    return Response(200, rows, json_text=json_text, headers=headers)


# Sorting every repository for every page made one page of a 50k-repository instance cost
# ~13 ms. Repository rows are never removed (see api_project) and names never change, so
# the name order stays valid while the count of repositories is unchanged.
_NAME_ORDER: weakref.WeakKeyDictionary[SimState, tuple[int, list[str]]] = (
    weakref.WeakKeyDictionary()
)


def _names_sorted(state: SimState) -> list[str]:
    """Every repository name in order (call with ``state.lock`` held)."""
    cached = _NAME_ORDER.get(state)
    if cached is None or cached[0] != len(state.repos):
        cached = (len(state.repos), sorted(state.repos))
        _NAME_ORDER[state] = cached
    return cached[1]


def _name_page(req: Request, state: SimState) -> Response | None:
    """One page by name in O(page), or None where the general path must filter or sort."""
    if req.query.get("q") or req.query.get("sort") != "name":
        return None
    if not (req.principal.system or all(visible(req, p) for p in state.projects.values())):
        return None
    names, page = _names_sorted(state), Page(req.query)
    rows = [_repo_row(state, name) for name in paginate(names, page)]
    return page_response(req, page, total=len(names), rows=rows)


def _repo_row(state: SimState, name: str) -> dict[str, Any]:
    counts = project_artifacts(state, name.partition("/")[0]).counts
    return repo_json(state.repos[name], artifact_count=counts[name])


@router.route("GET", "/ping")
def ping(_req: Request) -> Response:
    """Process-alive check."""
    return Response(200, text="Pong")


@router.route("GET", "/health")
def health(req: Request) -> Response:
    """Answer 200 always; components sorted by name, healthy only if all are."""
    bad = req.inst.faults.unhealthy
    components = []
    for name in COMPONENTS:
        item = {"name": name, "status": "unhealthy" if name in bad else "healthy"}
        if name in bad:
            item["error"] = f"failed to check health of {name}"
        components.append(item)
    status = "unhealthy" if bad & set(COMPONENTS) else "healthy"
    return Response(200, {"status": status, "components": components})


@router.route("GET", "/systeminfo")
def systeminfo(req: Request) -> Response:
    """General info; ``harbor_version`` and the other protected fields only for a login.

    ``handler/systeminfo.go`` asks the controller for protected info only when the security
    context is authenticated; anonymous callers get the auth settings and the banner.
    """
    body: dict[str, Any] = {"auth_mode": "db_auth", "primary_auth_mode": False}
    body |= {"self_registration": False, "banner_message": "", "oidc_provider_name": ""}
    if req.principal.authenticated:
        body |= {
            "harbor_version": req.inst.harbor_version,
            "external_url": req.inst.url,
            "registry_url": req.inst.url.split("://", 1)[-1],
            "read_only": False,
            "current_time": fmt_time(utcnow()),
            "has_ca_root": False,
            "project_creation_restriction": "everyone",
            "registry_storage_provider_name": "filesystem",
            "notification_enable": True,
        }
    return Response(200, body)


@router.route("HEAD", "/projects", params=Params(required=frozenset({"project_name"})))
def head_project(req: Request) -> Response:
    """Existence check by ``project_name``: a login first (401), then 200 or 404."""
    require_login(req.principal)
    if req.query["project_name"] not in req.inst.state.projects:
        raise SimError(404, "NOT_FOUND", f"project {req.query['project_name']} not found")
    return Response(200)


@router.route("GET", "/projects", params=PAGED | Params({"with_detail": "bool", "public": "bool"}))
def list_projects(req: Request) -> Response:
    """Projects the caller may see: public ones, its own, or all for an administrator."""
    state = req.inst.state
    with state.lock:
        items = [p for p in state.projects.values() if visible(req, p)]
        if "name" in req.query:
            items = [p for p in items if req.query["name"].lower() in p.name.lower()]
        if "public" in req.query:
            items = [p for p in items if p.public == req.flag("public", default=False)]
        detail = req.flag("with_detail", default=True)
        return listing(
            req,
            items,
            PROJECT_KEYS,
            lambda p: project_json(p, state, detail=detail),
            default_sort="name",
        )


@router.route("POST", "/projects")
def create_project(req: Request) -> Response:
    """Create a project (for test setup)."""
    require_login(req.principal)
    body = req.json() or {}
    public = str((body.get("metadata") or {}).get("public", "false")).lower() == "true"
    project = req.inst.catalog.create_project(str(body.get("project_name", "")), public=public)
    return Response(201, headers={"Location": f"/api/v2.0/projects/{project.id}"})


@router.route("GET", "/projects/{project}")
def get_project(req: Request) -> Response:
    """One project by name or id (``X-Is-Resource-Name: true`` forces the name)."""
    with req.inst.state.lock:
        project = existing_project(req, req.params["project"], force_name=resource_name(req))
        return Response(200, project_json(project, req.inst.state, detail=True))


@router.route("GET", "/repositories", params=PAGED)
def list_all_repos(req: Request) -> Response:
    """Repositories of every project the caller can see."""
    state = req.inst.state
    with state.lock:
        fast = _name_page(req, state)
        if fast is not None:
            return fast
        items = [r for r in state.repos.values() if visible(req, state.project_of(r))]
        return listing(req, items, REPO_KEYS, repo_json, default_sort="-creation_time,-id")


@router.route("GET", "/projects/{project}/repositories", params=PAGED)
def list_repos(req: Request) -> Response:
    """Repositories of one project: 401/403 before the lookup, 404 after it."""
    state = req.inst.state
    with state.lock:
        project = existing_project(req, req.params["project"])
        items = [state.repos[name] for name in repos_of(state, project.name)]
        return listing(req, items, REPO_KEYS, repo_json, default_sort="-creation_time,-id")


def find_repo(req: Request, *, write: bool = False) -> SimRepo:
    """Find the path's repository: permission (401/403), then project and repository (404)."""
    project = existing_project(req, req.params["project"], write=write)
    # The router decoded the path once; Harbor decodes the repository name a second time.
    name = f"{project.name}/{unquote(req.params['repo'])}"
    repo = req.inst.state.repos.get(name)
    if repo is None:
        raise SimError(404, "NOT_FOUND", f"repository {name} not found")
    return repo


@router.route("GET", "/projects/{project}/repositories/{repo}")
def get_repo(req: Request) -> Response:
    """One repository."""
    with req.inst.state.lock:
        return Response(200, repo_json(find_repo(req)))
