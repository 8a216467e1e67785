"""What syncd remembers about repairing each policy, and the non-converging backoff.

Pure: stdlib and ``syncd.core.model`` only. A policy whose execution succeeds while its drift does
not shrink (``override=false`` with a differing digest, a filter that excludes the tags, ...)
is marked non-converging and backed off exponentially instead of being re-triggered every pass.
"""

from __future__ import annotations

from dataclasses import dataclass, fields, replace
from datetime import datetime, timedelta
from typing import TYPE_CHECKING, Any

from syncd.core.model import ActionResult, Drift, DriftClass

if TYPE_CHECKING:
    from collections.abc import Iterable, Mapping

__all__ = [
    "PolicyHistory",
    "from_record",
    "label_non_converging",
    "next_history",
    "policy_drift",
    "settle",
    "to_record",
]

PolicyKey = tuple[str, int]
_REPAIRABLE = frozenset({DriftClass.MISSING, DriftClass.STALE, DriftClass.NON_CONVERGING})
_UNCHANGED_RESULTS = frozenset({"dry_run", "skipped", ActionResult.NOT_STARTED})
"""Results that say nothing about the policy: nothing was started."""


@dataclass(frozen=True)
class PolicyHistory:
    """What syncd remembers about repairing one policy across passes."""

    policy_owner: str
    policy_id: int
    last_trigger: datetime | None
    drift_at_trigger: int
    last_result: str | None
    non_converging_since: datetime | None
    backoff_until: datetime | None
    failures: int
    non_converging_count: int = 0
    """Consecutive successful executions that left the drift as large as it was."""


def next_history(
    *,
    previous: PolicyHistory | None,
    policy: PolicyKey,
    execution_result: str,
    drift_before: int,
    drift_after: int,
    now: datetime,
    base_backoff: timedelta = timedelta(minutes=5),
    max_backoff: timedelta = timedelta(hours=6),
) -> PolicyHistory:
    """Record one execution's effect; back off a policy that succeeds without converging."""
    past = previous or PolicyHistory(policy[0], policy[1], None, 0, None, None, None, 0)
    if execution_result in _UNCHANGED_RESULTS:
        return past
    past = replace(past, last_trigger=now, drift_at_trigger=drift_before)
    past = replace(past, last_result=execution_result)
    if execution_result != "succeeded":
        failures = past.failures + 1
        until = now + _backoff(base_backoff, failures - 1, max_backoff)
        return replace(past, failures=failures, backoff_until=until)
    if drift_after == 0 or drift_after < drift_before:
        return replace(
            past, failures=0, non_converging_since=None, backoff_until=None, non_converging_count=0
        )
    count = past.non_converging_count + 1
    return replace(
        past,
        failures=0,
        non_converging_since=past.non_converging_since or now,
        non_converging_count=count,
        backoff_until=now + _backoff(base_backoff, count - 1, max_backoff),
    )


def _backoff(base: timedelta, exponent: int, cap: timedelta) -> timedelta:
    # Cap the exponent before multiplying: 2**n overflows timedelta long before n is large.
    delay: timedelta = base * (2 ** min(exponent, 32))
    return min(delay, cap)


def settle(
    history: Mapping[PolicyKey, PolicyHistory], drift: Iterable[Drift]
) -> dict[PolicyKey, PolicyHistory]:
    """Clear the non-converging mark of policies that no longer have repairable drift."""
    busy = {(d.edge.policy_owner, d.edge.policy_id) for d in drift if d.drift_class in _REPAIRABLE}
    return {
        key: record
        if key in busy or record.non_converging_since is None
        else replace(record, non_converging_since=None, non_converging_count=0, backoff_until=None)
        for key, record in history.items()
    }


def to_record(record: PolicyHistory) -> dict[str, Any]:
    """Return a plain dict for the state store (which encodes the datetimes)."""
    return {f.name: getattr(record, f.name) for f in fields(record)}


def from_record(data: Mapping[str, Any]) -> PolicyHistory:
    """Rebuild a record from the store's dict (datetimes already decoded); unknown keys dropped."""
    names = {f.name for f in fields(PolicyHistory)}
    return PolicyHistory(**{k: v for k, v in data.items() if k in names})


def label_non_converging(
    drift: Iterable[Drift], history: Mapping[PolicyKey, PolicyHistory]
) -> tuple[Drift, ...]:
    """Relabel repairable drift of policies marked non-converging as NON_CONVERGING."""

    def label(d: Drift) -> Drift:
        record = history.get((d.edge.policy_owner, d.edge.policy_id))
        if record and record.non_converging_since and d.drift_class in _REPAIRABLE:
            return replace(d, drift_class=DriftClass.NON_CONVERGING)
        return d

    return tuple(label(d) for d in drift)


def policy_drift(drift: Iterable[Drift], owner: str, policy_id: int) -> int:
    """Count the repairable drift on the edges of one policy."""
    return sum(
        1
        for d in drift
        if (d.edge.policy_owner, d.edge.policy_id) == (owner, policy_id)
        and d.drift_class in _REPAIRABLE
    )
