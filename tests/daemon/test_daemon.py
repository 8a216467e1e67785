"""``syncd run`` as a real subprocess: webhooks, SIGHUP reloads, health endpoints, SIGTERM.

Every test drives simulated Harbors in this process and the daemon over loopback, and asserts
on the order of the daemon's JSON log events and on the simulators' end state, never on time.
"""

from __future__ import annotations

import json
import signal
import time
from typing import TYPE_CHECKING

import httpx
import pytest
from prometheus_client.parser import text_string_to_metric_families

from tests.daemonkit import (
    DEADLINE,
    WEBHOOK_SECRET,
    StartDaemon,
    converged,
    daemon_config,
    post_webhook,
    push_payload,
    push_while_down,
    write_config,
)

if TYPE_CHECKING:
    from pathlib import Path

    from syncd.sim import SimInstance

    Pair = tuple[SimInstance, SimInstance]

pytestmark = [pytest.mark.slow, pytest.mark.xdist_group("daemon")]


def metric(url: str, name: str, **labels: str) -> float | None:
    """One sample's value from the daemon's /metrics, or None when it is not exposed."""
    text = httpx.get(f"{url}/metrics", timeout=10).text
    for family in text_string_to_metric_families(text):
        for sample in family.samples:
            if sample.name == name and sample.labels == labels:
                return float(sample.value)
    return None


def leaks_no_secret(text: str) -> bool:
    """Whether neither Harbor password nor webhook secret appears in ``text``."""
    return "Harbor12345" not in text and WEBHOOK_SECRET.split()[-1] not in text


REJECTED = [
    # (Authorization header, body, expected status)
    (None, "valid", 401),
    ("Bearer wrong", "valid", 401),
    (WEBHOOK_SECRET, "not json", 400),
    (WEBHOOK_SECRET, "no repository", 400),
]


def test_webhook_for_missed_push_repairs_before_the_interval(
    pair: Pair, start_daemon: StartDaemon, tmp_path: Path
) -> None:
    """Rejected webhooks start nothing; a valid one for a lost push leads to a focused repair."""
    a, b = pair
    config = daemon_config(instances={"a": a, "b": b}, state=tmp_path / "state.sqlite3")
    daemon = start_daemon(config)
    daemon.wait_for("reconcile.pass_finished", outcome="converged")
    ready = httpx.get(f"{daemon.url}/readyz", timeout=10)
    assert (ready.status_code, ready.text.strip()) == (200, "ready")
    assert httpx.get(f"{daemon.url}/healthz", timeout=10).status_code == 200
    push_while_down(source=a, peer=b, repository="library/app", tag="v2")
    assert not converged(a, b)
    payload = push_payload("library/app", "v2", a.state.tag_map()["library/app", "v2"])
    bodies = {
        "valid": json.dumps(payload).encode(),
        "not json": b"{not json",
        "no repository": json.dumps(payload | {"event_data": {"resources": []}}).encode(),
    }

    before = daemon.mark()
    for authorization, body, status in REJECTED:
        mark = daemon.mark()
        assert post_webhook(daemon, bodies[body], authorization=authorization).status_code == status
        daemon.wait_for("webhook.rejected", since=mark, status=status)
    accepted = daemon.mark()
    assert post_webhook(daemon, bodies["valid"]).status_code == 202

    received = daemon.wait_for("webhook.received", since=accepted, repository="library/app")
    started = daemon.wait_for("act.execution_started", since=received, instance="a")
    finished = daemon.wait_for("act.action_finished", since=started, result="succeeded")
    passed = daemon.wait_for("reconcile.pass_finished", since=finished)
    assert received < started < finished < passed
    # Only the valid request reached the scheduler, and it alone accounts for the new pass.
    assert daemon.find("webhook.received", since=before) == [received]
    assert daemon.find("reconcile.pass_finished", since=before) == [passed]
    assert len(daemon.find("webhook.rejected", since=before)) == len(REJECTED)
    assert daemon.events[passed]["focus"] == ["library/app"]
    assert daemon.events[finished]["edge"] == "a->b"
    assert converged(a, b)
    assert ("library/app", "v2") in b.state.tag_map()


def test_steady_webhook_stream_does_not_postpone_the_pass(
    pair: Pair, start_daemon: StartDaemon, tmp_path: Path
) -> None:
    """Webhooks arriving faster than the debounce window still lead to a pass."""
    a, b = pair
    daemon = start_daemon(
        daemon_config(instances={"a": a, "b": b}, state=tmp_path / "state.sqlite3")
    )
    first = daemon.wait_for("reconcile.pass_finished", outcome="converged")
    body = json.dumps(push_payload("library/app", "v1", a.state.tag_map()["library/app", "v1"]))
    deadline = time.monotonic() + DEADLINE
    # The stream's cadence (well inside the 1 s debounce) is the condition under test.
    while not daemon.find("reconcile.pass_finished", since=first + 1):
        assert time.monotonic() < deadline, "the stream postponed the pass; output:\n" + (
            daemon.tail()
        )
        assert post_webhook(daemon, body.encode()).status_code == 202
        time.sleep(0.2)
    assert daemon.first("reconcile.pass_finished", since=first + 1)["focus"] == ["library/app"]


