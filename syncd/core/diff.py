"""Three-way drift per edge and per tag: expected (source, mapped) vs destination vs base.

Owns: classifying every disagreement on one edge into a ``DriftClass``, the new base of an
edge, first-seen bookkeeping for drift age, and per-edge summaries. Pure: stdlib and
``syncd.core.model`` only; no I/O, no logging. Linear in the number of tags: agreement is found
with set operations on dict item views, and only disagreeing keys are classified.

Classification (E expected, D destination, B base of the last converged pass)::

    E == D                     -> in sync
    E only:   no B -> MISSING     B == E -> DELETED_UNPROPAGATED (on dest)   else CONFLICT
    D only:   no B -> EXTRA       B == D -> DELETED_UNPROPAGATED (on source) else CONFLICT
    E != D:   B == D -> STALE (moved on source)   B == E -> STALE (moved on dest)
              else -> CONFLICT (no base, or both sides moved)
"""

from __future__ import annotations

from dataclasses import replace
from typing import TYPE_CHECKING

from syncd.core.model import Drift, DriftClass

if TYPE_CHECKING:
    from collections.abc import Callable, Iterable, Mapping
    from datetime import datetime

    from syncd.core.model import Edge, TagKey

__all__ = [
    "DriftKey",
    "carry_first_seen",
    "converged_base",
    "diff_edge",
    "drift_key",
    "summarize",
]

DriftKey = tuple[str, str, int, str, str, str]
"""``(edge name, policy owner, policy id, repository, tag, drift class)``: plain, storable."""


def diff_edge(
    *,
    edge: Edge,
    expected: Mapping[TagKey, str],
    destination: Mapping[TagKey, str],
    base: Mapping[TagKey, str] | None,
    in_scope: Callable[[TagKey], bool] | None = None,
    source_repo_of: Mapping[str, str] | None = None,
) -> tuple[Drift, ...]:
    """Classify every tag on which ``expected`` and ``destination`` disagree, sorted by key.

    ``in_scope`` restricts destination-only and base-only tags to what the policy could have
    produced (see ``topology.destination_scope``); expected tags are in scope by definition.
    ``source_repo_of`` maps destination repository names back to source names (identity
    when omitted; "" for destination-only repositories when given).
    """
    differing = {key for key, _ in expected.items() ^ destination.items()}
    if in_scope is not None:
        differing = {key for key in differing if key in expected or in_scope(key)}
    known_base = base or {}
    mapping = source_repo_of
    return tuple(
        _classify(
            edge,
            key,
            (expected.get(key), destination.get(key), known_base.get(key)),
            key[0] if mapping is None else mapping.get(key[0], ""),
        )
        for key in sorted(differing)
    )


def _classify(
    edge: Edge,
    key: TagKey,
    digests: tuple[str | None, str | None, str | None],
    source_repository: str,
) -> Drift:
    want, have, base = digests
    drift_class, moved_on = _table(want, have, base)
    if drift_class is DriftClass.STALE or drift_class is DriftClass.DELETED_UNPROPAGATED:
        moved_on = edge.source if moved_on == "source" else edge.destination
    return Drift(
        edge=edge,
        repository=key[0],
        tag=key[1],
        drift_class=drift_class,
        source_digest=want,
        destination_digest=have,
        base_digest=base,
        moved_on=moved_on,
        source_repository=source_repository,
    )


_MISSING = (DriftClass.MISSING, "")
_CONFLICT = (DriftClass.CONFLICT, "")
# (expected present, destination present, what the base equals) -> (class, side that moved)
_TABLE: dict[tuple[bool, bool, str], tuple[DriftClass, str]] = {
    (True, False, "none"): _MISSING,
    (True, False, "want"): (DriftClass.DELETED_UNPROPAGATED, "destination"),
    (True, False, "other"): _CONFLICT,
    (False, True, "none"): (DriftClass.EXTRA, ""),
    (False, True, "have"): (DriftClass.DELETED_UNPROPAGATED, "source"),
    (False, True, "other"): _CONFLICT,
    (True, True, "have"): (DriftClass.STALE, "source"),
    (True, True, "want"): (DriftClass.STALE, "destination"),
    (True, True, "none"): _CONFLICT,
    (True, True, "other"): _CONFLICT,
}


def _table(want: str | None, have: str | None, base: str | None) -> tuple[DriftClass, str]:
    """Look the disagreement up in the classification table."""
    if base is None:
        relation = "none"
    elif base == have:
        relation = "have"
    elif base == want:
        relation = "want"
    else:
        relation = "other"
    return _TABLE[want is not None, have is not None, relation]


def converged_base(
    expected: Mapping[TagKey, str],
    destination: Mapping[TagKey, str],
    *,
    previous: Mapping[TagKey, str] | None = None,
) -> dict[TagKey, str]:
    """Return the edge's new base: every tag both sides agree on.

    For an in-sync edge this is ``expected`` itself. Tags still disagreeing keep their
    ``previous`` base entry (so a deletion is not mistaken for MISSING next pass); tags gone
    from both sides drop out.
    """
    # A comprehension avoids building a million-tuple set for ``items() & items()``.
    agreed = {key: digest for key, digest in expected.items() if destination.get(key) == digest}
    if previous:
        # Only keys the sides do not agree on can keep an old entry: iterate the difference.
        for key in previous.keys() - agreed.keys():
            if key in expected or key in destination:
                agreed[key] = previous[key]
    return agreed


def drift_key(item: Drift) -> DriftKey:
    """Identity of one drift entry across passes (a class change counts as new drift)."""
    edge = item.edge
    return (
        edge.name,
        edge.policy_owner,
        edge.policy_id,
        item.repository,
        item.tag,
        item.drift_class.value,
    )


def carry_first_seen(
    drift: Iterable[Drift], previous_first_seen: Mapping[DriftKey, datetime], now: datetime
) -> tuple[Drift, ...]:
    """Stamp each entry with when it was first seen: kept from a previous pass, else ``now``."""
    return tuple(
        replace(item, first_seen=previous_first_seen.get(drift_key(item), now)) for item in drift
    )


def summarize(
    drift: Iterable[Drift],
) -> dict[tuple[str, DriftClass], tuple[int, datetime | None]]:
    """Count drift and find its oldest first-seen time per ``(edge name, class)``, sorted."""
    totals: dict[tuple[str, DriftClass], tuple[int, datetime | None]] = {}
    for item in drift:
        key = (item.edge.name, item.drift_class)
        count, oldest = totals.get(key, (0, None))
        seen = item.first_seen
        if seen is not None and (oldest is None or seen < oldest):
            oldest = seen
        totals[key] = (count + 1, oldest)
    return dict(sorted(totals.items()))
