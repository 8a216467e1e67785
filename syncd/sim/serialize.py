"""JSON bodies exactly as Harbor's go-swagger models render them.

go-swagger emits ``omitempty`` for every optional scalar property unless the spec says
``x-omitempty: false``: zero values (``false``, ``0``, ``""``) are *absent*, while time structs
are always present (Go's zero time for 'never'). Array properties carry no ``omitempty``: a nil
Go slice renders as ``null`` (``tags``, ``labels``, ``references``, ``accessories`` of an
``Artifact``, ``filters`` of a policy, filled by appending in ``ToSwagger``/``convert*``).
Only spec field names are used.
"""

from __future__ import annotations

import functools
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from collections.abc import Iterable
    from datetime import datetime

    from syncd.sim.state import (
        SimArtifact,
        SimExecution,
        SimPolicy,
        SimProject,
        SimRegistry,
        SimRepo,
        SimState,
        SimTag,
        SimTask,
    )

__all__ = [
    "artifact_json",
    "config_media_type",
    "execution_json",
    "fmt_time",
    "policy_json",
    "project_json",
    "registry_json",
    "repo_json",
    "tag_json",
    "task_json",
]

LOCAL_REGISTRY: dict[str, Any] = {
    "id": 0,
    "name": "Local",
    "url": "http://core:8080",
    "type": "harbor",
    "insecure": True,
    "status": "healthy",
    "credential": {"type": "secret", "access_secret": "*****"},
    "creation_time": "0001-01-01T00:00:00.000Z",
    "update_time": "0001-01-01T00:00:00.000Z",
}


@functools.lru_cache(maxsize=4096)  # strftime was ~20% of a listing page's CPU
def fmt_time(value: datetime) -> str:
    """Harbor's date-time rendering: UTC, milliseconds, ``Z``."""
    # Not strftime("%Y"): glibc renders year 1 (Go's zero time) as "1", not "0001".
    return (
        f"{value.year:04d}-"
        + value.strftime("%m-%dT%H:%M:%S.")
        + f"{value.microsecond // 1000:03d}Z"
    )


CONFIG_MEDIA_TYPES = {
    "application/vnd.oci.image.manifest.v1+json": "application/vnd.oci.image.config.v1+json",
    "application/vnd.docker.distribution.manifest.v2+json": (
        "application/vnd.docker.container.image.v1+json"
    ),
}
"""Manifest media type -> the config media type an image of that kind carries."""


def config_media_type(manifest_media_type: str) -> str:
    """Return an artifact's ``media_type``: its config's media type (an index: its own type).

    ``src/controller/artifact/manifest/v2.go`` sets ``MediaType`` from the manifest's config
    descriptor, ``manifest/index.go`` to the index's own type; ``abstractor.go`` sets
    ``ManifestMediaType`` from the manifest itself.
    """
    return CONFIG_MEDIA_TYPES.get(manifest_media_type, manifest_media_type)


_ZERO_TYPES = (type(None), str, int, float, list, dict)


def nil_slice(items: list[Any]) -> list[Any] | None:
    """Render a Go slice built by appending: ``null`` when nothing was appended."""
    return items or None


def omit_empty(body: dict[str, Any], *, keep: Iterable[str] = ()) -> dict[str, Any]:
    """Drop zero values like go's ``omitempty`` except for ``keep`` (``x-omitempty: false``)."""
    kept = set(keep)
    # A falsy value of these types equals one of None, "", 0, False, [], {}: go's zero values.
    return {k: v for k, v in body.items() if v or k in kept or not isinstance(v, _ZERO_TYPES)}


def project_json(project: SimProject, state: SimState, *, detail: bool) -> dict[str, Any]:
    """Render a ``Project``; ``repo_count``/``owner_name`` only with detail."""
    body: dict[str, Any] = {
        "project_id": project.id,
        "owner_id": 1,
        "name": project.name,
        "registry_id": project.registry_id,
        "creation_time": fmt_time(project.creation_time),
        "update_time": fmt_time(project.update_time),
        "metadata": {"public": "true" if project.public else "false"},
    }
    if detail:
        prefix = project.name + "/"
        body["owner_name"] = "admin"
        body["repo_count"] = sum(1 for name in state.repos if name.startswith(prefix))
    return omit_empty(body, keep={"repo_count"} if detail else ())


def repo_json(repo: SimRepo, *, artifact_count: int | None = None) -> dict[str, Any]:
    """Render a ``Repository``; ``artifact_count`` counts what the listing shows.

    A caller that knows the count (``index.project_artifacts``) passes it.
    """
    count = len(repo.visible()) if artifact_count is None else artifact_count
    return omit_empty(
        {
            "id": repo.id,
            "project_id": repo.project_id,
            "name": repo.name,
            "artifact_count": count,
            "pull_count": repo.pull_count,
            "creation_time": fmt_time(repo.creation_time),
            "update_time": fmt_time(repo.update_time),
        },
        keep={"artifact_count", "pull_count"},
    )


def tag_json(repo: SimRepo, art: SimArtifact, name: str) -> dict[str, Any]:
    """Render a ``Tag``."""
    tag = art.tags[name]
    return {
        "id": tag.id,
        "repository_id": repo.id,
        "artifact_id": art.id,
        "name": tag.name,
        "push_time": fmt_time(tag.push_time),
        "pull_time": fmt_time(art.pull_time),
        "immutable": False,
    }


