"""One reconcile pass: observe fully, decide once (a ``Plan``), act once, verify, persist.

Orchestration only: reading goes through ``observe``, deciding through the pure core
(``topology``/``assess``/``diff``/``plan``), acting through ``act``. The pass returns a frozen
``PassResult``; metrics and the summary log event are derived from that value by the caller.
Level-triggered: nothing is remembered about events, and the next pass is the retry.
Honest about blind spots: an instance or edge that was not fully observed makes the pass
``incomplete`` (never ``converged``), nothing of that instance is persisted, and the drift,
first-seen times and backoff of its edges are kept as they were rather than reset.
"""

from __future__ import annotations

import gc
import uuid
from dataclasses import dataclass, field, replace
from datetime import datetime, timedelta
from typing import TYPE_CHECKING

import structlog

from syncd.core import edges as assess
from syncd.core.backoff import (
    PolicyHistory,
    from_record,
    label_non_converging,
    next_history,
    policy_drift,
    settle,
    to_record,
)
from syncd.core.diff import carry_first_seen, drift_key
from syncd.core.model import (
    Action,
    ActionKind,
    ActionResult,
    Catalog,
    Drift,
    Execution,
    HealthState,
    InstanceHealth,
    Outcome,
    ParityReport,
    PassOutcome,
    PassResult,
    Plan,
    Policy,
    Skip,
    Topology,
    Unobserved,
    UnobservedCause,
)
from syncd.core.plan import PlanSettings, make_plan, remaining
from syncd.core.topology import derive_topology
from syncd.engine import observe
from syncd.engine.lock import pass_lock
from syncd.engine.parity import parity_reports
from syncd.engine.toggle import restore_pending
from syncd.store import Store, history_from_json

if TYPE_CHECKING:
    from collections.abc import Callable, Iterable, Mapping

    from syncd.core.health import Transition
    from syncd.engine.act import Executor
    from syncd.harbor.client import HarborClient

__all__ = ["Deps", "record_health", "run_pass"]

log = structlog.get_logger("syncd.engine.reconcile")
HISTORY_RETENTION = timedelta(days=90)
"""How long the audit trail and finished executions/intents are kept in the state store."""


@dataclass(frozen=True)
class Deps:
    """Everything a pass needs, wired by the CLI (the composition root)."""

    clients: Mapping[str, HarborClient]
    store: Store
    executor: Executor
    scope: observe.Scope
    plan_settings: PlanSettings
    now: Callable[[], datetime]
    base_backoff: timedelta = timedelta(minutes=5)
    max_rounds: int = 3
    """Repair rounds per pass: a chain (HQ -> region -> city) needs one round per hop."""
    persist: bool = True
    """False for ``syncd diff --no-store``: a read-only look that does not advance the base."""
    instance_urls: Mapping[str, str] = field(default_factory=dict)
    clusters: Mapping[str, Mapping[str, HarborClient]] = field(default_factory=dict)
    """Shared-storage clusters: name -> every node's client (the first node is in ``clients``)."""
    parity_sample: int = 20
    hung_after: timedelta = timedelta(minutes=30)
    """An execution InProgress for longer than this is reported as hung (reconcile timeout)."""
    progress: observe.Progress | None = None
    """Listing progress for a terminal (the CLI sets it when stderr is a TTY)."""


@dataclass
class _Round:
    views: dict[str, observe.InstanceView]
    topology: Topology
    edges: tuple[assess.EdgeAssessment, ...]

    @property
    def drift(self) -> tuple[Drift, ...]:
        return tuple(d for e in self.edges for d in e.drift)


