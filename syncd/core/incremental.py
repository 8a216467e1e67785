"""Assessment in proportion to change: which destination repositories an edge must re-diff.

An edge's drift, base and radius decompose by destination repository: the slice of repository
``R`` depends only on the policy, the one source repository mapped onto ``R`` (with its
artifacts), ``R`` on the destination, and the base entries of ``R``. So when the last complete
assessment of the edge is known to have used the catalogs and the base held now (the store's
``EdgeStamp``), with the same policy, every repository outside the *dirty* set below had no
drift then and has none now, and its base entries stay as they are:

* repositories that changed on the destination since then,
* images of source repositories that changed (or appeared, or went) since then,
* repositories that still drifted then (they are always re-diffed, never carried).

Only the dirty set is diffed; the rest is carried without reading its artifacts or its base.
A full assessment stays available (``dirty`` None) and is what the tests compare against.
Pure: stdlib and ``syncd.core`` only; no I/O, no logging.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass, replace
from typing import TYPE_CHECKING

from syncd.core.filters import MappingError, destination_name, repository_selected

if TYPE_CHECKING:
    from collections.abc import Iterable

    from syncd.core.edges import EdgeAssessment
    from syncd.core.model import Catalog, Edge, Policy, Repository

__all__ = [
    "EdgeStamp",
    "changed_repositories",
    "dirty_repositories",
    "merge",
    "open_repositories",
    "policy_fingerprint",
    "rediff",
    "stamp_of",
]


@dataclass(frozen=True, slots=True)
class EdgeStamp:
    """What an edge's stored base was assessed against, saved with it in one transaction.

    A store hands it back only while the catalogs of ``source`` and ``destination`` are still
    the ones it held when the base was saved (their generations), so the stamp proves that the
    stored catalogs, base and drift belong to one complete assessment.
    """

    policy: str
    """`policy_fingerprint` of the edge's policy."""
    source: str
    destination: str
    still_open: frozenset[str] = frozenset()
    """Destination repositories that drifted (`open_repositories`)."""


def policy_fingerprint(policy: Policy) -> str:
    """Digest of what decides an edge's expected tags: filters and namespace mapping.

    ``override`` is left out on purpose: it only changes the radius, which is computed from
    drift and drift is never carried.
    """
    filters = [
        [f.type, f.value if isinstance(f.value, str) else list(f.value), f.decoration]
        for f in policy.filters
    ]
    text = json.dumps([filters, policy.dest_namespace, policy.dest_namespace_replace_count])
    return hashlib.sha256(text.encode()).hexdigest()[:32]


def changed_repositories(old: Catalog | None, new: Catalog) -> frozenset[str] | None:
    """Names whose artifacts differ between two catalogs of one instance (None: no ``old``).

    Carried repositories share their artifact sequence with ``old``: the identity check is
    enough for them, so only re-listed repositories are compared (and decoded).
    """
    if old is None:
        return None
    before, after = old.repositories, new.repositories
    changed = {name for name in before if name not in after}
    for name, repo in after.items():
        prev = before.get(name)
        if prev is None or (prev.artifacts is not repo.artifacts and _differs(prev, repo)):
            changed.add(name)
    return frozenset(changed)


def _differs(prev: Repository, repo: Repository) -> bool:
    # Lengths first: a cached sequence knows its length without decoding its rows.
    return len(prev.artifacts) != len(repo.artifacts) or tuple(prev.artifacts) != tuple(
        repo.artifacts
    )


def rediff(
    *,
    edge: Edge,
    policy: Policy,
    stamp: EdgeStamp | None,
    source_changed: frozenset[str] | None,
    destination_changed: frozenset[str] | None,
) -> frozenset[str] | None:
    """Destination repositories of ``edge`` to re-diff since ``stamp``; None: the whole edge.

    Only a stamp of this edge, taken under the same policy fingerprint, with both ends'
    changes known, lets the rest be carried.
    """
    if stamp is None or source_changed is None or destination_changed is None:
        return None
    if stamp.policy != policy_fingerprint(policy):
        return None
    if (stamp.source, stamp.destination) != (edge.source, edge.destination):
        return None
    return dirty_repositories(
        policy=policy,
        source_changed=source_changed,
        destination_changed=destination_changed,
        still_open=stamp.still_open,
    )


def dirty_repositories(
    *,
    policy: Policy,
    source_changed: Iterable[str],
    destination_changed: Iterable[str],
    still_open: Iterable[str],
) -> frozenset[str] | None:
    """Destination repositories to re-diff; None when a changed name cannot be mapped.

    A source name Harbor would refuse to map makes the whole edge unassessable: the full
    assessment reports it, so the incremental one defers to it.
    """
    dirty = set(destination_changed) | set(still_open)
    for name in source_changed:
        if not repository_selected(policy.filters, name):
            continue
        try:
            dirty.add(
                destination_name(
                    name,
                    namespace=policy.dest_namespace,
                    replace_count=policy.dest_namespace_replace_count,
                )
            )
        except MappingError:
            return None
    return frozenset(dirty)


def open_repositories(assessment: EdgeAssessment) -> frozenset[str]:
    """Destination repositories that still drift on this edge (re-diffed next time)."""
    return frozenset(d.repository for d in assessment.drift)


def stamp_of(assessment: EdgeAssessment, policy: Policy) -> EdgeStamp:
    """Return the stamp to save with an edge's base after its complete assessment."""
    edge = assessment.edge
    return EdgeStamp(
        policy_fingerprint(policy), edge.source, edge.destination, open_repositories(assessment)
    )


def merge(earlier: EdgeAssessment, later: EdgeAssessment) -> EdgeAssessment:
    """Combine a repair round's assessment with the one before it in the same pass.

    ``later`` re-diffed every repository that drifted in ``earlier`` (they are dirty), so its
    drift is the edge's whole drift; base slices accumulate, the later one winning.
    """
    if later.repositories is None or not later.observable or not earlier.observable:
        return later
    if earlier.new_base is None or later.new_base is None:
        return later
    covered = later.repositories
    base = {k: v for k, v in earlier.new_base.items() if k[0] not in covered} | later.new_base
    repos = None if earlier.repositories is None else earlier.repositories | covered
    return replace(later, new_base=base, repositories=repos)
