"""syncd itself against the simulator's Harbor RBAC: what an under-privileged account gets.

Pins the two syncd fixes the corrected simulator exposed: a login without system access is
refused up front with one clear line (it used to end as "a not observed" with no reason), and
an instance whose observation fails logs why (``observe.instance_unobserved``).
"""

from __future__ import annotations

import json
from datetime import UTC, datetime
from typing import TYPE_CHECKING

import pytest
from structlog.testing import capture_logs

from syncd.cli import main
from syncd.engine.observe import Scope, observe_all
from syncd.harbor.client import HarborClient
from syncd.settings import InstanceSettings

if TYPE_CHECKING:
    from pathlib import Path

    from syncd.core.model import Repository
    from syncd.sim import SimCluster, SimInstance

ADMIN = ("admin", "Harbor12345")


def _pair(cluster: SimCluster) -> tuple[SimInstance, SimInstance]:
    a = cluster.add(
        "a",
        users={"admin": "Harbor12345", "dev": "devpass"},
        robots={"ci": "c1", "syncd": "s3cret"},
        members={"dev": ["library"], "ci": ["library"]},
    )
    b = cluster.add("b")
    for inst in (a, b):
        inst.create_project("library")
    cluster.dual_master("a", "b")
    a.push("library/app", "v1")
    return a, b


def _config(tmp_path: Path, a: SimInstance, b: SimInstance, login: tuple[str, str]) -> Path:
    config = {
        "instances": {
            "a": {"url": a.url, "username": login[0], "password": login[1]},
            "b": {"url": b.url, "username": ADMIN[0], "password": ADMIN[1]},
        },
        "state": {"path": str(tmp_path / "state.sqlite3")},
        "reconcile": {"poll_interval_seconds": 0.05},
    }
    path = tmp_path / "syncd.yaml"
    path.write_text(json.dumps(config), encoding="utf-8")
    return path


@pytest.mark.parametrize("login", [("dev", "devpass"), ("robot$ci", "c1")])
def test_account_without_system_access_is_refused_clearly(
    cluster: SimCluster, tmp_path: Path, capsys: pytest.CaptureFixture[str], login: tuple[str, str]
) -> None:
    """A plain user or project robot: exit 2, one line naming the instance and the fix."""
    a, b = _pair(cluster)
    code = main(["--config", str(_config(tmp_path, a, b, login)), "reconcile", "--once"])
    err = capsys.readouterr().err
    assert code == 2
    assert "the account for instance a lacks system access" in err
    assert "Traceback" not in err
    assert login[1] not in err
    assert [p for m, p, _ in a.request_log + b.request_log if m == "POST"] == []


class _DeletedMidSnapshot(HarborClient):
    """A client during whose snapshot someone deletes project ``library`` on the simulator."""

    sim: SimInstance

    def list_all_repositories(self) -> list[Repository]:
        """List, then let the project vanish before its artifacts are listed."""
        repos = super().list_all_repositories()
        with self.sim.state.lock:
            del self.sim.state.projects["library"]
            for name in [n for n in self.sim.state.repos if n.startswith("library/")]:
                del self.sim.state.repos[name]
        return repos


def test_observation_failure_logs_its_reason(cluster: SimCluster) -> None:
    """A robot's 403 on a project deleted mid-snapshot: observe.instance_unobserved says so."""
    a, _ = _pair(cluster)
    settings = InstanceSettings(url=a.url, username="robot$syncd", password="s3cret")
    client = _DeletedMidSnapshot(name="a", settings=settings)
    client.sim = a
    with client, capture_logs() as logs:
        views = observe_all({"a": client}, previous={}, scope=Scope(), now=datetime.now(UTC))
    assert views["a"].catalog is None
    failed = [e for e in logs if e["event"] == "observe.instance_unobserved"]
    assert [(e["instance"], e["cause"], "status=403" in e["error"]) for e in failed] == [
        ("a", "http_status", True)
    ]
