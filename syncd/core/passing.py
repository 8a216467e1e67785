"""What a pass concludes: its outcome, the hung executions, when repair rounds stop, its result.

Pure decisions the orchestrator (``syncd.engine.reconcile``) used to make inline: which
repositories a repair touched (verification re-lists only those), whether another repair round
is worth it, which executions count as hung, and how the facts a pass gathered become its
``PassResult``. "Converged" needs every configured instance observed and every edge matching;
anything less is ``drift`` or ``incomplete``, with the cause.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from syncd.core.model import (
    ActionResult,
    Execution,
    PassOutcome,
    PassResult,
    Plan,
    Topology,
)

if TYPE_CHECKING:
    from collections.abc import Iterable, Mapping
    from datetime import datetime, timedelta

    from syncd.core.backoff import PolicyHistory
    from syncd.core.edges import EdgeAssessment
    from syncd.core.model import (
        Drift,
        InstanceHealth,
        Outcome,
        ParityReport,
        Unobserved,
    )

__all__ = [
    "PassFacts",
    "blind_edges",
    "hung_executions",
    "merge_plans",
    "pass_outcome",
    "pass_result",
    "repair_again",
    "touched_repositories",
]


def touched_repositories(drift: Iterable[Drift]) -> frozenset[str]:
    """Repositories on either side of ``drift``: what verification must re-list."""
    names = {d.repository for d in drift} | {d.source_repository for d in drift}
    return frozenset(names - {""})


def repair_again(outcomes: Iterable[Outcome]) -> bool:
    """Whether another repair round can help: only a succeeded action moved anything."""
    return any(o.result == ActionResult.SUCCEEDED for o in outcomes)


def hung_executions(
    running: Iterable[Execution], *, older_than: timedelta, now: datetime
) -> tuple[Execution, ...]:
    """Return the executions InProgress for longer than ``older_than`` (whoever started them)."""
    return tuple(e for e in running if e.start_time is not None and now - e.start_time > older_than)


def blind_edges(
    edges: Iterable[EdgeAssessment], unobserved: Iterable[Unobserved]
) -> tuple[str, ...]:
    """Names of edges that could not be assessed because one of their ends was not observed."""
    blind = {u.instance for u in unobserved}
    return tuple(
        sorted(
            {
                e.edge.name
                for e in edges
                if not e.observable and {e.edge.source, e.edge.destination} & blind
            }
        )
    )


def pass_outcome(
    *,
    drift: bool,
    unobservable_edges: bool,
    reenable_pending: bool,
    unobserved: bool,
) -> PassOutcome:
    """``incomplete`` if anything configured was not seen; else ``drift`` if anything is open."""
    if unobserved:
        return PassOutcome.INCOMPLETE
    if drift or unobservable_edges or reenable_pending:
        return PassOutcome.DRIFT
    return PassOutcome.CONVERGED


def merge_plans(plans: Iterable[Plan]) -> Plan:
    """One plan holding every round's actions and skips, in order."""
    plans = tuple(plans)
    return Plan(
        actions=tuple(a for p in plans for a in p.actions),
        skips=tuple(s for p in plans for s in p.skips),
    )


@dataclass(frozen=True, slots=True)
class PassFacts:
    """Everything a pass gathered, before it is judged."""

    pass_id: str
    started: datetime
    finished: datetime
    health: tuple[InstanceHealth, ...]
    running: tuple[Execution, ...]
    unobserved: tuple[Unobserved, ...]
    topology: Topology
    edges: tuple[EdgeAssessment, ...]
    drift: tuple[Drift, ...]
    """Drift remaining after verification, first-seen times carried, non-converging labelled."""
    history: Mapping[tuple[str, int], PolicyHistory]
    plan: Plan = field(default_factory=Plan)
    outcomes: tuple[Outcome, ...] = ()
    api_calls: int = 0
    parity: tuple[ParityReport, ...] = ()
    hung: tuple[Execution, ...] = ()
    reenable_pending: tuple[tuple[str, int], ...] = ()


def pass_result(facts: PassFacts) -> PassResult:
    """Judge the facts: the pass's outcome and every figure metrics and reports derive from."""
    unobservable = [e for e in facts.edges if not e.observable]
    blind = blind_edges(facts.edges, facts.unobserved)
    outcome = pass_outcome(
        drift=bool(facts.drift),
        unobservable_edges=bool(unobservable),
        reenable_pending=bool(facts.reenable_pending),
        unobserved=bool(facts.unobserved or blind),
    )
    return PassResult(
        pass_id=facts.pass_id,
        started_at=facts.started,
        finished_at=facts.finished,
        outcome=outcome,
        health=facts.health,
        drift=facts.drift,
        plan=facts.plan,
        outcomes=facts.outcomes,
        topology=facts.topology,
        running_executions=len(facts.running),
        non_converging_policies=tuple(
            sorted(k for k, h in facts.history.items() if h.non_converging_since is not None)
        ),
        disabled_policies=tuple(
            sorted(k for k, p in facts.topology.policies.items() if not p.enabled)
        ),
        converged_edges=tuple(e.edge.name for e in facts.edges if e.observable and not e.drift),
        api_calls=facts.api_calls,
        # Edges blind because an instance was not observed are listed in unobserved_edges.
        error="; ".join(
            f"{e.edge.name}: {e.problem}" for e in unobservable if e.edge.name not in blind
        ),
        parity=facts.parity,
        hung=facts.hung,
        unobserved=facts.unobserved,
        unobserved_edges=blind,
        reenable_pending=facts.reenable_pending,
    )
