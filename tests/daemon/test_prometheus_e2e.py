"""Issue 5 end to end: simulators, ``syncd run`` and a real Prometheus evaluating our alerts.

Prometheus (the Debian binary) scrapes the daemon every second and evaluates a test copy of
``deploy/prometheus/alerts.yml`` in which only the ``for:`` durations (to ``0s``) and the drift
age threshold (``> 900`` to ``> 1``) are shortened; every expression is otherwise identical,
which the fixture checks. The test is skipped when ``prometheus``/``promtool`` are absent.
"""

from __future__ import annotations

import json
import re
import shutil
import signal
import socket
import subprocess
from pathlib import Path
from typing import TYPE_CHECKING, Any

import httpx
import pytest
import yaml

from tests.daemonkit import (
    DEADLINE,
    DaemonProcess,
    converged,
    daemon_config,
    executions,
    poll_until,
    post_webhook,
    push_payload,
    settled,
    write_config,
)

if TYPE_CHECKING:
    from collections.abc import Callable, Iterator

    from syncd.sim import SimInstance
    from tests.daemonkit import StartDaemon

pytestmark = [pytest.mark.slow, pytest.mark.xdist_group("daemon")]

ALERTS = Path(__file__).resolve().parents[2] / "deploy" / "prometheus" / "alerts.yml"
PROMETHEUS, PROMTOOL = shutil.which("prometheus"), shutil.which("promtool")


def fast_rules(original: str) -> str:
    """Shorten every ``for:`` to 0s and the 900 s drift age threshold to 1 s; nothing else."""
    text = re.sub(r"(?m)^(\s*for:\s*)\S+\s*$", r"\g<1>0s", original)
    return text.replace(
        "syncd_drift_oldest_age_seconds > 900", "syncd_drift_oldest_age_seconds > 1"
    )


def rules_by_alert(text: str) -> dict[str, dict[str, Any]]:
    """Map alert name -> rule, from a rules file."""
    groups = yaml.safe_load(text)["groups"]
    return {rule["alert"]: rule for group in groups for rule in group["rules"]}


def free_port() -> int:
    """Return a loopback port that was free a moment ago (Prometheus cannot bind port 0)."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


class Prometheus:
    """A Prometheus server scraping one syncd target, with its alerts API."""

    def __init__(self, *, workdir: Path, target: str) -> None:
        self.url = f"http://127.0.0.1:{free_port()}"
        rules = workdir / "alerts.yml"
        rules.write_text(fast_rules(ALERTS.read_text(encoding="utf-8")), encoding="utf-8")
        config = {
            "global": {"scrape_interval": "1s", "evaluation_interval": "1s"},
            "rule_files": [str(rules)],
            "scrape_configs": [
                # honor_labels keeps syncd's own `instance` label (the Harbor instance name)
                # instead of renaming it to exported_instance.
                {
                    "job_name": "syncd",
                    "honor_labels": True,
                    "static_configs": [{"targets": [target]}],
                }
            ],
        }
        self.config = workdir / "prometheus.yml"
        self.config.write_text(yaml.safe_dump(config), encoding="utf-8")
        self.log = workdir / "prometheus.log"
        self._proc: subprocess.Popen[bytes] | None = None
        self._workdir = workdir

    def start(self) -> None:
        """Start the server and wait until it reports ready."""
        assert PROMETHEUS is not None
        with self.log.open("wb") as log:
            self._proc = subprocess.Popen(
                [
                    PROMETHEUS,
                    f"--config.file={self.config}",
                    f"--storage.tsdb.path={self._workdir / 'tsdb'}",
                    f"--web.listen-address={self.url.removeprefix('http://')}",
                ],
                stdout=log,
                stderr=subprocess.STDOUT,
                stdin=subprocess.DEVNULL,
            )
        poll_until(self._ready, what="prometheus ready")

    def _ready(self) -> bool:
        assert self._proc is not None
        if self._proc.poll() is not None:
            pytest.fail(f"prometheus exited:\n{self.log.read_text(errors='replace')[-3000:]}")
        try:
            return httpx.get(f"{self.url}/-/ready", timeout=2).status_code == 200
        except httpx.TransportError:
            return False

    def stop(self) -> None:
        """Stop the server (SIGTERM) and reap it."""
        if self._proc is None or self._proc.poll() is not None:
            return
        self._proc.send_signal(signal.SIGTERM)
        try:
            self._proc.wait(timeout=DEADLINE)
        except subprocess.TimeoutExpired:
            self._proc.kill()
            self._proc.wait()

    def alert(self, name: str, **labels: str) -> str | None:
        """Return the state (``pending``/``firing``) of an active alert, or None."""
        body = httpx.get(f"{self.url}/api/v1/alerts", timeout=5).json()
        for alert in body["data"]["alerts"]:
            got = alert["labels"]
            if got.get("alertname") == name and all(got.get(k) == v for k, v in labels.items()):
                return str(alert["state"])
        return None


@pytest.fixture
def prometheus(tmp_path: Path) -> Iterator[Callable[[str], Prometheus]]:
    """Build (not start) a Prometheus for a target; stopped at teardown."""
    if PROMETHEUS is None or PROMTOOL is None:
        pytest.skip("the prometheus and promtool binaries (Debian package) are not installed")
    servers: list[Prometheus] = []

    def build(target: str) -> Prometheus:
        server = Prometheus(workdir=tmp_path, target=target)
        servers.append(server)
        return server

    yield build
    for server in servers:
        server.stop()


def test_rule_copy_changes_only_durations_and_threshold() -> None:
    """The test copy of alerts.yml differs from the shipped file only in `for:` and 900 -> 1."""
    original = rules_by_alert(ALERTS.read_text(encoding="utf-8"))
    fast = rules_by_alert(fast_rules(ALERTS.read_text(encoding="utf-8")))
    assert original.keys() == fast.keys()
    for name, rule in original.items():
        expected = rule | {"for": "0s"}
        expected["expr"] = rule["expr"].replace("> 900", "> 1")
        assert fast[name] == expected
    assert fast["SyncdDriftTooOld"]["expr"] == "syncd_drift_oldest_age_seconds > 1"


def promtool_check(daemon: DaemonProcess) -> None:
    """Pipe a real scrape of the daemon's /metrics into ``promtool check metrics``."""
    assert PROMTOOL is not None
    scrape = httpx.get(f"{daemon.url}/metrics", timeout=10).text
    assert "syncd_drift_oldest_age_seconds" in scrape
    checked = subprocess.run(
        [PROMTOOL, "check", "metrics"], input=scrape, capture_output=True, text=True, check=False
    )
    assert checked.returncode == 0, checked.stdout + checked.stderr


