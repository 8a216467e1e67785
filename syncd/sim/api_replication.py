"""``/api/v2.0`` registries, replication policies, executions and tasks.

Every handler in ``src/server/v2.0/handler/{registry,replication}.go`` starts with
``RequireSystemAccess``: 401 for anonymous, 403 for a plain user or a project-only robot.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from syncd.sim import peer
from syncd.sim.api_catalog import listing
from syncd.sim.auth import require_system
from syncd.sim.catalog import SimError
from syncd.sim.policy import build_policy
from syncd.sim.serialize import execution_json, policy_json, registry_json, task_json
from syncd.sim.validate import PAGED, Body, Params
from syncd.sim.web import Request, Response, Router

if TYPE_CHECKING:
    from syncd.sim.query import Getters
    from syncd.sim.state import SimExecution, SimPolicy, SimRegistry

__all__ = ["router"]

router = Router()

REGISTRY_KEYS: Getters = {"id": lambda r: r.id, "name": lambda r: r.name, "url": lambda r: r.url}
POLICY_KEYS: Getters = {
    "id": lambda p: p.id,
    "name": lambda p: p.name,
    "enabled": lambda p: p.enabled,
    "src_registry_id": lambda p: p.src_registry_id,
    "dest_registry_id": lambda p: p.dest_registry_id,
    "trigger": lambda p: f'{{"type":"{p.trigger}"}}' if p.trigger else "",
    "creation_time": lambda p: p.creation_time,
    "update_time": lambda p: p.update_time,
}
EXECUTION_KEYS: Getters = {"id": lambda e: e.id, "start_time": lambda e: e.start_time}
TASK_KEYS: Getters = {"id": lambda t: t.id, "start_time": lambda t: t.start_time}
POLICY_BODY = Body(
    "policy",
    "ReplicationPolicy",
    {
        **dict.fromkeys(("name", "description", "dest_namespace"), "str"),
        **dict.fromkeys(("id", "dest_namespace_replace_count", "speed"), "int"),
        **dict.fromkeys(("src_registry", "dest_registry", "trigger"), "object"),
        "filters": "list",
        **dict.fromkeys(
            (
                "enabled",
                "override",
                "deletion",
                "replicate_deletion",
                "copy_by_chunk",
                "single_active_replication",
            ),
            "bool",
        ),
    },
)
EXECUTION_BODY = Body("execution", "StartReplicationExecution", {"policy_id": "int"})


def _int_param(req: Request, name: str) -> int:
    try:
        return int(req.params[name])
    except ValueError:
        raise SimError(
            422, "UNPROCESSABLE_ENTITY", f"{name} in path must be of type int64"
        ) from None


@router.route("GET", "/registries", params=PAGED)
def list_registries(req: Request) -> Response:
    """Registry endpoints (secrets masked)."""
    require_system(req.principal)
    with req.inst.state.lock:
        items = list(req.inst.state.registries.values())
        if "name" in req.query:
            items = [r for r in items if req.query["name"].lower() in r.name.lower()]
        return listing(req, items, REGISTRY_KEYS, registry_json, default_sort="-id")


@router.route("POST", "/registries")
def create_registry(req: Request) -> Response:
    """Create an endpoint (for test setup)."""
    require_system(req.principal)
    body = req.json() or {}
    cred = body.get("credential") or {}
    rid = req.inst.add_registry(
        str(body.get("name") or ""),
        str(body.get("url") or ""),
        username=str(cred.get("access_key") or ""),
        password=str(cred.get("access_secret") or ""),
    )
    return Response(201, headers={"Location": f"/api/v2.0/registries/{rid}"})


def _registry(req: Request) -> SimRegistry:
    reg = req.inst.state.registries.get(_int_param(req, "id"))
    if reg is None:
        raise SimError(404, "NOT_FOUND", f"registry {req.params['id']} not found")
    return reg


@router.route("GET", "/registries/{id}")
def get_registry(req: Request) -> Response:
    """One endpoint."""
    require_system(req.principal)
    with req.inst.state.lock:
        return Response(200, registry_json(_registry(req)))


@router.route("POST", "/registries/ping")
def ping_registry(req: Request) -> Response:
    """200 when a saved endpoint answers, else 400 "the registry is unhealthy"."""
    require_system(req.principal)
    body = req.json() or {}
    reg = req.inst.state.registries.get(int(body.get("id") or 0))
    if reg is None:
        raise SimError(404, "NOT_FOUND", f"registry {body.get('id')} not found")
    if not peer.ping(peer.Endpoint(reg.url, reg.access_key, reg.access_secret)):
        raise SimError(400, "BAD_REQUEST", "the registry is unhealthy")
    return Response(200)


def _policy(req: Request) -> SimPolicy:
    policy = req.inst.state.policies.get(_int_param(req, "id"))
    if policy is None:
        raise SimError(404, "NOT_FOUND", f"replication policy {req.params['id']} not found")
    return policy


@router.route("GET", "/replication/policies", params=PAGED)
def list_policies(req: Request) -> Response:
    """Policies; ``name`` is a deprecated fuzzy filter."""
    require_system(req.principal)
    state = req.inst.state
    with state.lock:
        items = list(state.policies.values())
        if "name" in req.query:
            items = [p for p in items if req.query["name"].lower() in p.name.lower()]
        return listing(
            req, items, POLICY_KEYS, lambda p: policy_json(p, state), default_sort="-creation_time"
        )


@router.route("POST", "/replication/policies", params=Params(body=POLICY_BODY))
def create_policy(req: Request) -> Response:
    """Create a policy (reads ``deletion``, not ``replicate_deletion``)."""
    require_system(req.principal)
    with req.inst.state.lock:
        policy = build_policy(req.json(), req.inst.state, existing=None)
        req.inst.state.policies[policy.id] = policy
    return Response(201, headers={"Location": f"/api/v2.0/replication/policies/{policy.id}"})


@router.route("GET", "/replication/policies/{id}")
def get_policy(req: Request) -> Response:
    """One policy; credentials masked."""
    require_system(req.principal)
    with req.inst.state.lock:
        return Response(200, policy_json(_policy(req), req.inst.state))


@router.route("PUT", "/replication/policies/{id}", params=Params(body=POLICY_BODY))
def update_policy(req: Request) -> Response:
    """Full replace, with the handler's traps."""
    require_system(req.principal)
    if (held := req.inst.faults.held_policy_update(req.json())) is not None:
        raise SimError(held.status, held.code, held.message)  # blocked, then not applied
    with req.inst.state.lock:
        existing = _policy(req)
        policy = build_policy(req.json(), req.inst.state, existing=existing)
        req.inst.state.policies[policy.id] = policy
    return Response(200)


