"""Parsing and authenticating Harbor webhook notifications (Default payload format); no I/O.

Harbor POSTs ``{"type", "occur_at", "operator", "event_data": {...}}``. Artifact events carry
``event_data.repository.repo_full_name`` and ``event_data.resources[]`` (``tag``, ``digest``,
``resource_url``); ``REPLICATION`` carries ``event_data.replication`` (``job_status``,
``src_resource``, ``dest_resource``, ...); ``TAG_RETENTION`` carries
``event_data.retention.project_name``. Harbor sends the policy's configured *auth header* value
verbatim in ``Authorization``; it is the shared secret compared here.

A webhook is only a hint that a catalog changed: syncd still decides from a full observation,
so events that cannot change what replicates (pulls, scans, quotas) are accepted and ignored.

Bodies are decoded into typed pydantic models (strict: a string is not a number, a boolean is
not a timestamp) after a nesting-depth check, so a deeply nested document is a 400, not a
``RecursionError``. Validation errors name the field (``event_data.resources[0].tag``).
"""

from __future__ import annotations

import hmac
import json
import re
from dataclasses import dataclass, replace
from datetime import UTC, datetime
from http import HTTPStatus
from typing import Any, TypeVar

from pydantic import BaseModel, ConfigDict, ValidationError, model_validator

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
MAX_DEPTH = 16
"""Deepest JSON nesting accepted; Harbor's payloads nest four levels."""
_JSON_STRING = re.compile(rb'"(?:[^"\\]|\\.)*"')
_NOT_BRACKET = re.compile(rb"[^\[\]{}]")
_KIND_WORDS = {
    "string_type": "a string",
    "int_type": "an integer",
    "model_type": "an object",
    "dict_type": "an object",
    "list_type": "an array",
}


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


class _Model(BaseModel):
    """Strict, frozen, extra keys ignored (Harbor adds fields between versions)."""

    model_config = ConfigDict(strict=True, frozen=True, extra="ignore")

    @model_validator(mode="before")
    @classmethod
    def _null_is_missing(cls, data: Any) -> Any:
        # Harbor writes absent values as null; "missing field" is the clearer message.
        if isinstance(data, dict):
            return {k: v for k, v in data.items() if v is not None}
        return data


_M = TypeVar("_M", bound=_Model)


class _Resource(_Model):
    tag: str = ""
    digest: str = ""


class _Repository(_Model):
    repo_full_name: str


class _ArtifactData(_Model):
    repository: _Repository
    resources: list[_Resource]


class _Replication(_Model):
    job_status: str = ""


class _ReplicationData(_Model):
    replication: _Replication


class _Retention(_Model):
    project_name: str


class _RetentionData(_Model):
    retention: _Retention


class _Kind(_Model):
    type: str


class _Envelope(_Model):
    type: str
    occur_at: int
    operator: str = ""


class _ArtifactPayload(_Envelope):
    event_data: _ArtifactData


class _ReplicationPayload(_Envelope):
    event_data: _ReplicationData


class _RetentionPayload(_Envelope):
    event_data: _RetentionData


_PAYLOADS: dict[str, type[_Envelope]] = {
    "PUSH_ARTIFACT": _ArtifactPayload,
    "DELETE_ARTIFACT": _ArtifactPayload,
    "REPLICATION": _ReplicationPayload,
    "TAG_RETENTION": _RetentionPayload,
}


def parse_webhook(body: bytes, *, authorization: str | None, secret: str | None) -> WebhookEvent:
    """Authenticate and parse one notification body, or raise :class:`WebhookError`.

    Authentication runs before parsing, so unauthenticated senders learn nothing about the
    expected shape. With ``secret`` unset (``None`` or empty) every sender is accepted.
    """
    _authenticate(authorization=authorization, secret=secret)
    payload = _decode(body)
    kind = _validate(_Kind, payload).type
    if kind not in ACTIONABLE_TYPES | IGNORED_TYPES:
        raise WebhookError(HTTPStatus.UNPROCESSABLE_ENTITY, f"unsupported event type {kind[:64]!r}")
    model = _validate(_PAYLOADS.get(kind, _Envelope), payload)
    base = WebhookEvent(type=kind, occur_at=_timestamp(model.occur_at), operator=model.operator)
    return _event(base, model)


def _event(base: WebhookEvent, model: _Envelope) -> WebhookEvent:
    if isinstance(model, _ArtifactPayload):
        data = model.event_data
        full_name = data.repository.repo_full_name
        return replace(
            base,
            project=full_name.split("/", 1)[0],
            repository=full_name,
            tags=tuple(dict.fromkeys(r.tag for r in data.resources if r.tag)),
            digests=tuple(dict.fromkeys(r.digest for r in data.resources if r.digest)),
        )
    if isinstance(model, _ReplicationPayload):
        return replace(base, job_status=model.event_data.replication.job_status)
    if isinstance(model, _RetentionPayload):
        return replace(base, project=model.event_data.retention.project_name)
    return base


def _authenticate(*, authorization: str | None, secret: str | None) -> None:
    if not secret:
        return
    if authorization is None:
        raise WebhookError(HTTPStatus.UNAUTHORIZED, "missing Authorization header")
    if not hmac.compare_digest(authorization.encode(), secret.encode()):
        raise WebhookError(HTTPStatus.UNAUTHORIZED, "invalid Authorization header")


def _depth(body: bytes) -> int:
    """Deepest bracket nesting outside strings, stopping early past ``MAX_DEPTH``."""
    depth = deepest = 0
    for char in _NOT_BRACKET.sub(b"", _JSON_STRING.sub(b"", body)):
        depth += 1 if char in b"[{" else -1
        deepest = max(deepest, depth)
        if deepest > MAX_DEPTH:
            break
    return deepest


def _decode(body: bytes) -> dict[str, Any]:
    if _depth(body) > MAX_DEPTH:
        raise WebhookError(HTTPStatus.BAD_REQUEST, f"body nests deeper than {MAX_DEPTH} levels")
    try:
        payload = json.loads(body)
    except (UnicodeDecodeError, json.JSONDecodeError, RecursionError) as exc:
        raise WebhookError(HTTPStatus.BAD_REQUEST, f"body is not valid JSON: {exc}") from None
    if not isinstance(payload, dict):
        raise WebhookError(HTTPStatus.BAD_REQUEST, "body must be a JSON object")
    if "specversion" in payload:
        raise WebhookError(
            HTTPStatus.UNSUPPORTED_MEDIA_TYPE,
            "CloudEvents payloads are not supported: set the webhook payload format to Default",
        )
    return payload


def _validate(model: type[_M], payload: dict[str, Any]) -> _M:
    try:
        return model.model_validate(payload)
    except ValidationError as exc:
        raise WebhookError(HTTPStatus.BAD_REQUEST, _first_problem(exc)) from None


def _first_problem(exc: ValidationError) -> str:
    err = exc.errors(include_url=False, include_input=False)[0]
    where = ""
    for part in err["loc"]:
        where += f"[{part}]" if isinstance(part, int) else f".{part}" if where else str(part)
    if err["type"] == "missing":
        return f"missing field {where!r}"
    wanted = _KIND_WORDS.get(err["type"], "well-formed")
    return f"field {where!r} must be {wanted}"


def _timestamp(seconds: int) -> datetime:
    try:
        return datetime.fromtimestamp(seconds, tz=UTC)
    except (OverflowError, OSError, ValueError) as exc:
        raise WebhookError(HTTPStatus.BAD_REQUEST, "field 'occur_at' is out of range") from exc
