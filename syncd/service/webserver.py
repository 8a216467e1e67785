"""syncd's single HTTP listener: metrics, liveness, readiness and the Harbor webhook receiver.

Owns the stdlib ``ThreadingHTTPServer`` running on a daemon thread and the routing table.
Nothing here decides anything: readiness comes from a callback, webhook bodies are parsed by
the webhook module and accepted events are handed to a callback. Request headers and bodies
are never logged, so a webhook's shared secret cannot leak through access logs.
"""

from __future__ import annotations

import json
import socket
import sys
import threading
from dataclasses import dataclass
from http import HTTPStatus
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import TYPE_CHECKING, ClassVar
from urllib.parse import urlsplit

import structlog
from prometheus_client import CONTENT_TYPE_LATEST, generate_latest

from syncd.service.webhook import WebhookError, WebhookEvent, parse_webhook

if TYPE_CHECKING:
    from collections.abc import Callable

    from prometheus_client import CollectorRegistry

__all__ = ["DEFAULT_PORT", "MAX_WEBHOOK_BYTES", "RunningServer", "start_server"]

DEFAULT_PORT = 9477
MAX_WEBHOOK_BYTES = 1024 * 1024
_ROUTES: dict[str, frozenset[str]] = {
    "/metrics": frozenset({"GET"}),
    "/healthz": frozenset({"GET"}),
    "/readyz": frozenset({"GET"}),
    "/webhook/harbor": frozenset({"POST"}),
}
_log = structlog.get_logger(__name__)


class _Server(ThreadingHTTPServer):
    """Carries the collaborators the handler needs; one handler thread per connection."""

    daemon_threads = True
    metrics_registry: CollectorRegistry
    readiness: Callable[[], tuple[bool, str]]
    on_webhook: Callable[[WebhookEvent], None]
    webhook_secret: str | None

    def handle_error(self, request: object, client_address: object) -> None:
        """Log a failed connection as one event instead of printing a traceback to stderr."""
        del request, client_address
        if isinstance(sys.exc_info()[1], ConnectionError | TimeoutError):
            _log.debug("webserver.connection_lost")
        else:
            _log.exception("webserver.request_failed")


class _Server6(_Server):
    """The same listener on an IPv6 address such as ``::1``."""

    address_family = socket.AF_INET6


