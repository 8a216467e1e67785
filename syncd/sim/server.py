"""The HTTP server of one instance: request ids, cookies/CSRF, faults, logs, dispatch.

Cross-cutting Harbor behaviour lives here: every ``/api/v2.0`` response carries ``X-Request-Id``
(the client's, echoed) and a ``sid`` cookie; 5xx bodies say only "internal server error".

CSRF (``src/server/middleware/csrf/csrf.go``): a request without a ``sid`` cookie skips the
check. One that carries ``sid`` goes through gorilla/csrf: its responses carry the token in
``X-Harbor-CSRF-Token`` and the secret in the ``_gorilla_csrf`` cookie, and a state-changing
request must send that header matching that cookie, else 403 ("CSRF token not found in
request" without the header, "CSRF token invalid" with a wrong one).
"""

from __future__ import annotations

import hmac
import json
import secrets
import time
import traceback
import uuid
from http import HTTPStatus
from http.cookies import SimpleCookie
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import TYPE_CHECKING, Any
from urllib.parse import parse_qsl, unquote, urlsplit

from syncd.sim import admin, api_artifact, api_catalog, api_project, api_replication
from syncd.sim.catalog import SimError
from syncd.sim.dataplane_proxy import serve_v2
from syncd.sim.web import Request, Response, Router

if TYPE_CHECKING:
    from syncd.sim.instance import SimInstance

__all__ = ["SimServer"]

API = "/api/v2.0"
SAFE_METHODS = {"GET", "HEAD", "OPTIONS", "TRACE"}
CSRF_COOKIE = "_gorilla_csrf"
CSRF_HEADER = "X-Harbor-CSRF-Token"
API_ROUTER = Router()
API_ROUTER.include(api_catalog.router)
API_ROUTER.include(api_artifact.router)
API_ROUTER.include(api_project.router)
API_ROUTER.include(api_replication.router)


def error_response(status: int, code: str, message: str) -> Response:
    """Harbor's error envelope (5xx messages reduced to "internal server error")."""
    if status >= HTTPStatus.INTERNAL_SERVER_ERROR:
        message = "internal server error"
    return Response(status, {"errors": [{"code": code, "message": message}]})


class SimServer(ThreadingHTTPServer):
    """A threading HTTP server bound to one ``SimInstance``."""

    daemon_threads = True
    allow_reuse_address = True
    # socketserver's default listen backlog is 5: a burst of replication flows and tasks (each
    # call a new connection) overflowed it, the kernel dropped SYNs and a peer call timed out,
    # failing its execution for good. Go's net/http listens with the system maximum.
    request_queue_size = 1024

    def __init__(self, address: tuple[str, int], inst: SimInstance) -> None:
        self.inst = inst
        super().__init__(address, SimHandler)


