"""Parsing and authenticating Harbor webhook notifications (Default payload format); no I/O.

Harbor POSTs ``{"type", "occur_at", "operator", "event_data": {...}}``. Artifact events carry
``event_data.repository.repo_full_name`` and ``event_data.resources[]`` (``tag``, ``digest``,
``resource_url``); ``REPLICATION`` carries ``event_data.replication`` (``job_status``,
``src_resource``, ``dest_resource``, ...); ``TAG_RETENTION`` carries
``event_data.retention.project_name``. Harbor sends the policy's configured *auth header* value
verbatim in ``Authorization``; it is the shared secret compared here.

A webhook is only a hint that a catalog changed: syncd still decides from a full observation,
so events that cannot change what replicates (pulls, scans, quotas) are accepted and ignored.
"""

from __future__ import annotations

import hmac
import json
from dataclasses import dataclass, replace
from datetime import UTC, datetime
from http import HTTPStatus
from typing import Any, TypeVar

__all__ = ["ACTIONABLE_TYPES", "IGNORED_TYPES", "WebhookError", "WebhookEvent", "parse_webhook"]

ACTIONABLE_TYPES = frozenset({"PUSH_ARTIFACT", "DELETE_ARTIFACT", "REPLICATION", "TAG_RETENTION"})
"""Events that can create or resolve drift."""
IGNORED_TYPES = frozenset(
    {
        "PULL_ARTIFACT",
        "SCANNING_COMPLETED",
        "SCANNING_FAILED",
        "SCANNING_STOPPED",
        "QUOTA_EXCEED",
        "QUOTA_WARNING",
        "UPLOAD_CHART",
        "DOWNLOAD_CHART",
        "DELETE_CHART",
    }
)
"""Harbor events that cannot change a catalog: accepted (202) and dropped."""
_ARTIFACT_TYPES = frozenset({"PUSH_ARTIFACT", "DELETE_ARTIFACT"})
_T = TypeVar("_T")


class WebhookError(Exception):
    """A rejected notification: ``status`` is the HTTP status to answer with."""

    def __init__(self, status: int, message: str) -> None:
        super().__init__(message)
        self.status = status
        self.message = message


@dataclass(frozen=True, slots=True)
class WebhookEvent:
    """One parsed Harbor notification, reduced to what reconciliation can use."""

    type: str
    occur_at: datetime
    operator: str = ""
    project: str | None = None
    repository: str | None = None
    """Full repository name (``project/name``) for artifact events."""
    tags: tuple[str, ...] = ()
    digests: tuple[str, ...] = ()
    job_status: str = ""
    """For ``REPLICATION``: Harbor's job status text."""

    @property
    def actionable(self) -> bool:
        """Whether the event may mean drift appeared or went away."""
        return self.type in ACTIONABLE_TYPES


def parse_webhook(body: bytes, *, authorization: str | None, secret: str | None) -> WebhookEvent:
    """Authenticate and parse one notification body, or raise :class:`WebhookError`.

    Authentication runs before parsing, so unauthenticated senders learn nothing about the
    expected shape. With ``secret`` unset (``None`` or empty) every sender is accepted.
    """
    _authenticate(authorization=authorization, secret=secret)
    payload = _decode(body)
    kind = _field(payload, "type", str)
    if kind not in ACTIONABLE_TYPES | IGNORED_TYPES:
        raise WebhookError(HTTPStatus.UNPROCESSABLE_ENTITY, f"unsupported event type {kind[:64]!r}")
    occur_at = _field(payload, "occur_at", int)
    base = WebhookEvent(
        type=kind,
        occur_at=_timestamp(occur_at),
        operator=_optional(payload, "operator", str) or "",
    )
    if kind not in ACTIONABLE_TYPES:
        return base
    data = _field(payload, "event_data", dict)
    if kind in _ARTIFACT_TYPES:
        return _artifact_event(base, data)
    if kind == "REPLICATION":
        replication = _field(data, "replication", dict, path="event_data.")
        status = _optional(replication, "job_status", str) or ""
        return replace(base, job_status=status)
    retention = _field(data, "retention", dict, path="event_data.")
    project = _field(retention, "project_name", str, path="event_data.retention.")
    return replace(base, project=project)


def _authenticate(*, authorization: str | None, secret: str | None) -> None:
    if not secret:
        return
    if authorization is None:
        raise WebhookError(HTTPStatus.UNAUTHORIZED, "missing Authorization header")
    if not hmac.compare_digest(authorization.encode(), secret.encode()):
        raise WebhookError(HTTPStatus.UNAUTHORIZED, "invalid Authorization header")


def _decode(body: bytes) -> dict[str, Any]:
    try:
        payload = json.loads(body)
    except (UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise WebhookError(HTTPStatus.BAD_REQUEST, f"body is not valid JSON: {exc}") from exc
    if not isinstance(payload, dict):
        raise WebhookError(HTTPStatus.BAD_REQUEST, "body must be a JSON object")
    if "specversion" in payload:
        raise WebhookError(
            HTTPStatus.UNSUPPORTED_MEDIA_TYPE,
            "CloudEvents payloads are not supported: set the webhook payload format to Default",
        )
    return payload


def _artifact_event(base: WebhookEvent, data: dict[str, Any]) -> WebhookEvent:
    repo = _field(data, "repository", dict, path="event_data.")
    full_name = _field(repo, "repo_full_name", str, path="event_data.repository.")
    resources = _field(data, "resources", list, path="event_data.")
    tags: list[str] = []
    digests: list[str] = []
    for index, resource in enumerate(resources):
        where = f"event_data.resources[{index}]"
        if not isinstance(resource, dict):
            raise WebhookError(HTTPStatus.BAD_REQUEST, f"field {where!r} must be an object")
        tag = _optional(resource, "tag", str, path=f"{where}.")
        digest = _optional(resource, "digest", str, path=f"{where}.")
        tags += [tag] if tag else []
        digests += [digest] if digest else []
    return replace(
        base,
        project=full_name.split("/", 1)[0],
        repository=full_name,
        tags=tuple(dict.fromkeys(tags)),
        digests=tuple(dict.fromkeys(digests)),
    )


def _field(obj: dict[str, Any], name: str, kind: type[_T], *, path: str = "") -> _T:
    if name not in obj or obj[name] is None:
        raise WebhookError(HTTPStatus.BAD_REQUEST, f"missing field {path + name!r}")
    return _typed(obj[name], name, kind, path=path)


def _optional(obj: dict[str, Any], name: str, kind: type[_T], *, path: str = "") -> _T | None:
    if obj.get(name) is None:
        return None
    return _typed(obj[name], name, kind, path=path)


def _typed(value: object, name: str, kind: type[_T], *, path: str) -> _T:
    # bool is an int subclass; a boolean occur_at is malformed, not a timestamp.
    if not isinstance(value, kind) or (kind is int and isinstance(value, bool)):
        wanted = {dict: "an object", list: "an array", str: "a string", int: "an integer"}
        raise WebhookError(
            HTTPStatus.BAD_REQUEST,
            f"field {path + name!r} must be {wanted.get(kind, kind.__name__)}",
        )
    return value


def _timestamp(seconds: int) -> datetime:
    try:
        return datetime.fromtimestamp(seconds, tz=UTC)
    except (OverflowError, OSError, ValueError) as exc:
        raise WebhookError(HTTPStatus.BAD_REQUEST, "field 'occur_at' is out of range") from exc
