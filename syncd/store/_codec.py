"""Encodings between ``syncd.core.model`` values and the text the state database stores.

Times are fixed-width UTC ISO text (so text order is time order); catalogs are compact JSON.
"""

from __future__ import annotations

import json
import sys
from collections.abc import Sequence
from datetime import UTC, datetime
from functools import partial
from typing import TYPE_CHECKING, Any, overload

from syncd.core.incremental import EdgeStamp
from syncd.core.model import Artifact, Repository

if TYPE_CHECKING:
    from collections.abc import Callable, Iterable, Iterator, Mapping

__all__ = ["StoredArtifacts", "history_from_json", "history_to_json"]

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
    """One JSON array for all artifacts of a repository (a cached one is written as read)."""
    if isinstance(artifacts, StoredArtifacts):
        return artifacts.text
    return dumps([_artifact_row(a) for a in artifacts])


Sets = dict[tuple[str, ...], frozenset[str]]


class StoredArtifacts(Sequence[Artifact]):
    """A cached repository's artifacts, decoded from their JSON on first use.

    A warm pass reads every repository's row but uses the artifacts of the few that changed:
    the others are never decoded, and with ``fetch`` (the SQLite store) their JSON is not even
    read until needed. Its length is the stored row count, so comparing it with Harbor's
    ``artifact_count`` decodes nothing. Two threads decoding at once both get equal tuples;
    the race costs time, never correctness.
    """

    __slots__ = ("_decoded", "_fetch", "_rows", "_sets", "_text")

    def __init__(
        self, text: str | None, rows: int, sets: Sets, fetch: Callable[[], str] | None = None
    ) -> None:
        if text is None and fetch is None:
            raise ValueError("stored artifacts need their text or a way to fetch it")
        self._text, self._rows, self._sets, self._fetch = text, rows, sets, fetch
        self._decoded: tuple[Artifact, ...] | None = None

    @property
    def text(self) -> str:
        """The stored JSON (fetched on first use)."""
        text = self._text
        if text is None:
            assert self._fetch is not None  # __init__ refuses a value without either
            text = self._text = self._fetch()
        return text

    @property
    def fetched(self) -> bool:
        """Whether the JSON is in memory (a write of this store can no longer change it)."""
        return self._text is not None

    def _items(self) -> tuple[Artifact, ...]:
        decoded = self._decoded
        if decoded is None:
            decoded = self._decoded = decode_artifacts(self.text, sets=self._sets)
            self._fetch = None
        return decoded

    def __len__(self) -> int:
        return self._rows if self._rows >= 0 else len(self._items())

    @overload
    def __getitem__(self, index: int) -> Artifact: ...
    @overload
    def __getitem__(self, index: slice) -> tuple[Artifact, ...]: ...
    def __getitem__(self, index: int | slice) -> Artifact | tuple[Artifact, ...]:
        return self._items()[index]

    def __iter__(self) -> Iterator[Artifact]:
        return iter(self._items())

    def __eq__(self, other: object) -> bool:
        if isinstance(other, StoredArtifacts) and other.text == self.text:
            return True
        return isinstance(other, Sequence) and self._items() == tuple(other)

    def __hash__(self) -> int:
        return hash(self._items())

    def __repr__(self) -> str:
        return f"StoredArtifacts({self._items()!r})"


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
    """Build the ``catalog_repo`` row for one repository (the row count last)."""
    return (
        instance,
        repo.name,
        repo.artifact_count,
        opt_ts(repo.update_time),
        encode_artifacts(repo.artifacts),
        len(repo.artifacts),
    )


def decode_repo(
    name: str,
    count: int,
    updated: str | None,
    artifacts: str | None,
    rows: int,
    *,
    sets: Sets,
    fetch: Callable[[str], str] | None = None,
) -> Repository:
    """Invert `repo_row` (minus the instance): the artifacts are decoded on first use.

    Without ``artifacts`` (not read), ``fetch(name)`` reads them when first needed.
    """
    name = _intern(name)
    when = None if updated is None else _utc(updated)
    later = None if fetch is None else partial(fetch, name)
    return Repository(name, count, when, StoredArtifacts(artifacts, rows, sets, later))


def stamp_text(stamp: EdgeStamp, generations: Sequence[int | None]) -> str:
    """Encode an edge stamp with the generations its two catalogs hold now."""
    return dumps(
        {
            "policy": stamp.policy,
            "ends": [stamp.source, stamp.destination],
            "catalogs": list(generations),
            "open": sorted(stamp.still_open),
        }
    )


def stamp_ends(text: str) -> tuple[str, str]:
    """Return the two instances a stored stamp names (whose catalog generations it holds)."""
    source, destination = json.loads(text)["ends"]
    return str(source), str(destination)


def stamp_of(text: str | None, generations: Sequence[int | None]) -> EdgeStamp | None:
    """Decode a stored stamp; None when absent or when either catalog has moved on since."""
    if not text:
        return None
    data = json.loads(text)
    if data.get("catalogs") != list(generations) or None in generations:
        return None
    source, destination = stamp_ends(text)
    return EdgeStamp(data["policy"], source, destination, frozenset(data["open"]))
