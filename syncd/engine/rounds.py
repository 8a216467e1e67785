"""One observation round of a pass: every instance read, the topology derived, each edge assessed.

Owns turning what ``observe`` read into the pure core's inputs: syncd's own temporary repair
policies are left out of the topology, a policy syncd disabled and could not re-enable yet
keeps its edge (its drift stays in the report instead of vanishing behind syncd's failure),
and each edge's base comes from the store. A pass runs one round, then one per repair round.

Assessment is in proportion to change (``syncd.core.incremental``): an edge is re-diffed only
in the destination repositories that changed, or whose source changed, or that still drifted,
since a complete assessment known to match what the store holds (its ``EdgeStamp``) or, in a
repair round, since the round before. Anything else (no stamp, another policy, a catalog seen
for the first time) gets a full assessment.
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from typing import TYPE_CHECKING

import structlog

from syncd.core import edges as edge_view
from syncd.core import incremental
from syncd.core.model import (
    Catalog,
    Drift,
    Edge,
    HealthState,
    Policy,
    Topology,
    Unobserved,
    UnobservedCause,
)
from syncd.core.topology import derive_topology
from syncd.engine import observe
from syncd.engine.repair import repair_origin, without_repair_policies

if TYPE_CHECKING:
    from collections.abc import Iterable, Mapping
    from datetime import datetime

    from syncd.core.incremental import EdgeStamp
    from syncd.engine.snapshot import Progress, Scope
    from syncd.harbor.client import HarborClient
    from syncd.store import Store

__all__ = ["Observer", "Round"]

log = structlog.get_logger("syncd.engine.rounds")


@dataclass(frozen=True)
class Round:
    """What one round saw and concluded, per instance and per edge."""

    views: Mapping[str, observe.InstanceView]
    topology: Topology
    edges: tuple[edge_view.EdgeAssessment, ...]
    repair_origins: Mapping[tuple[str, int], int] = field(default_factory=dict)
    """``(owner, temporary repair policy id)`` -> the id of the policy it repairs."""

    @property
    def drift(self) -> tuple[Drift, ...]:
        """Every edge's drift, in edge order."""
        return tuple(d for e in self.edges for d in e.drift)

    @property
    def catalogs(self) -> dict[str, Catalog | None]:
        """Each instance's catalog (None where it could not be observed)."""
        return {n: v.catalog for n, v in self.views.items()}

    @property
    def health(self) -> dict[str, HealthState]:
        """Each instance's health state."""
        return {n: v.health.state for n, v in self.views.items()}

    @property
    def running(self) -> set[tuple[str, int]]:
        """``(owner, policy id)`` of every execution observed InProgress.

        A running scoped repair counts as a running execution of the policy it repairs: the
        same tags must not be copied twice at once, by the whole policy or another repair.
        """
        keys = {(v.name, e.policy_id) for v in self.views.values() for e in v.running}
        return keys | {(k[0], self.repair_origins[k]) for k in keys if k in self.repair_origins}

    @property
    def unobserved(self) -> tuple[Unobserved, ...]:
        """Instances whose catalog could not be observed, with the cause."""
        return tuple(
            Unobserved(v.name, v.cause or UnobservedCause.UNREACHABLE, v.error)
            for v in self.views.values()
            if v.catalog is None
        )


