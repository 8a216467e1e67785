"""Project-scoped permission checks, in the order Harbor's handlers run them.

``RequireProjectAccess`` (``src/server/v2.0/handler/base.go``) resolves a project name to its id
and treats a missing project as id 0: nobody but a system administrator (or a system robot) has
a permission there, so a robot or a non-member gets 403 and anonymous 401 *before* any lookup;
only a caller that passes the check reaches the handler's own lookup (and its 404).
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from syncd.sim.catalog import SimError

if TYPE_CHECKING:
    from syncd.sim.state import SimProject
    from syncd.sim.web import Request

__all__ = ["existing_project", "project_access", "resource_name", "visible"]


def resource_name(req: Request) -> bool:
    """Whether ``X-Is-Resource-Name: true`` forces a numeric reference to be a name."""
    return (req.headers.get("X-Is-Resource-Name") or "").lower() == "true"


def project_access(
    req: Request, ref: str, *, force_name: bool = True, write: bool = False
) -> SimProject | None:
    """Check the caller's permission on a project; None if it passes on a missing project."""
    project = req.inst.state.project_by_ref(ref, force_name=force_name)
    principal = req.principal
    public = project is not None and project.public
    if principal.can(project.name if project else None, public=public, write=write):
        return project
    if not principal.authenticated:
        raise SimError(401, "UNAUTHORIZED", "UnAuthorized")
    raise SimError(403, "FORBIDDEN", principal.name)


def existing_project(
    req: Request, ref: str, *, force_name: bool = True, write: bool = False
) -> SimProject:
    """Permission first, then the handler's lookup: 401/403, then 404."""
    project = project_access(req, ref, force_name=force_name, write=write)
    if project is None:
        raise SimError(404, "NOT_FOUND", f"project {ref} not found")
    return project


def visible(req: Request, project: SimProject) -> bool:
    """Whether a project shows up in the caller's lists (public, member, or system caller)."""
    principal = req.principal
    return principal.can(project.name, public=project.public, write=False)
