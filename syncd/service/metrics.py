"""Prometheus instruments for syncd and the only code that turns results into metric values.

Every name carries the ``syncd_`` prefix and every label is low-cardinality (instance, edge,
drift class, action kind/result, outcome, status class, policy problem). Repositories, tags and
digests are never labels: they would grow without bound.

Pass metrics are derived solely from the frozen :class:`syncd.core.model.PassResult` in
:meth:`Metrics.record_pass`; the HTTP client reports each request through
:meth:`Metrics.record_request`. No other module touches ``prometheus_client`` objects.
"""

from __future__ import annotations

from collections import Counter as Tally
from typing import TYPE_CHECKING, Protocol

from prometheus_client import REGISTRY, CollectorRegistry, Counter, Gauge, Histogram

from syncd import __version__
from syncd.core.model import (
    ActionResult,
    DriftClass,
    HealthState,
    PassOutcome,
    PolicyProblem,
    SkipReason,
)

if TYPE_CHECKING:
    from collections.abc import Callable
    from datetime import datetime

    from syncd.core.model import Drift, InstanceHealth, PassResult

__all__ = ["BLOCK_REASONS", "PASS_OUTCOMES", "STATUS_CLASSES", "Metrics", "RequestRecordLike"]

PASS_OUTCOMES = tuple(outcome.value for outcome in PassOutcome)
STATUS_CLASSES = ("2xx", "3xx", "4xx", "5xx", "error")
BLOCK_REASONS = ("harmful_radius", "permission_denied")
"""Why a repair is blocked: ``repair: policy`` met a harmful radius, or a 403 on create."""

# A pass walks every catalog of every instance, so it takes seconds to minutes.
_PASS_BUCKETS = (0.5, 1.0, 2.5, 5.0, 10.0, 20.0, 30.0, 60.0, 120.0, 300.0, 600.0)
# Harbor API calls: tens of milliseconds when healthy, up to the client timeout when not.
_REQUEST_BUCKETS = (0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0)
# Extra tags on a destination are reported, never acted on: they must not age into an alert.
_UNAGED_CLASSES = frozenset({DriftClass.EXTRA})


class RequestRecordLike(Protocol):
    """What the Harbor client reports about one HTTP request (structural, read-only)."""

    @property
    def instance(self) -> str:
        """Configured instance name."""

    @property
    def method(self) -> str:
        """HTTP method."""

    @property
    def kind(self) -> str:
        """Low-cardinality request kind, e.g. ``list_artifacts`` (not exported as a label)."""

    @property
    def status_class(self) -> str:
        """``2xx`` | ``3xx`` | ``4xx`` | ``5xx`` | ``error`` (no response at all)."""

    @property
    def seconds(self) -> float:
        """Wall time of the request."""


