"""The listener as an attacker meets it: malformed HTTP over raw sockets, slow clients, limits."""

from __future__ import annotations

import errno
import gzip
import json
import os
import socket
import threading
from typing import TYPE_CHECKING

import httpx
import pytest
from prometheus_client import CollectorRegistry

from syncd.errors import ListenerError
from syncd.service.listener import bind_message
from syncd.service.metrics import Metrics
from syncd.service.webserver import MAX_WEBHOOK_BYTES, ListenerLimits, start_server

if TYPE_CHECKING:
    from collections.abc import Iterator

    from syncd.service.webhook import WebhookEvent

SECRET = "wh-edge-s3cret"
SCAN = b'{"type": "SCANNING_COMPLETED", "occur_at": 1690000000}'


class Listener:
    """A started listener recording webhook events, plus raw-socket helpers."""

    def __init__(self, limits: ListenerLimits) -> None:
        self.events: list[WebhookEvent] = []
        self.report: str | None = None
        self.metrics = Metrics(registry=CollectorRegistry())
        self.server = start_server(
            bind="127.0.0.1",
            port=0,
            metrics_registry=self.metrics.registry,
            readiness=lambda: (True, "ready"),
            report=lambda: self.report,
            on_webhook=self.events.append,
            webhook_secret=SECRET,
            limits=limits,
        )
        self.url = f"http://127.0.0.1:{self.server.port}"

    def raw(self, request: bytes) -> bytes:
        """Send ``request`` on a fresh connection; return all the server answered (bounded)."""
        with socket.create_connection(("127.0.0.1", self.server.port), timeout=20) as conn:
            conn.sendall(request)
            chunks = []
            for _ in range(1000):  # bounded: the server closes after its answer
                chunk = conn.recv(65536)
                if not chunk:
                    break
                chunks.append(chunk)
        return b"".join(chunks)


@pytest.fixture(scope="module")
def listener() -> Iterator[Listener]:
    """One listener for the module, on an ephemeral loopback port."""
    running = Listener(ListenerLimits(threads=2, request_timeout=5))
    yield running
    running.server.stop()


def _post(headers: str, body: bytes = b"") -> bytes:
    head = f"POST /webhook/harbor HTTP/1.1\r\nHost: t\r\nAuthorization: {SECRET}\r\n{headers}"
    return f"{head}Connection: close\r\n\r\n".encode() + body


def _status(answer: bytes) -> int:
    return int(answer.split(b" ", 2)[1])


def _body(answer: bytes) -> bytes:
    return answer.split(b"\r\n\r\n", 1)[1]


DEEP = b"[" * 300_000 + b"]" * 300_000
MALFORMED = [
    ("superscript length", _post("Content-Length: \u00b2\r\n"), 400),
    ("signed length", _post("Content-Length: +5\r\n", b"{}   "), 400),
    ("two lengths", _post("Content-Length: 2\r\nContent-Length: 3\r\n", b"{} "), 400),
    ("same length twice", _post("Content-Length: 2\r\nContent-Length: 2\r\n", b"{}"), 400),
    (
        "chunked and length",
        _post("Transfer-Encoding: chunked\r\nContent-Length: 5\r\n", b"0\r\n\r\n"),
        400,
    ),
    ("unknown coding", _post("Transfer-Encoding: gzip\r\n"), 501),
    ("no length", _post(""), 411),
    ("too large, unread", _post(f"Content-Length: {MAX_WEBHOOK_BYTES + 1}\r\n"), 413),
    ("deep JSON", _post(f"Content-Length: {len(DEEP)}\r\n", DEEP), 400),
    ("TLS hello on plain HTTP", b"\x16\x03\x01\x00\xa5\x01\x00\x00\xa1\x03\x03\r\n\r\n", 400),
    ("header without colon", b"GET /healthz HTTP/1.1\r\nHost t\r\n\r\n", 400),
]


@pytest.mark.parametrize(
    ("case", "request_bytes", "status"), MALFORMED, ids=[c[0] for c in MALFORMED]
)
def test_malformed_requests_get_an_answer(listener, case, request_bytes, status):
    """Each malformed request is answered with a 4xx/5xx status, never a dropped connection."""
    answer = listener.raw(request_bytes)
    assert _status(answer) == status, answer[:200]
    assert listener.events == []
    assert SECRET.encode() not in answer


def test_deep_json_names_the_depth_limit(listener):
    """A deeply nested 600 kB array is a 400 with a JSON error, not a RecursionError."""
    answer = listener.raw(_post(f"Content-Length: {len(DEEP)}\r\n", DEEP))
    assert json.loads(_body(answer)) == {"error": "body nests deeper than 16 levels"}


@pytest.mark.parametrize("path", ["/healthz", "/readyz", "/metrics", "/report"])
def test_head_answers_headers_without_body(listener, path):
    """HEAD on a GET path: the GET status and headers (Content-Length included), no body."""
    listener.report = '{"outcome": "drift"}'
    head = listener.raw(f"HEAD {path} HTTP/1.1\r\nHost: t\r\nConnection: close\r\n\r\n".encode())
    get = httpx.get(listener.url + path, timeout=10)
    assert _status(head) == get.status_code == 200
    assert _body(head) == b""
    assert f"content-length: {len(get.content)}".encode() in head.lower()


