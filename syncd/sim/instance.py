"""One simulated Harbor: its store, engine, faults and HTTP server, plus the Python controls.

Every control is also reachable as ``POST /_sim/<command>`` (see ``admin``). The ``refuse`` mode
really closes the listening socket; ``up`` re-binds the same port. With a data plane the
instance owns a ``docker-registry`` child (see ``dataplane``); a node created ``shared_with``
another shares its store, engine and registry, like Harbor nodes behind one load balancer.
"""

from __future__ import annotations

import gc
import re
import threading
from typing import TYPE_CHECKING, Any, Self

from syncd.sim.auth import Principal, authenticate
from syncd.sim.catalog import Catalog, SimError, fake_digest
from syncd.sim.dataplane import RegistryProcess, registry_binary
from syncd.sim.dataplane_copy import RealCopier
from syncd.sim.engine import Engine, SimTiming
from syncd.sim.faults import COMPONENTS, DOWN_MODES, Faults
from syncd.sim.policy import build_policy
from syncd.sim.server import SimServer
from syncd.sim.state import SimRegistry, SimState, utcnow

if TYPE_CHECKING:
    from collections.abc import Iterable, Mapping
    from types import TracebackType

__all__ = ["SimInstance"]

_VERSION = re.compile(r"v?(\d+)\.(\d+)\.(\d+)")


def _touches_on_write(version: str) -> bool:
    match = _VERSION.match(version)
    return match is None or tuple(int(x) for x in match.groups()) >= (2, 15, 2)