def kick(daemon: DaemonProcess, inst: SimInstance) -> None:
    """Ask for a pass via a webhook (passes are otherwise an hour apart in these tests)."""
    repo, tag = next(iter(inst.state.tag_map()))
    payload = push_payload(repo, tag, inst.state.tag_map()[repo, tag])
    assert post_webhook(daemon, json.dumps(payload).encode()).status_code == 202


def test_drift_alert_fires_and_resolves_after_sighup_to_trigger(
    pair: tuple[SimInstance, SimInstance],
    start_daemon: StartDaemon,
    prometheus: Callable[[str], Prometheus],
    tmp_path: Path,
) -> None:
    """Observe-mode drift fires SyncdDriftTooOld; SIGHUP to trigger repairs it; it resolves."""
    a, b = pair
    config = daemon_config(
        instances={"a": a, "b": b},
        state=tmp_path / "state.sqlite3",
        mode="observe",
        health_interval=0.5,
    )
    daemon = start_daemon(config)
    daemon.wait_for("reconcile.pass_finished", outcome="converged")
    prom = prometheus(f"127.0.0.1:{daemon.port}")
    prom.start()

    # A is down while B takes a push: the instance-down alert fires, B's event copy is lost.
    mark = daemon.mark()
    a.set_down("refuse")
    daemon.wait_for("health.transition", since=mark, instance="a", state="down")
    poll_until(lambda: prom.alert("SyncdHarborInstanceDown", instance="a"), what="down alert")
    before = len(executions(b) or {})
    b.push("library/app", "v2")
    poll_until(lambda: settled(b, more_than=before), what="b's event copy to fail")
    a.set_down("up")

    # The recovery pass observes the drift; in observe mode it stays and ages into an alert.
    daemon.wait_for("daemon.recovery_reconcile", since=mark)
    daemon.wait_for("reconcile.pass_finished", since=mark, outcome="drift")
    promtool_check(daemon)

    def drift_alert() -> str | None:
        state = prom.alert("SyncdDriftTooOld", edge="b->a")
        last_pass = daemon.find("reconcile.pass_finished")[-1]
        if state is None and not daemon.find("webhook.received", since=last_pass):
            kick(daemon, b)  # the age gauge only moves when a pass ends
        return state

    assert poll_until(drift_alert, what="drift alert") in {"pending", "firing"}
    poll_until(lambda: prom.alert("SyncdHarborInstanceDown") is None, what="down alert resolved")
    assert not converged(a, b)
    assert daemon.find("act.execution_started") == []

    # SIGHUP with mode: trigger -> reloaded -> the immediate pass repairs b->a.
    write_config(daemon.config, config | {"reconcile": config["reconcile"] | {"mode": "trigger"}})
    mark = daemon.mark()
    daemon.send(signal.SIGHUP)
    reloaded = daemon.wait_for("config.reloaded", since=mark)
    repaired = daemon.wait_for("act.action_finished", since=reloaded, edge="b->a")
    assert daemon.events[repaired]["result"] == "succeeded"
    daemon.wait_for("reconcile.pass_finished", since=repaired, outcome="converged")
    assert converged(a, b)
    poll_until(lambda: prom.alert("SyncdDriftTooOld") is None, what="drift alert resolved")

    daemon.send(signal.SIGTERM)
    assert daemon.wait_exit() == 0
    daemon.wait_for("daemon.stopped", since=repaired)
