"""Immutable values shared by every layer: catalogs, policies, edges, drift, plans, results.

Pure: no I/O, no logging, no clocks. Times are timezone-aware ``datetime`` values handed in by
the caller. The Harbor client translates JSON into these types at the boundary; the decision
core (filters, topology, diff, plan) only ever sees these types.
"""

from __future__ import annotations

from syncd.core.model._decided import (
    Action,
    ActionKind,
    ActionResult,
    Drift,
    DriftClass,
    Outcome,
    ParityReport,
    PassOutcome,
    PassResult,
    Plan,
    ReconcileMode,
    RepairScope,
    Skip,
    SkipReason,
    Unobserved,
    UnobservedCause,
)
from syncd.core.model._observed import (
    Artifact,
    Catalog,
    Edge,
    Execution,
    ExecutionStatus,
    Filter,
    HealthState,
    InstanceHealth,
    Policy,
    PolicyProblem,
    Registry,
    Repository,
    TagKey,
    Topology,
)

__all__ = [
    "Action",
    "ActionKind",
    "ActionResult",
    "Artifact",
    "Catalog",
    "Drift",
    "DriftClass",
    "Edge",
    "Execution",
    "ExecutionStatus",
    "Filter",
    "HealthState",
    "InstanceHealth",
    "Outcome",
    "ParityReport",
    "PassOutcome",
    "PassResult",
    "Plan",
    "Policy",
    "PolicyProblem",
    "ReconcileMode",
    "Registry",
    "RepairScope",
    "Repository",
    "Skip",
    "SkipReason",
    "TagKey",
    "Topology",
    "Unobserved",
    "UnobservedCause",
]
