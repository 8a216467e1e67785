"""Helpers for ``syncd run`` end to end: the daemon as a real subprocess against simulators.

``DaemonProcess`` starts ``python -m syncd --config <file> run`` with a clean environment (no
``SYNCD_*`` variables), reads its JSON log lines on a thread and lets tests await events and
compare their order. The simulated Harbors run in the test process; the daemon reaches them
over loopback. Helpers here build the config file, wait for simulator replication to settle
and send Harbor webhooks.
"""

from __future__ import annotations

import contextlib
import json
import os
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Mapping
from typing import TYPE_CHECKING, Any, Self

import httpx
import pytest

if TYPE_CHECKING:
    from collections.abc import Iterator
    from pathlib import Path

    from syncd.sim import SimInstance

PASSWORD = "Harbor12345"
WEBHOOK_SECRET = "Bearer daemon-test-5ecret"
DEADLINE = 30.0
"""Upper bound for any awaited event; a healthy run reaches each in well under a second."""
POLL = 0.05


def poll_until(
    predicate: Callable[[], Any], *, timeout: float = DEADLINE, what: str = "condition"
) -> Any:
    """Poll ``predicate`` until truthy and return its value; fail after ``timeout`` seconds."""
    deadline = time.monotonic() + timeout
    while True:
        value = predicate()
        if value:
            return value
        if time.monotonic() > deadline:
            pytest.fail(f"{what} not reached within {timeout:g}s")
        time.sleep(POLL)


class DaemonProcess:
    """One ``syncd run`` subprocess and the events it logged, in order."""

    def __init__(self, *, config: Path, cwd: Path) -> None:
        self.config = config
        self._cwd = cwd
        self._proc: subprocess.Popen[str] | None = None
        self._reader: threading.Thread | None = None
        self._cond = threading.Condition()
        self.events: list[dict[str, Any]] = []
        """Every JSON log line, parsed, in output order."""
        self.lines: list[str] = []
        """Every output line, raw (non-JSON output such as a crash traceback included)."""
        self._eof = False

    # ----------------------------------------------------------------- process

    def start(self) -> Self:
        """Start the daemon and wait until it logs ``daemon.started``."""
        env = {k: v for k, v in os.environ.items() if not k.startswith("SYNCD_")}
        env["PYTHONUNBUFFERED"] = "1"
        self._proc = subprocess.Popen(
            [sys.executable, "-m", "syncd", "--config", str(self.config), "run"],
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            stdin=subprocess.DEVNULL,
            env=env,
            cwd=self._cwd,
            text=True,
        )
        self._reader = threading.Thread(target=self._read, name="daemon-log", daemon=True)
        self._reader.start()
        self.wait_for("daemon.started")
        return self

    def _read(self) -> None:
        assert self._proc is not None
        assert self._proc.stdout is not None
        for line in self._proc.stdout:
            try:
                event = json.loads(line)
            except json.JSONDecodeError:
                event = None
            with self._cond:
                self.lines.append(line.rstrip("\n"))
                if isinstance(event, dict):
                    self.events.append(event)
                self._cond.notify_all()
        with self._cond:
            self._eof = True
            self._cond.notify_all()

    @property
    def proc(self) -> subprocess.Popen[str]:
        """The running subprocess."""
        assert self._proc is not None, "daemon not started"
        return self._proc

    @property
    def port(self) -> int:
        """The HTTP port the daemon bound (it is configured with port 0)."""
        return int(self.first("daemon.started")["port"])

    @property
    def url(self) -> str:
        """Base URL of the daemon's HTTP listener."""
        return f"http://127.0.0.1:{self.port}"

    def send(self, sig: signal.Signals) -> None:
        """Send a signal to the daemon."""
        self.proc.send_signal(sig)

    def wait_exit(self, *, timeout: float = DEADLINE) -> int:
        """Wait for the process to exit and its output to be read; return the exit code."""
        code = self.proc.wait(timeout=timeout)
        with self._cond:
            self._cond.wait_for(lambda: self._eof, timeout=timeout)
        return code

    def close(self) -> None:
        """Stop the daemon if it still runs (SIGTERM, then SIGKILL) and reap it."""
        if self._proc is None:
            return
        if self._proc.poll() is None:
            self._proc.send_signal(signal.SIGTERM)
            try:
                self._proc.wait(timeout=DEADLINE)
            except subprocess.TimeoutExpired:
                self._proc.kill()
                self._proc.wait()
        if self._reader is not None:
            self._reader.join(timeout=DEADLINE)
        if self._proc.stdout is not None:
            self._proc.stdout.close()

    # ----------------------------------------------------------------- events

    def _matches(self, event: Mapping[str, Any], name: str, match: Mapping[str, Any]) -> bool:
        return event.get("event") == name and all(event.get(k) == v for k, v in match.items())

    def find(self, name: str, *, since: int = 0, **match: Any) -> list[int]:
        """Indexes of logged events named ``name`` whose fields equal ``match``, from ``since``."""
        with self._cond:
            return [
                i
                for i in range(since, len(self.events))
                if self._matches(self.events[i], name, match)
            ]

    def first(self, name: str, *, since: int = 0, **match: Any) -> dict[str, Any]:
        """Return the first matching event (which must already be logged)."""
        found = self.find(name, since=since, **match)
        assert found, f"{name} {match} not logged; output:\n{self.tail()}"
        return self.events[found[0]]

    def mark(self) -> int:
        """Return the index the next logged event will get (a cursor for ``since``)."""
        with self._cond:
            return len(self.events)

    def wait_for(
        self, name: str, *, since: int = 0, timeout: float = DEADLINE, **match: Any
    ) -> int:
        """Wait until an event named ``name`` with fields ``match`` is logged; return its index."""
        deadline = time.monotonic() + timeout
        with self._cond:
            while True:
                found = self.find(name, since=since, **match)
                if found:
                    return found[0]
                left = deadline - time.monotonic()
                if left <= 0 or self._eof:
                    break
                self._cond.wait(timeout=left)
        pytest.fail(f"{name} {match} not logged (exited: {self._eof}); output:\n{self.tail()}")

    def tail(self, lines: int = 40) -> str:
        """Return the last output lines, for failure messages."""
        with self._cond:
            return "\n".join(self.lines[-lines:])

    def output(self) -> str:
        """Return the whole output so far."""
        with self._cond:
            return "\n".join(self.lines)


