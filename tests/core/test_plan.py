"""The planner: which drift becomes which action, every skip reason, caps, backoff bookkeeping."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from syncd.core.model import (
    ActionKind,
    Drift,
    DriftClass,
    Edge,
    HealthState,
    Policy,
    PolicyProblem,
    ReconcileMode,
    RepairScope,
    SkipReason,
    Topology,
)
from syncd.core.plan import PlanSettings, PolicyHistory, make_plan, next_history, policy_key
from syncd.core.radius import RepairMode, radius_of_drift
from tests.core.strategies import INSTANCES, T0, drifts

UP, DOWN, DEGRADED = HealthState.UP, HealthState.DOWN, HealthState.DEGRADED
AB = Edge("a", "b", "a", 1)
BA = Edge("b", "a", "b", 2)
AC = Edge("a", "c", "a", 3)
ALL_UP = dict.fromkeys(INSTANCES, UP)
TRIGGER = PlanSettings(mode=ReconcileMode.TRIGGER)


def drift(edge=AB, cls=DriftClass.MISSING, tag="v1", *, age=0, **kwargs) -> Drift:
    """Build one drift entry on ``edge`` first seen ``age`` seconds before T0."""
    defaults: dict[str, Any] = {
        "source_digest": "sha256:s",
        "destination_digest": None,
        "base_digest": None,
    }
    defaults.update(kwargs)
    return Drift(
        edge=edge,
        repository="lib/app",
        tag=tag,
        drift_class=cls,
        source_repository="lib/app",
        first_seen=T0 - timedelta(seconds=age),
        **defaults,
    )


def topology(*edges: Edge, override: bool = True, problems=()) -> Topology:
    """Build a topology whose policies cover ``edges``."""
    policies = {
        (e.policy_owner, e.policy_id): Policy(
            e.policy_owner, e.policy_id, "p", True, 0, 1, override=override
        )
        for e in edges
    }
    return Topology(edges=edges, policies=policies, problems=problems)


def plan(items, *, topo=None, running=(), health=None, history=None, cfg=TRIGGER, times=None):
    """Run make_plan with sensible defaults."""
    return make_plan(
        drift=items,
        topology=topo or topology(AB, BA, AC),
        running=running,
        health=ALL_UP if health is None else health,
        history=history or {},
        settings=cfg,
        now=T0,
        push_times=times,
    )


def reasons(result) -> list[str]:
    """Return the skip reasons of a plan, in order."""
    return [skip.reason.value for skip in result.skips]


# --------------------------------------------------------------------------- triggers


def test_missing_drift_triggers_covering_policy_once():
    """All MISSING tags of one policy give a single TRIGGER on the owner."""
    result = plan([drift(tag="v1"), drift(tag="v2")])
    (action,) = result.actions
    assert (action.kind, action.instance, action.policy_id) == (ActionKind.TRIGGER, "a", 1)
    assert action.edges == (AB,)
    assert action.drift_count == 2
    assert "2 missing on a->b" in action.reason
    assert result.skips == ()


def test_toggle_mode_plans_toggle():
    """Toggle mode repairs with a TOGGLE action instead."""
    result = plan([drift()], cfg=PlanSettings(mode=ReconcileMode.TOGGLE))
    assert [a.kind for a in result.actions] == [ActionKind.TOGGLE]


def test_observe_mode_only_reports_what_it_would_do():
    """Observe mode takes no action and says what it would have triggered."""
    result = plan([drift()], cfg=PlanSettings(mode=ReconcileMode.OBSERVE))
    assert result.actions == ()
    (skip,) = result.skips
    assert skip.reason is SkipReason.OBSERVE_ONLY
    assert skip.detail.startswith("would trigger on a:")


@pytest.mark.parametrize(
    ("health", "acts"),
    [
        ({"a": UP, "b": UP}, True),
        ({"a": UP, "b": DEGRADED}, True),
        ({"a": UP, "b": DOWN}, False),
        ({"a": DOWN, "b": UP}, False),
        ({"a": UP}, False),
    ],
)
def test_trigger_needs_both_ends_alive(health, acts):
    """A trigger needs both edge ends UP or DEGRADED; down or unknown skips ENDPOINT_DOWN."""
    result = plan([drift()], health=health)
    assert bool(result.actions) is acts
    assert reasons(result) == ([] if acts else ["endpoint_down"])


def test_running_policy_is_not_triggered():
    """A policy with an InProgress execution is skipped."""
    result = plan([drift()], running={("a", 1)})
    assert result.actions == ()
    assert reasons(result) == ["execution_running"]


@pytest.mark.parametrize(("until", "acts"), [(T0 + timedelta(minutes=1), False), (T0, True)])
def test_backoff_blocks_until_it_expires(until, acts):
    """A non-converging policy is not triggered until its backoff has passed."""
    past = PolicyHistory("a", 1, T0, 3, "succeeded", T0, until, 0)
    result = plan([drift()], history={("a", 1): past})
    assert bool(result.actions) is acts
    assert reasons(result) == ([] if acts else ["non_converging_backoff"])


def stale(tag="v1", *, moved_on="a") -> Drift:
    """Build a STALE entry: the base equals the side that did not move."""
    dest, base = ("sha256:d", "sha256:d") if moved_on == "a" else ("sha256:d", "sha256:s")
    return drift(
        cls=DriftClass.STALE,
        tag=tag,
        destination_digest=dest,
        base_digest=base,
        moved_on=moved_on,
    )


def test_stale_moved_on_source_triggers_when_override_allows():
    """STALE moved on the source is repaired when the policy overrides tags."""
    assert [a.kind for a in plan([stale()]).actions] == [ActionKind.TRIGGER]


def test_stale_with_override_off_is_reported_never_triggered():
    """override=false: a stale tag is reported with a reason naming override, not triggered."""
    result = plan([stale(tag="v0"), drift()], topo=topology(AB, override=False))
    assert [(a.kind, a.drift_count) for a in result.actions] == [(ActionKind.TRIGGER, 1)]
    (skip,) = result.skips
    assert (skip.reason, skip.drift_count) == (SkipReason.OVERRIDE_OFF, 1)
    assert "override is off" in skip.detail
    assert "lib/app:v0" in skip.detail


def test_stale_moved_on_destination_is_left_for_the_reverse_edge():
    """A tag that moved on the destination is reported, not overwritten."""
    item = drift(cls=DriftClass.STALE, destination_digest="sha256:d", moved_on="b")
    result = plan([item])
    assert result.actions == ()
    assert reasons(result) == ["extra_reported"]


def test_cap_keeps_oldest_drift_first():
    """With a cap of 1, the policy with the oldest drift goes first; the rest is CAP_REACHED."""
    items = [drift(AB, age=10), drift(BA, age=500), drift(AC, age=50)]
    result = plan(items, cfg=PlanSettings(mode=ReconcileMode.TRIGGER, max_actions_per_pass=1))
    assert [(a.instance, a.policy_id) for a in result.actions] == [("b", 2)]
    assert reasons(result) == ["cap_reached", "cap_reached"]


def test_cap_ties_break_on_most_drift():
    """Equal ages: the policy with more drifted tags goes first."""
    items = [drift(AB), drift(AC, tag="v1"), drift(AC, tag="v2")]
    result = plan(items, cfg=PlanSettings(mode=ReconcileMode.TRIGGER, max_actions_per_pass=1))
    assert [a.policy_id for a in result.actions] == [3]


# --------------------------------------------------------------------------- disabled policies

DISABLED = (("a", 9, PolicyProblem.DISABLED, "policy is disabled; would replicate a->b"),)


def test_disabled_policy_is_reported():
    """A disabled policy is skipped POLICY_DISABLED by default."""
    result = plan([], topo=topology(problems=DISABLED))
    assert reasons(result) == ["policy_disabled"]
    assert result.skips[0].policy_id == 9


def test_disabled_policy_reenabled_when_configured():
    """With reenable_disabled_policies, a disabled policy gets ENABLE_POLICY on its owner."""
    cfg = PlanSettings(mode=ReconcileMode.TRIGGER, reenable_disabled_policies=True)
    result = plan([], topo=topology(problems=DISABLED), cfg=cfg)
    assert [(a.kind, a.instance, a.policy_id) for a in result.actions] == [
        (ActionKind.ENABLE_POLICY, "a", 9)
    ]


def test_disabled_policy_with_other_problem_is_not_reenabled():
    """A disabled policy that points nowhere is not re-enabled."""
    problems = (*DISABLED, ("a", 9, PolicyProblem.UNKNOWN_ENDPOINT, "nowhere"))
    cfg = PlanSettings(mode=ReconcileMode.TRIGGER, reenable_disabled_policies=True)
    result = plan([], topo=topology(problems=problems), cfg=cfg)
    assert result.actions == ()
    assert reasons(result) == ["policy_disabled"]


# --------------------------------------------------------------------------- conflicts


def conflict(edge=AB, src="sha256:s", dst="sha256:d") -> Drift:
    """Build a conflict with both digests present."""
    return drift(edge, DriftClass.CONFLICT, source_digest=src, destination_digest=dst)


def test_conflict_is_reported_by_default():
    """CONFLICT is only reported unless a preference is configured."""
    result = plan([conflict()])
    assert result.actions == ()
    assert reasons(result) == ["conflict_reported"]


def test_conflict_newest_push_wins_and_dual_edges_resolve_once():
    """With "newest", the later push wins; the same conflict seen from both edges acts once."""
    times = {("a", "lib/app", "sha256:s"): T0, ("b", "lib/app", "sha256:d"): T0 - timedelta(1)}
    items = [conflict(AB), conflict(BA, src="sha256:d", dst="sha256:s")]
    result = plan(
        items,
        cfg=PlanSettings(mode=ReconcileMode.TRIGGER, conflict_preference="newest"),
        times=times,
    )
    (action,) = result.actions
    assert action.kind is ActionKind.RESOLVE_CONFLICT
    # The loser's tag is deleted by the loser's digest, then a's policy copies the winner over.
    assert (action.instance, action.repository, action.tag, action.digest) == (
        "b",
        "lib/app",
        "v1",
        "sha256:d",
    )
    assert (action.policy_owner, action.policy_id) == ("a", 1)
    assert "winner a:lib/app@sha256:s" in action.reason


def test_conflict_named_instance_wins():
    """A named preferred instance wins on edges it is part of."""
    result = plan(
        [conflict(AB)], cfg=PlanSettings(mode=ReconcileMode.TRIGGER, conflict_preference="b")
    )
    (action,) = result.actions
    # a loses: its tag (at a's digest) goes, then b's policy b->a copies b's digest over.
    assert (action.instance, action.digest) == ("a", "sha256:s")
    assert (action.policy_owner, action.policy_id) == ("b", 2)


def test_conflict_without_a_policy_back_to_the_loser_is_reported():
    """A winner on the destination side needs a reverse policy to copy it; without one, report."""
    cfg = PlanSettings(mode=ReconcileMode.TRIGGER, conflict_preference="b")
    result = plan([conflict(AB)], topo=topology(AB), cfg=cfg)
    assert result.actions == ()
    assert reasons(result) == ["conflict_reported"]


@pytest.mark.parametrize(
    ("item", "preference"),
    [
        (conflict(), "newest"),  # no push times known
        (conflict(), "c"),  # preferred instance not on the edge
        (drift(cls=DriftClass.CONFLICT, destination_digest=None), "a"),  # a deletion side
    ],
)
def test_undecidable_conflict_is_reported(item, preference):
    """A conflict without a clear winner stays reported."""
    cfg = PlanSettings(mode=ReconcileMode.TRIGGER, conflict_preference=preference)
    assert reasons(plan([item], cfg=cfg)) == ["conflict_reported"]


# --------------------------------------------------------------------------- deletions


def deleted(edge, moved_on, tag="v1") -> Drift:
    """Build a DELETED_UNPROPAGATED entry that moved on ``moved_on``."""
    src, dst = ("sha256:s", None) if moved_on == edge.destination else (None, "sha256:s")
    return drift(
        edge,
        DriftClass.DELETED_UNPROPAGATED,
        tag,
        source_digest=src,
        destination_digest=dst,
        base_digest="sha256:s",
        moved_on=moved_on,
    )


def test_deletions_not_propagated_by_default():
    """Without propagate_deletions, deletion drift is only reported."""
    result = plan([deleted(AB, "a")])
    assert result.actions == ()
    assert reasons(result) == ["deletion_not_enabled"]


def test_deletion_on_source_deletes_tag_on_destination_once():
    """A deletion on A propagates to B exactly once, whichever edge reports it."""
    cfg = PlanSettings(mode=ReconcileMode.TRIGGER, propagate_deletions=True)
    result = plan([deleted(AB, "a"), deleted(BA, "a")], cfg=cfg)
    (action,) = result.actions
    assert (action.kind, action.instance, action.repository, action.tag, action.digest) == (
        ActionKind.DELETE,
        "b",
        "lib/app",
        "v1",
        "sha256:s",
    )
    assert reasons(result) == ["deletion_not_enabled"]  # the B->A view of the same deletion


def test_deletions_are_capped_separately():
    """max_deletions_per_pass caps DELETE actions; the rest is CAP_REACHED."""
    cfg = PlanSettings(
        mode=ReconcileMode.TRIGGER, propagate_deletions=True, max_deletions_per_pass=2
    )
    items = [deleted(AB, "a", tag=f"v{n}") for n in range(5)] + [drift(AC)]
    result = plan(items, cfg=cfg)
    kinds = [a.kind for a in result.actions]
    assert kinds.count(ActionKind.DELETE) == 2
    assert kinds.count(ActionKind.TRIGGER) == 1
    assert reasons(result) == ["cap_reached"] * 3


def test_deletion_needs_destination_alive():
    """No deletion goes to an instance that is down."""
    cfg = PlanSettings(mode=ReconcileMode.TRIGGER, propagate_deletions=True)
    result = plan([deleted(AB, "a")], cfg=cfg, health={"a": UP, "b": DOWN})
    assert reasons(result) == ["endpoint_down"]


def test_extra_is_only_reported_once_per_edge():
    """EXTRA tags collapse into one EXTRA_REPORTED skip per edge with examples."""
    items = [drift(cls=DriftClass.EXTRA, tag=f"t{n}", source_digest=None) for n in range(5)]
    result = plan(items)
    (skip,) = result.skips
    assert (skip.reason, skip.drift_count) == (SkipReason.EXTRA_REPORTED, 5)
    assert skip.detail.endswith("(+2 more)")


# --------------------------------------------------------------------------- properties

settings_st = st.builds(
    PlanSettings,
    mode=st.sampled_from(["observe", "trigger", "toggle"]),
    max_actions_per_pass=st.integers(min_value=0, max_value=3),
    propagate_deletions=st.booleans(),
    conflict_preference=st.sampled_from(["report", "newest", "a", "b"]),
    max_deletions_per_pass=st.integers(min_value=0, max_value=3),
    reenable_disabled_policies=st.booleans(),
)
health_st = st.fixed_dictionaries({name: st.sampled_from(list(HealthState)) for name in INSTANCES})
keys_st = st.sets(st.tuples(st.sampled_from(INSTANCES), st.integers(1, 3)), max_size=4)


ALL_POLICIES = {
    (owner, policy_id): Policy(owner, policy_id, "p", True, 0, 1, override=policy_id != 2)
    for owner in INSTANCES
    for policy_id in (1, 2, 3)
}


def prop_plan(scenario, rnd=None):
    """Plan over generated drift; every generated policy exists (id 2 has override=false)."""
    items, cfg, health, running, backoff = scenario
    history = {
        key: PolicyHistory(key[0], key[1], T0, 1, "succeeded", T0, T0 + timedelta(1), 0)
        for key in backoff
    }
    times = {(i.edge.source, i.source_repository, i.source_digest or ""): T0 for i in items}
    if rnd is not None:
        items = list(items)
        rnd.shuffle(items)
    return make_plan(
        drift=items,
        topology=Topology(policies=ALL_POLICIES, problems=DISABLED),
        running=running,
        health=health,
        history=history,
        settings=cfg,
        now=T0,
        push_times=times,
    )


PROPS = settings(max_examples=150, deadline=None)
scenarios = st.tuples(st.lists(drifts(), max_size=12), settings_st, health_st, keys_st, keys_st)


@PROPS
@given(scenarios, st.randoms())
def test_plan_is_deterministic(scenario, rnd):
    """The same inputs, in any order, give the same plan."""
    assert prop_plan(scenario) == prop_plan(scenario, rnd)


@PROPS
@given(scenarios)
def test_plan_invariants(scenario):
    """Caps hold, one action per policy, nothing for running/down/backed-off, deletes opt-in."""
    _, cfg, health, running, backoff = scenario
    result = prop_plan(scenario)
    alive = {name for name, state in health.items() if state is not DOWN}
    policy_actions = [a for a in result.actions if a.policy_id is not None]
    started = [policy_key(a) for a in policy_actions]
    non_delete = [a for a in result.actions if a.kind is not ActionKind.DELETE]
    assert len(non_delete) <= cfg.max_actions_per_pass
    assert len(result.actions) - len(non_delete) <= cfg.max_deletions_per_pass
    assert len(set(started)) == len(started)
    for action in result.actions:
        assert action.instance in alive
        assert all({e.source, e.destination} <= alive for e in action.edges if action.policy_id)
        if action.policy_id is not None:
            assert policy_key(action) not in running
            assert policy_key(action) not in backoff
    if not cfg.propagate_deletions:
        assert ActionKind.DELETE not in {a.kind for a in result.actions}
    if cfg.mode == "observe":
        assert result.actions == ()


@PROPS
@given(scenarios)
def test_extra_never_changes_actions(scenario):
    """EXTRA drift is never acted on: removing it leaves the actions unchanged."""
    items, *rest = scenario
    without = [item for item in items if item.drift_class is not DriftClass.EXTRA]
    assert prop_plan(scenario).actions == prop_plan((without, *rest)).actions


# --------------------------------------------------------------------------- history


def test_success_without_progress_backs_off_exponentially():
    """Succeeded but drift did not shrink: non-converging, backoff 5 min then 10 min."""
    first = next_history(
        previous=None,
        policy=("a", 1),
        execution_result="succeeded",
        drift_before=3,
        drift_after=3,
        now=T0,
    )
    assert first.non_converging_since == T0
    assert first.backoff_until == T0 + timedelta(minutes=5)
    later = T0 + timedelta(minutes=6)
    second = next_history(
        previous=first,
        policy=("a", 1),
        execution_result="succeeded",
        drift_before=3,
        drift_after=4,
        now=later,
    )
    assert second.non_converging_since == T0
    assert second.backoff_until == later + timedelta(minutes=10)


def test_backoff_is_capped():
    """The backoff never exceeds max_backoff."""
    past = PolicyHistory("a", 1, T0, 3, "succeeded", T0, T0, 0, non_converging_count=40)
    result = next_history(
        previous=past,
        policy=("a", 1),
        execution_result="succeeded",
        drift_before=3,
        drift_after=3,
        now=T0,
    )
    assert result.backoff_until == T0 + timedelta(hours=6)


@pytest.mark.parametrize("after", [0, 1])
def test_progress_clears_non_converging(after):
    """Drift that shrank (to zero or not) clears the non-converging mark and backoff."""
    past = PolicyHistory("a", 1, T0, 3, "succeeded", T0, T0 + timedelta(1), 2, 3)
    result = next_history(
        previous=past,
        policy=("a", 1),
        execution_result="succeeded",
        drift_before=3,
        drift_after=after,
        now=T0,
    )
    assert (result.non_converging_since, result.backoff_until, result.failures) == (None, None, 0)
    assert (result.last_trigger, result.drift_at_trigger, result.last_result) == (
        T0,
        3,
        "succeeded",
    )


def test_failed_execution_counts_failures_and_backs_off():
    """A failed execution increments failures and backs off without marking non-converging."""
    result = next_history(
        previous=None,
        policy=("a", 1),
        execution_result="failed",
        drift_before=3,
        drift_after=3,
        now=T0,
    )
    assert (result.failures, result.non_converging_since) == (1, None)
    assert result.backoff_until == T0 + timedelta(minutes=5)


def test_dry_run_changes_nothing():
    """A dry run leaves the history as it was."""
    past = PolicyHistory("a", 1, None, 0, None, None, None, 0)
    result = next_history(
        previous=past,
        policy=("a", 1),
        execution_result="dry_run",
        drift_before=3,
        drift_after=3,
        now=T0,
    )
    assert result == past


# --------------------------------------------------------------------------- blast radius


def _harmful_edge(harm: str) -> list[Drift]:
    """Missing v1 plus one tag a whole-policy run of a->b would harm."""
    if harm == "conflict":
        other = drift(cls=DriftClass.CONFLICT, tag="stable", destination_digest="sha256:d")
    else:  # deleted on b since the base, still on a
        other = drift(
            cls=DriftClass.DELETED_UNPROPAGATED, tag="old", base_digest="sha256:s", moved_on="b"
        )
    return [drift(), other]


@pytest.mark.parametrize(
    ("harm", "shown"),
    [
        ("conflict", "lib/app:stable overwrites_conflict"),
        ("deleted", "lib/app:old undoes_deletion"),
    ],
)
def test_harmful_radius_plans_a_scoped_repair_of_the_wanted_tags(harm, shown):
    """auto: a harmful radius turns the trigger into a scoped repair of exactly the missing tag."""
    result = plan(_harmful_edge(harm))
    (action,) = result.actions
    assert action.kind is ActionKind.SCOPED_TRIGGER
    assert (action.instance, action.policy_id, action.drift_count) == ("a", 1, 1)
    assert action.scopes == (RepairScope("lib/app", ("v1",), overwrite=False),)
    assert shown in action.reason


@pytest.mark.parametrize("harm", ["conflict", "deleted"])
def test_repair_policy_setting_blocks_a_harmful_radius(harm):
    """repair: policy: no action; a repair_blocked skip names the tags at risk."""
    result = plan(
        _harmful_edge(harm), cfg=PlanSettings(mode=ReconcileMode.TRIGGER, repair=RepairMode.POLICY)
    )
    assert [a.kind for a in result.actions] == []
    (blocked,) = [s for s in result.skips if s.reason is SkipReason.REPAIR_BLOCKED]
    assert (blocked.edge, blocked.drift_count) == (AB, 1)
    assert "1 harmful" in blocked.detail


@pytest.mark.parametrize(
    ("repair", "kind"),
    [
        (RepairMode.AUTO, ActionKind.TRIGGER),
        (RepairMode.POLICY, ActionKind.TRIGGER),
        (RepairMode.SCOPED, ActionKind.SCOPED_TRIGGER),
    ],
)
def test_harmless_radius_triggers_the_whole_policy_unless_scoped_is_forced(repair, kind):
    """A harmless radius: the whole policy (its reason names the radius), or scoped if asked."""
    (action,) = plan([drift()], cfg=PlanSettings(mode=ReconcileMode.TRIGGER, repair=repair)).actions
    assert action.kind is kind
    # Rebuilt from drift, the radius counts what differs and claims nothing of identical tags.
    expected = "radius a->b policy 1: 1 selected differ, 1 wanted, 0 no-op among them, 0 harmful"
    assert expected in action.reason


def test_given_radius_wins_over_the_one_rebuilt_from_drift():
    """The assessment's radius (which sees every selected tag) decides, not the drift alone."""
    harmful = radius_of_drift(AB, _harmful_edge("conflict"), override=True)
    (action,) = make_plan(
        drift=[drift()],
        topology=topology(AB),
        running=(),
        health=ALL_UP,
        history={},
        settings=TRIGGER,
        now=T0,
        radii={("a", 1): harmful},
    ).actions
    assert action.kind is ActionKind.SCOPED_TRIGGER


def test_conflict_resolution_waits_when_its_carrier_would_undo_a_deletion():
    """A preferred winner is not copied by a run that would also resurrect a deleted tag."""
    deleted_on_b = drift(
        cls=DriftClass.DELETED_UNPROPAGATED, tag="old", base_digest="sha256:s", moved_on="b"
    )
    result = plan(
        [conflict(AB), deleted_on_b],
        cfg=PlanSettings(mode=ReconcileMode.TRIGGER, conflict_preference="a"),
    )
    assert result.actions == ()
    (blocked,) = [s for s in result.skips if s.reason is SkipReason.REPAIR_BLOCKED]
    assert "lib/app:old (undoes_deletion)" in blocked.detail
