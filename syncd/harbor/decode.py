"""Harbor JSON -> ``syncd.core.model`` values, at the client boundary.

Pure functions. Every field the spec marks ``x-nullable`` (or that Harbor omits) falls back to
the value Harbor itself would use; a field the decision core cannot do without (a digest, an id,
a name) missing or of the wrong type raises ``HarborProtocolError`` naming that field.
"""

from __future__ import annotations

import sys
from collections.abc import Mapping
from datetime import UTC, datetime
from typing import Any

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

__all__ = [
    "parse_artifact",
    "parse_execution",
    "parse_policy",
    "parse_registry",
    "parse_repository",
    "parse_time",
]

_DEFAULT_MANIFEST_TYPE = "application/vnd.oci.image.manifest.v1+json"


def _obj(d: Any, what: str) -> Mapping[str, Any]:
    if not isinstance(d, Mapping):
        raise HarborProtocolError(f"{what}: expected a JSON object, got {type(d).__name__}")
    return d


def _req_str(d: Mapping[str, Any], key: str, what: str) -> str:
    value = d.get(key)
    if not isinstance(value, str) or not value:
        raise HarborProtocolError(f"{what}: field {key!r} is missing or not a non-empty string")
    return value


def _req_int(d: Mapping[str, Any], key: str, what: str) -> int:
    value = d.get(key)
    if isinstance(value, bool) or not isinstance(value, int):
        raise HarborProtocolError(f"{what}: field {key!r} is missing or not an integer")
    return value


def _int(d: Mapping[str, Any], key: str, what: str, *, default: int = 0) -> int:
    value = d.get(key)
    if value is None:
        return default
    if isinstance(value, bool) or not isinstance(value, int):
        raise HarborProtocolError(f"{what}: field {key!r} is not an integer")
    return value


def _str(d: Mapping[str, Any], key: str, *, default: str = "") -> str:
    value = d.get(key)
    return value if isinstance(value, str) else default


def _list(d: Mapping[str, Any], key: str, what: str) -> list[Any]:
    value = d.get(key)
    if value is None:
        return []
    if not isinstance(value, list):
        raise HarborProtocolError(f"{what}: field {key!r} is not a list")
    return value


def parse_time(value: Any, *, field: str) -> datetime | None:
    """Parse an RFC 3339 timestamp to an aware datetime (naive means UTC); null/empty is None."""
    if value is None or value == "":
        return None
    if not isinstance(value, str):
        raise HarborProtocolError(f"field {field!r} is not a timestamp string")
    try:
        parsed = datetime.fromisoformat(value)
    except ValueError:
        raise HarborProtocolError(f"field {field!r} is not an RFC 3339 timestamp") from None
    if parsed.year == 1:  # Go's zero time.Time: Harbor's "never" (unfinished end_time, pull_time)
        return None
    return parsed if parsed.tzinfo is not None else parsed.replace(tzinfo=UTC)


def _names(items: list[Any], key: str, what: str) -> list[str]:
    return [_req_str(_obj(item, what), key, what) for item in items]


def parse_artifact(d: Any) -> Artifact:
    """One entry of the artifact listing (with tags, labels and accessories)."""
    a = _obj(d, "artifact")
    digest = _req_str(a, "digest", "artifact")
    what = f"artifact {digest}"
    # A catalog holds ~10^5 artifacts: intern the few distinct type strings and share the
    # empty containers instead of keeping a copy per artifact (the benchmark's RSS budget).
    return Artifact(
        digest=digest,
        tags=_frozen(_names(_list(a, "tags", what), "name", f"{what} tag")),
        push_time=parse_time(a.get("push_time"), field="push_time"),
        type=sys.intern(_str(a, "type", default="IMAGE")),
        media_type=sys.intern(_str(a, "manifest_media_type", default=_DEFAULT_MANIFEST_TYPE)),
        references=_tuple(_names(_list(a, "references", what), "child_digest", f"{what} ref")),
        accessories=_tuple(_names(_list(a, "accessories", what), "digest", f"{what} accessory")),
        labels=_frozen(_names(_list(a, "labels", what), "name", f"{what} label")),
    )


_EMPTY_SET: frozenset[str] = frozenset()
_EMPTY_TUPLE: tuple[str, ...] = ()


def _frozen(items: list[str]) -> frozenset[str]:
    # Tag and label names repeat across a catalog ("latest", "1.0"): share one copy each.
    return frozenset(map(sys.intern, items)) if items else _EMPTY_SET


