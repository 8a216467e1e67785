"""One observation round of a pass: every instance read, the topology derived, each edge assessed.

Owns turning what ``observe`` read into the pure core's inputs: syncd's own temporary repair
policies are left out of the topology, a policy syncd disabled and could not re-enable yet
keeps its edge (its drift stays in the report instead of vanishing behind syncd's failure),
and each edge's base comes from the store. A pass runs one round, then one per repair round.
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from typing import TYPE_CHECKING

from syncd.core import edges as edge_view
from syncd.core.model import (
    Catalog,
    Drift,
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

    from syncd.engine.snapshot import Progress, Scope
    from syncd.harbor.client import HarborClient
    from syncd.store import Store

__all__ = ["Observer", "Round"]


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
    ) -> Round:
        """Observe every instance, derive the topology, assess every edge against its base."""
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
        bases = {k: self.store.load_base(k) for k in map(edge_view.edge_key, topology.edges)}
        edges = edge_view.assess_edges(
            catalogs={n: v.catalog for n, v in views.items()}, topology=topology, bases=bases
        )
        return Round(views=views, topology=topology, edges=edges, repair_origins=origins)


def _as_intended(policies: Iterable[Policy], pending: set[tuple[str, int]]) -> tuple[Policy, ...]:
    """Policies syncd disabled and has yet to re-enable count as enabled (their edge stays)."""
    return tuple(replace(p, enabled=True) if (p.owner, p.id) in pending else p for p in policies)
