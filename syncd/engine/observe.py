"""Observation: everything one pass reads from every instance, as immutable values.

Owns the per-instance read of one pass: health probe, policies, registries, running executions
and the catalog (taken by ``syncd.engine.snapshot``, incrementally on Harbor >= 2.15.2). All
I/O goes through an injected ``HarborClient``; decisions about drift live in the pure core. An
instance is either observed completely or not at all: any failure (or a listing that cannot be
proven complete) leaves its ``catalog`` None with the ``cause``, so nothing of it is acted on
or cached.
"""

from __future__ import annotations

import re
import time
from dataclasses import dataclass, field, replace
from typing import TYPE_CHECKING

import structlog

from syncd.core import health as health_mod
from syncd.core.model import (
    Catalog,
    Execution,
    ExecutionStatus,
    HealthState,
    InstanceHealth,
    Policy,
    Registry,
    UnobservedCause,
)
from syncd.engine.snapshot import Progress, Scope, snapshot
from syncd.errors import (
    HarborAuthError,
    HarborError,
    HarborProtocolError,
    HarborRefused,
    HarborTimeout,
    HarborTLSError,
    HarborUnavailable,
    IncompleteListingError,
)
from syncd.harbor.pool import SharedPool

if TYPE_CHECKING:
    from collections.abc import Iterable, Mapping
    from datetime import datetime

    from syncd.harbor.client import HarborClient

log = structlog.get_logger("syncd.engine.observe")

__all__ = [
    "InstanceView",
    "Progress",
    "Scope",
    "cause_of",
    "observe_all",
    "probe_health",
    "snapshot",
    "supports_incremental",
]

# v2.15.2 is the first release whose repository update_time moves on artifact/tag create and
# delete (api-notes.md, "Repository update_time"); before it only pulls moved it.
FANOUT_THREADS = 16
"""Instances observed at once besides the calling thread (a pass with more waits for a slot)."""
INCREMENTAL_SINCE = (2, 15, 2)


@dataclass(frozen=True, slots=True)
class InstanceView:
    """One instance as observed in one pass; ``catalog`` is None when it could not be read."""

    name: str
    health: InstanceHealth
    catalog: Catalog | None = None
    policies: tuple[Policy, ...] = ()
    registries: tuple[Registry, ...] = ()
    running: tuple[Execution, ...] = ()
    incremental: bool = False
    relisted: int = 0
    error: str = ""
    cause: UnobservedCause | None = None
    """Why ``catalog`` is None."""
    version: str = ""
    extra: Mapping[str, object] = field(default_factory=dict)


def supports_incremental(version: str) -> bool:
    """Whether a ``harbor_version`` string (``v2.15.2-abc``) bumps update_time on push/delete."""
    match = re.match(r"v?(\d+)\.(\d+)\.(\d+)", version or "")
    if match is None:
        return False
    return tuple(int(g) for g in match.groups()) >= INCREMENTAL_SINCE


_CAUSES: tuple[tuple[type[HarborError], UnobservedCause], ...] = (
    (IncompleteListingError, UnobservedCause.INCOMPLETE_LISTING),
    (HarborTLSError, UnobservedCause.TLS),
    (HarborRefused, UnobservedCause.REFUSED),
    (HarborTimeout, UnobservedCause.TIMEOUT),
    (HarborUnavailable, UnobservedCause.UNREACHABLE),
    (HarborProtocolError, UnobservedCause.INVALID_RESPONSE),
)


def cause_of(exc: HarborError) -> UnobservedCause:
    """Classify why a request failed (most specific class first)."""
    for cls, cause in _CAUSES:
        if isinstance(exc, cls):
            return cause
    return UnobservedCause.HTTP_STATUS if exc.status is not None else UnobservedCause.UNREACHABLE


def _describe(exc: HarborError) -> str:
    cause = cause_of(exc)
    status = f" {exc.status}" if cause is UnobservedCause.HTTP_STATUS else ""
    return f"{cause.value}{status}: {exc.message}"


def probe_health(client: HarborClient, *, now: datetime) -> InstanceHealth:
    """Ping plus the ``status`` of ``/health`` (always HTTP 200), classified.

    The detail of a DOWN instance names the cause (``refused``, ``timeout``, ``tls``...).
    """
    return _probe(client, now=now)[0]


