"""``/api/v2.0`` artifacts and tags of one repository (``src/server/v2.0/handler/artifact.go``).

The listing runs the permission check and then queries by repository name without looking the
repository up: a missing repository (or, for an administrator, a missing project) lists as 200
``[]`` with ``X-Total-Count: 0``. Single-artifact calls resolve the reference and 404.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any
from urllib.parse import unquote

from syncd.sim.access import project_access
from syncd.sim.api_catalog import ARTIFACT_KEYS, TAG_KEYS, find_repo, listing, text_listing
from syncd.sim.auth import require_login
from syncd.sim.catalog import SimError
from syncd.sim.index import accessories_by_subject
from syncd.sim.query import q_clauses
from syncd.sim.render import Flags, rows_text
from syncd.sim.serialize import artifact_json, tag_json
from syncd.sim.validate import PAGED, Body, Params
from syncd.sim.web import Request, Response, Router

if TYPE_CHECKING:
    from collections.abc import Callable

    from syncd.sim.state import SimArtifact, SimRepo, SimState

__all__ = ["FLAGS", "flags_of", "router"]

router = Router()

FLAGS = Params(dict.fromkeys(("with_tag", "with_label", "with_accessory"), "bool"))
LABELS_ONLY_AND = (
    'the value of "labels" query can only be integer list with intersetion relationship'
)


def flags_of(req: Request) -> Flags:
    """Read the ``with_*`` flags of an artifact request, with Harbor's defaults."""
    return Flags(
        with_tag=req.flag("with_tag", default=True),
        with_label=req.flag("with_label", default=False),
        with_accessory=req.flag("with_accessory", default=False),
    )


def _tags_filter(want: str) -> Callable[[SimArtifact], bool]:
    """``q=tags=``: ``*`` tagged, ``nil`` untagged, ``~x`` SQL LIKE (case-sensitive), else exact.

    ``src/pkg/artifact/dao/dao.go`` setTagQuery.
    """
    if want == "*":
        return lambda a: bool(a.tags)
    if want == "nil":
        return lambda a: not a.tags
    if want.startswith("~"):
        return lambda a: any(want[1:] in t for t in a.tags)
    return lambda a: want in a.tags


def _labels_filter(want: str, state: SimState) -> Callable[[SimArtifact], bool]:
    """``q=labels=(id1 id2)``: artifacts carrying every label id (dao.go setLabelQuery)."""
    ids = want[1:-1].split() if want.startswith("(") and want.endswith(")") else None
    if ids is None or not all(i.isdigit() for i in ids):
        raise SimError(400, "BAD_REQUEST", LABELS_ONLY_AND)
    wanted = {int(i) for i in ids}
    return lambda a: wanted <= {state.label_id(n) for n in a.labels}


def _special(req: Request, repo: SimRepo) -> list[SimArtifact]:
    """Return the artifacts the special ``q`` keys (``base``, ``tags``, ``labels``) leave."""
    clauses = dict(q_clauses(req.query.get("q", "")))
    items = [a for a in repo.artifacts.values() if a.accessory_of is None]
    if clauses.get("base") != "*":
        shown = {a.digest for a in repo.visible()}
        items = [a for a in items if a.digest in shown]
    if "tags" in clauses:
        items = list(filter(_tags_filter(clauses["tags"]), items))
    if "labels" in clauses:
        items = list(filter(_labels_filter(clauses["labels"], req.inst.state), items))
    return items


@router.route("GET", "/projects/{project}/repositories/{repo}/artifacts", params=PAGED | FLAGS)
def list_artifacts(req: Request) -> Response:
    """List artifacts: no accessories, no untagged index children (unless ``base=*``)."""
    state = req.inst.state
    with state.lock:
        project = project_access(req, req.params["project"])
        name = f"{req.params['project']}/{unquote(req.params['repo'])}"
        repo = state.repos.get(name) if project is not None else None
        items = _special(req, repo) if repo is not None else []
        flags = flags_of(req)

        def render(page: list[SimArtifact]) -> str:
            if repo is None:
                return "[]"
            found = accessories_by_subject(repo)
            return rows_text([(repo, a) for a in page], state, flags=flags, accessories=found)

        return text_listing(req, items, ARTIFACT_KEYS, render, default_sort="-push_time,-id")


@router.route("GET", "/projects/{project}/repositories/{repo}/artifacts/{ref}", params=FLAGS)
def get_artifact(req: Request) -> Response:
    """One artifact by tag or digest."""
    state = req.inst.state
    with state.lock:
        repo = find_repo(req)
        art = req.inst.catalog.resolve(repo.name, req.params["ref"])
        return Response(200, artifact_json(repo, art, state, flags=flags_of(req).as_dict()))


@router.route("DELETE", "/projects/{project}/repositories/{repo}/artifacts/{ref}")
def delete_artifact(req: Request) -> Response:
    """Delete an artifact (publishes a delete event)."""
    require_login(req.principal)
    with req.inst.state.lock:
        repo = find_repo(req, write=True)
        events = req.inst.catalog.delete_artifact(repo.name, req.params["ref"])
    req.inst.engine.on_events(events)
    return Response(200)


@router.route("GET", "/projects/{project}/repositories/{repo}/artifacts/{ref}/tags", params=PAGED)
def list_tags(req: Request) -> Response:
    """Tags of one artifact, newest push first (``tag.GetDefaultSorts``: push_time, id desc)."""
    state = req.inst.state
    with state.lock:
        repo = find_repo(req)
        art = req.inst.catalog.resolve(repo.name, req.params["ref"])
        return listing(
            req,
            list(art.tags.values()),
            TAG_KEYS,
            lambda t: tag_json(repo, art, t.name),
            default_sort="-push_time,-id",
        )


TAG_BODY = Params(body=Body("tag", "Tag", {"name": "str", "id": "int", "immutable": "bool"}))


@router.route(
    "POST", "/projects/{project}/repositories/{repo}/artifacts/{ref}/tags", params=TAG_BODY
)
def create_tag(req: Request) -> Response:
    """Add a tag to an artifact: 201, and the create-tag event replicates like a push."""
    require_login(req.principal)
    body: dict[str, Any] = req.json()
    with req.inst.state.lock:
        repo = find_repo(req, write=True)
        art = req.inst.catalog.resolve(repo.name, req.params["ref"])
        name = str(body.get("name") or "")
        if not name:
            raise SimError(400, "BAD_REQUEST", "empty tag name")
        if name in repo.tag_index:
            raise SimError(409, "CONFLICT", f"tag {name} already exists under the repository")
        events = req.inst.catalog.retag(repo.name, name, art.digest)
    req.inst.engine.on_events(events)
    return Response(201)


@router.route("DELETE", "/projects/{project}/repositories/{repo}/artifacts/{ref}/tags/{tag}")
def delete_tag(req: Request) -> Response:
    """Delete one tag (publishes a tag-delete event)."""
    require_login(req.principal)
    with req.inst.state.lock:
        repo = find_repo(req, write=True)
        art = req.inst.catalog.resolve(repo.name, req.params["ref"])
        if req.params["tag"] not in art.tags:
            # Harbor looks the tag up under the referenced artifact: a tag that now points at
            # another artifact is "not found" there, and nothing is deleted.
            raise SimError(404, "NOT_FOUND", f"tag {req.params['tag']} not found on {art.digest}")
        events = req.inst.catalog.delete_tag(repo.name, req.params["tag"])
    req.inst.engine.on_events(events)
    return Response(200)
