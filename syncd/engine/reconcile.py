"""One reconcile pass: observe fully, decide once (a ``Plan``), act once, verify, persist.

Orchestration only: reading goes through ``rounds`` (and ``observe``), deciding through the
pure core (``topology``/``edges``/``diff``/``plan``, and ``passing`` for what the pass
concludes), acting through ``act`` and ``repair``, remembering through ``memory``. The clock is
read once per phase (start, each repair round, the end). The pass returns a frozen
``PassResult``; metrics and the summary log event are derived from that value by the caller.
Level-triggered: nothing is remembered about events, and the next pass is the retry.
Honest about blind spots: an instance or edge that was not fully observed makes the pass
``incomplete`` (never ``converged``), nothing of that instance is persisted, and the drift,
first-seen times and backoff of its edges are kept as they were rather than reset.
"""

from __future__ import annotations

import gc
import uuid
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import TYPE_CHECKING

import structlog

from syncd.core import edges as edge_view
from syncd.core import passing
from syncd.core.backoff import label_non_converging
from syncd.core.incremental import stamp_of
from syncd.core.model import ActionKind, ActionResult, HealthState, Outcome, Plan
from syncd.core.plan import PlanSettings, make_plan, remaining
from syncd.engine import memory
from syncd.engine.lock import pass_lock
from syncd.engine.parity import parity_reports
from syncd.engine.rounds import Observer, Round
from syncd.engine.toggle import restore_pending

if TYPE_CHECKING:
    from collections.abc import Callable, Iterable, Mapping

    from syncd.core.health import Transition
    from syncd.core.model import Catalog, Drift, Edge, Execution, InstanceHealth, PassResult
    from syncd.engine.act import Executor
    from syncd.engine.repair import ScopedRepairer
    from syncd.engine.snapshot import Progress, Scope
    from syncd.harbor.client import HarborClient
    from syncd.store import Store

__all__ = ["Deps", "PassSettings", "record_health", "run_pass"]

log = structlog.get_logger("syncd.engine.reconcile")
HISTORY_RETENTION = timedelta(days=90)
"""How long the audit trail and finished executions/intents are kept in the state store."""


@dataclass(frozen=True, slots=True)
class PassSettings:
    """The frozen slice of the settings a pass reads (``syncd.wiring`` cuts it)."""

    scope: Scope
    plan: PlanSettings
    base_backoff: timedelta = timedelta(minutes=5)
    max_rounds: int = 3
    """Repair rounds per pass: a chain (HQ -> region -> city) needs one round per hop."""
    persist: bool = True
    """False for ``syncd diff --no-store``: a read-only look that does not advance the base."""
    instance_urls: Mapping[str, str] = field(default_factory=dict)
    parity_sample: int = 20
    hung_after: timedelta = timedelta(minutes=30)
    """An execution InProgress for longer than this is reported as hung (reconcile timeout)."""


@dataclass(frozen=True)
class Deps:
    """A pass's collaborators and its settings, wired by ``syncd.wiring``."""

    clients: Mapping[str, HarborClient]
    store: Store
    executor: Executor
    settings: PassSettings
    now: Callable[[], datetime]
    clusters: Mapping[str, Mapping[str, HarborClient]] = field(default_factory=dict)
    """Shared-storage clusters: name -> every node's client (the first node is in ``clients``)."""
    progress: Progress | None = None
    """Listing progress for a terminal (the CLI sets it when stderr is a TTY)."""
    repairer: ScopedRepairer | None = None
    """Runs scoped repairs and sweeps temporary policies (None: scoped repairs fail)."""

    def observer(self) -> Observer:
        """Return the pass's reader: clients, store, scope and progress handed over once."""
        return Observer(
            clients=self.clients,
            store=self.store,
            scope=self.settings.scope,
            instance_urls=self.settings.instance_urls,
            progress=self.progress,
        )

    def api_calls(self) -> int:
        """Return how many requests every client has sent so far."""
        return sum(c.request_count for c in self.clients.values())


