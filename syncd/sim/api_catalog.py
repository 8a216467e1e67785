"""``/api/v2.0`` liveness, system info, projects, repositories, artifacts and tags."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any
from urllib.parse import unquote

from syncd.sim.auth import require_login
from syncd.sim.catalog import SimError
from syncd.sim.faults import COMPONENTS
from syncd.sim.query import Getters, Page, apply_query, link_header, paginate
from syncd.sim.serialize import artifact_json, fmt_time, project_json, repo_json, tag_json
from syncd.sim.state import SimArtifact, SimProject, SimRepo, utcnow
from syncd.sim.web import Request, Response, Router

if TYPE_CHECKING:
    from collections.abc import Callable, Sequence

__all__ = ["listing", "router"]

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
    "media_type": lambda a: a.media_type,
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
) -> Response:
    """Filter, sort, paginate and render a list with ``X-Total-Count`` and ``Link``."""
    page = Page(req.query)
    matched = apply_query(items, req.query, keys, default_sort=default_sort)
    headers = {"X-Total-Count": str(len(matched))}
    link = link_header(req.path, req.query, page, len(matched))
    if link:
        headers["Link"] = link
    return Response(200, [render(it) for it in paginate(matched, page)], headers=headers)


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
    """General info; protected fields only for authenticated callers."""
    body: dict[str, Any] = {"auth_mode": "db_auth", "primary_auth_mode": False}
    body["self_registration"] = False
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


def visible_project(req: Request, name: str, *, force_name: bool = False) -> SimProject:
    """Return a readable project: 404 if missing, 401 if private and anonymous."""
    project = req.inst.state.project_by_ref(name, force_name=force_name)
    if project is None:
        raise SimError(404, "NOT_FOUND", f"project {name} not found")
    if not project.public and not req.principal.authenticated:
        raise SimError(401, "UNAUTHORIZED", "UnAuthorized")
    return project


@router.route("HEAD", "/projects")
def head_project(req: Request) -> Response:
    """Existence check by ``project_name``."""
    found = req.inst.state.projects.get(req.query.get("project_name", ""))
    return Response(200 if found else 404)


@router.route("GET", "/projects")
def list_projects(req: Request) -> Response:
    """Projects; anonymous callers see only public ones."""
    state = req.inst.state
    with state.lock:
        items = [p for p in state.projects.values() if p.public or req.principal.authenticated]
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
    force = (req.headers.get("X-Is-Resource-Name") or "").lower() == "true"
    with req.inst.state.lock:
        project = visible_project(req, req.params["project"], force_name=force)
        return Response(200, project_json(project, req.inst.state, detail=True))


@router.route("GET", "/repositories")
def list_all_repos(req: Request) -> Response:
    """Repositories of every project the caller can see."""
    state = req.inst.state
    with state.lock:
        items = [
            r
            for r in state.repos.values()
            if req.principal.authenticated or state.project_of(r).public
        ]
        return listing(req, items, REPO_KEYS, repo_json, default_sort="-creation_time,-id")


@router.route("GET", "/projects/{project}/repositories")
def list_repos(req: Request) -> Response:
    """Repositories of one project."""
    state = req.inst.state
    with state.lock:
        project = visible_project(req, req.params["project"], force_name=True)
        prefix = project.name + "/"
        items = [r for n, r in state.repos.items() if n.startswith(prefix)]
        return listing(req, items, REPO_KEYS, repo_json, default_sort="-creation_time,-id")


def _repo(req: Request) -> SimRepo:
    project = visible_project(req, req.params["project"], force_name=True)
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
        return Response(200, repo_json(_repo(req)))


def _tags_clause(query: dict[str, str]) -> tuple[dict[str, str], Callable[[SimArtifact], bool]]:
    parts = unquote(query.get("q", "")).split(",")
    clause = next((p for p in parts if p.startswith("tags=")), None)
    if clause is None:
        return query, lambda _a: True
    rest = {**query, "q": ",".join(p for p in parts if p is not clause)}
    want = clause.removeprefix("tags=")
    if want == "*":
        return rest, lambda a: bool(a.tags)
    if want == "nil":
        return rest, lambda a: not a.tags
    if want.startswith("~"):
        return rest, lambda a: any(want[1:].lower() in t.lower() for t in a.tags)
    return rest, lambda a: want in a.tags


@router.route("GET", "/projects/{project}/repositories/{repo}/artifacts")
def list_artifacts(req: Request) -> Response:
    """List artifacts: no accessories, no untagged index children (unless ``base=*``)."""
    state = req.inst.state
    with state.lock:
        repo = _repo(req)
        base_all = "base=*" in unquote(req.query.get("q", "")).split(",")
        items = [a for a in repo.artifacts.values() if a.accessory_of is None]
        items = items if base_all else repo.visible()
        query, tag_ok = _tags_clause(req.query)
        items = [a for a in items if tag_ok(a)]
        flags = _flags(req)
        req.query, original = query, req.query
        resp = listing(
            req,
            items,
            ARTIFACT_KEYS,
            lambda a: artifact_json(repo, a, state, flags=flags),
            default_sort="-push_time,-id",
        )
        req.query = original
        return resp


def _flags(req: Request) -> dict[str, bool]:
    return {
        "with_tag": req.flag("with_tag", default=True),
        "with_label": req.flag("with_label", default=False),
        "with_accessory": req.flag("with_accessory", default=False),
    }


@router.route("GET", "/projects/{project}/repositories/{repo}/artifacts/{ref}")
def get_artifact(req: Request) -> Response:
    """One artifact by tag or digest."""
    state = req.inst.state
    with state.lock:
        repo = _repo(req)
        art = req.inst.catalog.resolve(repo.name, req.params["ref"])
        return Response(200, artifact_json(repo, art, state, flags=_flags(req)))


@router.route("DELETE", "/projects/{project}/repositories/{repo}/artifacts/{ref}")
def delete_artifact(req: Request) -> Response:
    """Delete an artifact (publishes a delete event)."""
    require_login(req.principal)
    with req.inst.state.lock:
        repo = _repo(req)
        events = req.inst.catalog.delete_artifact(repo.name, req.params["ref"])
    req.inst.engine.on_events(events)
    return Response(200)


@router.route("GET", "/projects/{project}/repositories/{repo}/artifacts/{ref}/tags")
def list_tags(req: Request) -> Response:
    """Tags of one artifact."""
    state = req.inst.state
    with state.lock:
        repo = _repo(req)
        art = req.inst.catalog.resolve(repo.name, req.params["ref"])
        return listing(
            req,
            list(art.tags.values()),
            TAG_KEYS,
            lambda t: tag_json(repo, art, t.name),
            default_sort="id",
        )


@router.route("DELETE", "/projects/{project}/repositories/{repo}/artifacts/{ref}/tags/{tag}")
def delete_tag(req: Request) -> Response:
    """Delete one tag (publishes a tag-delete event)."""
    require_login(req.principal)
    with req.inst.state.lock:
        repo = _repo(req)
        art = req.inst.catalog.resolve(repo.name, req.params["ref"])
        if req.params["tag"] not in art.tags:
            # Harbor looks the tag up under the referenced artifact: a tag that now points at
            # another artifact is "not found" there, and nothing is deleted.
            raise SimError(404, "NOT_FOUND", f"tag {req.params['tag']} not found on {art.digest}")
        events = req.inst.catalog.delete_tag(repo.name, req.params["tag"])
    req.inst.engine.on_events(events)
    return Response(200)
