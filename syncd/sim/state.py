"""The simulator's in-memory store: entities of one simulated Harbor and the lock guarding them.

Owns only data and lookups; mutations with Harbor semantics live in ``catalog`` (artifacts) and
``engine`` (executions). Every read or write of the store happens under ``SimState.lock``.
"""

from __future__ import annotations

import itertools
import threading
from dataclasses import dataclass, field
from datetime import UTC, datetime

__all__ = [
    "ZERO_TIME",
    "SimArtifact",
    "SimExecution",
    "SimPolicy",
    "SimProject",
    "SimRegistry",
    "SimRepo",
    "SimState",
    "SimTag",
    "SimTask",
    "utcnow",
]

ZERO_TIME = datetime(1, 1, 1, tzinfo=UTC)
"""Go's zero ``time.Time``: what Harbor reports for 'never' (pull_time, unfinished end_time)."""


def utcnow() -> datetime:
    """Read the simulator's clock (UTC, millisecond resolution like Harbor's database)."""
    now = datetime.now(UTC)
    return now.replace(microsecond=now.microsecond // 1000 * 1000)


@dataclass(slots=True)
class SimProject:
    """A project; ``registry_id`` > 0 marks a proxy-cache project."""

    id: int
    name: str
    public: bool
    creation_time: datetime
    update_time: datetime
    registry_id: int = 0


@dataclass(slots=True)
class SimTag:
    """A tag pointing at one artifact."""

    id: int
    name: str
    push_time: datetime


@dataclass(slots=True)
class SimArtifact:
    """A manifest or index inside one repository."""

    id: int
    digest: str
    push_time: datetime
    media_type: str = "application/vnd.oci.image.manifest.v1+json"
    type: str = "IMAGE"
    size: int = 1024
    references: tuple[str, ...] = ()
    labels: tuple[str, ...] = ()
    accessory_of: str | None = None
    pull_time: datetime = ZERO_TIME
    tags: dict[str, SimTag] = field(default_factory=dict)


@dataclass(slots=True)
class SimRepo:
    """A repository; ``name`` is the full name including the project."""

    id: int
    project_id: int
    name: str
    creation_time: datetime
    update_time: datetime
    pull_count: int = 0
    artifacts: dict[str, SimArtifact] = field(default_factory=dict)
    tag_index: dict[str, str] = field(default_factory=dict)
    """tag -> digest."""

    @property
    def project(self) -> str:
        """The project name (first path component)."""
        return self.name.split("/", 1)[0]

    def visible(self) -> list[SimArtifact]:
        """Artifacts Harbor lists: no accessories, no untagged children of an index."""
        children = {ref for art in self.artifacts.values() for ref in art.references}
        return [
            a
            for a in self.artifacts.values()
            if a.accessory_of is None and (a.tags or a.digest not in children)
        ]

    def accessories_of(self, digest: str) -> list[SimArtifact]:
        """Accessories whose subject is ``digest``."""
        return [a for a in self.artifacts.values() if a.accessory_of == digest]


@dataclass(slots=True)
class SimRegistry:
    """A registry endpoint (replication peer) configured on this instance."""

    id: int
    name: str
    url: str
    access_key: str
    access_secret: str
    creation_time: datetime
    update_time: datetime
    type: str = "harbor"
    description: str = ""
    insecure: bool = False
    status: str = "healthy"


@dataclass(slots=True)
class SimPolicy:
    """A replication policy as Harbor stores it (after the handler's PUT/POST conversions)."""

    id: int
    name: str
    src_registry_id: int
    dest_registry_id: int
    creation_time: datetime
    update_time: datetime
    description: str = ""
    dest_namespace: str = ""
    dest_namespace_replace_count: int = -1
    trigger: str | None = None
    cron: str = ""
    filters: list[dict[str, object]] = field(default_factory=list)
    replicate_deletion: bool = False
    override: bool = False
    enabled: bool = False
    speed: int = 0
    copy_by_chunk: bool = False
    single_active_replication: bool = False


@dataclass(slots=True)
class SimTask:
    """One replication task (one repository, or one deletion)."""

    id: int
    execution_id: int
    operation: str
    src_resource: str
    dst_resource: str
    job_id: str
    status: str = "Pending"
    start_time: datetime = ZERO_TIME
    end_time: datetime = ZERO_TIME
    errors: list[tuple[datetime, str]] = field(default_factory=list)
    """When and why each failed attempt failed (the job log)."""


@dataclass(slots=True)
class SimExecution:
    """One execution of a policy; its status is derived from its tasks (see ``engine``)."""

    id: int
    policy_id: int
    trigger: str
    start_time: datetime
    end_time: datetime = ZERO_TIME
    status_text: str = ""
    flow_status: str = "InProgress"
    """InProgress while the flow lists/creates tasks; then Done, Failed or Stopped."""
    tasks: list[SimTask] = field(default_factory=list)
    stop: threading.Event = field(default_factory=threading.Event)
    stop_ignored: bool = False
    shown_status: str = ""
    shown_at: float = 0.0


class SimState:
    """Everything one simulated Harbor holds, guarded by one re-entrant lock."""

    def __init__(self) -> None:
        self.lock = threading.RLock()
        self._ids: dict[str, itertools.count[int]] = {}
        self.projects: dict[str, SimProject] = {}
        self.repos: dict[str, SimRepo] = {}
        self.registries: dict[int, SimRegistry] = {}
        self.policies: dict[int, SimPolicy] = {}
        self.executions: dict[int, SimExecution] = {}
        self.labels: dict[str, int] = {}
        self.revisions: dict[str, int] = {}
        """Project name -> how often its repositories' artifacts or tags changed (see
        ``touched``): listing indexes rebuild only when it moves."""

    def next_id(self, kind: str) -> int:
        """Next id of an entity kind (ids start at 1 per kind, like database sequences)."""
        with self.lock:
            counter = self._ids.setdefault(kind, itertools.count(1))
            return next(counter)

    def touched(self, repository: str) -> None:
        """Record a change to a repository's artifacts or tags (call with the lock held).

        ``catalog`` calls it on every mutation; code that edits the store directly (a test
        moving a push_time) calls it too, or a listing may keep the previous order.
        """
        project = repository.partition("/")[0]
        self.revisions[project] = self.revisions.get(project, 0) + 1

    def label_id(self, name: str) -> int:
        """Return the id of a label name, created on first use."""
        with self.lock:
            if name not in self.labels:
                self.labels[name] = self.next_id("label")
            return self.labels[name]

    def project_by_ref(self, ref: str, *, force_name: bool = False) -> SimProject | None:
        """Find a project by name, or by id when ``ref`` is numeric (unless ``force_name``)."""
        with self.lock:
            if ref.isdigit() and not force_name:
                return next((p for p in self.projects.values() if p.id == int(ref)), None)
            return self.projects.get(ref)

    def project_of(self, repo: SimRepo) -> SimProject:
        """Return the project a repository lives in."""
        return self.projects[repo.project]

    def tag_map(self) -> dict[tuple[str, str], str]:
        """Every ``(full repository name, tag)`` mapped to its digest (for test assertions)."""
        with self.lock:
            return {
                (repo.name, tag): digest
                for repo in self.repos.values()
                for tag, digest in repo.tag_index.items()
            }

    def digests(self, repository: str) -> set[str]:
        """All artifact digests (incl. children and accessories) stored in a repository."""
        with self.lock:
            repo = self.repos.get(repository)
            return set(repo.artifacts) if repo else set()
