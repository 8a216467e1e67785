"""The ``/_sim/`` surface: scenario controls (no auth) and the replication data plane.

Controls mirror ``SimInstance`` methods one to one (``POST /_sim/<command>`` with the keyword
arguments as a JSON object) so a simulator in another process can be driven. The data plane
(``replicate-in``, ``delete-in``, ``export``) needs the endpoint's credentials and fails while the
instance answers 503, like the real registry would.
"""

from __future__ import annotations

import hashlib
from typing import TYPE_CHECKING, Any

from syncd.sim.auth import require_login
from syncd.sim.catalog import SimError
from syncd.sim.replica import apply_deletion, export_units, ingest, prepare_push
from syncd.sim.web import Request, Response, Router

if TYPE_CHECKING:
    from collections.abc import Callable

    from syncd.sim.instance import SimInstance

__all__ = ["COMMANDS", "router"]

router = Router()

COMMANDS: dict[str, str] = {
    "push": "push",
    "create-project": "create_project",
    "delete-tag": "delete_tag",
    "delete-artifact": "delete_artifact",
    "retag": "retag",
    "pull": "pull",
    "down": "set_down",
    "latency": "set_latency",
    "failure-rate": "set_failure_rate",
    "rate-limit": "set_rate_limit",
    "hang": "hang_executions",
    "component-health": "set_component_health",
    "storage-lost": "set_storage_lost",
    "generate": "generate",
    "add-registry": "add_registry",
    "add-policy": "add_policy",
    "hold-policy-enable": "faults.hold_policy_enable",
    "fail-copies": "faults.fail_copies",
}
"""Command -> method of the ``SimInstance`` (a dotted name reaches into its ``faults``)."""


def _data_plane(req: Request, *, copy: bool = False) -> None:
    injected = req.inst.faults.for_data_plane(copy=copy)
    if injected is not None:
        raise SimError(injected.status, injected.code, injected.message)
    require_login(req.principal)


@router.route("POST", "/replicate-in")
def replicate_in(req: Request) -> Response:
    """Receive a copy from a peer's push policy."""
    _data_plane(req, copy=True)
    summary, events = ingest(req.inst.catalog, req.json() or {})
    req.inst.engine.on_events(events)
    return Response(200, summary)


@router.route("POST", "/prepare-push")
def prepare_push_in(req: Request) -> Response:
    """Start a peer's push flow here: create the projects it will write (its first contact)."""
    _data_plane(req)
    return Response(200, prepare_push(req.inst.catalog, req.json() or {}))


@router.route("POST", "/delete-in")
def delete_in(req: Request) -> Response:
    """Receive a deletion from a peer's push policy with replicate_deletion."""
    _data_plane(req)
    summary, events = apply_deletion(req.inst.catalog, req.json() or {})
    req.inst.engine.on_events(events)
    return Response(200, summary)


@router.route("GET", "/export")
def export(req: Request) -> Response:
    """Every repository as replication units (what a pull policy lists)."""
    _data_plane(req)
    state = req.inst.state
    if req.query.get("limit") == "0":
        return Response(200, [])
    with state.lock:
        body = [
            {"name": r.name, "public": state.project_of(r).public, "artifacts": export_units(r)}
            for r in state.repos.values()
        ]
    return Response(200, body)


@router.route("GET", "/catalog")
def catalog(req: Request) -> Response:
    """``[[repository, tag, digest], ...]`` for assertions from another process."""
    rows = sorted([repo, tag, digest] for (repo, tag), digest in req.inst.state.tag_map().items())
    return Response(200, rows)


@router.route("GET", "/catalog-digest")
def catalog_digest(req: Request) -> Response:
    """``{"tags": N, "sha256": ...}`` over the sorted catalog: equality from another process.

    At 10^6 tags ``/catalog`` is ~100 MB of JSON; a poll until two instances agree needs less.
    """
    rows = sorted(
        f"{repo}\t{tag}\t{digest}\n" for (repo, tag), digest in req.inst.state.tag_map().items()
    )
    digest = hashlib.sha256("".join(rows).encode()).hexdigest()
    return Response(200, {"tags": len(rows), "sha256": digest})


def run_command(inst: SimInstance, command: str, body: Any) -> Response:
    """Call the ``SimInstance`` method behind an admin command with the JSON kwargs."""
    method_name = COMMANDS.get(command)
    if method_name is None:
        raise SimError(404, "NOT_FOUND", f"unknown command {command}")
    if not isinstance(body, dict):
        body = {}
    target: Any = inst
    for attr in method_name.split("."):
        target = getattr(target, attr)
    method: Callable[..., Any] = target
    try:
        result = method(**body)
    except TypeError as exc:
        raise SimError(400, "BAD_REQUEST", str(exc)) from exc
    return Response(200, {"result": result})


@router.route("POST", "/instances/{name}/{command}")
def sibling(req: Request) -> Response:
    """Drive another instance of the same process (e.g. bring a refusing one back up)."""
    other = req.inst.siblings.get(req.params["name"])
    if other is None:
        raise SimError(404, "NOT_FOUND", f"no instance {req.params['name']}")
    return run_command(other, req.params["command"], req.json())


@router.route("POST", "/{command}")
def command(req: Request) -> Response:
    """Run one scenario control."""
    return run_command(req.inst, req.params["command"], req.json())
