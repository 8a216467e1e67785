"""What syncd concludes and does: drift, plans, actions and their outcomes, pass results."""

from __future__ import annotations

import enum
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from datetime import datetime

from syncd.core.model._observed import Edge, Execution, ExecutionStatus, InstanceHealth, Topology

__all__ = [
    "Action",
    "ActionKind",
    "ActionResult",
    "Drift",
    "DriftClass",
    "Outcome",
    "ParityReport",
    "PassOutcome",
    "PassResult",
    "Plan",
    "ReconcileMode",
    "RepairScope",
    "Skip",
    "SkipReason",
    "Unobserved",
    "UnobservedCause",
]


# --------------------------------------------------------------------------- drift


class DriftClass(enum.StrEnum):
    """Three-way drift classes, per edge and per tag."""

    MISSING = "missing"
    """Should be on the destination, is not, and was not deleted there since the base."""
    DELETED_UNPROPAGATED = "deleted_unpropagated"
    """Deleted on one side since the base, still present on the other."""
    STALE = "stale"
    """Tag moved on one side only."""
    CONFLICT = "conflict"
    """Tag moved on both sides to different digests, or differs with no base."""
    EXTRA = "extra"
    """On the destination only; reported, never acted on."""
    NON_CONVERGING = "non_converging"
    """Replication of the covering policy succeeded yet this drift stayed (e.g. override=false)."""


@dataclass(frozen=True, slots=True)
class Drift:
    """One drifted tag on one edge."""

    edge: Edge
    repository: str
    """Destination-side full repository name."""
    tag: str
    drift_class: DriftClass
    source_digest: str | None
    destination_digest: str | None
    base_digest: str | None
    moved_on: str = ""
    """For stale/deleted_unpropagated: the instance where the change happened."""
    source_repository: str = ""
    """Source-side full repository name (differs when dest_namespace maps it)."""
    first_seen: datetime | None = None


# --------------------------------------------------------------------------- plan / outcome


class ActionKind(enum.StrEnum):
    """What syncd can do about drift."""

    TRIGGER = "trigger"
    TOGGLE = "toggle"
    DELETE = "delete"
    RESOLVE_CONFLICT = "resolve_conflict"
    ENABLE_POLICY = "enable_policy"
    SCOPED_TRIGGER = "scoped_trigger"
    """Copy exactly ``Action.tags`` of one repository through a temporary policy."""


class ReconcileMode(enum.StrEnum):
    """How syncd may act (``reconcile.mode``)."""

    OBSERVE = "observe"
    TRIGGER = "trigger"
    TOGGLE = "toggle"


class SkipReason(enum.StrEnum):
    """Why drift was not acted on."""

    OBSERVE_ONLY = "observe_only"
    EXECUTION_RUNNING = "execution_running"
    ENDPOINT_DOWN = "endpoint_down"
    POLICY_DISABLED = "policy_disabled"
    NON_CONVERGING_BACKOFF = "non_converging_backoff"
    CAP_REACHED = "cap_reached"
    CONFLICT_REPORTED = "conflict_reported"
    DELETION_NOT_ENABLED = "deletion_not_enabled"
    EXTRA_REPORTED = "extra_reported"
    OVERRIDE_OFF = "override_off"
    """Stale tag under a policy without ``override``: Harbor would skip it."""
    REPAIR_BLOCKED = "repair_blocked"
    """The whole-policy trigger would do harm and no scoped repair is allowed."""


@dataclass(frozen=True, slots=True)
class RepairScope:
    """The exact tags of one source repository a scoped repair copies."""

    source_repository: str
    tags: tuple[str, ...]
    overwrite: bool = False
    """A wanted tag is stale, so the temporary policy needs ``override``."""


@dataclass(frozen=True, slots=True)
class Action:
    """One side effect the executor will perform, with its reason."""

    kind: ActionKind
    instance: str
    """Instance the request goes to (the policy owner for trigger/toggle)."""
    policy_id: int | None
    edges: tuple[Edge, ...]
    reason: str
    drift_count: int = 0
    repository: str | None = None
    """For delete/resolve_conflict: the repository on ``instance``."""
    digest: str | None = None
    """For delete/resolve_conflict: the digest the tag points at on ``instance`` now (the tag
    is deleted by this digest reference, so a tag that moved since the plan is left alone)."""
    tag: str | None = None
    policy_owner: str | None = None
    """For resolve_conflict: the instance owning ``policy_id``, which copies the winner over."""
    scopes: tuple[RepairScope, ...] = ()
    """For scoped_trigger: exactly what to copy, one temporary policy per source repository."""


@dataclass(frozen=True, slots=True)
class Skip:
    """Drift the plan deliberately leaves alone, with the reason."""

    reason: SkipReason
    edge: Edge | None
    policy_id: int | None
    detail: str
    drift_count: int = 0