def _probe(client: HarborClient, *, now: datetime) -> tuple[InstanceHealth, UnobservedCause]:
    """Return the classified health and, for a DOWN instance, why the ping failed."""
    cause, failure = UnobservedCause.INVALID_RESPONSE, "ping failed: no Pong"
    try:
        ping_ok = client.ping()
    except HarborError as exc:
        ping_ok, cause, failure = False, cause_of(exc), f"ping failed: {_describe(exc)}"
    body: Mapping[str, object] | None = None
    if ping_ok:
        try:
            body = client.health()
        except HarborError:
            body = None
    health = health_mod.classify(instance=client.name, ping_ok=ping_ok, health=body, now=now)
    return (health if ping_ok else replace(health, detail=failure)), cause


def _observe_one(
    client: HarborClient,
    *,
    previous: Catalog | None,
    scope: Scope,
    now: datetime,
    focus: Iterable[str],
    force_incremental: bool,
    progress: Progress | None,
) -> InstanceView:
    health, down_cause = _probe(client, now=now)
    view = InstanceView(name=client.name, health=health)
    if health.state is HealthState.DOWN:
        return replace(view, error=health.detail, cause=down_cause)
    try:
        client.probe_auth()
        version = str(client.systeminfo().get("harbor_version") or "")
        # Policies first: if the catalog then fails, this instance's edges stay known (and are
        # reported as not observed) instead of vanishing from the topology.
        view = replace(
            view,
            version=version,
            policies=tuple(client.list_policies(owner=client.name)),
            registries=tuple(client.list_registries()),
            running=tuple(client.list_executions(status=ExecutionStatus.IN_PROGRESS.value)),
        )
        incremental = (force_incremental or supports_incremental(version)) and previous is not None
        catalog, relisted = _logged_snapshot(
            client, previous=previous, scope=scope, now=now, incremental=incremental,
            focus=focus, progress=progress, version=version,
        )  # fmt: skip
    except HarborAuthError:
        raise  # wrong credentials look like massive drift: refuse to go on (api-notes 0.1)
    except HarborError as exc:
        log.warning(
            "observe.instance_unobserved", instance=client.name, cause=cause_of(exc), error=str(exc)
        )
        return replace(view, error=str(exc), cause=cause_of(exc))
    return replace(view, catalog=catalog, incremental=incremental, relisted=relisted)


def _logged_snapshot(
    client: HarborClient,
    *,
    previous: Catalog | None,
    scope: Scope,
    now: datetime,
    incremental: bool,
    focus: Iterable[str],
    progress: Progress | None,
    version: str,
) -> tuple[Catalog, int]:
    started, calls = time.monotonic(), client.request_count
    catalog, relisted = snapshot(
        client,
        previous=previous,
        scope=scope,
        now=now,
        incremental=incremental,
        focus=focus,
        progress=progress,
        version=version,
    )
    log.info(
        "observe.snapshot_taken",
        instance=client.name,
        repositories=len(catalog.repositories),
        artifacts=sum(len(r.artifacts) for r in catalog.repositories.values()),
        relisted=relisted,
        incremental=incremental,
        api_calls=client.request_count - calls,
        seconds=round(time.monotonic() - started, 3),
    )
    return catalog, relisted


FANOUT_NAME = "observe"
_FANOUT = SharedPool(FANOUT_THREADS, name=FANOUT_NAME)
"""One fan-out pool per process, reused by every pass and round (no threads per pass)."""


def observe_all(
    clients: Mapping[str, HarborClient],
    *,
    previous: Mapping[str, Catalog | None],
    scope: Scope,
    now: datetime,
    focus: Iterable[str] = (),
    force_incremental: bool = False,
    progress: Progress | None = None,
) -> dict[str, InstanceView]:
    """Observe every instance in parallel (per-instance concurrency is the client's)."""
    focus = tuple(focus)
    names = sorted(clients)

    def observe_one(name: str) -> InstanceView:
        return _observe_one(
            clients[name],
            previous=previous.get(name),
            scope=scope,
            now=now,
            focus=focus,
            force_incremental=force_incremental,
            progress=progress,
        )

    return dict(zip(names, _FANOUT.map(observe_one, names), strict=True))