def _tuple(items: list[str]) -> tuple[str, ...]:
    return tuple(items) if items else _EMPTY_TUPLE


def parse_repository(d: Any) -> Repository:
    """One repository (without artifacts); ``name`` is the full name including the project."""
    r = _obj(d, "repository")
    name = _req_str(r, "name", "repository")
    return Repository(
        name=name,
        artifact_count=_int(r, "artifact_count", f"repository {name}"),
        update_time=parse_time(r.get("update_time"), field="update_time"),
    )


def parse_registry(d: Any) -> Registry:
    """One registry endpoint; an unknown status is reported as ``unknown``, never as healthy."""
    r = _obj(d, "registry")
    return Registry(
        id=_req_int(r, "id", "registry"),
        name=_req_str(r, "name", "registry"),
        url=_str(r, "url"),
        type=_str(r, "type", default="harbor"),
        status=_str(r, "status", default="unknown"),
    )


def _registry_id(p: Mapping[str, Any], key: str, what: str) -> int:
    # Harbor treats an absent registry as the local one (id 0), on read and on write.
    registry = p.get(key)
    if registry is None:
        return 0
    return _int(_obj(registry, f"{what} {key}"), "id", f"{what} {key}")


def _filter(d: Any, what: str) -> Filter:
    f = _obj(d, what)
    value = f.get("value")
    if isinstance(value, list):
        parsed: str | tuple[str, ...] = tuple(str(v) for v in value)
    elif value is None or isinstance(value, str):
        parsed = value or ""
    else:
        raise HarborProtocolError(f"{what}: field 'value' is neither a string nor a list")
    return Filter(type=_req_str(f, "type", what), value=parsed, decoration=_str(f, "decoration"))


def parse_policy(d: Any, *, owner: str) -> Policy:
    """Parse a policy read from ``owner``; the raw JSON is kept for full-replace PUTs."""
    p = _obj(d, "replication policy")
    policy_id = _req_int(p, "id", "replication policy")
    what = f"replication policy {policy_id}"
    trigger = p.get("trigger")
    trigger = _obj(trigger, f"{what} trigger") if trigger is not None else {}
    settings = trigger.get("trigger_settings")
    settings = _obj(settings, f"{what} trigger_settings") if settings is not None else {}
    replace_count = p.get("dest_namespace_replace_count")
    deletion = p.get("replicate_deletion")
    return Policy(
        owner=owner,
        id=policy_id,
        name=_req_str(p, "name", what),
        enabled=bool(p.get("enabled")),
        src_registry_id=_registry_id(p, "src_registry", what),
        dest_registry_id=_registry_id(p, "dest_registry", what),
        trigger=_str(trigger, "type", default="manual") or "manual",
        cron=_str(settings, "cron") or None,
        filters=tuple(_filter(f, f"{what} filter") for f in _list(p, "filters", what)),
        dest_namespace=_str(p, "dest_namespace"),
        # Harbor maps an absent count to -1 (legacy flattening) too.
        dest_namespace_replace_count=replace_count if isinstance(replace_count, int) else -1,
        override=bool(p.get("override")),
        replicate_deletion=bool(deletion if deletion is not None else p.get("deletion")),
        raw=dict(p),
    )


def _status(value: Any) -> ExecutionStatus:
    # Harbor reports any internal status it cannot convert as ""; treat it as not yet
    # terminal so the watcher keeps polling (bounded by its timeout) instead of guessing.
    try:
        return ExecutionStatus(value)
    except ValueError:
        return ExecutionStatus.PENDING


def parse_execution(d: Any, *, instance: str) -> Execution:
    """Parse a replication execution on ``instance``."""
    e = _obj(d, "replication execution")
    execution_id = _req_int(e, "id", "replication execution")
    what = f"replication execution {execution_id}"
    return Execution(
        instance=instance,
        id=execution_id,
        policy_id=_req_int(e, "policy_id", what),
        status=_status(e.get("status")),
        trigger=_str(e, "trigger", default="manual"),
        start_time=parse_time(e.get("start_time"), field="start_time"),
        end_time=parse_time(e.get("end_time"), field="end_time"),
        status_text=_str(e, "status_text"),
        total=_int(e, "total", what),
        succeed=_int(e, "succeed", what),
        failed=_int(e, "failed", what),
        in_progress=_int(e, "in_progress", what),
        stopped=_int(e, "stopped", what),
    )