def _observe(
    deps: Deps,
    *,
    previous: Mapping[str, Catalog | None],
    focus: Iterable[str] = (),
    force_incremental: bool = False,
) -> _Round:
    now = deps.now()
    views = observe.observe_all(
        deps.clients,
        previous=previous,
        scope=deps.scope,
        now=now,
        focus=focus,
        force_incremental=force_incremental,
        progress=deps.progress,
    )
    # A policy syncd disabled and could not re-enable yet keeps its edge: its drift stays in
    # the report (and is re-planned) instead of vanishing behind syncd's own failure.
    pending = {(i.instance, i.policy_id) for i in deps.store.pending_intents()}
    topology = derive_topology(
        policies={n: _as_intended(v.policies, pending) for n, v in views.items()},
        registries={n: v.registries for n, v in views.items()},
        instance_urls=deps.instance_urls,
    )
    keys = [assess.edge_key(e) for e in topology.edges]
    bases = {k: deps.store.load_base(k) for k in keys}
    edges = assess.assess_edges(
        catalogs={n: v.catalog for n, v in views.items()}, topology=topology, bases=bases
    )
    return _Round(views=views, topology=topology, edges=edges)


def _as_intended(policies: Iterable[Policy], pending: set[tuple[str, int]]) -> tuple[Policy, ...]:
    return tuple(replace(p, enabled=True) if (p.owner, p.id) in pending else p for p in policies)


def _update_history(
    deps: Deps,
    history: dict[tuple[str, int], PolicyHistory],
    *,
    outcomes: Iterable[Outcome],
    before: tuple[Drift, ...],
    after: tuple[Drift, ...],
) -> None:
    for outcome in outcomes:
        action = outcome.action
        if action.kind not in {ActionKind.TRIGGER, ActionKind.TOGGLE} or action.policy_id is None:
            continue
        key = (action.instance, action.policy_id)
        record = next_history(
            previous=history.get(key),
            policy=key,
            execution_result=outcome.result,
            drift_before=policy_drift(before, *key),
            drift_after=policy_drift(after, *key),
            now=deps.now(),
            base_backoff=deps.base_backoff,
        )
        history[key] = record
        if record.non_converging_since is not None:
            log.warning(
                "plan.non_converging",
                instance=action.instance,
                policy_id=action.policy_id,
                drift=policy_drift(after, *key),
                backoff_until=record.backoff_until.isoformat() if record.backoff_until else None,
            )


def _health(views: Mapping[str, observe.InstanceView]) -> dict[str, HealthState]:
    return {n: v.health.state for n, v in views.items()}


def _persist(deps: Deps, rnd: _Round, *, drift: tuple[Drift, ...], now: datetime) -> None:
    """Save what was observed; an unobserved instance's catalog and edges stay as they were."""
    for view in rnd.views.values():
        if view.catalog is not None:
            deps.store.save_catalog(view.catalog)
    for edge in rnd.edges:
        if edge.new_base is not None:
            deps.store.save_base(assess.edge_key(edge.edge), edge.new_base, at=now)
    seen = {assess.store_key(drift_key(d)): d.first_seen or now for d in drift}
    if _unobserved(rnd.views):
        # First-seen times of edges not observed this pass are unknown, not cleared.
        observed = {assess.edge_key(e.edge) for e in rnd.edges if e.observable}
        kept = deps.store.load_first_seen().items()
        seen = {k: v for k, v in kept if k[0] not in observed} | seen
    deps.store.save_first_seen(seen)


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


def _unobserved(views: Mapping[str, observe.InstanceView]) -> tuple[Unobserved, ...]:
    return tuple(
        Unobserved(v.name, v.cause or UnobservedCause.UNREACHABLE, v.error)
        for v in views.values()
        if v.catalog is None
    )


