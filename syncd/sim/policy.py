"""Replication policy create/update with the handler's traps, and 6-field cron parsing.

PUT is a full replace: ``deletion`` (not ``replicate_deletion``) is read, an omitted
``dest_namespace_replace_count`` becomes -1, omitted filters mean none, an omitted trigger is nil.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from syncd.sim.catalog import SimError
from syncd.sim.filters import filter_error, namespace_error
from syncd.sim.state import SimPolicy, SimState, utcnow

if TYPE_CHECKING:
    from datetime import datetime

__all__ = ["build_policy", "cron_error", "cron_matches"]

_RANGES = ((0, 59), (0, 59), (0, 23), (1, 31), (1, 12), (0, 6))
_TRIGGERS = {"manual", "scheduled", "event_based"}


def _field_values(spec: str, low: int, high: int) -> set[int]:
    values: set[int] = set()
    for part in spec.split(","):
        rng, _, step_text = part.partition("/")
        step = int(step_text) if step_text else 1
        if rng in {"*", "?"}:
            start, end = low, high
        elif "-" in rng:
            start, end = (int(x) for x in rng.split("-", 1))
        else:
            start = int(rng)
            end = high if step_text else start
        if start < low or end > high or start > end or step < 1:
            raise ValueError(f"{part} out of range {low}-{high}")
        values.update(range(start, end + 1, step))
    return values


def _parse(cron: str) -> list[set[int]]:
    fields = cron.split()
    if len(fields) != len(_RANGES):
        raise ValueError(f"expected exactly 6 fields, found {len(fields)}: {cron}")
    return [_field_values(f, lo, hi) for f, (lo, hi) in zip(fields, _RANGES, strict=True)]


def cron_error(cron: str) -> str | None:
    """Harbor's validation of a scheduled trigger's cron, or None when valid."""
    try:
        _parse(cron)
    except ValueError as exc:
        return f"invalid cron string for scheduled trigger: {cron}: {exc}"
    fields = cron.split()
    if fields[0] != "0":
        return (
            f"invalid cron string for scheduled trigger: {cron}: the 1st field "
            "(indicating Seconds of time) of the cron setting must be 0"
        )
    if fields[1] == "*":
        return (
            f"invalid cron string for scheduled trigger: {cron}: the 2nd field "
            "(indicating Minutes of time) of the cron setting must not be *"
        )
    return None


def cron_matches(cron: str, when: datetime) -> bool:
    """Whether a valid 6-field cron fires at second ``when`` (UTC, robfig dom/dow OR rule)."""
    sec, minute, hour, dom, month, dow = _parse(cron)
    fields = cron.split()
    day_ok = (when.day in dom, (when.weekday() + 1) % 7 in dow)
    restricted = (fields[3] not in {"*", "?"}, fields[5] not in {"*", "?"})
    day = any(day_ok) if all(restricted) else all(day_ok)
    return (
        when.second in sec
        and when.minute in minute
        and when.hour in hour
        and when.month in month
        and day
    )


def _registry_ids(body: dict[str, Any], state: SimState) -> tuple[int, int]:
    src = int((body.get("src_registry") or {}).get("id") or 0)
    dst = int((body.get("dest_registry") or {}).get("id") or 0)
    if (src == 0) == (dst == 0):
        raise SimError(400, "BAD_REQUEST", "either src_registry or dest_registry should be local")
    for rid in (src, dst):
        if rid and rid not in state.registries:
            raise SimError(400, "BAD_REQUEST", f"registry {rid} not found")
    return src, dst


def _trigger(body: dict[str, Any]) -> tuple[str | None, str]:
    trigger = body.get("trigger")
    if not trigger:
        return None, ""
    kind = trigger.get("type") or "manual"
    cron = str((trigger.get("trigger_settings") or {}).get("cron") or "")
    if kind not in _TRIGGERS:
        raise SimError(400, "BAD_REQUEST", f"invalid trigger type: {kind}")
    if kind == "scheduled":
        problem = cron_error(cron)
        if problem:
            raise SimError(400, "BAD_REQUEST", problem)
    single = bool(body.get("single_active_replication"))
    if single and kind == "event_based":
        # handler/replication.go returns a plain fmt.Errorf: no code, so SendError makes it a
        # 500 and the body says only "internal server error".
        raise SimError(
            500, "UNKNOWN", "single active replication is not allowed for event_based triggers"
        )
    return kind, cron


def build_policy(body: Any, state: SimState, *, existing: SimPolicy | None) -> SimPolicy:
    """Validate a POST/PUT body and return the policy Harbor would store (not yet saved)."""
    if not isinstance(body, dict):
        raise SimError(400, "BAD_REQUEST", "invalid request body")
    name = body.get("name")
    if not name:
        raise SimError(400, "BAD_REQUEST", "empty name")
    src, dst = _registry_ids(body, state)
    filters = body.get("filters") or []
    problem = filter_error(filters) or namespace_error(str(body.get("dest_namespace") or ""))
    if problem:
        raise SimError(400, "BAD_REQUEST", problem)
    kind, cron = _trigger(body)
    clash = [p for p in state.policies.values() if p.name == name and p is not existing]
    if clash:
        raise SimError(409, "CONFLICT", f"policy {name} already exists")
    count = body.get("dest_namespace_replace_count")
    now = utcnow()
    return SimPolicy(
        id=existing.id if existing else state.next_id("policy"),
        name=str(name),
        src_registry_id=src,
        dest_registry_id=dst,
        creation_time=existing.creation_time if existing else now,
        update_time=now,
        description=str(body.get("description") or ""),
        dest_namespace=str(body.get("dest_namespace") or ""),
        dest_namespace_replace_count=-1 if count is None else int(count),
        trigger=kind,
        cron=cron,
        filters=[dict(f) for f in filters],
        replicate_deletion=bool(body.get("deletion")),
        override=bool(body.get("override")),
        enabled=bool(body.get("enabled")),
        speed=max(int(body.get("speed") or 0), 0),
        copy_by_chunk=bool(body.get("copy_by_chunk")),
        single_active_replication=bool(body.get("single_active_replication")),
    )
