"""``GET /projects/{project_name_or_id}/artifacts`` (swagger ``listArtifactsOfProject``).

Artifacts of every repository of one project in one paged listing, with the per-repository
listing's visibility rules (no accessories, no untagged index children) and rendering; rows
carry ``repository_name`` so a client can group them. syncd's cold snapshot uses it where it
costs fewer calls than one listing per repository.
"""

from __future__ import annotations

import weakref
from typing import TYPE_CHECKING

from syncd.sim.access import existing_project, resource_name
from syncd.sim.api_artifact import FLAGS
from syncd.sim.api_catalog import ARTIFACT_KEYS, listing
from syncd.sim.auth import require_login
from syncd.sim.serialize import artifact_json
from syncd.sim.validate import PAGED
from syncd.sim.web import Router

if TYPE_CHECKING:
    from syncd.sim.state import SimArtifact, SimRepo, SimState
    from syncd.sim.web import Request, Response

__all__ = ["list_project_artifacts", "router"]

router = Router()

# Repository rows are never removed (Harbor keeps them until an explicit repository DELETE,
# which the simulator does not serve), so an index per project stays valid while the count of
# repositories is unchanged. Without it every page scanned every repository of the instance.
_INDEX: weakref.WeakKeyDictionary[SimState, tuple[int, dict[str, list[str]]]] = (
    weakref.WeakKeyDictionary()
)


def _repos_of(state: SimState, project: str) -> list[str]:
    """Names of the repositories of ``project`` (call with ``state.lock`` held)."""
    cached = _INDEX.get(state)
    if cached is None or cached[0] != len(state.repos):
        index: dict[str, list[str]] = {}
        for name in state.repos:
            index.setdefault(name.split("/", 1)[0], []).append(name)
        cached = (len(state.repos), index)
        _INDEX[state] = cached
    return cached[1].get(project, [])


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
        items: list[SimArtifact] = []
        owner: dict[int, SimRepo] = {}
        for name in _repos_of(state, project.name):
            repo = state.repos[name]
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