class _Handler(BaseHTTPRequestHandler):
    server: _Server
    # A slow or stalled client must not pin a handler thread forever.
    timeout = 10
    protocol_version = "HTTP/1.1"
    _GET_VIEWS: ClassVar[dict[str, str]] = {
        "/metrics": "_metrics",
        "/healthz": "_healthz",
        "/readyz": "_readyz",
    }

    def do_GET(self) -> None:
        """Serve the read-only endpoints."""
        self._dispatch("GET")

    def do_POST(self) -> None:
        """Serve the webhook receiver."""
        self._dispatch("POST")

    def do_PUT(self) -> None:
        """Reject: no route accepts PUT."""
        self._dispatch("PUT")

    def do_DELETE(self) -> None:
        """Reject: no route accepts DELETE."""
        self._dispatch("DELETE")

    def do_PATCH(self) -> None:
        """Reject: no route accepts PATCH."""
        self._dispatch("PATCH")

    def _dispatch(self, method: str) -> None:
        path = urlsplit(self.path).path
        allowed = _ROUTES.get(path)
        if allowed is None:
            self._send_json(HTTPStatus.NOT_FOUND, {"error": "not found"})
        elif method not in allowed:
            self._send_json(
                HTTPStatus.METHOD_NOT_ALLOWED,
                {"error": f"method {method} not allowed"},
                headers={"Allow": ", ".join(sorted(allowed))},
            )
        elif method == "POST":
            self._webhook()
        else:
            getattr(self, self._GET_VIEWS[path])()

    # ------------------------------------------------------------------- views

    def _metrics(self) -> None:
        self._send(
            HTTPStatus.OK, generate_latest(self.server.metrics_registry), CONTENT_TYPE_LATEST
        )

    def _healthz(self) -> None:
        self._send_text(HTTPStatus.OK, "ok")

    def _readyz(self) -> None:
        try:
            ready, reason = self.server.readiness()
        except Exception:
            _log.exception("webserver.readiness_failed")
            ready, reason = False, "readiness check failed"
        status = HTTPStatus.OK if ready else HTTPStatus.SERVICE_UNAVAILABLE
        self._send_text(status, reason or ("ready" if ready else "not ready"))

    def _webhook(self) -> None:
        body = self._read_body()
        if body is None:
            return
        try:
            event = parse_webhook(
                body,
                authorization=self.headers.get("Authorization"),
                secret=self.server.webhook_secret,
            )
        except WebhookError as exc:
            _log.warning("webhook.rejected", status=exc.status, reason=exc.message)
            self._send_json(exc.status, {"error": exc.message})
            return
        if not event.actionable:
            _log.debug("webhook.ignored", event_type=event.type)
            self._send_json(HTTPStatus.ACCEPTED, {"status": "ignored"})
            return
        try:
            self.server.on_webhook(event)
        except Exception:
            _log.exception("webhook.handler_failed", event_type=event.type)
            self._send_json(HTTPStatus.INTERNAL_SERVER_ERROR, {"error": "internal error"})
            return
        _log.debug("webhook.accepted", event_type=event.type, repository=event.repository)
        self._send_json(HTTPStatus.ACCEPTED, {"status": "accepted"})

    def _read_body(self) -> bytes | None:
        raw = self.headers.get("Content-Length")
        if raw is None or not raw.isdigit():
            self.close_connection = True
            self._send_json(HTTPStatus.LENGTH_REQUIRED, {"error": "Content-Length required"})
            return None
        length = int(raw)
        if length > MAX_WEBHOOK_BYTES:
            # The body stays unread, so the connection cannot be reused.
            self.close_connection = True
            self._send_json(
                HTTPStatus.REQUEST_ENTITY_TOO_LARGE,
                {"error": f"body exceeds {MAX_WEBHOOK_BYTES} bytes"},
            )
            return None
        body = self.rfile.read(length)
        if len(body) < length:
            # The client went away mid-body: there is nobody left to answer.
            self.close_connection = True
            _log.debug("webserver.body_truncated", expected=length, received=len(body))
            return None
        return body

    # ------------------------------------------------------------------- responses

    def _send_text(self, status: HTTPStatus, text: str) -> None:
        self._send(status, f"{text}\n".encode(), "text/plain; charset=utf-8")

    def _send_json(
        self, status: int, payload: dict[str, str], *, headers: dict[str, str] | None = None
    ) -> None:
        body = json.dumps(payload).encode()
        self._send(status, body, "application/json", headers=headers)

    def _send(
        self,
        status: int,
        body: bytes,
        content_type: str,
        *,
        headers: dict[str, str] | None = None,
    ) -> None:
        self.send_response(status)
        self.send_header("Content-Type", content_type)
        self.send_header("Content-Length", str(len(body)))
        for name, value in (headers or {}).items():
            self.send_header(name, value)
        if self.close_connection:
            self.send_header("Connection", "close")
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, format: str, *args: object) -> None:  # noqa: A002 - stdlib signature
        """Replace stderr access lines with a debug event carrying no headers or bodies."""
        del format, args
        _log.debug("webserver.request", method=self.command, path=urlsplit(self.path).path)


@dataclass(frozen=True, slots=True)
class RunningServer:
    """Handle on the listener started by :func:`start_server`."""

    _server: _Server
    _thread: threading.Thread

    @property
    def port(self) -> int:
        """The bound port (useful when started with port 0)."""
        return int(self._server.server_address[1])

    def stop(self) -> None:
        """Stop accepting, finish the serve loop and close the socket."""
        self._server.shutdown()
        self._server.server_close()
        self._thread.join()


def start_server(
    *,
    bind: str,
    port: int,
    metrics_registry: CollectorRegistry,
    readiness: Callable[[], tuple[bool, str]],
    on_webhook: Callable[[WebhookEvent], None],
    webhook_secret: str | None,
) -> RunningServer:
    """Bind ``bind:port`` and serve on a daemon thread until :meth:`RunningServer.stop`."""
    server = (_Server6 if ":" in bind else _Server)((bind, port), _Handler)
    server.metrics_registry = metrics_registry
    server.readiness = readiness
    server.on_webhook = on_webhook
    server.webhook_secret = webhook_secret
    thread = threading.Thread(
        target=server.serve_forever, name="syncd-webserver", kwargs={"poll_interval": 0.2}
    )
    thread.daemon = True
    thread.start()
    _log.info("webserver.started", bind=bind, port=server.server_address[1])
    return RunningServer(server, thread)