class Metrics:
    """The ``syncd_*`` instruments, registered in one registry.

    The default is prometheus_client's global ``REGISTRY`` so stamina's own retry metrics are
    exposed next to ours; tests pass a fresh ``CollectorRegistry``. Constructing two instances
    on the same registry raises, as prometheus_client refuses duplicate names.
    """

    def __init__(self, *, registry: CollectorRegistry | None = None) -> None:
        self.registry = REGISTRY if registry is None else registry
        self._drift_labels: set[tuple[str, str]] = set()
        self._aged_edges: set[str] = set()
        self._blocked_labels: set[tuple[str, str]] = set()
        self._define_health_and_drift()
        self._define_pass_and_actions()
        self._define_policies_and_probes()
        self.leader = Gauge(
            "syncd_leader",
            "1 while this replica leads (acts); 0 on a standby. SQLite state: always 1.",
            registry=self.registry,
        )
        self._preset()

    # ------------------------------------------------------------------- definitions

    def _define_health_and_drift(self) -> None:
        reg = self.registry
        self.instance_up = Gauge(
            "syncd_instance_up",
            "1 if the instance answered its health probe.",
            ["instance"],
            registry=reg,
        )
        self.instance_degraded = Gauge(
            "syncd_instance_degraded",
            "1 if the instance reports unhealthy components.",
            ["instance"],
            registry=reg,
        )
        self.drift_tags = Gauge(
            "syncd_drift_tags",
            "Drifted tags left at the end of the last pass.",
            ["edge", "class"],
            registry=reg,
        )
        self.drift_oldest_age = Gauge(
            "syncd_drift_oldest_age_seconds",
            "Age of the oldest actionable drift on the edge.",
            ["edge"],
            registry=reg,
        )
        self.edge_last_converged = Gauge(
            "syncd_edge_last_converged_timestamp_seconds",
            "Unix time the edge was last seen without drift.",
            ["edge"],
            registry=reg,
        )

    def _define_pass_and_actions(self) -> None:
        reg = self.registry
        self.pass_duration = Histogram(
            "syncd_pass_duration_seconds",
            "Wall time of reconcile passes.",
            buckets=_PASS_BUCKETS,
            registry=reg,
        )
        self.passes = Counter(
            "syncd_passes", "Reconcile passes by outcome.", ["outcome"], registry=reg
        )
        self.last_success = Gauge(
            "syncd_last_success_timestamp_seconds",
            "Unix time the last complete pass (converged or drift) finished (0: none yet).",
            registry=reg,
        )
        self.instance_observed = Gauge(
            "syncd_instance_observed",
            "1 if the instance was fully observed in the last pass.",
            ["instance"],
            registry=reg,
        )
        self.reenable_pending = Gauge(
            "syncd_policy_reenable_pending",
            "Policies syncd disabled and could not re-enable yet.",
            registry=reg,
        )
        self.api_requests = Counter(
            "syncd_api_requests",
            "Harbor API requests by instance and status class.",
            ["instance", "status_class"],
            registry=reg,
        )
        self.api_duration = Histogram(
            "syncd_api_request_duration_seconds",
            "Harbor API request wall time.",
            ["instance"],
            buckets=_REQUEST_BUCKETS,
            registry=reg,
        )
        self.actions = Counter(
            "syncd_actions",
            "Executed actions by kind and result.",
            ["kind", "result"],
            registry=reg,
        )

    def _define_policies_and_probes(self) -> None:
        reg = self.registry
        self.executions_in_progress = Gauge(
            "syncd_executions_in_progress",
            "Replication executions running at pass end.",
            registry=reg,
        )
        self.hung_executions = Gauge(
            "syncd_hung_executions",
            "Executions running longer than the hang threshold.",
            ["instance"],
            registry=reg,
        )
        self.non_converging = Gauge(
            "syncd_non_converging_policies",
            "Policies whose executions succeed while drift stays.",
            registry=reg,
        )
        self.disabled = Gauge(
            "syncd_disabled_policies", "Disabled replication policies.", registry=reg
        )
        self.policy_problems = Gauge(
            "syncd_policy_problems",
            "Policies yielding no edge, by problem.",
            ["problem"],
            registry=reg,
        )
        self.parity_missing = Gauge(
            "syncd_parity_missing",
            "Sampled artifacts whose manifest the instance cannot serve.",
            ["instance"],
            registry=reg,
        )
        self.parity_checked = Gauge(
            "syncd_parity_checked",
            "Artifacts sampled by the last shared-storage parity probe.",
            ["instance"],
            registry=reg,
        )
        self.repairs_blocked = Gauge(
            "syncd_repairs_blocked",
            "Repairs the last pass left blocked, by edge and reason (harmful_radius, "
            "permission_denied).",
            ["edge", "reason"],
            registry=reg,
        )
        self.build_info = Gauge(
            "syncd_build_info",
            "Always 1; the label carries the version.",
            ["version"],
            registry=reg,
        )

    def _preset(self) -> None:
        # Pre-created children make rate() and alerts work before the first event.
        for outcome in PASS_OUTCOMES:
            self.passes.labels(outcome=outcome)
        for problem in PolicyProblem:
            self.policy_problems.labels(problem=problem.value).set(0)
        self.build_info.labels(version=__version__).set(1)

    # ------------------------------------------------------------------- recording

    def record_pass(self, result: PassResult, *, now: datetime) -> None:
        """Derive every pass metric from one pass result; ``now`` ages the drift."""
        self.passes.labels(outcome=result.outcome).inc()
        self.pass_duration.observe(max(result.duration_seconds, 0.0))
        for health in result.health:
            self.record_health(health)
        for outcome in result.outcomes:
            self.actions.labels(kind=outcome.action.kind.value, result=outcome.result).inc()
        # Hung: seen InProgress past the timeout (any starter), or timed out under syncd's watch.
        hung = Tally(e.instance for e in result.hung)
        timed_out = Tally(
            o.action.instance for o in result.outcomes if o.result == ActionResult.TIMEOUT
        )
        instances = {h.instance for h in result.health} | set(hung) | set(timed_out)
        for instance in instances:
            self.record_hung(instance, max(hung.get(instance, 0), timed_out.get(instance, 0)))
        if result.outcome == PassOutcome.ERROR:
            # An errored pass measured nothing trustworthy: keep the last observed values and
            # let SyncdNoSuccessfulPass report the gap instead of zeroing real drift.
            return
        blind = {u.instance for u in result.unobserved}
        for health in result.health:
            self.instance_observed.labels(instance=health.instance).set(
                0 if health.instance in blind else 1
            )
        self.reenable_pending.set(len(result.reenable_pending))
        for report in result.parity:
            self.record_parity(report.instance, checked=report.checked, missing=len(report.missing))
        unseen = set(result.unobserved_edges)
        self._record_drift(
            result.drift, now=now, unseen=lambda e: e in unseen or _touches(e, blind)
        )
        self._record_edges(result)
        if PassOutcome(result.outcome).complete:
            # Only a complete pass is a success; a partial one would hide an outage.
            self.last_success.set(result.finished_at.timestamp())
            self._record_policies(result)
        self._record_blocked(result)

    def _record_blocked(self, result: PassResult) -> None:
        counts = Tally(
            (s.edge.name, BLOCK_REASONS[0])
            for s in result.plan.skips
            if s.reason is SkipReason.REPAIR_BLOCKED and s.edge is not None
        )
        for outcome in result.outcomes:
            if outcome.result == ActionResult.BLOCKED:
                for edge in outcome.action.edges:
                    counts[edge.name, BLOCK_REASONS[1]] += 1
        for name, reason in self._blocked_labels - counts.keys():
            self.repairs_blocked.labels(name, reason).set(0)
        for (name, reason), count in counts.items():
            self.repairs_blocked.labels(name, reason).set(count)
        self._blocked_labels |= counts.keys()

    def _record_drift(
        self, drift: tuple[Drift, ...], *, now: datetime, unseen: Callable[[str], bool]
    ) -> None:
        counts = Tally((d.edge.name, d.drift_class.value) for d in drift)
        # Label sets that drifted before but not now drop to 0 instead of going stale; an edge
        # not observed in this pass keeps its values (its drift is unknown, not gone).
        for edge, cls in self._drift_labels - counts.keys():
            if not unseen(edge):
                self.drift_tags.labels(edge, cls).set(0)
        for (edge, cls), count in counts.items():
            self.drift_tags.labels(edge, cls).set(count)
        self._drift_labels |= counts.keys()
        oldest = _oldest_first_seen(drift)
        for edge in self._aged_edges | {d.edge.name for d in drift}:
            if unseen(edge):
                continue
            age = (now - oldest[edge]).total_seconds() if edge in oldest else 0.0
            self.drift_oldest_age.labels(edge=edge).set(max(age, 0.0))
            self._aged_edges.add(edge)

    def _record_edges(self, result: PassResult) -> None:
        stamp = result.finished_at.timestamp()
        for name in result.converged_edges:
            self.edge_last_converged.labels(edge=name).set(stamp)
        # Known edges appear with a zero age so dashboards list them before any drift.
        for name in {e.name for e in result.topology.edges} - self._aged_edges:
            self.drift_oldest_age.labels(edge=name).set(0)
            self._aged_edges.add(name)

    def _record_policies(self, result: PassResult) -> None:
        self.executions_in_progress.set(result.running_executions)
        self.non_converging.set(len(set(result.non_converging_policies)))
        self.disabled.set(len(set(result.disabled_policies)))
        problems = Tally(problem for _owner, _pid, problem, _detail in result.topology.problems)
        for problem in PolicyProblem:
            self.policy_problems.labels(problem=problem.value).set(problems.get(problem, 0))

    def record_role(self, *, leading: bool) -> None:
        """Set ``syncd_leader`` from the election's current role."""
        self.leader.set(1 if leading else 0)

    def record_health(self, health: InstanceHealth) -> None:
        """Set up/degraded for one probed instance (passes and the health poll both call it)."""
        self.instance_up.labels(instance=health.instance).set(
            0 if health.state is HealthState.DOWN else 1
        )
        self.instance_degraded.labels(instance=health.instance).set(
            1 if health.state is HealthState.DEGRADED else 0
        )

    def record_request(self, record: RequestRecordLike) -> None:
        """Count one Harbor API request; usable directly as the client's ``on_request``."""
        self.api_requests.labels(instance=record.instance, status_class=record.status_class).inc()
        self.api_duration.labels(instance=record.instance).observe(max(record.seconds, 0.0))

    def record_hung(self, instance: str, count: int) -> None:
        """Set how many executions on ``instance`` exceed the hang threshold."""
        self.hung_executions.labels(instance=instance).set(count)

    def record_parity(self, instance: str, *, checked: int, missing: int) -> None:
        """Set the result of the last shared-storage parity probe of ``instance``."""
        self.parity_checked.labels(instance=instance).set(checked)
        self.parity_missing.labels(instance=instance).set(missing)


def _touches(edge: str, instances: set[str]) -> bool:
    """Whether the edge label ``a->b`` has an end in ``instances`` (names never hold ``>``)."""
    return bool(instances) and bool(set(edge.split("->", 1)) & instances)


def _oldest_first_seen(drift: tuple[Drift, ...]) -> dict[str, datetime]:
    """Earliest ``first_seen`` per edge name, over drift classes that count as actionable."""
    oldest: dict[str, datetime] = {}
    for d in drift:
        if d.first_seen is None or d.drift_class in _UNAGED_CLASSES:
            continue
        name = d.edge.name
        oldest[name] = min(oldest.get(name, d.first_seen), d.first_seen)
    return oldest
