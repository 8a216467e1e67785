"""Loopback stand-ins for a misbehaving Harbor: an echoing 401 and a self-signed TLS server."""

from __future__ import annotations

import base64
import http.server
import ssl
import subprocess
import threading
from contextlib import contextmanager
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from collections.abc import Iterator
    from pathlib import Path


class _EchoingUnauthorized(http.server.BaseHTTPRequestHandler):
    """Answers /ping and /health, and everything else 401 echoing the credentials it got."""

    def do_GET(self) -> None:
        """Echo ``Authorization`` and the decoded password, as a careless proxy might."""
        if self.path.endswith("/ping"):
            self._answer(200, b"Pong")
            return
        if self.path.endswith("/health"):
            self._answer(200, b'{"status": "healthy", "components": []}')
            return
        auth = self.headers.get("Authorization", "")
        decoded = base64.b64decode(auth.removeprefix("Basic ")).decode(errors="replace")
        self._answer(401, f"denied: Authorization={auth} user:password={decoded}".encode())

    def _answer(self, status: int, body: bytes) -> None:
        self.send_response(status)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, format: str, *args: object) -> None:  # noqa: A002
        """Stay quiet."""


@contextmanager
def serving(*, tls: tuple[Path, Path] | None = None) -> Iterator[str]:
    """Run the echoing server on 127.0.0.1 (optionally behind TLS); yield its base URL."""
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), _EchoingUnauthorized)
    scheme = "http"
    if tls is not None:
        context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
        context.load_cert_chain(*map(str, tls))
        server.socket = context.wrap_socket(server.socket, server_side=True)
        scheme = "https"
    thread = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.05})
    thread.start()
    try:
        yield f"{scheme}://127.0.0.1:{server.server_address[1]}"
    finally:
        server.shutdown()
        server.server_close()
        thread.join()


def self_signed(directory: Path, *, name: str = "localhost") -> tuple[Path, Path]:
    """Make a self-signed certificate for ``name`` with openssl; return (cert, key)."""
    cert, key = directory / "cert.pem", directory / "key.pem"
    subprocess.run(
        [
            "openssl",
            "req",
            "-x509",
            "-newkey",
            "rsa:2048",
            "-nodes",
            "-days",
            "1",
            "-subj",
            f"/CN={name}",
            "-addext",
            f"subjectAltName=DNS:{name}",
            "-keyout",
            str(key),
            "-out",
            str(cert),
        ],
        check=True,
        capture_output=True,
    )
    return cert, key
