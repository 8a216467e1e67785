"""A fault-injecting HTTP proxy between syncd and one simulator (tests' own code, loopback only).

Forwards every request byte-for-byte (the raw path keeps Harbor's twice-encoded repository
names) to its upstream simulator and, while a ``Fault`` matches, bends the exchange the way a
broken network, proxy or Harbor would: a status instead of the answer, an understated
``X-Total-Count``, a page repeating the previous page's last row, HTML or truncated JSON with
200, a connection reset, a stall past the client's read timeout, an untrusted TLS certificate,
or a closed port. Bounded: stalls are capped, every fault can be limited to ``times`` hits.
"""

from __future__ import annotations

import contextlib
import enum
import http.client
import json
import re
import socket
import threading
import time
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import TYPE_CHECKING, Any, Self
from urllib.parse import parse_qsl, urlencode, urlsplit

if TYPE_CHECKING:
    import ssl
    from types import TracebackType

LOOPBACK = "127.0.0.1"
MAX_STALL = 5.0
"""Upper bound of an injected stall, whatever a test asks for."""
_HOP_BY_HOP = {"connection", "transfer-encoding", "content-length", "keep-alive"}


class FaultKind(enum.StrEnum):
    """How a matched exchange is bent."""

    STATUS = "status"
    UNDERSTATE_TOTAL = "understate_total"
    REPEAT_ROW = "repeat_row"
    HTML = "html"
    MALFORMED = "malformed"
    RESET = "reset"
    STALL = "stall"


@dataclass
class Fault:
    """One injected fault; ``path`` is a regex searched in the path (query excluded)."""

    kind: FaultKind
    path: str = ""
    method: str = "GET"
    """``*`` matches every method."""
    status: int = 503
    amount: float = 0
    """Rows the total is understated by, or seconds of a stall."""
    times: int | None = None
    """How many matching requests get the fault; None = until cleared."""
    skip: int = 0
    """Matching requests let through untouched before the fault starts (a toggle's disable)."""
    hits: int = 0
    seen: int = 0


@dataclass(frozen=True)
class Upstream:
    """The simulator behind the proxy."""

    host: str
    port: int

    def fetch(
        self, method: str, path: str, body: bytes, headers: dict[str, str]
    ) -> tuple[int, list[tuple[str, str]], bytes]:
        """Forward one request; return ``(status, headers, body)``."""
        conn = http.client.HTTPConnection(self.host, self.port, timeout=30)
        try:
            conn.request(method, path, body=body or None, headers=headers)
            resp = conn.getresponse()
            return resp.status, resp.getheaders(), resp.read()
        finally:
            conn.close()


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    server: _Server

    def log_message(self, *_args: object) -> None:
        """Silence the per-request stderr line."""

    def do_GET(self) -> None:
        """Forward (and maybe bend) any method."""
        proxy = self.server.proxy
        length = int(self.headers.get("Content-Length") or 0)
        body = self.rfile.read(length) if length else b""
        headers = {k: v for k, v in self.headers.items() if k.lower() not in _HOP_BY_HOP}
        fault = proxy.match(self.command, self.path)
        kind = fault.kind if fault else None
        if kind is FaultKind.RESET:
            self.close_connection = True
            with contextlib.suppress(OSError):
                self.connection.shutdown(socket.SHUT_RDWR)
            return
        if kind is FaultKind.STATUS:
            assert fault is not None
            self._send(fault.status, [("Content-Type", "application/json")], _error(fault.status))
            return
        if kind is FaultKind.STALL:
            assert fault is not None
            time.sleep(min(fault.amount, MAX_STALL))
        status, out_headers, out = proxy.upstream.fetch(self.command, self.path, body, headers)
        if fault is not None:
            out_headers, out = _bend(fault, proxy.upstream, self.path, headers, out_headers, out)
        self._send(status, out_headers, out)

    do_HEAD = do_POST = do_PUT = do_DELETE = do_PATCH = do_GET  # noqa: N815 - stdlib naming

    def _send(self, status: int, headers: list[tuple[str, str]], body: bytes) -> None:
        with contextlib.suppress(OSError):  # the client may have given up (stall)
            self.send_response(status)
            for key, value in headers:
                if key.lower() not in _HOP_BY_HOP:
                    self.send_header(key, value)
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            if self.command != "HEAD":
                self.wfile.write(body)


def _error(status: int) -> bytes:
    return json.dumps({"errors": [{"code": "INJECTED", "message": f"injected {status}"}]}).encode()