@dataclass(frozen=True, slots=True)
class Plan:
    """Everything one pass decided: actions to take and drift left alone."""

    actions: tuple[Action, ...] = ()
    skips: tuple[Skip, ...] = ()


class ActionResult(enum.StrEnum):
    """What became of one action."""

    SUCCEEDED = "succeeded"
    FAILED = "failed"
    """The execution ran and failed, or a delete/enable was refused."""
    NOT_STARTED = "not_started"
    """syncd's own request failed (POST 5xx, timeout, reset): nothing says the policy does not
    converge, so no backoff; the next pass re-checks running executions and re-plans."""
    TIMEOUT = "timeout"
    STOPPED = "stopped"
    SKIPPED = "skipped"
    """Not started: re-checked right before the POST, an execution of the policy was running."""
    DRY_RUN = "dry_run"
    BLOCKED = "blocked"
    """A scoped repair syncd may not run (the account may not create policies): nothing sent."""

    @classmethod
    def of_execution(cls, status: ExecutionStatus) -> ActionResult:
        """Return what a watched execution's terminal status means for the action."""
        return {
            ExecutionStatus.SUCCEED: cls.SUCCEEDED,
            ExecutionStatus.STOPPED: cls.STOPPED,
        }.get(status, cls.FAILED)


@dataclass(frozen=True, slots=True)
class Outcome:
    """What happened when one action was executed."""

    action: Action
    result: ActionResult
    detail: str = ""
    execution_id: int | None = None
    converged: bool | None = None


@dataclass(frozen=True, slots=True)
class ParityReport:
    """Shared-storage parity of one node of a cluster in one pass."""

    cluster: str
    instance: str
    checked: int
    missing: tuple[tuple[str, str], ...] = ()
    """``(repository, digest)`` the shared database lists but this node answered 404 for."""
    error: str = ""


class PassOutcome(enum.StrEnum):
    """How a pass ended; only ``converged`` and ``drift`` rest on a complete observation."""

    CONVERGED = "converged"
    DRIFT = "drift"
    INCOMPLETE = "incomplete"
    """Some configured instance or edge could not be observed: nothing is known about it."""
    ERROR = "error"

    @property
    def complete(self) -> bool:
        """Whether every configured instance and edge was observed."""
        return self in {PassOutcome.CONVERGED, PassOutcome.DRIFT}


class UnobservedCause(enum.StrEnum):
    """Why an instance could not be observed in a pass."""

    REFUSED = "refused"
    TIMEOUT = "timeout"
    TLS = "tls"
    UNREACHABLE = "unreachable"
    """Any other transport failure (DNS, reset, broken connection)."""
    HTTP_STATUS = "http_status"
    INVALID_RESPONSE = "invalid_response"
    """A body that is not the JSON the API promises (HTML from a proxy, truncated JSON)."""
    INCOMPLETE_LISTING = "incomplete_listing"
    """Rows disagreed with ``X-Total-Count`` or ``artifact_count``, or a row repeated."""


@dataclass(frozen=True, slots=True)
class Unobserved:
    """A configured instance the pass could not observe, and why."""

    instance: str
    cause: UnobservedCause
    detail: str = ""


@dataclass(frozen=True, slots=True)
class PassResult:
    """The value one reconcile pass returns; metrics and logs are derived from it."""

    pass_id: str
    started_at: datetime
    finished_at: datetime
    outcome: PassOutcome
    health: tuple[InstanceHealth, ...] = ()
    drift: tuple[Drift, ...] = ()
    """Drift remaining at the end of the pass (after verification)."""
    plan: Plan = field(default_factory=Plan)
    outcomes: tuple[Outcome, ...] = ()
    topology: Topology = field(default_factory=Topology)
    running_executions: int = 0
    non_converging_policies: tuple[tuple[str, int], ...] = ()
    disabled_policies: tuple[tuple[str, int], ...] = ()
    converged_edges: tuple[str, ...] = ()
    api_calls: int = 0
    error: str = ""
    parity: tuple[ParityReport, ...] = ()
    hung: tuple[Execution, ...] = ()
    """Executions still InProgress longer than the execution timeout (whoever started them)."""
    unobserved: tuple[Unobserved, ...] = ()
    """Configured instances not (fully) observed: their edges were neither assessed nor acted on."""
    unobserved_edges: tuple[str, ...] = ()
    """Edge names with an end that was not observed (their drift is unknown, not zero)."""
    reenable_pending: tuple[tuple[str, int], ...] = ()
    """``(instance, policy id)`` syncd disabled and could not re-enable yet (journalled)."""

    @property
    def duration_seconds(self) -> float:
        """Wall time of the pass."""
        return (self.finished_at - self.started_at).total_seconds()
