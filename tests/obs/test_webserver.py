"""The HTTP listener over real loopback HTTP: routes, status codes, limits and scrapes."""

from __future__ import annotations

import json
import shutil
import socket
import subprocess
from datetime import UTC, datetime, timedelta
from typing import TYPE_CHECKING

import httpx
import pytest
from prometheus_client import CollectorRegistry
from structlog.testing import capture_logs

from syncd.core.model import Drift, DriftClass, Edge, PassOutcome, PassResult, Topology
from syncd.service.metrics import Metrics
from syncd.service.webserver import MAX_WEBHOOK_BYTES, ListenerLimits, start_server

if TYPE_CHECKING:
    from collections.abc import Callable

    from syncd.service.webhook import WebhookEvent

SECRET = "wh-5ecret-value"
PUSH = {
    "type": "PUSH_ARTIFACT",
    "occur_at": 1690000000,
    "operator": "admin",
    "event_data": {
        "resources": [{"digest": "sha256:" + "cd" * 32, "tag": "v1"}],
        "repository": {"name": "nginx", "namespace": "library", "repo_full_name": "library/nginx"},
    },
}


class Harness:
    """A running server with a switchable readiness answer and a record of webhook events."""

    def __init__(self) -> None:
        self.ready: tuple[bool, str] = (True, "ready")
        self.events: list[WebhookEvent] = []
        self.fail_handler = False
        self.metrics = Metrics(registry=CollectorRegistry())
        self.report: str | None = None
        self.readiness: Callable[[], tuple[bool, str]] = lambda: self.ready
        self.server = start_server(
            bind="127.0.0.1",
            port=0,
            metrics_registry=self.metrics.registry,
            readiness=lambda: self.readiness(),  # noqa: PLW0108 - swapped by tests later
            report=lambda: self.report,
            on_webhook=self._on_webhook,
            webhook_secret=SECRET,
            limits=ListenerLimits(threads=2, request_timeout=1),
        )
        self.client = httpx.Client(base_url=f"http://127.0.0.1:{self.server.port}", timeout=10)

    def _on_webhook(self, event: WebhookEvent) -> None:
        if self.fail_handler:
            raise RuntimeError("queue closed")
        self.events.append(event)


@pytest.fixture(scope="module")
def _server():
    """One server on an ephemeral loopback port for the module (stopping one takes a poll)."""
    h = Harness()
    yield h
    h.client.close()
    h.server.stop()


@pytest.fixture
def harness(_server):
    """Reset the module's server: readiness, recorded events and the failure switch."""
    _server.ready = (True, "ready")
    _server.events.clear()
    _server.fail_handler = False
    _server.report = None
    _server.readiness = lambda: _server.ready
    return _server


def test_healthz(harness):
    """/healthz answers 200 ok while the process runs."""
    resp = harness.client.get("/healthz")
    assert (resp.status_code, resp.text) == (200, "ok\n")


@pytest.mark.parametrize(
    ("ready", "status", "text"),
    [
        ((True, "ready"), 200, "ready\n"),
        ((False, "no pass completed yet"), 503, "no pass completed yet\n"),
        ((False, ""), 503, "not ready\n"),
    ],
)
def test_readyz(harness, ready, status, text):
    """/readyz reflects the readiness callback with its reason."""
    harness.ready = ready
    resp = harness.client.get("/readyz")
    assert (resp.status_code, resp.text) == (status, text)


def test_readyz_callback_failure_is_503(harness):
    """A failing readiness callback reads as not ready instead of crashing the handler."""

    def broken() -> tuple[bool, str]:
        raise RuntimeError("boom")

    harness.readiness = broken
    resp = harness.client.get("/readyz")
    assert (resp.status_code, resp.text) == (503, "readiness check failed\n")


def test_metrics_exposition(harness):
    """/metrics serves the registry in the Prometheus text format."""
    harness.metrics.record_hung("a", 1)
    resp = harness.client.get("/metrics")
    assert resp.status_code == 200
    assert resp.headers["content-type"].startswith("text/plain; version=")
    assert 'syncd_hung_executions{instance="a"} 1.0' in resp.text


def test_webhook_accepted_calls_handler(harness):
    """An authenticated push is answered 202 and handed to the callback."""
    resp = harness.client.post("/webhook/harbor", json=PUSH, headers={"Authorization": SECRET})
    assert (resp.status_code, resp.json()) == (202, {"status": "accepted"})
    [event] = harness.events
    assert (event.type, event.repository, event.tags) == ("PUSH_ARTIFACT", "library/nginx", ("v1",))


def test_webhook_ignored_type_not_forwarded(harness):
    """A scan event is accepted but not handed to the callback."""
    scan = {"type": "SCANNING_COMPLETED", "occur_at": 1690000000}
    resp = harness.client.post("/webhook/harbor", json=scan, headers={"Authorization": SECRET})
    assert (resp.status_code, resp.json()) == (202, {"status": "ignored"})
    assert harness.events == []


@pytest.mark.parametrize(
    ("content", "headers", "status", "error"),
    [
        (json.dumps(PUSH), {}, 401, "missing Authorization header"),
        (json.dumps(PUSH), {"Authorization": "nope"}, 401, "invalid Authorization header"),
        ("{", {"Authorization": SECRET}, 400, "body is not valid JSON"),
        ('{"occur_at": 1}', {"Authorization": SECRET}, 400, "missing field 'type'"),
        ('{"type": "X", "occur_at": 1}', {"Authorization": SECRET}, 422, "unsupported event"),
    ],
)
def test_webhook_rejections(harness, content, headers, status, error):
    """Bad webhook requests get a 4xx with a JSON error and never reach the callback."""
    resp = harness.client.post("/webhook/harbor", content=content, headers=headers)
    assert resp.status_code == status
    assert resp.json()["error"].startswith(error)
    assert harness.events == []