def _settle(
    history: Mapping[tuple[str, int], PolicyHistory], rnd: _Round
) -> dict[tuple[str, int], PolicyHistory]:
    """Settle backoffs of observed policies only: an unobserved edge's drift is unknown."""
    blind = {v.name for v in rnd.views.values() if v.catalog is None}
    blind_edges = {(e.edge.policy_owner, e.edge.policy_id) for e in rnd.edges if not e.observable}
    settled = settle(history, rnd.drift)
    return {
        key: history[key] if key[0] in blind or key in blind_edges else record
        for key, record in settled.items()
    }


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
    started = deps.now()
    structlog.contextvars.bind_contextvars(pass_id=pass_id)
    try:
        with pass_lock(deps.store.path):
            return _run_locked(deps, act=act, focus=focus, pass_id=pass_id, started=started)
    finally:
        structlog.contextvars.unbind_contextvars("pass_id")


def _repair(
    deps: Deps, rnd: _Round, history: dict[tuple[str, int], PolicyHistory], *, pass_id: str
) -> tuple[_Round, list[Plan], list[Outcome]]:
    """Plan, act, re-observe the touched repositories; repeat while repairs succeed (chains)."""
    plans: list[Plan] = []
    outcomes: list[Outcome] = []
    for _ in range(deps.max_rounds):
        plan = make_plan(
            drift=label_non_converging(rnd.drift, history),
            topology=rnd.topology,
            running={(v.name, e.policy_id) for v in rnd.views.values() for e in v.running},
            health=_health(rnd.views),
            history=history,
            # The caps are per pass, not per round: later rounds get what is left.
            settings=remaining(deps.plan_settings, outcomes),
            now=deps.now(),
            push_times=assess.push_times({n: v.catalog for n, v in rnd.views.items()}),
        )
        plans.append(plan)
        if not plan.actions:
            break
        done = deps.executor.apply(plan, pass_id=pass_id)
        outcomes.extend(done)
        before = rnd.drift
        touched = {d.repository for d in before} | {d.source_repository for d in before}
        # Verification re-lists only what the repair touched (plus what Harbor says changed).
        rnd = _observe(
            deps,
            previous={n: v.catalog for n, v in rnd.views.items()},
            focus=touched - {""},
            force_incremental=True,
        )
        _update_history(deps, history, outcomes=done, before=before, after=rnd.drift)
        if not any(o.result == ActionResult.SUCCEEDED for o in done):
            break
    return rnd, plans, outcomes


def _run_locked(
    deps: Deps, *, act: bool, focus: Iterable[str], pass_id: str, started: datetime
) -> PassResult:
    calls_before = sum(c.request_count for c in deps.clients.values())
    deps.store.check_identity()  # a state file deleted or replaced under us: act on nothing
    if act:
        restore_pending(deps.clients, deps.store, now=deps.now)
    previous = _load_previous(deps)
    rnd = _observe(deps, previous=previous, focus=focus)
    record_health(deps.store, (v.health for v in rnd.views.values()))
    parity = parity_reports(
        deps.clusters,
        {n: v.catalog for n, v in rnd.views.items()},
        sample_size=deps.parity_sample,
        seed=pass_id,
    )
    history = _load_history(deps)
    plans: list[Plan] = []
    outcomes: list[Outcome] = []
    if act:
        rnd, plans, outcomes = _repair(deps, rnd, history, pass_id=pass_id)
    now = deps.now()
    history = _settle(history, rnd)
    first_seen = deps.store.load_first_seen()
    seen = {drift_key(d): first_seen.get(assess.store_key(drift_key(d))) for d in rnd.drift}
    drift = label_non_converging(
        carry_first_seen(rnd.drift, {k: v for k, v in seen.items() if v}, now), history
    )
    if deps.persist:
        _persist(deps, rnd, drift=drift, now=now)
        _save_history(deps, history)
    result = _result(
        pass_id=pass_id,
        started=started,
        finished=deps.now(),
        rnd=rnd,
        drift=drift,
        plan=_merge_plans(plans),
        outcomes=tuple(outcomes),
        history=history,
        api_calls=sum(c.request_count for c in deps.clients.values()) - calls_before,
        parity=parity,
        hung=_hung(rnd, older_than=deps.hung_after, now=now),
        reenable_pending=tuple(
            sorted((i.instance, i.policy_id) for i in deps.store.pending_intents())
        ),
    )
    if deps.persist:
        deps.store.record_pass(
            pass_id, started_at=started, finished_at=result.finished_at, outcome=result.outcome
        )
        # Harbor keeps only 50 executions per policy; syncd's own history is kept for a while,
        # but bounded (pending intents and open executions are never pruned).
        deps.store.prune(before=now - HISTORY_RETENTION)
    return result


