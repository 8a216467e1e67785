"""Wiring: turns a validated ``Settings`` into clients, the state store, an executor and ``Deps``.

The CLI is the only module that *builds* ``Settings``; it hands the result here. The daemon
calls this again on SIGHUP to swap in a new configuration. Owns no decisions.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import TYPE_CHECKING

from syncd.act import ActSettings, Executor
from syncd.engine.repair import RepairSettings, ScopedRepairer
from syncd.harbor import HarborClient, RequestRecord
from syncd.observe import Progress, Scope
from syncd.plan import PlanSettings
from syncd.reconcile import Deps
from syncd.store import StateStore

if TYPE_CHECKING:
    from collections.abc import Callable

    from syncd.settings import Settings

__all__ = ["Runtime", "build_runtime", "utcnow"]


def utcnow() -> datetime:
    """Read the one wall clock syncd uses; everything else receives it injected."""
    return datetime.now(UTC)


@dataclass
class Runtime:
    """Live objects for one configuration; ``close()`` releases them."""

    settings: Settings
    clients: dict[str, HarborClient]
    store: StateStore
    deps: Deps

    def close(self) -> None:
        """Close every client and the state store."""
        for client in self.clients.values():
            client.close()
        self.store.close()


def plan_settings(settings: Settings) -> PlanSettings:
    """Return the planner's view of the ``reconcile`` settings."""
    rec = settings.reconcile
    return PlanSettings(
        mode=rec.mode,
        max_actions_per_pass=rec.max_actions_per_pass,
        propagate_deletions=rec.propagate_deletions,
        conflict_preference=rec.conflict_preference,
        max_deletions_per_pass=rec.max_deletions_per_pass,
        reenable_disabled_policies=rec.reenable_disabled_policies,
        repair=rec.repair,
    )


def build_runtime(
    settings: Settings,
    *,
    dry_run: bool | None = None,
    persist: bool = True,
    on_request: Callable[[RequestRecord], None] | None = None,
    now: Callable[[], datetime] = utcnow,
    progress: Progress | None = None,
) -> Runtime:
    """Build clients, store, executor and pass dependencies from settings."""
    every = {
        name: HarborClient(name=name, settings=inst, on_request=on_request)
        for name, inst in sorted(settings.instances.items())
    }
    clusters = _clusters(settings, every)
    # Nodes of one shared-storage cluster are one Harbor (one database, one set of policies):
    # only the first node is observed and acted on, or a policy would be triggered once per node.
    secondary = {n for nodes in clusters.values() for n in sorted(nodes)[1:]}
    clients = {name: c for name, c in every.items() if name not in secondary}
    try:
        store = StateStore.open(settings.state.path)
    except BaseException:
        for client in every.values():
            client.close()
        raise
    rec = settings.reconcile
    executor = Executor(
        clients=clients,
        store=store,
        settings=ActSettings(
            dry_run=rec.dry_run if dry_run is None else dry_run,
            execution_timeout=rec.execution_timeout_seconds,
            poll_interval=rec.poll_interval_seconds,
            stop_hung=rec.stop_hung_executions,
        ),
        now=now,
    )
    repairer = ScopedRepairer(
        clients=clients,
        store=store,
        settings=RepairSettings(
            dry_run=rec.dry_run if dry_run is None else dry_run,
            execution_timeout=rec.execution_timeout_seconds,
            poll_interval=rec.poll_interval_seconds,
        ),
        now=now,
    )
    deps = Deps(
        clients=clients,
        store=store,
        executor=executor,
        scope=Scope(
            include=tuple(settings.scope.include_projects),
            exclude=tuple(settings.scope.exclude_projects),
        ),
        plan_settings=plan_settings(settings),
        now=now,
        base_backoff=timedelta(seconds=rec.non_converging_backoff_seconds),
        persist=persist,
        instance_urls={name: inst.url for name, inst in settings.instances.items()},
        clusters=clusters,
        parity_sample=settings.parity.sample_size,
        hung_after=timedelta(seconds=rec.execution_timeout_seconds),
        progress=progress,
        repairer=repairer,
    )
    return Runtime(settings=settings, clients=every, store=store, deps=deps)


def _clusters(
    settings: Settings, clients: dict[str, HarborClient]
) -> dict[str, dict[str, HarborClient]]:
    """Group the instances that declare the same ``cluster`` (two nodes or more)."""
    groups: dict[str, dict[str, HarborClient]] = {}
    for name, inst in sorted(settings.instances.items()):
        if inst.cluster:
            groups.setdefault(inst.cluster, {})[name] = clients[name]
    return {cluster: nodes for cluster, nodes in groups.items() if len(nodes) > 1}