def test_curl_i_healthz(listener):
    """`curl -I /healthz` (HEAD) reads 200, text/plain, Content-Length 3."""
    resp = httpx.head(listener.url + "/healthz", timeout=10)
    assert (resp.status_code, resp.content) == (200, b"")
    assert resp.headers["content-type"] == "text/plain; charset=utf-8"
    assert resp.headers["content-length"] == "3"


@pytest.mark.parametrize(
    ("accept", "encoding", "content_type", "tail"),
    [
        (None, None, "text/plain; version=0.0.4", b"\n"),
        ("application/openmetrics-text", None, "application/openmetrics-text", b"# EOF\n"),
        (None, "gzip", "text/plain; version=0.0.4", b"\n"),
        ("application/openmetrics-text", "gzip", "application/openmetrics-text", b"# EOF\n"),
    ],
)
def test_metrics_negotiates_openmetrics_and_gzip(listener, accept, encoding, content_type, tail):
    """/metrics answers OpenMetrics when asked and gzip-compresses when accepted (raw bytes)."""
    headers = {"Accept-Encoding": encoding or "identity"}
    headers |= {"Accept": accept} if accept else {}
    lines = "".join(f"{k}: {v}\r\n" for k, v in headers.items())
    answer = listener.raw(
        f"GET /metrics HTTP/1.1\r\nHost: t\r\n{lines}Connection: close\r\n\r\n".encode()
    )
    head, body = answer.split(b"\r\n\r\n", 1)
    assert _status(answer) == 200
    assert f"content-type: {content_type}".encode() in head.lower()
    if encoding == "gzip":
        assert b"content-encoding: gzip" in head.lower()
        body = gzip.decompress(body)
    assert b"syncd_build_info" in body
    assert body.endswith(tail)


def test_report_before_and_after_a_pass(listener):
    """/report is 503 until a pass finished, then the report document as JSON."""
    listener.report = None
    before = httpx.get(listener.url + "/report", timeout=10)
    listener.report = json.dumps({"outcome": "drift", "drift": [{"tag": "v1"}]})
    after = httpx.get(listener.url + "/report", timeout=10)
    assert (before.status_code, before.json()) == (503, {"error": "no pass has finished yet"})
    assert (after.status_code, after.headers["content-type"]) == (200, "application/json")
    assert after.json() == {"outcome": "drift", "drift": [{"tag": "v1"}]}


def test_port_in_use_raises_one_line_listener_error(listener):
    """Binding a port the listener holds raises ListenerError naming the port and remedy."""
    with pytest.raises(ListenerError) as info:
        start_server(
            bind="127.0.0.1",
            port=listener.server.port,
            metrics_registry=CollectorRegistry(),
            readiness=lambda: (True, "ready"),
            on_webhook=lambda _event: None,
            webhook_secret=None,
        )
    assert str(info.value) == (
        f"cannot listen on 127.0.0.1 port {listener.server.port}: Address already in use; "
        "set http.port to a free port or stop the process using it"
    )


def test_200_slow_clients_do_not_raise_threads_above_the_cap():
    """200 clients trickling headers hold no worker thread; /metrics and webhooks still answer."""
    cap = 3
    running = Listener(ListenerLimits(threads=cap, max_connections=400, request_timeout=60))
    slow: list[socket.socket] = []
    try:
        before = threading.active_count()
        for index in range(200):
            conn = socket.create_connection(("127.0.0.1", running.server.port), timeout=20)
            conn.sendall(f"GET /metrics HTTP/1.1\r\nHost: t\r\nX-Slow-{index}: ".encode())
            slow.append(conn)
        with httpx.Client(base_url=running.url, timeout=20) as client:
            scrapes = [client.get("/metrics").status_code for _ in range(5)]
            hook = client.post("/webhook/harbor", content=SCAN, headers={"Authorization": SECRET})
        during = threading.active_count()
        workers = running.server.worker_threads
    finally:
        for conn in slow:
            conn.close()
        running.server.stop()
    assert during == before  # no thread per connection
    assert workers == cap
    assert scrapes == [200] * 5
    assert hook.status_code == 202


@pytest.mark.parametrize(
    ("error", "remedy"),
    [
        (errno.EADDRINUSE, "set http.port to a free port or stop the process using it"),
        (errno.EACCES, "choose http.port >= 1024"),
        (errno.EADDRNOTAVAIL, "set http.bind to an address of this host"),
    ],
)
def test_bind_failures_name_the_setting_to_change(error, remedy):
    """Each bind failure is one line: address, port, the system's reason and the remedy."""
    message = bind_message("127.0.0.1", 9477, OSError(error, os.strerror(error)))
    assert message.startswith(f"cannot listen on 127.0.0.1 port 9477: {os.strerror(error)}; ")
    assert remedy in message
    assert "\n" not in message
