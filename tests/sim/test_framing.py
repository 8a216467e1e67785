"""A request whose body stops short of its Content-Length is dropped, never half-handled."""

from __future__ import annotations

import socket
from typing import TYPE_CHECKING
from urllib.parse import urlsplit

import pytest

if TYPE_CHECKING:
    from syncd.sim import SimInstance


@pytest.mark.parametrize(
    "path", ["/_sim/replicate-in", "/_sim/prepare-push", "/api/v2.0/replication/executions"]
)
def test_truncated_body_gets_no_answer_and_no_error(sim: SimInstance, path: str) -> None:
    """The client went away mid-body: no response, nothing applied, nothing logged as an error."""
    url = urlsplit(sim.url)
    with socket.create_connection((url.hostname, url.port), timeout=10) as conn:
        conn.sendall(
            f"POST {path} HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n"
            'Content-Length: 100\r\n\r\n{"repo'.encode()
        )
        conn.shutdown(socket.SHUT_WR)
        assert conn.recv(1024) == b""
    assert sim.errors == []  # the fixture checks it again after the test
