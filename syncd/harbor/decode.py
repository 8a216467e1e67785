"""Harbor response bodies -> ``syncd.core.model`` values, at the client boundary.

Pure functions from raw JSON bytes. A whole body (a page) is validated at once against
``syncd.harbor.models`` through a ``TypeAdapter``, straight from the bytes (no ``json.loads`` of
the many fields syncd never reads); a mismatch raises ``HarborProtocolError`` naming the field
path (``artifacts[3].tags[0].name: Field required``). Each wire model then maps onto the core's
frozen values here, except on the cold pass's hot path: artifact pages (every artifact of every
repository) are built into core values by ``rows`` in one step, with the same checks.
"""

from __future__ import annotations

import json
from dataclasses import asdict
from typing import TYPE_CHECKING, Any, TypeVar

from pydantic import TypeAdapter, ValidationError

from syncd.core.model import (
    Artifact,
    Execution,
    ExecutionStatus,
    Filter,
    Policy,
    Registry,
    Repository,
)
from syncd.errors import HarborProtocolError
from syncd.harbor import models as wire
from syncd.harbor import rows
from syncd.harbor.rows import when

if TYPE_CHECKING:
    from collections.abc import Callable, Sequence

    from pydantic_core import ErrorDetails

__all__ = [
    "decode_artifacts",
    "decode_execution",
    "decode_executions",
    "decode_health",
    "decode_policies",
    "decode_policy",
    "decode_project_artifacts",
    "decode_projects",
    "decode_registries",
    "decode_repositories",
    "decode_repository",
    "decode_systeminfo",
    "decode_tasks",
    "when",
]

T = TypeVar("T")
_REPOSITORY = TypeAdapter(wire.Repository)
_PROJECTS = TypeAdapter(list[wire.Project])
_REGISTRIES = TypeAdapter(list[wire.Registry])
_POLICIES = TypeAdapter(list[wire.ReplicationPolicy])
_POLICY = TypeAdapter(wire.ReplicationPolicy)
_EXECUTIONS = TypeAdapter(list[wire.ReplicationExecution])
_EXECUTION = TypeAdapter(wire.ReplicationExecution)
_TASKS = TypeAdapter(list[wire.ReplicationTask])
_SYSTEMINFO = TypeAdapter(wire.GeneralInfo)
_HEALTH = TypeAdapter(wire.OverallHealthStatus)

_MESSAGES = {  # pydantic's words for JSON's
    "json_invalid": "response body is not valid JSON",
    "list_type": "expected a JSON array",
    "dataclass_type": "expected a JSON object",
    "dataclass_args_type": "expected a JSON object",
    "dict_type": "expected a JSON object",  # a tag, label or reference (``rows``)
}


def _load(adapter: TypeAdapter[T], body: bytes | str, *, what: str) -> T:
    """Validate a raw JSON ``body``; a mismatch is a ``HarborProtocolError`` naming the path."""
    return _checked(adapter.validate_json, body, what=what)


def _checked(validate: Callable[[bytes | str], T], body: bytes | str, *, what: str) -> T:
    try:
        return validate(body)
    except ValidationError as exc:
        errors = exc.errors(include_url=False, include_input=False)
        more = f" (and {len(errors) - 1} more)" if len(errors) > 1 else ""
        raise HarborProtocolError(f"{_describe(errors[0], what)}{more}") from None


def _describe(error: ErrorDetails, what: str) -> str:
    path = what + "".join(f"[{p}]" if isinstance(p, int) else f".{p}" for p in error["loc"])
    message = _MESSAGES.get(error["type"], error["msg"])
    if error["type"] == "json_invalid":  # where it broke: a cut-off body reads "EOF while ..."
        message += f" ({error.get('ctx', {}).get('error', '')})"
    return f"{path}: {message}"


# --------------------------------------------------------------------------- catalog


def decode_artifacts(body: bytes | str) -> list[Artifact]:
    """One page of a repository's artifact listing (with tags, labels and accessories)."""
    return _checked(rows.artifacts, body, what="artifacts")


def decode_project_artifacts(body: bytes | str) -> list[tuple[str, Artifact]]:
    """One page of a project-wide artifact listing, each with its full repository name."""
    return _checked(rows.project_artifacts, body, what="artifacts")


def _repository(r: wire.Repository) -> Repository:
    return Repository(
        name=r.name, artifact_count=r.artifact_count or 0, update_time=when(r.update_time)
    )


def decode_repositories(body: bytes | str) -> list[Repository]:
    """One page of repositories (without artifacts)."""
    return _checked(rows.repositories, body, what="repositories")


