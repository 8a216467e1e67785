"""Assessment of every edge: what the destination should hold, the three-way drift, the new base.

Pure glue between ``topology`` (what a policy replicates, and under which names) and ``diff``
(how each tag drifted), with the per-edge bookkeeping a pass needs: whether both ends could be
observed, a policy whose namespace mapping Harbor would reject, and the base to persist.
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass
from typing import TYPE_CHECKING

from syncd.core.diff import DriftKey, converged_base, diff_edge
from syncd.core.filters import MappingError
from syncd.core.radius import Radius, blast_radius
from syncd.core.topology import destination_scope, expected_on_destination, map_repositories

if TYPE_CHECKING:
    from collections.abc import Collection, Iterable, Mapping, Sequence
    from datetime import datetime

    from syncd.core.model import Catalog, Drift, Edge, Policy, TagKey, Topology

__all__ = [
    "EdgeAssessment",
    "assess_edge",
    "assess_edges",
    "edge_key",
    "push_times",
    "store_key",
]


@dataclass(frozen=True, slots=True)
class EdgeAssessment:
    """One edge's verdict in one pass."""

    edge: Edge
    drift: tuple[Drift, ...] = ()
    new_base: dict[TagKey, str] | None = None
    """Every tag both ends agree on (plus still-disputed tags' old base); None: keep the old."""
    observable: bool = True
    problem: str = ""
    radius: Radius | None = None
    """What a whole-policy trigger of the edge's policy would write (None: not observable)."""
    repositories: frozenset[str] | None = None
    """The destination repositories re-diffed (``syncd.core.incremental``); None: all of them.

    ``drift`` and the radius's writes are the edge's whole either way; ``new_base`` covers these
    repositories only (the others' base entries stay as stored) and the radius does not count
    identical tags (``identical`` None).
    """


def edge_key(edge: Edge) -> str:
    """Storage key of an edge: two policies between the same two instances keep two bases."""
    return f"{edge.name}#{edge.policy_owner}/{edge.policy_id}"


def store_key(key: DriftKey) -> tuple[str, str, str, str]:
    """Return the state store's first-seen key for a drift key."""
    name, owner, policy_id, repository, tag, drift_class = key
    return (f"{name}#{owner}/{policy_id}", repository, tag, drift_class)


CHUNK = 1000
"""Destination repositories diffed at once: the per-tag maps of an edge never exist whole."""


def assess_edge(
    edge: Edge,
    *,
    policy: Policy,
    source: Catalog | None,
    destination: Catalog | None,
    base: Mapping[TagKey, str] | None,
    only: Collection[str] | None = None,
) -> EdgeAssessment:
    """Diff one edge (only the destination repositories ``only`` names, if given).

    With ``only``, ``base`` may hold just those repositories' entries. An end that could not
    be observed makes the edge unobservable. Repositories are diffed `CHUNK` at a time in
    name order, so the joined drift and radius keep their sorted order.
    """
    missing = [n for n, c in ((edge.source, source), (edge.destination, destination)) if c is None]
    if source is None or destination is None:
        return EdgeAssessment(edge, observable=False, problem=f"{', '.join(missing)} not observed")
    try:
        mapped = map_repositories(source, policy)
    except MappingError as exc:
        return EdgeAssessment(edge, observable=False, problem=f"invalid namespace mapping: {exc}")
    by_repo: dict[str, dict[TagKey, str]] = defaultdict(dict)
    for key, digest in (base or {}).items():
        by_repo[key[0]][key] = digest
    universe = mapped.keys() | destination.repositories.keys() | by_repo.keys()
    names = sorted(universe if only is None else universe & set(only))
    ends = _Ends(policy, source, destination, mapped, None if base is None else by_repo)
    parts = [ends.part(edge, names[i : i + CHUNK]) for i in range(0, len(names), CHUNK)]
    drift = tuple(d for part in parts for d in part.drift)
    writes = tuple(w for part in parts if part.radius for w in part.radius.writes)
    # Identical tags outside the re-assessed repositories are not seen: not counted (None).
    identical = sum(part.radius.identical or 0 for part in parts if part.radius)
    new_base = {k: v for part in parts for k, v in (part.new_base or {}).items()}
    return EdgeAssessment(
        edge,
        drift,
        new_base,
        radius=Radius(edge, policy.override, writes, identical if only is None else None),
        repositories=None if only is None else frozenset(only),
    )


@dataclass(frozen=True, slots=True)
class _Ends:
    """What every chunk of one edge's assessment shares."""

    policy: Policy
    source: Catalog
    destination: Catalog
    mapped: Mapping[str, str]
    """Destination name -> source name of every selected source repository."""
    base: Mapping[str, Mapping[TagKey, str]] | None
    """The base by destination repository (None: the edge never converged)."""

    def part(self, edge: Edge, names: Sequence[str]) -> EdgeAssessment:
        """Assess the destination repositories ``names`` (sorted) of the edge."""
        chunk = set(names)
        mapped, policy = self.mapped, self.policy
        scope = {t: mapped[t] for t in names if t in mapped}
        expected = expected_on_destination(self.source, policy, mapped=scope)
        base = None
        if self.base is not None:
            base = {k: v for name in names for k, v in self.base.get(name, {}).items()}
        in_scope = destination_scope(
            policy, mapped_repositories=mapped.keys(), base_keys=base or ()
        )
        dest_map = {k: v for k, v in self.destination.tag_map(chunk).items() if in_scope(k)}
        drift = diff_edge(
            edge=edge,
            expected=expected,
            destination=dest_map,
            base=base,
            in_scope=in_scope,
            source_repo_of=mapped,
        )
        radius = blast_radius(
            edge=edge,
            expected=expected,
            destination=dest_map,
            base=base,
            override=policy.override,
            source_repo_of=mapped,
        )
        new_base = converged_base(expected, dest_map, previous=base)
        return EdgeAssessment(edge, drift, new_base, radius=radius)


def assess_edges(
    *,
    catalogs: Mapping[str, Catalog | None],
    topology: Topology,
    bases: Mapping[str, Mapping[TagKey, str] | None],
) -> tuple[EdgeAssessment, ...]:
    """Assess every edge of the topology; ``bases`` is keyed by ``edge_key``."""
    return tuple(
        assess_edge(
            edge,
            policy=topology.policies[(edge.policy_owner, edge.policy_id)],
            source=catalogs.get(edge.source),
            destination=catalogs.get(edge.destination),
            base=bases.get(edge_key(edge)),
        )
        for edge in topology.edges
    )


def push_times(
    catalogs: Mapping[str, Catalog | None], drift: Iterable[Drift]
) -> dict[tuple[str, str, str], datetime]:
    """``(instance, repository, digest) -> push_time`` for the ``newest`` conflict preference.

    Only the repositories drift names on either end: the others are never asked about.
    """
    wanted = {(d.edge.source, d.source_repository or d.repository) for d in drift}
    wanted |= {(d.edge.destination, d.repository) for d in drift}
    times: dict[tuple[str, str, str], datetime] = {}
    for name, repo_name in wanted:
        catalog = catalogs.get(name)
        repo = None if catalog is None else catalog.repositories.get(repo_name)
        for art in () if repo is None else repo.artifacts:
            if art.push_time is not None:
                times[name, repo_name, art.digest] = art.push_time
    return times