class SimInstance:
    """A Harbor v2.0 API simulator listening on ``host:port`` (port 0 = pick a free one)."""

    def __init__(
        self,
        name: str,
        *,
        harbor_version: str = "v2.15.2-sim",
        users: dict[str, str] | None = None,
        robots: dict[str, str] | None = None,
        admins: Iterable[str] = ("admin",),
        members: Mapping[str, Iterable[str]] | None = None,
        host: str = "127.0.0.1",
        port: int = 0,
        timing: SimTiming | None = None,
        data_plane: bool | None = None,
        shared_with: SimInstance | None = None,
    ) -> None:
        self.name = name
        self.harbor_version = harbor_version
        self.users = dict(users) if users is not None else {"admin": "Harbor12345"}
        self.robots = dict(robots or {})
        self.admins = frozenset(admins)
        """Users that are system administrators (every other user is a plain user)."""
        self.members = {name: tuple(projects) for name, projects in (members or {}).items()}
        """User or robot name (without ``robot$``) -> projects it is a member of; a robot
        listed here has project permissions only, an unlisted robot is a system robot."""
        self.host, self.port = host, port
        self.timing = timing or SimTiming()
        self.faults = Faults()
        self.shared_with = shared_with
        self._eager_plane = bool(data_plane)
        if shared_with is None:
            self.state = SimState()
            self.catalog = Catalog(self.state, touch_on_write=_touches_on_write(harbor_version))
            self.engine = Engine(
                state=self.state, catalog=self.catalog, timing=self.timing, faults=self.faults
            )
            binary = registry_binary(required=data_plane)
            self.data_plane = RegistryProcess(name=name, binary=binary) if binary else None
            if self.data_plane is not None:
                self.engine.copier = RealCopier(registry=self.data_plane)
        else:  # one database, one jobservice, one storage: the first node owns them
            self.state, self.catalog = shared_with.state, shared_with.catalog
            self.engine, self.data_plane = shared_with.engine, shared_with.data_plane
            if data_plane and self.data_plane is None:
                raise SimError(400, "BAD_REQUEST", f"{shared_with.name} has no data plane")
        self.request_log: list[tuple[str, str, int]] = []
        self.admin_log: list[tuple[str, str, int]] = []
        self.v2_log: list[tuple[str, str, int]] = []
        self.errors: list[str] = []
        self.siblings: dict[str, SimInstance] = {name: self}
        self._log_lock = threading.Lock()
        self._server: SimServer | None = None
        self._thread: threading.Thread | None = None

    # ------------------------------------------------------------------ lifecycle

    @property
    def url(self) -> str:
        """Base URL, e.g. ``http://127.0.0.1:8081``."""
        return f"http://{self.host}:{self.port}"

    def start(self) -> Self:
        """Start the data plane (if any), then bind and serve in a background thread."""
        if self._eager_plane and self.data_plane is not None:
            self.data_plane.start()  # otherwise lazily, on the first /v2/ request
        try:
            self._listen()
        except BaseException:
            self.stop()
            raise
        return self

    def stop(self) -> None:
        """Stop serving; the owner of the store also stops the engine and the registry."""
        self._close_listener()
        if self.shared_with is None:
            self.engine.close()
            if self.data_plane is not None:
                self.data_plane.stop()

    def _listen(self) -> None:
        if self._server is not None:
            return
        self._server = SimServer((self.host, self.port), self)
        self.port = self._server.server_address[1]
        self._thread = threading.Thread(
            target=self._server.serve_forever,
            kwargs={"poll_interval": 0.05},
            name=f"sim-{self.name}",
            daemon=True,
        )
        self._thread.start()

    def _close_listener(self) -> None:
        server, self._server = self._server, None
        if server is not None:
            server.shutdown()
            server.server_close()
        if self._thread is not None:
            self._thread.join()
            self._thread = None

    def __enter__(self) -> Self:
        return self.start()

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.stop()

    def log_request(self, method: str, path: str, status: int) -> None:
        """Record an ``/api/v2.0`` request."""
        with self._log_lock:
            self.request_log.append((method, path, status))

    def log_admin(self, method: str, path: str, status: int) -> None:
        """Record a ``/_sim/`` request."""
        with self._log_lock:
            self.admin_log.append((method, path, status))

    def log_v2(self, method: str, path: str, status: int) -> None:
        """Record a ``/v2/`` request (registry API)."""
        with self._log_lock:
            self.v2_log.append((method, path, status))

    def principal(self, authorization: str | None) -> Principal:
        """Who an ``Authorization`` header authenticates as (anonymous when wrong)."""
        return authenticate(
            authorization,
            users=self.users,
            robots=self.robots,
            admins=self.admins,
            members=self.members,
        )

    # ------------------------------------------------------------------ catalog controls

    def create_project(self, name: str, *, public: bool = False) -> int:
        """Create a project (pushing into a missing project fails, as in Harbor)."""
        return self.catalog.create_project(name, public=public).id

    def push(
        self,
        repository: str,
        tag: str | None,
        *,
        digest: str | None = None,
        media_type: str | None = None,
        references: tuple[str, ...] | list[str] = (),
        labels: tuple[str, ...] | list[str] = (),
        accessory_of: str | None = None,
        content: str | None = None,
        artifact_type: str | None = None,
    ) -> str:
        """Push like a registry client; fires push events; returns the digest."""
        digest = digest or fake_digest(content or f"{repository}:{tag}")
        events = self.catalog.push(
            repository,
            tag,
            digest,
            media_type=media_type,
            references=tuple(references),
            labels=tuple(labels),
            accessory_of=accessory_of,
            type=artifact_type,
        )
        self.engine.on_events(events)
        return digest

    def delete_tag(self, repository: str, tag: str) -> None:
        """Delete a tag; fires a tag-delete event."""
        self.engine.on_events(self.catalog.delete_tag(repository, tag))

    def delete_artifact(self, repository: str, digest: str) -> None:
        """Delete an artifact with its tags; fires a delete event."""
        self.engine.on_events(self.catalog.delete_artifact(repository, digest))

    def retag(self, repository: str, tag: str, digest: str) -> None:
        """Move (or add) a tag to an existing digest; fires a push event."""
        self.engine.on_events(self.catalog.retag(repository, tag, digest))

    def pull(self, repository: str, reference: str) -> None:
        """Pull like a client: bumps pull_count and update_time (every version)."""
        self.catalog.pull(repository, reference)

    def generate(
        self,
        *,
        projects: int = 10,
        repos_per_project: int = 100,
        tags_per_repo: int = 20,
        seed: int = 0,
        public: bool = False,
        freeze: bool = False,
    ) -> int:
        """Bulk catalog in memory without events; returns the number of tags created.

        ``freeze``: then hide every object so far from the cyclic collector (``gc.freeze``).
        A simulator process holding 10^6 tags otherwise rescans them at each full collection
        (at 1M tags ~25% of a listing page's CPU); a test process should not freeze its heap.
        """
        made = self.catalog.generate(
            projects=projects,
            repos_per_project=repos_per_project,
            tags_per_repo=tags_per_repo,
            seed=seed,
            public=public,
        )
        if freeze:
            gc.freeze()
        return made

    # ------------------------------------------------------------------ replication setup

    def add_registry(self, name: str, url: str, *, username: str, password: str) -> int:
        """Create a registry endpoint; returns its id."""
        with self.state.lock:
            if any(r.name == name for r in self.state.registries.values()):
                raise SimError(409, "CONFLICT", f"registry {name} already exists")
            now = utcnow()
            rid = self.state.next_id("registry")
            self.state.registries[rid] = SimRegistry(rid, name, url, username, password, now, now)
            return rid

    def add_policy(self, body: dict[str, Any]) -> int:
        """Create a policy from a ``ReplicationPolicy`` body (``deletion`` is what counts)."""
        with self.state.lock:
            policy = build_policy(body, self.state, existing=None)
            self.state.policies[policy.id] = policy
            return policy.id

    def start_execution(self, policy_id: int, *, trigger: str = "manual") -> int:
        """Start an execution directly (no HTTP); returns its id."""
        policy = self.state.policies[policy_id]
        return self.engine.start(policy, trigger)

    def execution_status(self, execution_id: int) -> str:
        """Return the derived status of an execution (fresh, ignoring ``status_refresh``)."""
        return self.engine.status(self.state.executions[execution_id], fresh=True)[0]

    # ------------------------------------------------------------------ faults

    def set_down(self, mode: str) -> None:
        """``up`` | ``refuse`` (socket closed, same port on ``up``) | ``503``."""
        if mode not in DOWN_MODES:
            raise SimError(400, "BAD_REQUEST", f"mode must be one of {DOWN_MODES}")
        self.faults.down = mode
        if mode == "refuse":
            self._close_listener()
        elif self._server is None:
            self._listen()

    def set_latency(self, seconds: float) -> None:
        """Delay every request by ``seconds``."""
        self.faults.latency = float(seconds)

    def set_failure_rate(self, rate: float, *, seed: int | None = None) -> None:
        """Answer this fraction of ``/api/v2.0`` requests with 500."""
        with self.faults.lock:
            self.faults.failure_rate = float(rate)
            self.faults.rng.seed(seed)

    def set_rate_limit(self, n_requests: int, retry_after: int = 1) -> None:
        """Answer the next ``n_requests`` API requests with 429 + ``Retry-After``."""
        with self.faults.lock:
            self.faults.rate_limit_left, self.faults.retry_after = n_requests, retry_after

    def hang_executions(
        self,
        policy_id: int | None,
        on: bool,  # noqa: FBT001 - positional by the public contract
        *,
        stop_ignored: bool = False,
    ) -> None:
        """Make new executions of the policy (None = all) stay InProgress until stopped."""
        self.faults.set_hang(policy_id, on=on, stop_ignored=stop_ignored)

    def set_component_health(self, name: str, healthy: bool) -> None:  # noqa: FBT001
        """Mark a /health component (un)healthy."""
        if name not in COMPONENTS:
            raise SimError(400, "BAD_REQUEST", f"unknown component {name}")
        if healthy:
            self.faults.unhealthy.discard(name)
        else:
            self.faults.unhealthy.add(name)

    def set_storage_lost(self, lost: bool) -> None:  # noqa: FBT001
        """Make this node's ``/v2/`` 404 manifests and blobs (the API still lists them)."""
        self.faults.storage_lost = bool(lost)
