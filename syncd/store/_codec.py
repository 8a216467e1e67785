"""Encodings between ``syncd.core.model`` values and the text the state database stores.

Times are fixed-width UTC ISO text (so text order is time order); catalogs are compact JSON.
"""

from __future__ import annotations

import json
import sys
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

from syncd.core.model import Artifact, Repository

if TYPE_CHECKING:
    from collections.abc import Iterable, Mapping

__all__ = ["history_from_json", "history_to_json"]

_intern = sys.intern
_fromiso = datetime.fromisoformat
_EMPTY_SET: frozenset[str] = frozenset()
_HISTORY_TIMES = ("last_trigger", "non_converging_since", "backoff_until")
"""The ``PolicyHistory`` fields (``syncd.core.plan``) that hold datetimes."""


def ts(value: datetime) -> str:
    """Encode a timezone-aware time as UTC ISO text with microseconds."""
    if value.tzinfo is None or value.utcoffset() is None:
        raise ValueError(f"naive datetime {value!r}: state times must be timezone-aware")
    return value.astimezone(UTC).isoformat(timespec="microseconds")


def dt(text: str) -> datetime:
    """Decode `ts` text back into a UTC datetime."""
    return _utc(text)


def opt_ts(value: datetime | None) -> str | None:
    """`ts` that passes None through."""
    return None if value is None else ts(value)


def opt_dt(text: str | None) -> datetime | None:
    """`dt` that passes None through."""
    return None if text is None else dt(text)


def dumps(value: object) -> str:
    """Compact, deterministic JSON."""
    return json.dumps(value, separators=(",", ":"), sort_keys=True)


def history_to_json(record: Mapping[str, Any]) -> dict[str, Any]:
    """Make a policy-history record JSON-safe: datetimes become UTC ISO strings."""
    return {k: ts(v) if isinstance(v, datetime) else v for k, v in record.items()}


def history_from_json(data: Mapping[str, Any]) -> dict[str, Any]:
    """Invert `history_to_json` for the planner's ``PolicyHistory`` time fields."""
    return {k: dt(v) if k in _HISTORY_TIMES and isinstance(v, str) else v for k, v in data.items()}


def _artifact_row(a: Artifact) -> list[object]:
    # Positional rather than keyed: about half the bytes over 200k artifacts.
    return [
        a.digest,
        sorted(a.tags),
        opt_ts(a.push_time),
        a.type,
        a.media_type,
        list(a.references),
        list(a.accessories),
        sorted(a.labels),
    ]


def encode_artifacts(artifacts: Iterable[Artifact]) -> str:
    """One JSON array for all artifacts of a repository."""
    return dumps([_artifact_row(a) for a in artifacts])


def decode_artifacts(
    text: str, *, sets: dict[tuple[str, ...], frozenset[str]] | None = None
) -> tuple[Artifact, ...]:
    """Invert `encode_artifacts`.

    As the listing's decoder does: the few distinct tag, type and label strings are interned
    and empty containers shared, instead of a copy per artifact (a catalog holds ~10^5). Digests
    are interned too: the bases loaded next share them instead of holding a copy each. Equal
    tag and label sets are one object too, through ``sets`` (a frozenset costs ~200 bytes;
    give one dict to every repository of a catalog).
    """
    sets = {} if sets is None else sets
    return tuple(
        [
            Artifact(
                _intern(digest),
                _shared(tags, sets) if tags else _EMPTY_SET,
                None if pushed is None else _utc(pushed),
                _intern(kind),
                _intern(media_type),
                tuple(refs) if refs else (),
                tuple(accessories) if accessories else (),
                _shared(labels, sets) if labels else _EMPTY_SET,
            )
            for digest, tags, pushed, kind, media_type, refs, accessories, labels in json.loads(
                text
            )
        ]
    )


def _shared(names: list[str], sets: dict[tuple[str, ...], frozenset[str]]) -> frozenset[str]:
    key = tuple(names)
    found = sets.get(key)
    if found is None:
        found = sets[key] = frozenset([_intern(n) for n in names])
    return found


def _utc(text: str) -> datetime:
    # `ts` always writes "+00:00": parsed, that is already the shared UTC tzinfo.
    value = _fromiso(text)
    return value if value.tzinfo is UTC else value.astimezone(UTC)


def repo_row(instance: str, repo: Repository) -> tuple[object, ...]:
    """Build the ``catalog_repo`` row for one repository."""
    return (
        instance,
        repo.name,
        repo.artifact_count,
        opt_ts(repo.update_time),
        encode_artifacts(repo.artifacts),
    )


def decode_repo(
    name: str,
    count: int,
    updated: str | None,
    artifacts: str,
    *,
    sets: dict[tuple[str, ...], frozenset[str]] | None = None,
) -> Repository:
    """Invert `repo_row` (minus the instance); ``sets`` as in `decode_artifacts`."""
    arts = decode_artifacts(artifacts, sets=sets)
    return Repository(_intern(name), count, opt_dt(updated), arts)