class SimHandler(BaseHTTPRequestHandler):
    """Turns raw HTTP into ``Request`` values and ``Response`` values back into HTTP."""

    protocol_version = "HTTP/1.1"
    # Headers and body go out in two sends: with Nagle on, the client's delayed ACK stalls every
    # response by ~40 ms. Harbor (Go net/http) sets TCP_NODELAY too.
    disable_nagle_algorithm = True
    server: SimServer

    def log_message(self, *args: Any) -> None:
        """Silence the stdlib's per-request stderr line."""

    def do_GET(self) -> None:
        """Dispatch GET."""
        self._handle()

    do_HEAD = do_POST = do_PUT = do_DELETE = do_PATCH = do_GET  # noqa: N815 - stdlib naming

    def _handle(self) -> None:
        if self.path in {"/v2", "/v2/"} or self.path.startswith("/v2/"):
            serve_v2(self)  # streams its own bodies (blob uploads), so before reading one
            return
        inst = self.server.inst
        length = int(self.headers.get("Content-Length") or 0)
        body = self.rfile.read(length) if length else b""
        if len(body) < length:  # the client went away mid-request: nothing to answer
            self.close_connection = True
            return
        if inst.faults.down == "refuse":
            self.close_connection = True  # drop the connection without an answer
            return
        if inst.faults.latency:
            time.sleep(inst.faults.latency)
        parts = urlsplit(self.path)
        if parts.path.startswith("/_sim/"):
            resp = self._admin(parts.path.removeprefix("/_sim/"), parts.query, body)
            inst.log_admin(self.command, self.path, resp.status)
        elif parts.path == API or parts.path.startswith(API + "/"):
            resp = self._api(parts.path.removeprefix(API), parts.query, body)
            inst.log_request(self.command, self.path, resp.status)
        else:
            resp = error_response(404, "NOT_FOUND", "not found")
        self._write(resp)

    def _request(self, path: str, query: str, body: bytes) -> Request:
        return Request(
            inst=self.server.inst,
            method=self.command,
            path=path,
            segments=unquote(path).strip("/").split("/"),
            query=dict(parse_qsl(query, keep_blank_values=True)),
            headers=self.headers,
            body=body,
        )

    def _api(self, rel: str, query: str, body: bytes) -> Response:
        req = self._request(rel, query, body)
        req.path = API + rel
        request_id = self.headers.get("X-Request-Id") or uuid.uuid4().hex
        cookies = SimpleCookie(self.headers.get("Cookie") or "")
        csrf_secret = cookies[CSRF_COOKIE].value if CSRF_COOKIE in cookies else ""
        if "sid" in cookies:
            csrf_secret = csrf_secret or secrets.token_hex(16)
            resp = self._csrf_failure(csrf_secret) or self._api_inner(req)
            resp.headers[CSRF_HEADER] = csrf_secret
        else:
            resp = self._api_inner(req)
        resp.headers["X-Request-Id"] = request_id
        resp.cookies.append(f"sid={secrets.token_hex(16)}; Path=/; HttpOnly")
        if "sid" in cookies:
            resp.cookies.append(f"{CSRF_COOKIE}={csrf_secret}; Path=/; HttpOnly; SameSite=Strict")
        return resp

    def _csrf_failure(self, secret: str) -> Response | None:
        """gorilla/csrf on a request that carries ``sid``: the header must match the cookie."""
        if self.command in SAFE_METHODS:
            return None
        sent = self.headers.get(CSRF_HEADER)
        if not sent:
            return error_response(403, "FORBIDDEN", "CSRF token not found in request")
        if not hmac.compare_digest(sent, secret):
            return error_response(403, "FORBIDDEN", "CSRF token invalid")
        return None

    def _api_inner(self, req: Request) -> Response:
        inst = req.inst
        injected = inst.faults.for_api()
        if injected is not None:
            resp = error_response(injected.status, injected.code, injected.message)
            resp.headers.update(dict(injected.headers))
            return resp
        req.principal = inst.principal(self.headers.get("Authorization"))
        return self._dispatch(req, API_ROUTER)

    def _admin(self, rel: str, query: str, body: bytes) -> Response:
        req = self._request(rel, query, body)
        req.principal = req.inst.principal(self.headers.get("Authorization"))
        return self._dispatch(req, admin.router)

    @staticmethod
    def _dispatch(req: Request, router: Router) -> Response:
        try:
            return router.dispatch(req)
        except SimError as exc:
            return error_response(exc.status, exc.code, exc.message)
        except Exception:
            req.inst.errors.append(traceback.format_exc())
            return error_response(500, "UNKNOWN", "internal server error")

    def _write(self, resp: Response) -> None:
        if resp.text is not None:
            payload, ctype = resp.text.encode(), "text/plain; charset=utf-8"
        elif resp.json_text is not None:
            payload, ctype = resp.json_text.encode(), "application/json"
        elif resp.body is not None:
            payload, ctype = json.dumps(resp.body).encode(), "application/json"
        else:
            payload, ctype = b"", "application/json"
        self.send_response(resp.status)
        for key, value in resp.headers.items():
            self.send_header(key, value)
        for cookie in resp.cookies:
            self.send_header("Set-Cookie", cookie)
        self.send_header("Content-Type", ctype)
        self.send_header("Content-Length", str(len(payload)))
        self.end_headers()
        if self.command != "HEAD":
            self.wfile.write(payload)
