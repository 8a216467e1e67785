"""State integrity: an unusable state file is exit 2; a lost one stops the daemon acting."""

from __future__ import annotations

import shutil
import sqlite3
from datetime import UTC, datetime, timedelta

import httpx
import pytest
from prometheus_client import CollectorRegistry
from structlog.testing import capture_logs

from syncd.service.daemon import Daemon
from syncd.service.metrics import Metrics
from syncd.service.webserver import start_server
from syncd.settings import load_settings
from syncd.wiring import build_runtime

V1 = ("library/app", "v1")


def _empty(path):
    path.write_bytes(b"")


def _text(path):
    path.write_text("instances: {}\n", encoding="utf-8")


def _foreign_sqlite(path):
    path.unlink()
    with sqlite3.connect(path) as conn:
        conn.execute("CREATE TABLE notes (body TEXT)")
    conn.close()


def _newer_schema(path):
    conn = sqlite3.connect(path)
    conn.execute("PRAGMA user_version = 999")
    conn.close()


@pytest.mark.parametrize(
    ("corrupt", "says"),
    [
        (_empty, "is empty (0 bytes)"),
        (_text, "is not an SQLite database"),
        (_foreign_sqlite, "that syncd did not create"),
        (_newer_schema, "newer than this syncd"),
    ],
    ids=["zero-bytes", "text", "foreign-sqlite", "newer-schema"],
)
def test_unusable_state_file_is_exit_2_and_resurrects_nothing(rig, tmp_path, corrupt, says):
    """Exit 2 naming the file and the remedy; no execution; the deleted tag stays deleted."""
    rig.seed("library/app", 2)
    assert rig.syncd("reconcile", "--once").code == 0  # the base holds v1 on both sides
    rig.a.delete_tag(*V1)  # deleted on a since the base: never to be copied back
    backup = shutil.copy(rig.state, tmp_path / "backup.sqlite3")
    corrupt(rig.state)
    rig.mark()

    run = rig.syncd("reconcile", "--once")

    assert run.code == 2
    assert str(rig.state) in run.err
    assert says in run.err
    assert "restore it from a backup" in run.err
    assert "Traceback" not in run.err
    assert rig.writes() == []
    assert V1 not in rig.a.state.tag_map()

    shutil.copy(backup, rig.state)  # the remedy: the backup
    clean = rig.syncd("reconcile", "--once", "--output", "json")
    assert clean.code == 1  # the deletion is reported (propagation is off), not undone
    assert {(d["tag"], d["class"]) for d in clean.json["drift"]} == {("v1", "deleted_unpropagated")}
    assert V1 not in rig.a.state.tag_map()
    assert rig.writes() == []


class Clock:
    """A settable wall clock for the daemon."""

    def __init__(self) -> None:
        self.now = datetime(2026, 1, 1, tzinfo=UTC)

    def __call__(self) -> datetime:
        """Return the current fake time."""
        return self.now


def _daemon(rig, clock=None):
    metrics = Metrics(registry=CollectorRegistry())
    return Daemon(
        settings=load_settings(rig.config),
        metrics=metrics,
        build=build_runtime,
        now=clock or Clock(),
    ), metrics


@pytest.mark.parametrize("how", ["deleted", "replaced"])
def test_daemon_stops_acting_when_its_state_file_is_lost(rig, tmp_path, how):
    """Deleted or replaced state file: no pass acts, readyz 503, one error event; restart heals."""
    rig.seed("library/app", 2)
    daemon, metrics = _daemon(rig)
    try:
        daemon.reconcile_job()
        assert [p.outcome for p in daemon.passes] == ["converged"]
        backup = shutil.copy(rig.state, tmp_path / "backup.sqlite3")
        rig.b.push("library/app", "extra")  # drift a pass would repair with a POST
        rig.state.unlink()
        if how == "replaced":
            shutil.copy(backup, rig.state)  # another file (inode) at the same path
        rig.mark()

        with capture_logs() as logs:
            daemon.reconcile_job()
            daemon.reconcile_job()
        ready, reason = daemon.readiness()
        server = start_server(
            bind="127.0.0.1",
            port=0,
            metrics_registry=metrics.registry,
            readiness=daemon.readiness,
            on_webhook=daemon.on_webhook,
            webhook_secret=None,
        )
        try:
            readyz = httpx.get(f"http://127.0.0.1:{server.port}/readyz", timeout=5)
        finally:
            server.stop()
    finally:
        daemon.stop()

    assert len(daemon.passes) == 1  # no pass ran on the lost state
    assert rig.writes() == []
    assert not ready
    assert "state file lost" in reason
    assert readyz.status_code == 503
    lost = [e for e in logs if e["event"] == "daemon.state_file_lost"]
    assert [e["log_level"] for e in lost] == ["error"]

    restarted, _metrics = _daemon(rig)
    try:
        restarted.reconcile_job()
    finally:
        restarted.stop()
    assert restarted.passes[-1].outcome == "converged"
    assert rig.a.state.tag_map() == rig.b.state.tag_map()


def test_daemon_keeps_last_success_and_drift_while_nothing_is_observed(make_rig):
    """All instances down: last success and drift gauges hold; readiness follows complete passes."""
    rig = make_rig(reconcile={"mode": "observe"})
    rig.seed("library/app", 2)
    rig.b.push("library/app", "extra")
    clock = Clock()
    daemon, metrics = _daemon(rig, clock)

    def sample(name, **labels):
        return metrics.registry.get_sample_value(name, labels)

    drift = {"edge": "b->a", "class": "missing"}
    try:
        daemon.reconcile_job()
        success = sample("syncd_last_success_timestamp_seconds")
        assert daemon.passes[-1].outcome == "drift"
        assert sample("syncd_drift_tags", **drift) == 1
        rig.mark()
        rig.pa.refuse()
        rig.pb.refuse()
        outcomes = []
        for _ in range(2):
            clock.now += timedelta(seconds=500)
            daemon.reconcile_job()
            outcomes.append((daemon.passes[-1].outcome, daemon.readiness()[0]))
        assert outcomes == [("incomplete", True), ("incomplete", False)]  # 1000 s > 3 x 300 s
        assert sample("syncd_last_success_timestamp_seconds") == success
        assert sample("syncd_drift_tags", **drift) == 1
        assert sample("syncd_instance_observed", instance="a") == 0
        assert sample("syncd_instance_observed", instance="b") == 0
        assert sample("syncd_passes_total", outcome="incomplete") == 2
        assert rig.writes() == []

        rig.pa.start()
        rig.pb.start()
        clock.now += timedelta(seconds=500)
        daemon.reconcile_job()
        ready = daemon.readiness()[0]
    finally:
        daemon.stop()
    assert daemon.passes[-1].outcome == "drift"
    assert ready
    assert sample("syncd_last_success_timestamp_seconds") == clock.now.timestamp()
    assert sample("syncd_instance_observed", instance="a") == 1
