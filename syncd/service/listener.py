"""The listening socket and server under syncd's HTTP app: waitress with syncd's limits.

Why waitress: one I/O thread reads every request whole (headers and body, strict
``Content-Length`` parsing, a body cap) before a *fixed* pool of worker threads runs the WSGI
app, so slow or stalled clients hold a connection, never a thread. waitress itself only drops
*idle* connections; this module adds a whole-request deadline (a client trickling its request
for longer than ``request_timeout`` is dropped), refuses a request framed both by
``Content-Length`` and ``Transfer-Encoding``, and turns bind failures into ``ListenerError``.
"""

from __future__ import annotations

import errno
import ipaddress
import socket
import threading
import time
from dataclasses import dataclass
from typing import Any

import structlog
from waitress.adjustments import Adjustments
from waitress.channel import HTTPChannel
from waitress.parser import HTTPRequestParser, ParsingError
from waitress.server import TcpWSGIServer
from waitress.task import ThreadedTaskDispatcher

from syncd.errors import ListenerError

__all__ = ["ListenerLimits", "RunningListener", "listen"]

_log = structlog.get_logger("syncd.service.webserver")


@dataclass(frozen=True, slots=True, kw_only=True)
class ListenerLimits:
    """Bounds of the listener (settings ``http.threads``, ``max_connections``, ...)."""

    threads: int = 4
    max_connections: int = 256
    request_timeout: int = 10


class _Parser(HTTPRequestParser):  # type: ignore[misc]  # waitress ships no type hints
    """waitress' parser, also refusing a body framed both by length and by chunks (400)."""

    def parse_header(self, header_plus: bytes) -> None:
        """Parse as waitress does, then reject ``Transfer-Encoding`` with ``Content-Length``."""
        super().parse_header(header_plus)
        if self.chunked and "CONTENT_LENGTH" in self.headers:
            # Two framings are how requests get smuggled past proxies; trust neither.
            raise ParsingError("both Transfer-Encoding and Content-Length")


class _Channel(HTTPChannel):  # type: ignore[misc]  # waitress ships no type hints
    """A connection that remembers when its current request began to arrive."""

    parser_class = _Parser
    request_started = 0.0

    def received(self, data: bytes) -> bool:
        """Note the start of a new request, then let waitress parse the bytes."""
        if data and self.request is None:
            self.request_started = time.monotonic()
        return bool(super().received(data))


class _Server(TcpWSGIServer):  # type: ignore[misc]  # waitress ships no type hints
    """waitress' TCP server with a whole-request deadline on top of its idle timeout."""

    channel_class = _Channel

    def maintenance(self, now: float) -> None:
        """Close idle connections (waitress) and those whose request is overdue (syncd)."""
        super().maintenance(now)
        cutoff = time.monotonic() - self.adj.channel_timeout
        for channel in list(self.active_channels.values()):
            if channel.request is not None and channel.request_started < cutoff:
                _log.debug("webserver.request_timeout")
                channel.will_close = True


@dataclass(frozen=True, slots=True)
class RunningListener:
    """Handle on a serving listener: its port, and how to stop it."""

    _server: _Server
    _thread: threading.Thread

    @property
    def port(self) -> int:
        """The bound port (useful when started with port 0)."""
        return int(self._server.effective_port)

    @property
    def worker_threads(self) -> int:
        """Worker threads currently in the pool (fixed: ``ListenerLimits.threads``)."""
        return len(self._server.task_dispatcher.threads)

    def stop(self) -> None:
        """Close the socket and every connection, then stop the worker threads."""
        server = self._server
        # Closing is done on the I/O thread itself (a trigger thunk); its loop then ends.
        server.trigger.pull_trigger(lambda: _close_all(server))
        self._thread.join(timeout=10)
        server.task_dispatcher.shutdown()


def _close_all(server: _Server) -> None:
    for dispatcher in list(server._map.values()):  # noqa: SLF001 - waitress' socket map
        dispatcher.close()


def _bound_socket(bind: str, port: int) -> socket.socket:
    family = socket.AF_INET6 if ipaddress.ip_address(bind).version == 6 else socket.AF_INET  # noqa: PLR2004
    sock = socket.socket(family, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    try:
        sock.bind((bind, port))
    except OSError as exc:
        sock.close()
        raise ListenerError(bind_message(bind, port, exc)) from None
    return sock


def bind_message(bind: str, port: int, exc: OSError) -> str:
    """Tell in one line why ``bind:port`` cannot be used, and which setting to change."""
    where = f"cannot listen on {bind} port {port}: {exc.strerror or exc}"
    if exc.errno == errno.EADDRINUSE:
        return f"{where}; set http.port to a free port or stop the process using it"
    if exc.errno == errno.EACCES:
        return f"{where}; ports below 1024 need privileges: choose http.port >= 1024"
    return f"{where}; set http.bind to an address of this host (e.g. 127.0.0.1 or 0.0.0.0)"


def listen(
    app: Any, *, bind: str, port: int, limits: ListenerLimits, max_body: int
) -> RunningListener:
    """Bind ``bind:port`` and serve ``app`` on a daemon thread; ``ListenerError`` if it cannot."""
    sock = _bound_socket(bind, port)
    adj = Adjustments(
        threads=limits.threads,
        connection_limit=limits.max_connections,
        channel_timeout=limits.request_timeout,
        cleanup_interval=1,
        max_request_body_size=max_body,
        max_request_header_size=64 * 1024,
        asyncore_use_poll=True,  # select() cannot watch descriptors above 1023
        ident="syncd",
    )
    dispatcher = ThreadedTaskDispatcher()
    server = _Server(
        app,
        map={},
        _sock=sock,
        dispatcher=dispatcher,
        adj=adj,
        bind_socket=False,
        sockinfo=(sock.family, sock.type, sock.proto, sock.getsockname()),
    )
    dispatcher.set_thread_count(limits.threads)
    thread = threading.Thread(target=server.run, name="syncd-webserver", daemon=True)
    thread.start()
    return RunningListener(server, thread)
