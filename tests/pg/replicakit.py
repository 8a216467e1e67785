"""Helpers for the two-replica scenarios: configs on PostgreSQL state and what syncd sent."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import httpx

from tests.daemonkit import daemon_config

if TYPE_CHECKING:
    from collections.abc import Mapping
    from pathlib import Path

    from syncd.sim import SimInstance
    from tests.daemonkit import DaemonProcess
    from tests.pgkit import PgDatabase

EXECUTIONS = "/api/v2.0/replication/executions"


def replica_config(
    *,
    instances: Mapping[str, SimInstance],
    db: PgDatabase,
    password_file: Path,
    mode: str = "trigger",
) -> dict[str, Any]:
    """Build a daemon config on PostgreSQL state: 1 s health/lock checks, passes only on demand."""
    password_file.write_text(db.password + "\n", encoding="utf-8")
    config = daemon_config(instances=instances, state=password_file, mode=mode, health_interval=1)
    config["state"] = {"url": db.url, "password_file": str(password_file)}
    return config


def started_executions(inst: SimInstance) -> list[str]:
    """Return the execution POSTs ``inst`` answered (its request log holds only syncd's)."""
    return [
        path for method, path, _ in list(inst.request_log) if (method, path) == ("POST", EXECUTIONS)
    ]


def writes(inst: SimInstance) -> list[tuple[str, str]]:
    """Every non-read request ``inst`` received from syncd."""
    return [(m, p) for m, p, _ in list(inst.request_log) if m not in {"GET", "HEAD"}]


def leader_gauge(daemon: DaemonProcess) -> float | None:
    """Read the ``syncd_leader`` value on the daemon's /metrics, or None when absent."""
    for line in httpx.get(f"{daemon.url}/metrics", timeout=10).text.splitlines():
        if line.startswith("syncd_leader "):
            return float(line.split()[1])
    return None


def readyz(daemon: DaemonProcess) -> tuple[int, str]:
    """Return the daemon's /readyz status and body."""
    resp = httpx.get(f"{daemon.url}/readyz", timeout=10)
    return resp.status_code, resp.text.strip()
