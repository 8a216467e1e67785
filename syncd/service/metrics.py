"""The only code that turns results into metric values (families: ``metric_families``).

Pass metrics are derived solely from the frozen :class:`syncd.core.model.PassResult` in
:meth:`Metrics.record_pass`; the HTTP client reports each request through
:meth:`Metrics.record_request`. No other module touches ``prometheus_client`` objects.
"""

from __future__ import annotations

from collections import Counter as Tally
from typing import TYPE_CHECKING, Protocol

from syncd.core.model import (
    ActionResult,
    DriftClass,
    HealthState,
    PassOutcome,
    PolicyProblem,
    SkipReason,
)
from syncd.service.metric_families import (
    BLOCK_REASONS,
    PASS_OUTCOMES,
    STATUS_CLASSES,
    MetricFamilies,
)

if TYPE_CHECKING:
    from collections.abc import Callable
    from datetime import datetime

    from syncd.core.model import Drift, InstanceHealth, PassResult

__all__ = ["BLOCK_REASONS", "PASS_OUTCOMES", "STATUS_CLASSES", "Metrics", "RequestRecordLike"]

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


class Metrics(MetricFamilies):
    """Records a pass's result, probes and requests into the ``syncd_*`` families."""

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
