"""Helpers of the stateful model test: the simulators' truth as syncd values, passes, crashes.

The model test drives 2-3 simulators and syncd passes (in this process) and checks the safety
rules against the simulators' own state, never against what syncd says about it.
"""

from __future__ import annotations

import json
import os
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

from structlog.testing import capture_logs

from syncd.core.model import Artifact, Catalog, Edge, Policy, Repository
from syncd.core.radius import Radius
from syncd.engine.reconcile import run_pass
from syncd.engine.repair import REPAIR_PREFIX
from syncd.harbor.decode import decode_policy
from syncd.settings import Settings
from syncd.sim.serialize import policy_json
from syncd.sim.state import ZERO_TIME
from syncd.wiring import build_runtime
from tests.simkit import wait_for

if TYPE_CHECKING:
    from collections.abc import Callable, Iterator
    from pathlib import Path

    from syncd.core.model import PassResult
    from syncd.harbor.client import RequestRecord
    from syncd.sim import SimInstance

__all__ = [
    "Crash",
    "catalog",
    "disable_radius_check",
    "original_policies",
    "overlapping_manual_runs",
    "quiesce",
    "repair_policies",
    "run_syncd",
]

T0 = datetime(2026, 1, 1, tzinfo=UTC)


class Crash(BaseException):
    """Raised from the request hook: the process "dies" right after Harbor answered."""


@dataclass(frozen=True)
class Link:
    """A policy the model created: ``owner`` holds it, it copies ``source`` -> ``destination``."""

    owner: str
    policy_id: int
    source: str
    destination: str

    @property
    def edge(self) -> Edge:
        """The edge syncd derives from the policy."""
        return Edge(self.source, self.destination, self.owner, self.policy_id)

    @property
    def key(self) -> str:
        """The edge's state-store key (``assess.edge_key``)."""
        return f"{self.source}->{self.destination}#{self.owner}/{self.policy_id}"


def quiesce(*instances: SimInstance) -> None:
    """Wait until no execution on the instances is pending or running."""

    def idle() -> bool:
        for inst in instances:
            with inst.state.lock:
                ids = list(inst.state.executions)
            if any(inst.execution_status(i) in {"Pending", "InProgress"} for i in ids):
                return False
        return True

    wait_for(idle, timeout=30)


def catalog(inst: SimInstance) -> Catalog:
    """Return the instance's tags as a syncd ``Catalog`` (one artifact per digest)."""
    repos: dict[str, dict[str, set[str]]] = {}
    for (repo, tag), digest in inst.state.tag_map().items():
        repos.setdefault(repo, {}).setdefault(digest, set()).add(tag)
    return Catalog(
        inst.name,
        T0,
        {
            name: Repository(
                name,
                len(arts),
                artifacts=tuple(Artifact(d, frozenset(t)) for d, t in sorted(arts.items())),
            )
            for name, arts in repos.items()
        },
    )


def policy(inst: SimInstance, policy_id: int) -> Policy:
    """Return one policy as syncd would parse it from the instance."""
    with inst.state.lock:
        body = json.dumps(policy_json(inst.state.policies[policy_id], inst.state))
    return decode_policy(body, owner=inst.name)


def original_policies(inst: SimInstance) -> list[int]:
    """Ids of the policies that are not syncd's temporary ones."""
    with inst.state.lock:
        return [p.id for p in inst.state.policies.values() if not p.name.startswith(REPAIR_PREFIX)]


def repair_policies(inst: SimInstance) -> list[str]:
    """Names of syncd's temporary repair policies the instance holds."""
    with inst.state.lock:
        return sorted(
            p.name for p in inst.state.policies.values() if p.name.startswith(REPAIR_PREFIX)
        )


def overlapping_manual_runs(inst: SimInstance) -> list[tuple[int, int]]:
    """List ``(run, other)`` pairs: a manual run started while another of its policy ran."""
    with inst.state.lock:
        runs = list(inst.state.executions.values())
    found = []
    for run in runs:
        if run.trigger != "manual":
            continue
        for other in runs:
            running_until = None if other.end_time == ZERO_TIME else other.end_time
            if (
                other.id != run.id
                and other.policy_id == run.policy_id
                and other.start_time < run.start_time
                and (running_until is None or run.start_time < running_until)
            ):
                found.append((run.id, other.id))
    return found


def settings(instances: dict[str, SimInstance], *, state: Path, **reconcile: Any) -> Settings:
    """Build the settings of a pass against the simulators (fast polling, no backoff)."""
    return Settings(
        instances={
            name: {"url": inst.url, "username": "admin", "password": "Harbor12345"}
            for name, inst in instances.items()
        },
        state={"path": str(state)},
        reconcile={
            "poll_interval_seconds": 0.05,
            "execution_timeout_seconds": 10,
            "non_converging_backoff_seconds": 0,
            **reconcile,
        },
    )


def run_syncd(
    instances: dict[str, SimInstance],
    *,
    state: Path,
    crash_on: Callable[[RequestRecord], bool] | None = None,
    **reconcile: Any,
) -> PassResult | None:
    """Run one pass in this process; None when ``crash_on`` "killed" it mid-pass."""

    def hook(record: RequestRecord) -> None:
        if crash_on is not None and crash_on(record):
            raise Crash(record.kind)

    runtime = build_runtime(settings(instances, state=state, **reconcile), on_request=hook)
    try:
        with capture_logs():
            return run_pass(runtime.deps)
    except Crash:
        return None
    finally:
        runtime.close()


def observe_only(instances: dict[str, SimInstance], *, state: Path) -> PassResult:
    """Run ``syncd diff --no-store``'s pass: observe and assess (as the store allows), no writes."""
    runtime = build_runtime(settings(instances, state=state), persist=False)
    try:
        with capture_logs():
            return run_pass(runtime.deps, act=False)
    finally:
        runtime.close()


@contextmanager
def disable_radius_check() -> Iterator[bool]:
    """Apply the closing note's mutation: every radius looks harmless (``MODEL_MUTATION``)."""
    if os.environ.get("MODEL_MUTATION") != "no-radius":
        yield False
        return
    original = Radius.harmful
    Radius.harmful = property(lambda _self: ())  # type: ignore[assignment,method-assign]
    try:
        yield True
    finally:
        Radius.harmful = original  # type: ignore[method-assign]
