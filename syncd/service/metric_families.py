"""The ``syncd_*`` metric families: names, help texts, labels and buckets, defined once.

Every name carries the ``syncd_`` prefix and every label is low-cardinality (instance, edge,
drift class, action kind/result, outcome, status class, policy problem). Repositories, tags and
digests are never labels: they would grow without bound. ``syncd.service.metrics`` records
values into these families; nothing else touches ``prometheus_client`` objects.
"""

from __future__ import annotations

from prometheus_client import REGISTRY, CollectorRegistry, Counter, Gauge, Histogram

from syncd import __version__
from syncd.core.model import PassOutcome, PolicyProblem

__all__ = ["BLOCK_REASONS", "PASS_OUTCOMES", "STATUS_CLASSES", "MetricFamilies"]

PASS_OUTCOMES = tuple(outcome.value for outcome in PassOutcome)
STATUS_CLASSES = ("2xx", "3xx", "4xx", "5xx", "error")
BLOCK_REASONS = ("harmful_radius", "permission_denied")
"""Why a repair is blocked: ``repair: policy`` met a harmful radius, or a 403 on create."""

# A pass walks every catalog of every instance, so it takes seconds to minutes.
_PASS_BUCKETS = (0.5, 1.0, 2.5, 5.0, 10.0, 20.0, 30.0, 60.0, 120.0, 300.0, 600.0)
# Harbor API calls: tens of milliseconds when healthy, up to the client timeout when not.
_REQUEST_BUCKETS = (0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0)


class MetricFamilies:
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