def _hung(rnd: _Round, *, older_than: timedelta, now: datetime) -> tuple[Execution, ...]:
    """Return executions InProgress for longer than ``older_than``, logging each once."""
    hung = tuple(
        e
        for v in rnd.views.values()
        for e in v.running
        if e.start_time is not None and now - e.start_time > older_than
    )
    for e in hung:
        log.warning(
            "reconcile.execution_hung",
            instance=e.instance,
            policy_id=e.policy_id,
            execution_id=e.id,
            trigger=e.trigger,
            since=e.start_time.isoformat() if e.start_time else None,
        )
    return hung


def _merge_plans(plans: Iterable[Plan]) -> Plan:
    actions: list[Action] = []
    skips: list[Skip] = []
    for plan in plans:
        actions.extend(plan.actions)
        skips.extend(plan.skips)
    return Plan(actions=tuple(actions), skips=tuple(skips))


def _load_history(deps: Deps) -> dict[tuple[str, int], PolicyHistory]:
    return {
        key: from_record(history_from_json(rec)) for key, rec in deps.store.load_history().items()
    }


def _save_history(deps: Deps, history: Mapping[tuple[str, int], PolicyHistory]) -> None:
    for (owner, policy_id), record in history.items():
        deps.store.save_history(owner, policy_id, to_record(record))


def _result(  # noqa: PLR0913 - to become a core value built in one place (issue 10)
    *,
    pass_id: str,
    started: datetime,
    finished: datetime,
    rnd: _Round,
    drift: tuple[Drift, ...],
    plan: Plan,
    outcomes: tuple[Outcome, ...],
    history: Mapping[tuple[str, int], PolicyHistory],
    api_calls: int,
    parity: tuple[ParityReport, ...],
    hung: tuple[Execution, ...],
    reenable_pending: tuple[tuple[str, int], ...],
) -> PassResult:
    unobservable = [e for e in rnd.edges if not e.observable]
    unobserved = _unobserved(rnd.views)
    blind = {u.instance for u in unobserved}
    blind_edges = tuple(
        sorted({e.edge.name for e in unobservable if {e.edge.source, e.edge.destination} & blind})
    )
    outcome = (
        PassOutcome.DRIFT if drift or unobservable or reenable_pending else PassOutcome.CONVERGED
    )
    if unobserved or blind_edges:
        outcome = PassOutcome.INCOMPLETE
    return PassResult(
        pass_id=pass_id,
        started_at=started,
        finished_at=finished,
        outcome=outcome,
        health=tuple(v.health for v in rnd.views.values()),
        drift=drift,
        plan=plan,
        outcomes=outcomes,
        topology=rnd.topology,
        running_executions=sum(len(v.running) for v in rnd.views.values()),
        non_converging_policies=tuple(
            sorted(k for k, h in history.items() if h.non_converging_since is not None)
        ),
        disabled_policies=tuple(
            sorted(k for k, p in rnd.topology.policies.items() if not p.enabled)
        ),
        converged_edges=tuple(e.edge.name for e in rnd.edges if e.observable and not e.drift),
        api_calls=api_calls,
        # Edges blind because an instance was not observed are listed in unobserved_edges.
        error="; ".join(
            f"{e.edge.name}: {e.problem}" for e in unobservable if e.edge.name not in blind_edges
        ),
        parity=parity,
        hung=hung,
        unobserved=unobserved,
        unobserved_edges=blind_edges,
        reenable_pending=reenable_pending,
    )
