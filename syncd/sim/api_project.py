"""``GET /projects/{project_name_or_id}/artifacts`` (swagger ``listArtifactsOfProject``).

Artifacts of every repository of one project in one paged listing, with the per-repository
listing's visibility rules (no accessories, no untagged index children) and rendering; rows
carry ``repository_name`` so a client can group them. syncd's cold snapshot uses it where it
costs fewer calls than one listing per repository.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from syncd.sim.api_catalog import ARTIFACT_KEYS, listing, visible_project
from syncd.sim.serialize import artifact_json
from syncd.sim.web import Router

if TYPE_CHECKING:
    from syncd.sim.state import SimArtifact, SimRepo
    from syncd.sim.web import Request, Response

__all__ = ["list_project_artifacts", "router"]

router = Router()


@router.route("GET", "/projects/{project}/artifacts")
def list_project_artifacts(req: Request) -> Response:
    """List the artifacts of every repository of one project."""
    state = req.inst.state
    with state.lock:
        force = (req.headers.get("X-Is-Resource-Name") or "").lower() == "true"
        project = visible_project(req, req.params["project"], force_name=force)
        prefix = project.name + "/"
        items: list[SimArtifact] = []
        owner: dict[int, SimRepo] = {}
        for name, repo in state.repos.items():
            if name.startswith(prefix):
                for art in repo.visible():
                    items.append(art)
                    owner[art.id] = repo
        flags = {
            "with_tag": req.flag("with_tag", default=True),
            "with_label": req.flag("with_label", default=False),
            "with_accessory": req.flag("with_accessory", default=False),
        }
        return listing(
            req,
            items,
            ARTIFACT_KEYS,
            lambda a: artifact_json(owner[a.id], a, state, flags=flags),
            default_sort="-push_time,-id",
        )