def _accessory_json(repo: SimRepo, acc: SimArtifact, subject: SimArtifact) -> dict[str, Any]:
    return omit_empty(
        {
            "id": acc.id,
            "artifact_id": acc.id,
            "subject_artifact_id": subject.id,
            "subject_artifact_digest": subject.digest,
            "subject_artifact_repo": repo.name,
            "size": acc.size,
            "digest": acc.digest,
            "type": acc.type.lower().replace("_", "."),
            "icon": "",
            "creation_time": fmt_time(acc.push_time),
        },
        keep={"artifact_id", "subject_artifact_digest", "subject_artifact_repo", "size"}
        | {"digest", "type", "icon"},
    )


def artifact_json(
    repo: SimRepo, art: SimArtifact, state: SimState, *, flags: dict[str, bool]
) -> dict[str, Any]:
    """Render an ``Artifact`` with the embeddings the ``with_*`` flags ask for."""
    refs = [
        {"parent_id": art.id, "child_id": repo.artifacts[c].id, "child_digest": c}
        for c in art.references
        if c in repo.artifacts
    ]
    body: dict[str, Any] = {
        "id": art.id,
        "type": art.type,
        "media_type": config_media_type(art.media_type),
        "manifest_media_type": art.media_type,
        "project_id": repo.project_id,
        "repository_id": repo.id,
        "repository_name": repo.name,
        "digest": art.digest,
        "size": art.size,
        "push_time": fmt_time(art.push_time),
        "pull_time": fmt_time(art.pull_time),
        "extra_attrs": {},
        "addition_links": {},
    }
    tags = labels = accessories = []
    if flags.get("with_tag", True):
        tags = [tag_json(repo, art, t.name) for t in newest_first(art)]
    if flags.get("with_label"):
        labels = [{"id": state.label_id(n), "name": n, "scope": "g"} for n in art.labels]
    if flags.get("with_accessory"):
        accessories = [_accessory_json(repo, a, art) for a in repo.accessories_of(art.digest)]
    return omit_empty(body) | {
        "tags": nil_slice(tags),
        "labels": nil_slice(labels),
        "references": nil_slice(refs),
        "accessories": nil_slice(accessories),
    }


def newest_first(art: SimArtifact) -> list[SimTag]:
    """Order an artifact's tags as Harbor lists them: push_time desc, then id desc."""
    return sorted(art.tags.values(), key=lambda t: (t.push_time, t.id), reverse=True)


def registry_json(reg: SimRegistry) -> dict[str, Any]:
    """Render a ``Registry`` endpoint; the secret is always masked."""
    credential = {"type": "basic", "access_key": reg.access_key, "access_secret": "*****"}
    return omit_empty(
        {
            "id": reg.id,
            "name": reg.name,
            "url": reg.url,
            "type": reg.type,
            "insecure": reg.insecure,
            "description": reg.description,
            "status": reg.status,
            "credential": credential,
            "creation_time": fmt_time(reg.creation_time),
            "update_time": fmt_time(reg.update_time),
        },
        keep={"id"},
    )


def _registry_ref(state: SimState, rid: int) -> dict[str, Any]:
    reg = state.registries.get(rid)
    return LOCAL_REGISTRY if rid == 0 or reg is None else registry_json(reg)


def policy_json(policy: SimPolicy, state: SimState) -> dict[str, Any]:
    """Render a ``ReplicationPolicy``; both deletion fields come from the store."""
    trigger: dict[str, Any] | None = None
    if policy.trigger is not None:
        trigger = {"type": policy.trigger}
        trigger["trigger_settings"] = omit_empty({"cron": policy.cron})
    body = omit_empty(
        {
            "id": policy.id,
            "name": policy.name,
            "description": policy.description,
            "src_registry": _registry_ref(state, policy.src_registry_id),
            "dest_registry": _registry_ref(state, policy.dest_registry_id),
            "dest_namespace": policy.dest_namespace,
            "trigger": trigger,
            "replicate_deletion": policy.replicate_deletion,
            "deletion": policy.replicate_deletion,
            "override": policy.override,
            "enabled": policy.enabled,
            "creation_time": fmt_time(policy.creation_time),
            "update_time": fmt_time(policy.update_time),
        }
    )
    body["filters"] = nil_slice(list(policy.filters))
    # Nullable pointers in the model: always set by the handler's conversion.
    body["dest_namespace_replace_count"] = policy.dest_namespace_replace_count
    body["speed"] = policy.speed
    body["copy_by_chunk"] = policy.copy_by_chunk
    body["single_active_replication"] = policy.single_active_replication
    return body


def execution_json(execution: SimExecution, status: str, counts: dict[str, int]) -> dict[str, Any]:
    """Render a ``ReplicationExecution`` with its derived status and task counts."""
    return omit_empty(
        {
            "id": execution.id,
            "policy_id": execution.policy_id,
            "status": status,
            "status_text": execution.status_text,
            "trigger": execution.trigger,
            "start_time": fmt_time(execution.start_time),
            "end_time": fmt_time(execution.end_time),
            **counts,
        },
        keep={"status_text", "total", "failed", "succeed", "in_progress", "stopped"},
    )


def task_json(task: SimTask) -> dict[str, Any]:
    """Render a ``ReplicationTask``."""
    return omit_empty(
        {
            "id": task.id,
            "execution_id": task.execution_id,
            "status": task.status,
            "job_id": task.job_id,
            "operation": task.operation,
            "resource_type": "artifact",
            "src_resource": task.src_resource,
            "dst_resource": task.dst_resource,
            "start_time": fmt_time(task.start_time),
            "end_time": fmt_time(task.end_time),
        }
    )
