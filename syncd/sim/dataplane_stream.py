"""Streaming HTTP plumbing of the ``/v2/`` proxy: request bodies in, upstream call, relay out.

Blob uploads can be large and arrive chunked (skopeo's PATCH) or sized; bodies are streamed to the
registry without buffering, and responses are relayed with registry ``Location`` headers
rewritten to the simulator's own address.
"""

from __future__ import annotations

import http.client
from typing import TYPE_CHECKING
from urllib.parse import urlsplit

if TYPE_CHECKING:
    from collections.abc import Iterator

    from syncd.sim.instance import SimInstance
    from syncd.sim.server import SimHandler

__all__ = ["PLANE_HEADER", "has_body", "relay", "request_body", "upstream"]

PLANE_HEADER = "X-Harbor-Sim-Plane"
"""``registry`` | ``fake``: lets a replicating peer know whether real bytes can be pushed."""
_HOP = frozenset(
    {"connection", "keep-alive", "transfer-encoding", "te", "trailer", "upgrade", "host"}
    | {"proxy-authorization", "proxy-authenticate", "authorization", "content-length"}
    | {"date", "server"}
)
_CHUNK = 64 * 1024
_TIMEOUT = 60.0


def has_body(handler: SimHandler) -> bool:
    """Whether the client sent (or is sending) a request body."""
    chunked = "chunked" in (handler.headers.get("Transfer-Encoding") or "").lower()
    return chunked or int(handler.headers.get("Content-Length") or 0) > 0


def _chunked(handler: SimHandler) -> Iterator[bytes]:
    while True:
        size = int(handler.rfile.readline().split(b";", 1)[0].strip() or b"0", 16)
        if size == 0:
            while handler.rfile.readline() not in {b"\r\n", b"\n", b""}:
                pass  # trailers
            return
        yield handler.rfile.read(size)
        handler.rfile.readline()


def _sized(handler: SimHandler, length: int) -> Iterator[bytes]:
    while length > 0:
        piece = handler.rfile.read(min(_CHUNK, length))
        if not piece:
            return
        length -= len(piece)
        yield piece


def request_body(handler: SimHandler) -> tuple[Iterator[bytes] | None, dict[str, str]]:
    """Return the client's body as a stream and the framing header to forward (none = chunked)."""
    if "chunked" in (handler.headers.get("Transfer-Encoding") or "").lower():
        return _chunked(handler), {}
    length = int(handler.headers.get("Content-Length") or 0)
    if length:
        return _sized(handler, length), {"Content-Length": str(length)}
    body_methods = {"POST", "PUT", "PATCH"}
    return None, ({"Content-Length": "0"} if handler.command in body_methods else {})


def upstream(
    handler: SimHandler, base: str, body: Iterator[bytes] | bytes | None, framing: dict[str, str]
) -> tuple[http.client.HTTPConnection, http.client.HTTPResponse]:
    """Send the client's request to the registry (no framing header = chunked body)."""
    parts = urlsplit(base)
    conn = http.client.HTTPConnection(parts.netloc, timeout=_TIMEOUT)
    headers = {k: v for k, v in handler.headers.items() if k.lower() not in _HOP}
    chunked = not framing and body is not None and not isinstance(body, bytes)
    conn.request(
        handler.command, handler.path, body=body, headers={**headers, **framing},
        encode_chunked=chunked,
    )  # fmt: skip
    return conn, conn.getresponse()


def relay(
    handler: SimHandler, inst: SimInstance, base: str, resp: http.client.HTTPResponse
) -> None:
    """Stream the registry's response to the client, rewriting ``Location`` to the simulator."""
    handler.send_response(resp.status)
    handler.send_header(PLANE_HEADER, "registry")
    for key, value in resp.getheaders():
        if key.lower() in _HOP:
            continue
        rewrite = key.lower() == "location" and value.startswith(base)
        handler.send_header(key, inst.url + value.removeprefix(base) if rewrite else value)
    length = resp.getheader("Content-Length")
    if length is not None:
        handler.send_header("Content-Length", length)
    elif handler.command != "HEAD":
        handler.send_header("Transfer-Encoding", "chunked")
    handler.end_headers()
    if handler.command == "HEAD":
        return
    while piece := resp.read(_CHUNK):
        handler.wfile.write(piece if length is not None else b"%x\r\n%s\r\n" % (len(piece), piece))
    if length is None:
        handler.wfile.write(b"0\r\n\r\n")