# --------------------------------------------------------------------- configuration


def daemon_config(
    *,
    instances: Mapping[str, SimInstance],
    state: Path,
    mode: str = "trigger",
    interval: float = 3600,
    health_interval: float = 3600,
    execution_timeout: float = 10,
    passwords: Mapping[str, str] | None = None,
) -> dict[str, Any]:
    """Build a config for the simulators: port 0, JSON logs, no jitter, fast polling."""
    passwords = passwords or {}
    return {
        "instances": {
            name: {"url": inst.url, "username": "admin", "password": passwords.get(name, PASSWORD)}
            for name, inst in instances.items()
        },
        "state": {"path": str(state)},
        "reconcile": {
            "interval_seconds": interval,
            "jitter_seconds": 0,
            "mode": mode,
            "poll_interval_seconds": 0.05,
            "execution_timeout_seconds": execution_timeout,
        },
        "health": {"interval_seconds": health_interval},
        "http": {"bind": "127.0.0.1", "port": 0, "webhook_secret": WEBHOOK_SECRET},
        "logging": {"format": "json"},
    }


def write_config(path: Path, config: Mapping[str, Any]) -> Path:
    """Write ``config`` as JSON (which is YAML) and return ``path``."""
    path.write_text(json.dumps(config, indent=2), encoding="utf-8")
    return path


# --------------------------------------------------------------------- simulators


def executions(inst: SimInstance) -> dict[int, str] | None:
    """Map execution id -> status on ``inst``; ``None`` while any of them still runs."""
    with inst.state.lock:
        ids = list(inst.state.executions)
    statuses = {i: inst.execution_status(i) for i in ids}
    return None if "InProgress" in statuses.values() else statuses


def settled(inst: SimInstance, *, more_than: int = 0) -> bool:
    """Whether ``inst`` ran more than ``more_than`` executions and none is still running."""
    done = executions(inst)
    return done is not None and len(done) > more_than


def push_while_down(*, source: SimInstance, peer: SimInstance, repository: str, tag: str) -> None:
    """Push to ``source`` while ``peer`` is down, so its event replication fails for good."""
    with source.state.lock:
        before = len(source.state.executions)
    peer.set_down("refuse")
    source.push(repository, tag)
    poll_until(
        lambda: settled(source, more_than=before),
        what=f"{source.name}'s event replication to settle",
    )
    peer.set_down("up")


def converged(a: SimInstance, b: SimInstance) -> bool:
    """Whether both simulators list the same tags with the same digests."""
    return a.state.tag_map() == b.state.tag_map()


def push_payload(repository: str, tag: str, digest: str) -> dict[str, Any]:
    """Build a Harbor PUSH_ARTIFACT notification in the Default payload format."""
    namespace, name = repository.split("/", 1)
    return {
        "type": "PUSH_ARTIFACT",
        "occur_at": int(time.time()),
        "operator": "admin",
        "event_data": {
            "resources": [
                {"digest": digest, "tag": tag, "resource_url": f"harbor/{repository}:{tag}"}
            ],
            "repository": {
                "date_created": int(time.time()),
                "name": name,
                "namespace": namespace,
                "repo_full_name": repository,
                "repo_type": "private",
            },
        },
    }


def post_webhook(
    daemon: DaemonProcess,
    body: bytes,
    *,
    authorization: str | None = WEBHOOK_SECRET,
) -> httpx.Response:
    """POST a raw webhook body to the daemon's receiver."""
    headers = {"Content-Type": "application/json"}
    if authorization is not None:
        headers["Authorization"] = authorization
    return httpx.post(f"{daemon.url}/webhook/harbor", content=body, headers=headers, timeout=10)


StartDaemon = Callable[[Mapping[str, Any]], DaemonProcess]
"""Type of the ``start_daemon`` fixture: config dict in, started daemon out."""


@contextlib.contextmanager
def converged_pair() -> Iterator[tuple[SimInstance, SimInstance]]:
    """Two converged dual-master simulators ``a`` and ``b`` holding ``library/app:v1``."""
    from syncd.sim import SimCluster  # noqa: PLC0415 - runtime import, the rest is typing only

    with SimCluster() as cluster:
        a, b = cluster.add("a"), cluster.add("b")
        for inst in (a, b):
            inst.create_project("library")
        cluster.dual_master("a", "b")
        a.push("library/app", "v1")
        poll_until(lambda: converged(a, b), what="initial replication")
        # The copy to b echoes back as one no-op execution b->a; wait for both to finish.
        poll_until(lambda: settled(a) and settled(b), what="replication to settle")
        yield a, b


@contextlib.contextmanager
def daemons(tmp_path: Path) -> Iterator[StartDaemon]:
    """Start ``syncd run`` processes from config dicts (written to ``tmp_path``); stop them all."""
    started: list[DaemonProcess] = []

    def start(config: Mapping[str, Any]) -> DaemonProcess:
        path = write_config(tmp_path / f"syncd-{len(started)}.yaml", config)
        daemon = DaemonProcess(config=path, cwd=tmp_path)
        started.append(daemon)
        return daemon.start()

    try:
        yield start
    finally:
        for daemon in started:
            daemon.close()
