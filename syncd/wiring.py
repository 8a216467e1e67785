"""The composition root: a validated ``Settings`` becomes clients, the store, an executor, ``Deps``.

The CLI is the only module that *builds* ``Settings``; it hands the result here. The CLI, the
daemon (which receives ``build_runtime`` as its factory and calls it again on SIGHUP) and the demo
all wire through this one function. Owns no decisions. The state backend is chosen here too:
``state.url`` selects PostgreSQL (leader election, fenced Harbor clients), otherwise the SQLite
file at ``state.path`` (a single process that always leads).
"""

from __future__ import annotations

from datetime import timedelta
from typing import TYPE_CHECKING

from syncd.core.plan import PlanSettings
from syncd.engine.act import ActSettings, Executor
from syncd.engine.leader import FencedClient, Leadership, PgLeadership, Solo
from syncd.engine.reconcile import Deps, PassSettings
from syncd.engine.repair import RepairSettings, ScopedRepairer
from syncd.engine.runtime import Runtime, utcnow
from syncd.engine.snapshot import Progress, Scope
from syncd.harbor.client import HarborClient, RequestRecord
from syncd.harbor.transport import TlsContexts
from syncd.store import StateStore

if TYPE_CHECKING:
    from collections.abc import Callable
    from datetime import datetime

    from syncd.settings import Settings, StateSettings
    from syncd.store import Store

__all__ = ["Runtime", "build_runtime", "open_state", "utcnow"]


def open_state(state: StateSettings) -> tuple[Store, Leadership]:
    """Open the configured state backend and its election (``Solo`` for SQLite)."""
    if state.url is None:
        return StateStore.open(state.path), Solo()
    # Imported on demand: psycopg loads libpq, which a SQLite-only install does not need.
    from syncd.store.postgres import PostgresStore  # noqa: PLC0415

    store = PostgresStore.open(state.url, password=state.password())
    return store, PgLeadership(store)


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
    store, leader = open_state(settings.state)
    every = _clients(settings, leader, on_request=on_request)
    clusters = _clusters(settings, every)
    # Nodes of one shared-storage cluster are one Harbor (one database, one set of policies):
    # only the first node is observed and acted on, or a policy would be triggered once per node.
    secondary = {n for nodes in clusters.values() for n in sorted(nodes)[1:]}
    clients = {name: c for name, c in every.items() if name not in secondary}
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
        settings=pass_settings(settings, persist=persist),
        now=now,
        clusters=clusters,
        progress=progress,
        repairer=repairer,
    )
    return Runtime(settings=settings, clients=every, store=store, deps=deps, leader=leader)


def pass_settings(settings: Settings, *, persist: bool) -> PassSettings:
    """Return the frozen slice of the settings one pass reads."""
    rec = settings.reconcile
    return PassSettings(
        scope=Scope(
            include=tuple(settings.scope.include_projects),
            exclude=tuple(settings.scope.exclude_projects),
        ),
        plan=plan_settings(settings),
        base_backoff=timedelta(seconds=rec.non_converging_backoff_seconds),
        persist=persist,
        instance_urls={name: inst.url for name, inst in settings.instances.items()},
        parity_sample=settings.parity.sample_size,
        hung_after=timedelta(seconds=rec.execution_timeout_seconds),
    )


def _clients(
    settings: Settings,
    leader: Leadership,
    *,
    on_request: Callable[[RequestRecord], None] | None,
) -> dict[str, HarborClient]:
    """One client per instance; with an election, every Harbor write first checks the lock."""
    tls = TlsContexts()  # instances with the same TLS settings share one context
    if isinstance(leader, Solo):
        return {
            name: HarborClient(name=name, settings=inst, on_request=on_request, tls=tls)
            for name, inst in sorted(settings.instances.items())
        }
    return {
        name: FencedClient(
            guard=leader.guard, name=name, settings=inst, on_request=on_request, tls=tls
        )
        for name, inst in sorted(settings.instances.items())
    }


def _clusters(
    settings: Settings, clients: dict[str, HarborClient]
) -> dict[str, dict[str, HarborClient]]:
    """Group the instances that declare the same ``cluster`` (two nodes or more)."""
    groups: dict[str, dict[str, HarborClient]] = {}
    for name, inst in sorted(settings.instances.items()):
        if inst.cluster:
            groups.setdefault(inst.cluster, {})[name] = clients[name]
    return {cluster: nodes for cluster, nodes in groups.items() if len(nodes) > 1}