def test_webhook_secret_is_not_logged(harness):
    """Neither the shared secret nor a rejected Authorization value appears in any event."""
    with capture_logs() as logs:
        harness.client.post("/webhook/harbor", json=PUSH, headers={"Authorization": SECRET})
        harness.client.post("/webhook/harbor", json=PUSH, headers={"Authorization": "guess-1"})
    assert logs
    assert SECRET not in repr(logs)
    assert "guess-1" not in repr(logs)


def test_webhook_handler_failure_is_500(harness):
    """A failing callback yields 500 with a generic error."""
    harness.fail_handler = True
    resp = harness.client.post("/webhook/harbor", json=PUSH, headers={"Authorization": SECRET})
    assert (resp.status_code, resp.json()) == (500, {"error": "internal error"})


def test_webhook_body_too_large(harness):
    """A body over 1 MiB is refused with 413 without being read."""
    content = b" " * (MAX_WEBHOOK_BYTES + 1)
    resp = harness.client.post(
        "/webhook/harbor", content=content, headers={"Authorization": SECRET}
    )
    assert resp.status_code == 413
    assert harness.events == []


def test_chunked_webhook_is_decoded_by_the_server(harness):
    """A chunked body (no Content-Length) is decoded by waitress and handled like any other."""

    def chunks():
        yield json.dumps(PUSH).encode()

    resp = harness.client.post(
        "/webhook/harbor", content=chunks(), headers={"Authorization": SECRET}
    )
    assert (resp.status_code, resp.json()) == (202, {"status": "accepted"})
    assert [e.repository for e in harness.events] == ["library/nginx"]


@pytest.mark.parametrize(
    ("method", "path", "status", "allow"),
    [
        ("GET", "/nope", 404, None),
        ("POST", "/metrics", 405, "GET, HEAD, OPTIONS"),
        ("GET", "/webhook/harbor", 405, "OPTIONS, POST"),
        ("DELETE", "/healthz", 405, "GET, HEAD, OPTIONS"),
        ("PUT", "/webhook/harbor", 405, "OPTIONS, POST"),
        ("PATCH", "/report", 405, "GET, HEAD, OPTIONS"),
        ("OPTIONS", "/healthz", 204, "GET, HEAD, OPTIONS"),
        ("OPTIONS", "/webhook/harbor", 204, "OPTIONS, POST"),
        ("OPTIONS", "/nope", 404, None),
    ],
)
def test_unknown_routes_and_methods(harness, method, path, status, allow):
    """Unknown paths get 404, wrong methods 405 and OPTIONS 204, both with an Allow header."""
    resp = harness.client.request(method, path)
    assert resp.status_code == status
    assert resp.headers.get("allow") == allow


def test_query_string_is_ignored_for_routing(harness):
    """A scrape with a query string still reaches /metrics."""
    assert harness.client.get("/metrics?name[]=syncd_build_info").status_code == 200


def test_stalled_client_blocks_nobody(harness):
    """A client stalling mid-body blocks nobody, is dropped at the deadline, reaches no callback."""
    with capture_logs() as logs:
        stalled = socket.create_connection(("127.0.0.1", harness.server.port), timeout=30)
        stalled.sendall(b"POST /webhook/harbor HTTP/1.1\r\nContent-Length: 100\r\n\r\n{")
        assert harness.client.get("/healthz").status_code == 200
        assert stalled.recv(1024) == b""  # closed by the server after request_timeout
        stalled.close()
    assert harness.events == []
    assert {"event": "webserver.request_timeout", "log_level": "debug"} in logs


def test_stop_releases_the_port():
    """After stop() the port accepts no connections."""
    h = Harness()
    port = h.server.port
    h.client.close()
    h.server.stop()
    with pytest.raises(httpx.ConnectError):
        httpx.get(f"http://127.0.0.1:{port}/healthz", timeout=5)


PROMTOOL = shutil.which("promtool") or "promtool"  # the test skips when it is missing


@pytest.mark.skipif(
    shutil.which("promtool") is None, reason="promtool not installed (Debian package prometheus)"
)
def test_promtool_accepts_a_real_scrape():
    """`promtool check metrics` finds no problem in a scrape with every metric populated."""
    t0 = datetime(2024, 5, 1, tzinfo=UTC)
    edge = Edge(source="a", destination="b", policy_owner="a", policy_id=1)
    gap = Drift(edge, "lib/x", "v1", DriftClass.MISSING, "sha256:aa", None, None, first_seen=t0)
    result = PassResult(
        pass_id="p",
        started_at=t0,
        finished_at=t0 + timedelta(seconds=3),
        outcome=PassOutcome.DRIFT,
        drift=(gap,),
        topology=Topology(edges=(edge,)),
    )
    harness = Harness()
    try:
        harness.metrics.record_pass(result, now=t0 + timedelta(minutes=1))
        harness.metrics.record_parity("a", checked=10, missing=0)
        scrape = harness.client.get("/metrics").text
    finally:
        harness.client.close()
        harness.server.stop()
    assert "syncd_drift_tags" in scrape
    proc = subprocess.run(
        [PROMTOOL, "check", "metrics"], input=scrape, capture_output=True, text=True, check=False
    )
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert proc.stdout + proc.stderr == ""