@router.route("DELETE", "/replication/policies/{id}")
def delete_policy(req: Request) -> Response:
    """Delete a policy; 412 while one of its executions runs."""
    require_system(req.principal)
    state = req.inst.state
    with state.lock:
        policy = _policy(req)
        if any(
            e.policy_id == policy.id and req.inst.engine.status(e)[0] == "InProgress"
            for e in state.executions.values()
        ):
            raise SimError(412, "PRECONDITION", "the policy has running executions")
        del state.policies[policy.id]
    return Response(200)


def _execution_json(req: Request, execution: SimExecution) -> dict[str, Any]:
    status, counts = req.inst.engine.status(execution)
    return execution_json(execution, status, counts)


@router.route("POST", "/replication/executions", params=Params(body=EXECUTION_BODY))
def start_execution(req: Request) -> Response:
    """Start a manual execution: 404 unknown policy, 412 disabled policy, else 201."""
    require_system(req.principal)
    body = req.json() or {}
    state = req.inst.state
    with state.lock:
        policy = state.policies.get(int(body.get("policy_id") or 0))
        if policy is None:
            raise SimError(404, "NOT_FOUND", f"policy {body.get('policy_id')} not found")
        if not policy.enabled:
            raise SimError(412, "PRECONDITION", f"the policy {policy.id} is disabled")
    trigger = "scheduled" if req.query.get("trigger") == "scheduled" else "manual"
    eid = req.inst.engine.start(policy, trigger)
    return Response(201, headers={"Location": f"/api/v2.0/replication/executions/{eid}"})


@router.route("GET", "/replication/executions", params=PAGED | Params({"policy_id": "int"}))
def list_executions(req: Request) -> Response:
    """List executions by ``policy_id``, ``status``, ``trigger`` (``q`` is ignored)."""
    require_system(req.principal)
    state = req.inst.state
    with state.lock:
        items = list(state.executions.values())
        if req.query.get("policy_id"):
            items = [e for e in items if str(e.policy_id) == req.query["policy_id"]]
        if req.query.get("trigger"):
            items = [e for e in items if e.trigger == req.query["trigger"]]
        if req.query.get("status"):
            items = [e for e in items if req.inst.engine.status(e)[0] == req.query["status"]]
        return listing(
            req,
            items,
            EXECUTION_KEYS,
            lambda e: _execution_json(req, e),
            default_sort="-start_time,-id",
            use_q=False,
        )


def _execution(req: Request) -> SimExecution:
    execution = req.inst.state.executions.get(_int_param(req, "id"))
    if execution is None:
        raise SimError(404, "NOT_FOUND", f"execution {req.params['id']} not found")
    return execution


@router.route("GET", "/replication/executions/{id}")
def get_execution(req: Request) -> Response:
    """One execution with derived status and counts."""
    require_system(req.principal)
    with req.inst.state.lock:
        return Response(200, _execution_json(req, _execution(req)))


@router.route("PUT", "/replication/executions/{id}")
def stop_execution(req: Request) -> Response:
    """Stop an execution."""
    require_system(req.principal)
    with req.inst.state.lock:
        execution = _execution(req)
    req.inst.engine.stop(execution)
    return Response(200)


@router.route("GET", "/replication/executions/{id}/tasks", params=PAGED)
def list_tasks(req: Request) -> Response:
    """Tasks of an execution; ``status=InProgress`` excludes Pending."""
    require_system(req.principal)
    with req.inst.state.lock:
        items = list(_execution(req).tasks)
        if req.query.get("status"):
            items = [t for t in items if t.status == req.query["status"]]
        if req.query.get("resource_type"):
            items = [t for t in items if req.query["resource_type"] == "artifact"]
        return listing(req, items, TASK_KEYS, task_json, default_sort="id")


@router.route("GET", "/replication/executions/{id}/tasks/{task_id}/log")
def task_log(req: Request) -> Response:
    """Return a task's job log as ``text/plain`` (the handler relays jobservice's log)."""
    require_system(req.principal)
    with req.inst.state.lock:
        execution = _execution(req)
        task_id = _int_param(req, "task_id")
        task = next((t for t in execution.tasks if t.id == task_id), None)
        if task is None:
            raise SimError(404, "NOT_FOUND", f"task {task_id} not found")
        return Response(200, text=req.inst.engine.task_log(task))