def _load_previous(deps: Deps) -> dict[str, Catalog | None]:
    """Load the cached catalogs and keep them (and all else alive now) out of the cyclic GC.

    A catalog is ~10^6 long-lived objects without cycles: every full collection of the pass
    would scan them all again. Unfreezing first hands the previous pass's frozen objects back
    to the collector, so nothing stays frozen longer than one pass.
    """
    gc.unfreeze()
    previous = {name: deps.store.load_catalog(name) for name in deps.clients}
    gc.freeze()
    return previous


def record_health(store: Store, probes: Iterable[InstanceHealth]) -> list[Transition]:
    """Persist probe results; log and return the state changes (passes and the health poll)."""
    changes: list[Transition] = []
    for h in probes:
        previous = store.record_health(h.instance, h.state, h.checked_at)
        if previous is not None:
            changes.append((h.instance, previous, h.state))
            worse = h.state in {HealthState.DOWN, HealthState.DEGRADED}
            (log.warning if worse else log.info)(
                "health.transition",
                instance=h.instance,
                previous=previous.value,
                state=h.state.value,
                detail=h.detail,
            )
    return changes


def run_pass(
    deps: Deps,
    *,
    act: bool = True,
    focus: Iterable[str] = (),
    pass_id: str | None = None,
) -> PassResult:
    """Run one pass; ``act=False`` only observes and diffs (``syncd diff``)."""
    pass_id = pass_id or uuid.uuid4().hex[:12]
    structlog.contextvars.bind_contextvars(pass_id=pass_id)
    try:
        with pass_lock(deps.store.path):
            return _run_locked(deps, act=act, focus=focus, pass_id=pass_id)
    finally:
        structlog.contextvars.unbind_contextvars("pass_id")


@dataclass
class _Repairs:
    """What the repair rounds of one pass did."""

    rnd: Round
    history: memory.History
    plans: list[Plan] = field(default_factory=list)
    outcomes: list[Outcome] = field(default_factory=list)


def _repair(deps: Deps, observer: Observer, done: _Repairs, *, pass_id: str) -> _Repairs:
    """Plan, act, re-observe the touched repositories; repeat while repairs succeed (chains)."""
    for _ in range(deps.settings.max_rounds):
        now = deps.now()
        rnd = done.rnd
        plan = make_plan(
            drift=label_non_converging(rnd.drift, done.history),
            topology=rnd.topology,
            running=rnd.running,
            health=rnd.health,
            history=done.history,
            # The caps are per pass, not per round: later rounds get what is left.
            settings=remaining(deps.settings.plan, done.outcomes),
            now=now,
            push_times=edge_view.push_times(rnd.catalogs, rnd.drift),
            radii={_policy_of(e.edge): e.radius for e in rnd.edges if e.radius is not None},
        )
        done.plans.append(plan)
        if not plan.actions:
            break
        acted = _act(deps, plan, pass_id=pass_id)
        done.outcomes.extend(acted)
        # Verification re-lists only what the repair touched (plus what Harbor says changed).
        done.rnd = observer.round(
            previous=rnd.catalogs,
            now=deps.now(),
            focus=passing.touched_repositories(rnd.drift),
            force_incremental=True,
            earlier=rnd,
        )
        done.history = memory.updated(
            done.history,
            outcomes=acted,
            before=rnd.drift,
            after=done.rnd.drift,
            now=now,
            base_backoff=deps.settings.base_backoff,
        )
        if not passing.repair_again(acted):
            break
    return done


def _policy_of(edge: Edge) -> tuple[str, int]:
    return (edge.policy_owner, edge.policy_id)


def _act(deps: Deps, plan: Plan, *, pass_id: str) -> tuple[Outcome, ...]:
    """Scoped repairs go to the repairer, everything else to the executor."""
    scoped = [a for a in plan.actions if a.kind is ActionKind.SCOPED_TRIGGER]
    rest = Plan(actions=tuple(a for a in plan.actions if a.kind is not ActionKind.SCOPED_TRIGGER))
    done = deps.executor.apply(rest, pass_id=pass_id)
    if deps.repairer is not None:
        return done + deps.repairer.apply(scoped, pass_id=pass_id)
    return done + tuple(Outcome(a, ActionResult.FAILED, "scoped repair not wired") for a in scoped)