def decode_repository(body: bytes | str) -> Repository:
    """One repository (without artifacts)."""
    return _repository(_load(_REPOSITORY, body, what="repository"))


def decode_projects(body: bytes | str) -> list[wire.Project]:
    """One page of projects (no core value: nothing in the decision core reads projects)."""
    return _load(_PROJECTS, body, what="projects")


# --------------------------------------------------------------------------- replication


def decode_registries(body: bytes | str) -> list[Registry]:
    """One page of registry endpoints; an unknown status stays ``unknown``, never healthy."""
    return [
        Registry(id=r.id, name=r.name, url=r.url, type=r.type, status=r.status)
        for r in _load(_REGISTRIES, body, what="registries")
    ]


def _filter(f: wire.ReplicationFilter) -> Filter:
    value = f.value
    return Filter(
        type=f.type,
        value=tuple(value) if isinstance(value, list) else value or "",
        decoration=f.decoration,
    )


def _policy(p: wire.ReplicationPolicy, raw: dict[str, Any], *, owner: str) -> Policy:
    trigger = p.trigger or wire.ReplicationTrigger()
    settings = trigger.trigger_settings
    deletion = p.replicate_deletion if p.replicate_deletion is not None else p.deletion
    replace_count = p.dest_namespace_replace_count
    return Policy(
        owner=owner,
        id=p.id,
        name=p.name,
        enabled=p.enabled,
        # Harbor treats an absent registry as the local one (id 0), on read and on write.
        src_registry_id=p.src_registry.id if p.src_registry else 0,
        dest_registry_id=p.dest_registry.id if p.dest_registry else 0,
        trigger=trigger.type or "manual",
        cron=(settings.cron if settings else "") or None,
        filters=tuple(_filter(f) for f in p.filters or ()),
        dest_namespace=p.dest_namespace,
        dest_namespace_replace_count=replace_count if replace_count is not None else -1,
        override=p.override,
        replicate_deletion=bool(deletion),
        raw=raw,
    )


def decode_policies(body: bytes | str, *, owner: str) -> list[Policy]:
    """One page of ``owner``'s policies; each keeps its raw JSON for full-replace PUTs."""
    policies = _load(_POLICIES, body, what="policies")
    raws: Sequence[dict[str, Any]] = json.loads(body)  # valid: the models just read it
    return [_policy(p, raw, owner=owner) for p, raw in zip(policies, raws, strict=True)]


def decode_policy(body: bytes | str, *, owner: str) -> Policy:
    """One policy read from ``owner``, with its raw JSON kept for full-replace PUTs."""
    return _policy(_load(_POLICY, body, what="policy"), json.loads(body), owner=owner)


def _status(value: str | None) -> ExecutionStatus:
    # Harbor reports any internal status it cannot convert as ""; treat it as not yet
    # terminal so the watcher keeps polling (bounded by its timeout) instead of guessing.
    try:
        return ExecutionStatus(value or "")
    except ValueError:
        return ExecutionStatus.PENDING


def _execution(e: wire.ReplicationExecution, *, instance: str) -> Execution:
    return Execution(
        instance=instance,
        id=e.id,
        policy_id=e.policy_id,
        status=_status(e.status),
        trigger=e.trigger,
        start_time=when(e.start_time),
        end_time=when(e.end_time),
        status_text=e.status_text,
        total=e.total,
        succeed=e.succeed,
        failed=e.failed,
        in_progress=e.in_progress,
        stopped=e.stopped,
    )


def decode_executions(body: bytes | str, *, instance: str) -> list[Execution]:
    """One page of executions on ``instance``."""
    rows = _load(_EXECUTIONS, body, what="executions")
    return [_execution(e, instance=instance) for e in rows]


def decode_execution(body: bytes | str, *, instance: str) -> Execution:
    """One execution on ``instance``."""
    return _execution(_load(_EXECUTION, body, what="execution"), instance=instance)


def decode_tasks(body: bytes | str) -> list[wire.ReplicationTask]:
    """One page of an execution's tasks (no core value: only reported, never decided on)."""
    return _load(_TASKS, body, what="tasks")


# --------------------------------------------------------------------------- instance


def decode_systeminfo(body: bytes | str) -> dict[str, Any]:
    """``/systeminfo`` as the fields syncd reads (``harbor_version`` may be None)."""
    return asdict(_load(_SYSTEMINFO, body, what="systeminfo"))


def decode_health(body: bytes | str) -> dict[str, Any]:
    """``/health`` shaped for ``core.health.classify`` (a null component list is empty)."""
    health = _load(_HEALTH, body, what="health")
    components = [asdict(c) for c in health.components or ()]
    return {"status": health.status, "components": components}