def test_invalid_reload_keeps_the_old_config(
    pair: Pair, start_daemon: StartDaemon, tmp_path: Path
) -> None:
    """SIGHUP with an unusable file is rejected (no secret leaks); a valid one is applied."""
    a, b = pair
    config = daemon_config(instances={"a": a, "b": b}, state=tmp_path / "state.sqlite3")
    daemon = start_daemon(config)
    mark = daemon.wait_for("reconcile.pass_finished", outcome="converged")
    unknown_keys = config | {"reconcile": config["reconcile"] | {"unknown_knob": "canary-9f3e"}}
    unknown_keys["instances"] = config["instances"] | {"b": config["instances"]["b"] | {"pw": 1}}
    bad_state = config | {"state": {"path": str(tmp_path / "missing" / "state.sqlite3")}}
    payload = push_payload("library/app", "v1", a.state.tag_map()["library/app", "v1"])

    for bad, expected in [
        (unknown_keys, ("reconcile.unknown_knob", "instances.b.pw")),
        (bad_state, ("cannot open state database",)),
    ]:
        write_config(daemon.config, bad)
        daemon.send(signal.SIGHUP)
        rejected = daemon.wait_for("config.reload_rejected", since=mark)
        assert all(text in daemon.events[rejected]["error"] for text in expected)
        # Still serving and scheduling with the old configuration.
        assert post_webhook(daemon, json.dumps(payload).encode()).status_code == 202
        mark = daemon.wait_for("reconcile.pass_finished", since=rejected, outcome="converged")
    assert "canary-9f3e" not in daemon.output()
    assert daemon.find("config.reloaded") == []

    write_config(daemon.config, config | {"reconcile": config["reconcile"] | {"mode": "observe"}})
    daemon.send(signal.SIGHUP)
    reloaded = daemon.wait_for("config.reloaded", since=mark)
    # A reload reschedules the interval job, whose first run is immediate.
    daemon.wait_for("reconcile.pass_finished", since=reloaded, outcome="converged")
    assert daemon.proc.poll() is None
    assert leaks_no_secret(daemon.output())


def test_endpoints_and_failing_pass(pair: Pair, start_daemon: StartDaemon, tmp_path: Path) -> None:
    """A failing pass (auth error) is logged once and counted; the daemon keeps serving."""
    a, b = pair
    config = daemon_config(
        instances={"a": a, "b": b},
        state=tmp_path / "state.sqlite3",
        passwords={"b": "not-the-password"},
    )
    daemon = start_daemon(config)
    failed = daemon.wait_for("reconcile.pass_failed")
    assert httpx.get(f"{daemon.url}/healthz", timeout=10).status_code == 200
    assert metric(daemon.url, "syncd_passes_total", outcome="error") == 1.0
    assert daemon.find("reconcile.pass_finished") == []

    # The daemon keeps running: a webhook starts the next pass, which fails the same way.
    payload = push_payload("library/app", "v1", a.state.tag_map()["library/app", "v1"])
    assert post_webhook(daemon, json.dumps(payload).encode()).status_code == 202
    daemon.wait_for("reconcile.pass_failed", since=failed + 1)
    assert len(daemon.find("reconcile.pass_failed")) == 2
    assert metric(daemon.url, "syncd_passes_total", outcome="error") == 2.0
    assert daemon.proc.poll() is None
    assert leaks_no_secret(daemon.output())


def test_webhook_during_a_webhook_pass_gets_its_own_pass(
    pair: Pair, start_daemon: StartDaemon, tmp_path: Path
) -> None:
    """A webhook arriving while a webhook-started pass runs leads to another pass after it."""
    a, b = pair
    config = daemon_config(
        instances={"a": a, "b": b}, state=tmp_path / "state.sqlite3", execution_timeout=2
    )
    daemon = start_daemon(config)
    daemon.wait_for("reconcile.pass_finished", outcome="converged")
    push_while_down(source=a, peer=b, repository="library/app", tag="v2")
    a.hang_executions(None, True)  # the repair hangs: the pass lasts execution_timeout
    body = json.dumps(push_payload("library/app", "v2", a.state.tag_map()["library/app", "v2"]))

    mark = daemon.mark()
    assert post_webhook(daemon, body.encode()).status_code == 202
    started = daemon.wait_for("act.execution_started", since=mark, instance="a")
    assert post_webhook(daemon, body.encode()).status_code == 202
    received = daemon.wait_for("webhook.received", since=started)
    first = daemon.wait_for("reconcile.pass_finished", since=started)
    assert received < first  # the second webhook came in while the first pass was watching
    second = daemon.wait_for("reconcile.pass_finished", since=first + 1)
    assert daemon.events[second]["focus"] == ["library/app"]
    # The hung execution is still running, so the second pass does not start another one.
    assert daemon.find("act.execution_started", since=first) == []


def test_sigterm_waits_for_in_flight_pass(
    pair: Pair, start_daemon: StartDaemon, tmp_path: Path
) -> None:
    """SIGTERM during a hung execution: the pass ends, exit 0, no policy left disabled."""
    a, b = pair
    push_while_down(source=a, peer=b, repository="library/app", tag="v2")
    a.hang_executions(None, True)
    config = daemon_config(
        instances={"a": a, "b": b},
        state=tmp_path / "state.sqlite3",
        mode="toggle",
        execution_timeout=2,
    )
    daemon = start_daemon(config)
    started = daemon.wait_for("act.execution_started", instance="a")
    daemon.send(signal.SIGTERM)

    assert daemon.wait_exit() == 0
    signalled = daemon.wait_for("daemon.signal", since=started, signal="SIGTERM")
    finished = daemon.wait_for("act.action_finished", since=started, result="timeout")
    passed = daemon.wait_for("reconcile.pass_finished", since=finished)
    stopped = daemon.wait_for("daemon.stopped", since=passed)
    assert started < signalled < finished < passed < stopped
    assert daemon.find("toggle.reenabled", instance="a")
    with a.state.lock:
        assert all(policy.enabled for policy in a.state.policies.values())
    with b.state.lock:
        assert all(policy.enabled for policy in b.state.policies.values())
