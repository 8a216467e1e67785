"""``GET /projects/{project_name_or_id}/artifacts`` (swagger ``listArtifactsOfProject``).

Artifacts of every repository of one project in one paged listing, with the per-repository
listing's visibility rules (no accessories, no untagged index children) and rendering; rows
carry ``repository_name`` so a client can group them. syncd's cold snapshot uses it where it
costs fewer calls than one listing per repository.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from syncd.sim.access import existing_project, resource_name
from syncd.sim.api_artifact import FLAGS, flags_of
from syncd.sim.api_catalog import ARTIFACT_KEYS, page_response, text_listing
from syncd.sim.auth import require_login
from syncd.sim.index import ProjectArtifacts, project_artifacts
from syncd.sim.query import Page, paginate
from syncd.sim.render import Flags, rows_text
from syncd.sim.validate import PAGED
from syncd.sim.web import Router

if TYPE_CHECKING:
    from syncd.sim.state import SimArtifact, SimState
    from syncd.sim.web import Request, Response

__all__ = ["list_project_artifacts", "router"]

router = Router()


@router.route("GET", "/projects/{project}/artifacts", params=PAGED | FLAGS)
def list_project_artifacts(req: Request) -> Response:
    """List the artifacts of every repository of one project.

    ``handler/project.go`` ListArtifactsOfProject: a login first (401 even on a public
    project), the project permission (403), then the project lookup (404).
    """
    state = req.inst.state
    require_login(req.principal)
    with state.lock:
        project = existing_project(req, req.params["project"], force_name=resource_name(req))
        listed, flags = project_artifacts(state, project.name), flags_of(req)
        if req.query.get("q") or req.query.get("sort"):
            return _filtered(req, listed, state, flags)
        # The index is in the default order already: one page costs O(page).
        page = Page(req.query)
        rows = paginate(listed.rows, page)
        text = rows_text(rows, state, flags=flags, accessories=listed.accessories)
        return page_response(req, page, total=len(listed.rows), json_text=text)


def _filtered(req: Request, listed: ProjectArtifacts, state: SimState, flags: Flags) -> Response:
    """Take the general path: ``q`` filters and ``sort`` over the listed artifacts."""
    owner = {art.id: repo for repo, art in listed.rows}

    def render(page: list[SimArtifact]) -> str:
        rows = [(owner[art.id], art) for art in page]
        return rows_text(rows, state, flags=flags, accessories=listed.accessories)

    items = [art for _, art in listed.rows]
    return text_listing(req, items, ARTIFACT_KEYS, render, default_sort="-push_time,-id")
