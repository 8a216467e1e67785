"""Helpers of the end-to-end tests: configs, CLI runs, outage scenarios and end-state probes.

The helpers drive the simulator through its Python controls, never its HTTP API, so a
``request_log`` holds only what syncd (or a test's own client) sent.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any, Protocol

from tests import harbor_spec
from tests.simkit import AUTH, wait_for

if TYPE_CHECKING:
    from collections.abc import Iterable, Mapping

    from syncd.sim import SimCluster, SimInstance
    from syncd.sim.state import SimExecution

REPO_ROOT = Path(__file__).resolve().parents[2]
EXECUTIONS = "/api/v2.0/replication/executions"
POLICIES = "/api/v2.0/replication/policies/"
FAST_RECONCILE: dict[str, Any] = {"poll_interval_seconds": 0.05, "execution_timeout_seconds": 10}


@dataclass(frozen=True)
class Pair:
    """Two started simulators with a push policy each way (``a_to_b`` lives on ``a``)."""

    cluster: SimCluster
    a: SimInstance
    b: SimInstance
    a_to_b: int
    b_to_a: int

    @property
    def both(self) -> tuple[SimInstance, SimInstance]:
        """Both instances, ``a`` first."""
        return self.a, self.b


@dataclass(frozen=True)
class CliRun:
    """Exit code and the two output streams of one syncd run."""

    code: int
    out: str
    err: str

    @property
    def json(self) -> dict[str, Any]:
        """Stdout parsed as the ``--output json`` document."""
        doc: dict[str, Any] = json.loads(self.out)
        return doc

    def events(self, name: str) -> list[dict[str, Any]]:
        """Structured log events called ``name`` from stderr (``logging.format: json``)."""
        found = []
        for line in self.err.splitlines():
            if line.startswith("{"):
                event = json.loads(line)
                if event.get("event") == name:
                    found.append(event)
        return found


class MakePair(Protocol):
    """Builds a started dual-master pair; keyword arguments go to ``SimCluster.dual_master``."""

    def __call__(self, **policy_kw: Any) -> Pair:
        """Start ``a`` and ``b`` with project ``library`` and a push policy each way."""
        ...


class WriteConfig(Protocol):
    """Writes the syncd config of a pair (state file in the test's tmp dir)."""

    def __call__(
        self,
        pair: Pair,
        *,
        reconcile: Mapping[str, Any] | None = None,
        passwords: Mapping[str, str] | None = None,
        extra: Mapping[str, Any] | None = None,
    ) -> Path:
        """Return the config path."""
        ...


class RunCli(Protocol):
    """Runs ``syncd --config <config> <args>`` in-process, capturing its output."""

    def __call__(self, config: Path, *args: str) -> CliRun:
        """Return the exit code and output."""
        ...


def write_config(
    path: Path,
    instances: Iterable[SimInstance],
    *,
    state: Path,
    reconcile: Mapping[str, Any] | None = None,
    passwords: Mapping[str, str] | None = None,
    extra: Mapping[str, Any] | None = None,
) -> Path:
    """Write a syncd config (JSON is YAML) for ``instances``; ``reconcile`` overrides defaults."""
    wrong = passwords or {}
    config: dict[str, Any] = {
        "instances": {
            inst.name: {
                "url": inst.url,
                "username": AUTH[0],
                "password": wrong.get(inst.name, AUTH[1]),
            }
            for inst in instances
        },
        "state": {"path": str(state)},
        "reconcile": {**FAST_RECONCILE, **(reconcile or {})},
        "logging": {"format": "json", "level": "info"},
        **(extra or {}),
    }
    path.write_text(json.dumps(config), encoding="utf-8")
    return path


def clean_env() -> dict[str, str]:
    """Return the environment for a syncd subprocess: no ``SYNCD_*`` override leaks in."""
    return {k: v for k, v in os.environ.items() if not k.startswith("SYNCD_")}


def spawn(config: Path, *args: str, logs: Path) -> subprocess.Popen[bytes]:
    """Start ``python -m syncd --config <config> <args>``; stdout/stderr go to ``logs``.*."""
    with logs.with_suffix(".out").open("wb") as out, logs.with_suffix(".err").open("wb") as err:
        return subprocess.Popen(
            [sys.executable, "-m", "syncd", "--config", str(config), *args],
            cwd=REPO_ROOT,
            env=clean_env(),
            stdout=out,
            stderr=err,
        )


def finished(proc: subprocess.Popen[bytes], *, logs: Path, timeout: float = 30) -> CliRun:
    """Wait for a spawned syncd and collect its exit code and output."""
    code = proc.wait(timeout=timeout)
    out = logs.with_suffix(".out").read_text(encoding="utf-8")
    return CliRun(code, out, logs.with_suffix(".err").read_text(encoding="utf-8"))


# --------------------------------------------------------------------------- simulator state


def executions(inst: SimInstance, *, policy_id: int, trigger: str = "manual") -> list[SimExecution]:
    """List executions of one policy on ``inst`` with that trigger, oldest first."""
    with inst.state.lock:
        found = [
            e
            for e in inst.state.executions.values()
            if e.policy_id == policy_id and e.trigger == trigger
        ]
    return sorted(found, key=lambda e: e.id)


def quiesce(*instances: SimInstance) -> None:
    """Wait until every execution on the instances is terminal (event replication settled)."""

    def idle() -> bool:
        for inst in instances:
            with inst.state.lock:
                ids = list(inst.state.executions)
            if any(inst.execution_status(eid) in {"Pending", "InProgress"} for eid in ids):
                return False
        return True

    wait_for(idle)


def requests(inst: SimInstance, method: str, prefix: str = "/api/v2.0/") -> list[str]:
    """Raw paths of the requests syncd sent to ``inst`` with that method and path prefix."""
    return [
        path for m, path, _ in list(inst.request_log) if m == method and path.startswith(prefix)
    ]


def starts(inst: SimInstance) -> list[str]:
    """List the execution-start POSTs ``inst`` received."""
    return [p for p in requests(inst, "POST", EXECUTIONS) if p.split("?")[0] == EXECUTIONS]


def assert_spec_conformant(*instances: SimInstance) -> int:
    """Check every logged request's method, path and query against Harbor's spec; count them.

    Bodies are not logged, so an operation's required body cannot be checked here.
    """
    checked = 0
    for inst in instances:
        for method, raw_path, _status in list(inst.request_log):
            try:
                harbor_spec.validate_request(method, "http://x" + raw_path)
            except harbor_spec.SpecViolation as exc:
                if "required body missing" not in str(exc):
                    raise
            checked += 1
    return checked


def assert_never_destructive(inst: SimInstance, *, tag_deletes: bool = False) -> None:
    """No DELETE (or, with ``tag_deletes``, only tag deletions by digest); PUTs only toggle/stop."""
    for method, raw_path, _status in list(inst.request_log):
        path = raw_path.split("?")[0]
        if method == "DELETE" and tag_deletes:
            assert is_tag_delete_by_digest(path), path
            continue
        assert method != "DELETE", path
        if method == "PUT":
            parent, _, ident = path.rpartition("/")
            assert parent in {POLICIES.rstrip("/"), EXECUTIONS}, path
            assert ident.isdigit(), path


def tag_delete_path(repository: str, *, digest: str, tag: str) -> str:
    """Return the API path that deletes ``tag`` of the artifact ``digest`` (flat repo names)."""
    project, _, rest = repository.partition("/")
    return f"/api/v2.0/projects/{project}/repositories/{rest}/artifacts/{digest}/tags/{tag}"


def is_tag_delete_by_digest(path: str) -> bool:
    """Whether ``path`` deletes one tag of an artifact referenced by its digest."""
    head, sep, _tag = path.rpartition("/tags/")
    _repo, marker, reference = head.rpartition("/artifacts/")
    return bool(sep and marker and head.startswith("/api/v2.0/projects/")) and (
        reference.startswith("sha256:")
    )


# --------------------------------------------------------------------------- scenarios


def push_during_outage(
    pair: Pair, *, pushed_on: str, tags: Iterable[tuple[str, str]], content: str = ""
) -> dict[tuple[str, str], str]:
    """Take the peer down, push ``(repo, tag)``s, let the event replication fail, bring it up."""
    source, peer = (pair.a, pair.b) if pushed_on == pair.a.name else (pair.b, pair.a)
    peer.set_down("refuse")
    digests = {
        (repo, tag): source.push(repo, tag, content=f"{content}{source.name}:{repo}:{tag}")
        for repo, tag in tags
    }
    quiesce(source)  # the event executions exhausted their retries against the dead peer
    peer.set_down("up")
    return digests


def drift_rows(doc: Mapping[str, Any]) -> set[tuple[str, str, str, str]]:
    """``(edge, class, repository, tag)`` of every drift entry in a ``--output json`` document."""
    return {(d["edge"], d["class"], d["repository"], d["tag"]) for d in doc["drift"]}
