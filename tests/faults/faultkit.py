"""The fault rig: two simulators, each behind a ``FaultProxy``, a syncd config and end-state probes.

Both the syncd config and the simulators' registry endpoints name the *proxies*, so the
topology resolves exactly as with direct URLs while every request syncd sends (and every
replication between the simulators) crosses a proxy. Policies are manual push policies both
ways, so nothing replicates unless syncd triggers it. Catalogs are seeded identically on both
sides (equal ``repo:tag`` gives equal digests in the simulator).
"""

from __future__ import annotations

import json
import subprocess
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from syncd.cli import main

if TYPE_CHECKING:
    from pathlib import Path

    import pytest

    from syncd.sim import SimInstance
    from tests.faults.faultproxy import FaultProxy

ADMIN, PASSWORD = "admin", "Harbor12345"
WRITES = frozenset({"POST", "PUT", "DELETE", "PATCH"})
FAST: dict[str, Any] = {"poll_interval_seconds": 0.05, "execution_timeout_seconds": 10}


@dataclass(frozen=True)
class Run:
    """Exit code and output of one in-process ``syncd`` run."""

    code: int
    out: str
    err: str

    @property
    def json(self) -> dict[str, Any]:
        """Stdout as the ``--output json`` document."""
        doc: dict[str, Any] = json.loads(self.out)
        return doc

    def events(self, name: str) -> list[dict[str, Any]]:
        """JSON log events called ``name`` from stderr."""
        events = [json.loads(line) for line in self.err.splitlines() if line.startswith("{")]
        return [event for event in events if event.get("event") == name]


@dataclass
class Rig:
    """Simulators ``a`` and ``b`` behind proxies ``pa`` and ``pb``, and syncd's files."""

    a: SimInstance
    b: SimInstance
    pa: FaultProxy
    pb: FaultProxy
    a_to_b: int
    b_to_a: int
    config: Path
    state: Path
    capsys: pytest.CaptureFixture[str]
    settings: dict[str, Any] = field(default_factory=dict)
    marks: dict[str, int] = field(default_factory=dict)
    c: SimInstance | None = None
    """A third instance (``with_c``): ``b`` pushes to it, nothing else touches it."""
    pc: FaultProxy | None = None

    @property
    def sims(self) -> dict[str, SimInstance]:
        """Every simulator by name."""
        return {"a": self.a, "b": self.b} | ({"c": self.c} if self.c else {})

    def write_config(self, **extra: Any) -> Path:
        """(Re)write syncd's config; ``reconcile``/``instances`` entries override the defaults."""
        proxies = {"a": self.pa, "b": self.pb} | ({"c": self.pc} if self.pc else {})
        instances = {
            name: {"url": proxy.url, "username": ADMIN, "password": PASSWORD}
            for name, proxy in proxies.items()
        }
        for name, overrides in extra.pop("instances", {}).items():
            instances[name] = {**instances[name], **overrides}
        config = {
            "instances": instances,
            "state": {"path": str(self.state)},
            "reconcile": {**FAST, **extra.pop("reconcile", {})},
            "logging": {"format": "json", "level": "info"},
            **extra,
        }
        self.settings = config
        self.config.write_text(json.dumps(config), encoding="utf-8")
        return self.config

    def syncd(self, *args: str) -> Run:
        """Run ``syncd --config <config> <args>`` in this process."""
        self.capsys.readouterr()
        code = main(["--config", str(self.config), *args])
        out, err = self.capsys.readouterr()
        return Run(code, out, err)

    def mark(self) -> None:
        """Remember where the simulators' request logs stand (the fault starts here)."""
        self.marks = {name: len(inst.request_log) for name, inst in self.sims.items()}

    def writes(self) -> list[tuple[str, str, int]]:
        """Write requests that reached either simulator since ``mark``."""
        return [
            entry
            for name, inst in self.sims.items()
            for entry in list(inst.request_log)[self.marks.get(name, 0) :]
            if entry[0] in WRITES
        ]

    def seed(self, repository: str, tags: int, *, on: tuple[SimInstance, ...] = ()) -> None:
        """Push ``tags`` tags of ``repository`` (one artifact each) to ``on`` (default both)."""
        for inst in on or (self.a, self.b):
            for i in range(tags):
                inst.push(repository, f"v{i}")


def link(src: SimInstance, dst: FaultProxy, name: str, **policy: Any) -> int:
    """On ``src``: an endpoint for ``dst``'s proxy and a manual push policy to it."""
    rid = src.add_registry(name, dst.url, username=ADMIN, password=PASSWORD)
    body = {
        "name": f"{src.name}-to-{name}",
        "trigger": {"type": "manual", "trigger_settings": {"cron": ""}},
        "override": True,
        "deletion": policy.get("replicate_deletion", False),
        "replicate_deletion": policy.get("replicate_deletion", False),
        "filters": [],
        "dest_namespace": "",
        "enabled": True,
        "src_registry": {"id": 0},
        "dest_registry": {"id": rid},
    }
    return src.add_policy(body)


def self_signed(directory: Path, name: str) -> tuple[Path, Path]:
    """Create a self-signed certificate for 127.0.0.1 with openssl; return (cert, key)."""
    cert, key = directory / f"{name}.pem", directory / f"{name}.key"
    subprocess.run(
        [
            "openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "1",
            "-keyout", str(key), "-out", str(cert), "-subj", f"/CN={name}",
            "-addext", "subjectAltName=IP:127.0.0.1",
        ],
        check=True,
        capture_output=True,
        timeout=60,
    )  # fmt: skip
    return cert, key