def _prepare(deps: Deps, *, act: bool) -> None:
    """Before reading anything: the state is still ours, and last run's leftovers are undone."""
    deps.store.check_identity()  # a state file deleted or replaced under us: act on nothing
    if act:
        restore_pending(deps.clients, deps.store, now=deps.now)
        if deps.repairer is not None:
            deps.repairer.sweep()  # temporary policies left by a crash, once their runs end


def _run_locked(deps: Deps, *, act: bool, focus: Iterable[str], pass_id: str) -> PassResult:
    started, calls_before = deps.now(), deps.api_calls()
    _prepare(deps, act=act)
    observer = deps.observer()
    previous = _load_previous(deps)
    rnd = observer.round(previous=previous, now=started, focus=focus)
    record_health(deps.store, (v.health for v in rnd.views.values()))
    parity = parity_reports(
        deps.clusters, rnd.catalogs, sample_size=deps.settings.parity_sample, seed=pass_id
    )
    done = _Repairs(rnd=rnd, history=memory.load_history(deps.store))
    if act:
        done = _repair(deps, observer, done, pass_id=pass_id)
    now = deps.now()
    history = memory.settled(done.history, done.rnd)
    drift = memory.carried_drift(deps.store, done.rnd, history, now=now)
    if deps.settings.persist:
        _persist(deps, done.rnd, drift=drift, now=now)
        memory.save_history(deps.store, history)
    hung = passing.hung_executions(
        (e for v in done.rnd.views.values() for e in v.running),
        older_than=deps.settings.hung_after,
        now=now,
    )
    _log_hung(hung)
    result = passing.pass_result(
        passing.PassFacts(
            pass_id=pass_id,
            started=started,
            finished=deps.now(),  # after persisting: the pass's duration includes it
            health=tuple(v.health for v in done.rnd.views.values()),
            running=tuple(e for v in done.rnd.views.values() for e in v.running),
            unobserved=done.rnd.unobserved,
            topology=done.rnd.topology,
            edges=done.rnd.edges,
            drift=drift,
            history=history,
            plan=passing.merge_plans(done.plans),
            outcomes=tuple(done.outcomes),
            api_calls=deps.api_calls() - calls_before,
            parity=parity,
            hung=hung,
            reenable_pending=tuple(
                sorted((i.instance, i.policy_id) for i in deps.store.pending_intents())
            ),
        )
    )
    if deps.settings.persist:
        _record(deps, result, now=now)
    return result


def _persist(deps: Deps, rnd: Round, *, drift: tuple[Drift, ...], now: datetime) -> None:
    """Save what was observed; an unobserved instance's catalog and edges stay as they were."""
    for view in rnd.views.values():
        if view.catalog is not None:
            deps.store.save_catalog(view.catalog)
    for edge in rnd.edges:
        if edge.new_base is not None:
            deps.store.save_base(
                edge_view.edge_key(edge.edge),
                edge.new_base,
                at=now,
                only=edge.repositories,
                stamp=stamp_of(edge, rnd.topology.policies[_policy_of(edge.edge)]),
            )
    memory.save_first_seen(deps.store, rnd, drift=drift, now=now)


def _record(deps: Deps, result: PassResult, *, now: datetime) -> None:
    deps.store.record_pass(
        result.pass_id,
        started_at=result.started_at,
        finished_at=result.finished_at,
        outcome=result.outcome,
    )
    # Harbor keeps only 50 executions per policy; syncd's own history is kept for a while,
    # but bounded (pending intents and open executions are never pruned).
    deps.store.prune(before=now - HISTORY_RETENTION)


def _log_hung(hung: Iterable[Execution]) -> None:
    for e in hung:
        log.warning(
            "reconcile.execution_hung",
            instance=e.instance,
            policy_id=e.policy_id,
            execution_id=e.id,
            trigger=e.trigger,
            since=e.start_time.isoformat() if e.start_time else None,
        )