@dataclass(frozen=True)
class Observer:
    """Reads every instance into a ``Round``; set up once per pass with its collaborators."""

    clients: Mapping[str, HarborClient]
    store: Store
    scope: Scope
    instance_urls: Mapping[str, str]
    progress: Progress | None = None

    def round(
        self,
        *,
        previous: Mapping[str, Catalog | None],
        now: datetime,
        focus: Iterable[str] = (),
        force_incremental: bool = False,
        earlier: Round | None = None,
    ) -> Round:
        """Observe every instance, derive the topology, assess every edge against its base.

        ``previous`` are the catalogs to list incrementally against: the store's in a pass's
        first round, ``earlier``'s (the round before, in the same pass) in a repair round.
        """
        views = observe.observe_all(
            self.clients,
            previous=previous,
            scope=self.scope,
            now=now,
            focus=focus,
            force_incremental=force_incremental,
            progress=self.progress,
        )
        origins = {
            (name, p.id): origin
            for name, view in views.items()
            for p in view.policies
            if (origin := repair_origin(p)) is not None
        }
        # syncd's temporary repair policies are not replication edges of the topology.
        views = {name: without_repair_policies(view) for name, view in views.items()}
        pending = {(i.instance, i.policy_id) for i in self.store.pending_intents()}
        topology = derive_topology(
            policies={n: _as_intended(v.policies, pending) for n, v in views.items()},
            registries={n: v.registries for n, v in views.items()},
            instance_urls=self.instance_urls,
        )
        catalogs = {n: v.catalog for n, v in views.items()}
        changes = _Changes(
            changed={
                n: incremental.changed_repositories(previous.get(n), c)
                for n, c in catalogs.items()
                if c is not None
            },
            earlier={}
            if earlier is None
            else {edge_view.edge_key(e.edge): e for e in earlier.edges},
            earlier_topology=None if earlier is None else earlier.topology,
        )
        edges = tuple(self._assess(e, topology, catalogs, changes) for e in topology.edges)
        return Round(views=views, topology=topology, edges=edges, repair_origins=origins)

    def _assess(
        self,
        edge: Edge,
        topology: Topology,
        catalogs: Mapping[str, Catalog | None],
        changes: _Changes,
    ) -> edge_view.EdgeAssessment:
        key = edge_view.edge_key(edge)
        policy = topology.policies[(edge.policy_owner, edge.policy_id)]
        source, destination = catalogs.get(edge.source), catalogs.get(edge.destination)
        only, base = None, None
        if source is not None and destination is not None:
            only = changes.dirty(edge, policy, self._reference(edge, changes))
            base = self.store.load_base(key, only)
        assessment = edge_view.assess_edge(
            edge, policy=policy, source=source, destination=destination, base=base, only=only
        )
        log.debug("assess.edge", edge=key, repositories="all" if only is None else len(only))
        held = changes.earlier.get(key)
        return assessment if held is None else incremental.merge(held, assessment)

    def _reference(self, edge: Edge, changes: _Changes) -> EdgeStamp | None:
        """Return what the edge was last assessed against: the round before, or the store."""
        key = edge_view.edge_key(edge)
        if changes.earlier_topology is None:
            return self.store.edge_stamp(key)
        held = changes.earlier.get(key)
        policy = changes.earlier_topology.policies.get((edge.policy_owner, edge.policy_id))
        if held is None or not held.observable or policy is None:
            return None
        return incremental.stamp_of(held, policy)


@dataclass(frozen=True, slots=True)
class _Changes:
    """What changed since the reference of a round's assessments."""

    changed: Mapping[str, frozenset[str] | None]
    """Per observed instance: repositories whose artifacts changed (None: all unknown)."""
    earlier: Mapping[str, edge_view.EdgeAssessment]
    """The round before's assessments by edge key (empty in a pass's first round)."""
    earlier_topology: Topology | None
    """The round before's topology (None in a pass's first round)."""

    def dirty(self, edge: Edge, policy: Policy, stamp: EdgeStamp | None) -> frozenset[str] | None:
        """Destination repositories to re-diff; None: assess the whole edge."""
        return incremental.rediff(
            edge=edge,
            policy=policy,
            stamp=stamp,
            source_changed=self.changed.get(edge.source),
            destination_changed=self.changed.get(edge.destination),
        )


def _as_intended(policies: Iterable[Policy], pending: set[tuple[str, int]]) -> tuple[Policy, ...]:
    """Policies syncd disabled and has yet to re-enable count as enabled (their edge stays)."""
    return tuple(replace(p, enabled=True) if (p.owner, p.id) in pending else p for p in policies)
