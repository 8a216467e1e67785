"""What a pass concludes (syncd.core.passing): outcome, hung executions, rounds, the result."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from syncd.core.edges import EdgeAssessment
from syncd.core.model import (
    Action,
    ActionKind,
    ActionResult,
    Drift,
    DriftClass,
    Edge,
    Execution,
    ExecutionStatus,
    HealthState,
    InstanceHealth,
    Outcome,
    PassOutcome,
    Plan,
    Skip,
    SkipReason,
    Topology,
    Unobserved,
    UnobservedCause,
)
from syncd.core.passing import (
    PassFacts,
    blind_edges,
    hung_executions,
    merge_plans,
    pass_outcome,
    pass_result,
    repair_again,
    touched_repositories,
)

T0 = datetime(2026, 1, 1, tzinfo=UTC)
AB = Edge("a", "b", "a", 1)
BC = Edge("b", "c", "b", 2)


def _drift(edge: Edge = AB, *, repo: str = "lib/app", source_repo: str = "") -> Drift:
    return Drift(
        edge=edge,
        repository=repo,
        tag="v1",
        drift_class=DriftClass.MISSING,
        source_digest="sha256:s",
        destination_digest=None,
        base_digest=None,
        source_repository=source_repo,
    )


def _execution(started: datetime | None) -> Execution:
    return Execution("a", 7, 1, ExecutionStatus.IN_PROGRESS, "manual", start_time=started)


def _outcome(result: ActionResult) -> Outcome:
    action = Action(kind=ActionKind.TRIGGER, instance="a", policy_id=1, edges=(AB,), reason="r")
    return Outcome(action=action, result=result)


@pytest.mark.parametrize(
    ("drift", "unobservable", "pending", "unobserved", "expected"),
    [
        (False, False, False, False, PassOutcome.CONVERGED),
        (True, False, False, False, PassOutcome.DRIFT),
        (False, True, False, False, PassOutcome.DRIFT),
        (False, False, True, False, PassOutcome.DRIFT),
        (False, False, False, True, PassOutcome.INCOMPLETE),
        (True, True, True, True, PassOutcome.INCOMPLETE),
    ],
)
def test_pass_outcome_table(drift, unobservable, pending, unobserved, expected):
    """Anything unseen is incomplete; anything open is drift; only nothing at all is converged."""
    got = pass_outcome(
        drift=drift,
        unobservable_edges=unobservable,
        reenable_pending=pending,
        unobserved=unobserved,
    )
    assert got is expected
    assert got.complete is (expected is not PassOutcome.INCOMPLETE)


@pytest.mark.parametrize(
    ("started", "hung"),
    [(None, False), (T0 - timedelta(minutes=29), False), (T0 - timedelta(minutes=31), True)],
    ids=["no-start-time", "young", "old"],
)
def test_hung_executions_are_the_ones_running_longer_than_the_timeout(started, hung):
    """Only an execution with a start time older than the timeout counts as hung."""
    running = [_execution(started)]
    found = hung_executions(running, older_than=timedelta(minutes=30), now=T0)
    assert found == (tuple(running) if hung else ())


def test_touched_repositories_cover_both_sides_and_drop_empty_names():
    """A mapped edge touches the destination and the source repository; '' is no repository."""
    drift = [_drift(repo="dst/app", source_repo="src/app"), _drift(repo="lib/x")]
    assert touched_repositories(drift) == {"dst/app", "src/app", "lib/x"}


@pytest.mark.parametrize(
    ("results", "again"),
    [
        ((), False),
        ((ActionResult.FAILED, ActionResult.NOT_STARTED), False),
        ((ActionResult.SKIPPED, ActionResult.SUCCEEDED), True),
        ((ActionResult.DRY_RUN,), False),
    ],
)
def test_another_round_only_after_a_success(results, again):
    """Repair rounds stop as soon as a round moved nothing (chains need one round per hop)."""
    assert repair_again(_outcome(r) for r in results) is again


def test_blind_edges_are_the_unassessable_ones_touching_an_unobserved_instance():
    """An edge whose end was not observed is blind; an edge broken for another reason is not."""
    edges = [
        EdgeAssessment(edge=AB, observable=False, problem="b not observed"),
        EdgeAssessment(edge=BC, observable=False, problem="invalid mapping"),
    ]
    down = [Unobserved("a", UnobservedCause.REFUSED)]
    assert blind_edges(edges, down) == ("a->b",)
    assert blind_edges(edges, []) == ()


def test_merge_plans_keeps_every_rounds_actions_and_skips_in_order():
    """The pass's plan is the rounds' plans end to end."""
    first = _outcome(ActionResult.SUCCEEDED).action
    skip = Skip(reason=SkipReason.CAP_REACHED, edge=AB, policy_id=1, detail="cap")
    merged = merge_plans([Plan(actions=(first,)), Plan(skips=(skip,)), Plan(actions=(first,))])
    assert merged == Plan(actions=(first, first), skips=(skip,))


def _facts(**kw: object) -> PassFacts:
    base: dict[str, object] = {
        "pass_id": "p",
        "started": T0,
        "finished": T0 + timedelta(seconds=2),
        "health": (InstanceHealth("a", HealthState.UP, T0),),
        "running": (),
        "unobserved": (),
        "topology": Topology(edges=(AB, BC)),
        "edges": (EdgeAssessment(edge=AB), EdgeAssessment(edge=BC)),
        "drift": (),
        "history": {},
    }
    return PassFacts(**(base | kw))  # type: ignore[arg-type]


def test_result_of_a_clean_pass_is_converged_with_every_edge_converged():
    """Every edge observed and matching: converged, both edges listed as converged."""
    result = pass_result(_facts())
    assert (result.outcome, result.converged_edges) == (PassOutcome.CONVERGED, ("a->b", "b->c"))
    assert (result.error, result.unobserved_edges, result.duration_seconds) == ("", (), 2.0)


def test_result_with_an_unobserved_instance_is_incomplete_and_names_the_blind_edge():
    """A down instance makes its edges blind: incomplete, never converged, no error text."""
    facts = _facts(
        unobserved=(Unobserved("b", UnobservedCause.TIMEOUT, "read timeout"),),
        edges=(
            EdgeAssessment(edge=AB, observable=False, problem="b not observed"),
            EdgeAssessment(edge=BC, observable=False, problem="b not observed"),
        ),
    )
    result = pass_result(facts)
    assert result.outcome is PassOutcome.INCOMPLETE
    assert (result.converged_edges, result.unobserved_edges) == ((), ("a->b", "b->c"))
    assert result.error == ""


def test_result_with_drift_counts_running_executions_and_reports_problems():
    """Open drift is drift; an edge broken by its policy is reported in error; running counted."""
    facts = _facts(
        drift=(_drift(),),
        edges=(
            EdgeAssessment(edge=AB, drift=(_drift(),)),
            EdgeAssessment(edge=BC, observable=False, problem="invalid mapping"),
        ),
        running=(_execution(T0), _execution(T0)),
    )
    result = pass_result(facts)
    assert result.outcome is PassOutcome.DRIFT
    assert (result.running_executions, result.error) == (2, "b->c: invalid mapping")
    assert result.converged_edges == ()