def _bend(
    fault: Fault,
    upstream: Upstream,
    path: str,
    request_headers: dict[str, str],
    headers: list[tuple[str, str]],
    body: bytes,
) -> tuple[list[tuple[str, str]], bytes]:
    if fault.kind is FaultKind.UNDERSTATE_TOTAL:
        return [
            (k, str(max(0, int(v) - int(fault.amount))) if k.lower() == "x-total-count" else v)
            for k, v in headers
        ], body
    if fault.kind is FaultKind.HTML:
        html = [(k, v) for k, v in headers if k.lower() != "content-type"]
        return [*html, ("Content-Type", "text/html")], b"<html><body>Sign in</body></html>"
    if fault.kind is FaultKind.MALFORMED:
        return headers, body[: max(1, len(body) // 2)]
    if fault.kind is FaultKind.REPEAT_ROW:
        return headers, _repeat_previous_last_row(upstream, path, request_headers, body)
    return headers, body


def _repeat_previous_last_row(
    upstream: Upstream, path: str, headers: dict[str, str], body: bytes
) -> bytes:
    """Page n >= 2 starts with page n-1's last row (offset paging after a concurrent push)."""
    parts = urlsplit(path)
    query = dict(parse_qsl(parts.query, keep_blank_values=True))
    page = int(query.get("page", "1"))
    if page < 2:
        return body
    query["page"] = str(page - 1)
    previous = f"{parts.path}?{urlencode(query)}"
    _status, _headers, earlier = upstream.fetch("GET", previous, b"", headers)
    rows: list[Any] = json.loads(body)
    before: list[Any] = json.loads(earlier)
    if rows and before:
        rows = [before[-1], *rows[1:]]
    return json.dumps(rows).encode()


class _Server(ThreadingHTTPServer):
    daemon_threads = True
    allow_reuse_address = True

    def __init__(self, proxy: FaultProxy, port: int) -> None:
        self.proxy = proxy
        self.open: set[socket.socket] = set()
        super().__init__((LOOPBACK, port), _Handler)

    def get_request(self) -> tuple[socket.socket, Any]:
        sock, addr = super().get_request()
        self.open.add(sock)
        tls = self.proxy.tls
        if tls is not None:  # the handshake runs on the handler thread, on first read
            sock = tls.wrap_socket(sock, server_side=True, do_handshake_on_connect=False)
        return sock, addr

    def handle_error(self, request: Any, client_address: Any) -> None:
        """Stay quiet: a failed TLS handshake or a client that hung up is the test, not noise."""


class FaultProxy:
    """Listens on loopback and forwards to ``upstream`` (a simulator's ``http://`` URL)."""

    def __init__(self, upstream: str, *, tls: ssl.SSLContext | None = None) -> None:
        parts = urlsplit(upstream)
        assert parts.hostname == LOOPBACK, "the proxy only ever talks to loopback"
        self.upstream = Upstream(parts.hostname, parts.port or 80)
        self.tls = tls
        self.port = 0
        self._faults: list[Fault] = []
        self._lock = threading.Lock()
        self._server: _Server | None = None
        self._thread: threading.Thread | None = None

    @property
    def url(self) -> str:
        """The URL syncd and the peers use for this instance."""
        scheme = "https" if self.tls is not None else "http"
        return f"{scheme}://{LOOPBACK}:{self.port}"

    def inject(self, fault: Fault) -> Fault:
        """Add a fault (first match wins); return it, to read ``hits`` later."""
        with self._lock:
            self._faults.append(fault)
        return fault

    def clear(self) -> None:
        """Remove every fault: the proxy forwards faithfully again."""
        with self._lock:
            self._faults.clear()

    def match(self, method: str, raw_path: str) -> Fault | None:
        """Return the fault this request gets (counting the hit), if any."""
        path = raw_path.split("?", 1)[0]
        with self._lock:
            for fault in self._faults:
                if fault.method not in {"*", method} or not re.search(fault.path, path):
                    continue
                fault.seen += 1
                if fault.seen <= fault.skip:
                    return None
                if fault.times is not None and fault.hits >= fault.times:
                    continue
                fault.hits += 1
                return fault
        return None

    def start(self) -> Self:
        """Bind (the same port again after ``refuse``) and serve on a thread."""
        self._server = _Server(self, self.port)
        self.port = self._server.server_address[1]
        self._thread = threading.Thread(
            target=self._server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True
        )
        self._thread.start()
        return self

    def refuse(self) -> None:
        """Close the listening socket and every open connection: refused until ``start``."""
        server, self._server = self._server, None
        if server is not None:
            server.shutdown()
            server.server_close()
            for sock in list(server.open):  # kept-alive connections die with the "host"
                with contextlib.suppress(OSError):
                    sock.shutdown(socket.SHUT_RDWR)
        if self._thread is not None:
            self._thread.join()
            self._thread = None

    stop = refuse

    def __enter__(self) -> Self:
        return self.start()

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.stop()
