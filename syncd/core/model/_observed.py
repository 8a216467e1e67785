"""What syncd observes: catalogs, registries, policies, edges, executions, instance health."""

from __future__ import annotations

import enum
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from collections.abc import Collection, Mapping, Sequence
    from datetime import datetime

__all__ = [
    "Artifact",
    "Catalog",
    "Edge",
    "Execution",
    "ExecutionStatus",
    "Filter",
    "HealthState",
    "InstanceHealth",
    "Policy",
    "PolicyProblem",
    "Registry",
    "Repository",
    "TagKey",
    "Topology",
]


# --------------------------------------------------------------------------- catalog


@dataclass(frozen=True, slots=True)
class Artifact:
    """One artifact (manifest or index) of a repository, as Harbor's artifact listing shows it."""

    digest: str
    tags: frozenset[str] = frozenset()
    push_time: datetime | None = None
    type: str = "IMAGE"
    media_type: str = "application/vnd.oci.image.manifest.v1+json"
    references: tuple[str, ...] = ()
    """Child digests of an index (multi-arch image)."""
    accessories: tuple[str, ...] = ()
    """Digests of accessories (cosign/notation signatures, SBOMs) attached to this artifact."""
    labels: frozenset[str] = frozenset()
    """Label *names*; Harbor's label filter matches on names."""


@dataclass(frozen=True, slots=True)
class Repository:
    """A repository with its artifacts; ``name`` is the full name including the project."""

    name: str
    artifact_count: int = 0
    update_time: datetime | None = None
    artifacts: Sequence[Artifact] = ()
    """A tuple, or a sequence decoded on first use (a store's cached rows): ``len`` never
    decodes, so a pass that finds a repository unchanged does not pay for its artifacts."""

    @property
    def project(self) -> str:
        """The project is the first path component of the full name."""
        return self.name.split("/", 1)[0]


TagKey = tuple[str, str]
"""``(full repository name, tag)``: the unit of comparison."""


@dataclass(frozen=True, slots=True)
class Catalog:
    """Snapshot of one instance's projects, repositories and artifacts at ``taken_at``."""

    instance: str
    taken_at: datetime
    repositories: Mapping[str, Repository] = field(default_factory=dict)
    projects: frozenset[str] = frozenset()
    public_projects: frozenset[str] = frozenset()

    def tag_map(self, only: Collection[str] | None = None) -> dict[TagKey, str]:
        """Map every ``(repository, tag)`` (of the repositories ``only`` names) to its digest."""
        repos = self.repositories
        names = repos if only is None else [n for n in only if n in repos]
        return {
            (name, tag): art.digest
            for name in names
            for art in repos[name].artifacts
            for tag in art.tags
        }


# --------------------------------------------------------------------------- policies


@dataclass(frozen=True, slots=True)
class Filter:
    """One replication filter exactly as Harbor stores it."""

    type: str
    """``name`` | ``tag`` | ``label`` | ``resource``."""
    value: str | tuple[str, ...]
    """A glob for name/tag, a tuple of label names for label."""
    decoration: str = ""
    """``matches`` | ``excludes``; empty behaves like ``matches``."""


@dataclass(frozen=True, slots=True)
class Registry:
    """A registry endpoint configured on one instance (``id`` 0 is the local Harbor)."""

    id: int
    name: str
    url: str
    type: str = "harbor"
    status: str = "healthy"


@dataclass(frozen=True, slots=True)
class Policy:
    """A replication policy as read from one instance (``owner``)."""

    owner: str
    """Name of the configured instance the policy was read from."""
    id: int
    name: str
    enabled: bool
    src_registry_id: int
    """0 means local: a push policy."""
    dest_registry_id: int
    """0 means local: a pull policy."""
    trigger: str = "manual"
    """``manual`` | ``scheduled`` | ``event_based``."""
    cron: str | None = None
    filters: tuple[Filter, ...] = ()
    dest_namespace: str = ""
    dest_namespace_replace_count: int = -1
    override: bool = True
    replicate_deletion: bool = False
    raw: Mapping[str, object] = field(default_factory=dict, compare=False, hash=False)
    """The policy JSON exactly as read: a PUT must send it all back (it is a full replace)."""

    @property
    def is_push(self) -> bool:
        """Push mode: the source is the local Harbor."""
        return self.src_registry_id == 0


@dataclass(frozen=True, slots=True)
class Edge:
    """A directed replication relation between two configured instances, via one policy."""

    source: str
    destination: str
    policy_owner: str
    policy_id: int

    @property
    def name(self) -> str:
        """Stable, low-cardinality label: ``a->b``."""
        return f"{self.source}->{self.destination}"


class PolicyProblem(enum.StrEnum):
    """Why a policy yields no edge; reported, never silently ignored."""

    DISABLED = "disabled"
    UNKNOWN_ENDPOINT = "unknown_endpoint"
    UNKNOWN_REGISTRY = "unknown_registry"
    INVALID_MAPPING = "invalid_mapping"


@dataclass(frozen=True, slots=True)
class Topology:
    """Edges derived from every instance's policies, plus policies that yield none and why."""

    edges: tuple[Edge, ...] = ()
    policies: Mapping[tuple[str, int], Policy] = field(default_factory=dict)
    """Keyed by ``(owner, policy id)``."""
    problems: tuple[tuple[str, int, PolicyProblem, str], ...] = ()
    """``(owner, policy id, problem, detail)``."""


# --------------------------------------------------------------------------- executions / health


class ExecutionStatus(enum.StrEnum):
    """Harbor's execution (and, minus Pending, task) status values."""

    PENDING = "Pending"
    IN_PROGRESS = "InProgress"
    SUCCEED = "Succeed"
    FAILED = "Failed"
    STOPPED = "Stopped"

    @property
    def terminal(self) -> bool:
        """Whether the status can no longer change."""
        return self in {ExecutionStatus.SUCCEED, ExecutionStatus.FAILED, ExecutionStatus.STOPPED}


@dataclass(frozen=True, slots=True)
class Execution:
    """A replication execution of one policy on its owner instance."""

    instance: str
    id: int
    policy_id: int
    status: ExecutionStatus
    trigger: str
    start_time: datetime | None = None
    end_time: datetime | None = None
    status_text: str = ""
    total: int = 0
    succeed: int = 0
    failed: int = 0
    in_progress: int = 0
    stopped: int = 0


class HealthState(enum.StrEnum):
    """Instance health as syncd sees it."""

    UP = "up"
    DEGRADED = "degraded"
    DOWN = "down"


@dataclass(frozen=True, slots=True)
class InstanceHealth:
    """Result of one health probe of one instance."""

    instance: str
    state: HealthState
    checked_at: datetime
    unhealthy_components: tuple[str, ...] = ()
    detail: str = ""
