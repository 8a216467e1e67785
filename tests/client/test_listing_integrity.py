"""A paged listing proves itself complete or raises; transport failures keep their cause."""

from __future__ import annotations

import socket
import threading
from http.server import BaseHTTPRequestHandler, HTTPServer
from typing import TYPE_CHECKING
from urllib.parse import parse_qs

import httpx
import pytest
from pydantic import SecretStr

from syncd.errors import (
    HarborProtocolError,
    HarborRefused,
    HarborTimeout,
    HarborTLSError,
    HarborUnavailable,
    IncompleteListingError,
)
from syncd.harbor.client import HarborClient
from syncd.harbor.session import API

if TYPE_CHECKING:
    from collections.abc import Iterator

from syncd.settings import InstanceSettings

REPOS = f"{API}/projects/lib/repositories"


def _repo(name: str) -> dict[str, object]:
    return {"id": 1, "name": name, "artifact_count": 1, "update_time": "2026-01-01T00:00:00Z"}


def _rows(start: int, stop: int) -> list[dict[str, object]]:
    return [_repo(f"lib/r{i}") for i in range(start, stop)]


def _pages(pages: dict[int, list[dict[str, object]]], total: int | dict[int, int]):
    def respond(request: httpx.Request) -> httpx.Response:
        page = int(parse_qs(request.url.query.decode())["page"][0])
        count = total if isinstance(total, int) else total[page]
        return httpx.Response(200, json=pages.get(page, []), headers={"X-Total-Count": str(count)})

    return respond


@pytest.mark.parametrize(
    "case",
    [
        ({1: _rows(0, 100), 2: _rows(100, 151)}, 100, "rows beyond"),  # understated total
        ({1: _rows(0, 100), 2: _rows(100, 151)}, 120, "151 rows received"),
        ({1: _rows(0, 100), 2: _rows(100, 130)}, 151, "130 rows received"),  # short page
        ({1: _rows(0, 100), 2: [_repo("lib/r99"), *_rows(100, 150)]}, 151, "listed twice"),
        ({1: _rows(0, 100), 2: _rows(100, 151)}, {1: 151, 2: 152}, "moved from 151 to 152"),
    ],
    ids=["understated", "lying-total", "short-page", "repeated-row", "total-moved"],
)
def test_listing_that_cannot_be_proven_complete_raises(client, router, sent, case):
    """Rows that disagree with X-Total-Count, or repeat, make the listing incomplete (twice)."""
    pages, total, message = case
    router.get(REPOS).mock(side_effect=_pages(pages, total))
    with pytest.raises(IncompleteListingError, match=message):
        client.list_repositories("lib")
    assert {parse_qs(r.url.query.decode())["page"][0] for r in sent} >= {"1", "2"}
    assert sum(1 for r in sent if "page=1&" in r.url.query.decode() + "&") == 2  # re-listed once


def test_listing_recovers_when_the_second_attempt_is_consistent(client, router, sent):
    """A row repeated by a push between pages is healed by listing once more."""
    bad = _pages({1: _rows(0, 100), 2: [_repo("lib/r99"), *_rows(100, 150)]}, 151)
    good = _pages({1: _rows(0, 100), 2: _rows(100, 151)}, 151)
    calls = iter([bad, bad, good, good])
    router.get(REPOS).mock(side_effect=lambda request: next(calls)(request))  # noqa: PLW0108
    assert len(client.list_repositories("lib")) == 151


@pytest.mark.parametrize(
    "response",
    [
        httpx.Response(200, text="<html>login</html>", headers={"X-Total-Count": "1"}),
        httpx.Response(200, text='[{"id": 1, "na', headers={"X-Total-Count": "1"}),
        httpx.Response(200, json={"items": []}, headers={"X-Total-Count": "0"}),
    ],
    ids=["html-200", "truncated-json", "not-an-array"],
)
def test_a_page_that_is_not_a_json_array_is_a_protocol_error(client, router, response):
    """HTML from a proxy, malformed JSON or an object instead of an array fail the listing."""
    router.get(REPOS).mock(return_value=response)
    with pytest.raises(HarborProtocolError):
        client.list_repositories("lib")


@pytest.mark.parametrize(
    ("failure", "expected"),
    [
        (httpx.ConnectError("refused"), HarborUnavailable),
        (httpx.ReadTimeout("slow"), HarborTimeout),
        (httpx.ConnectTimeout("slow"), HarborTimeout),
    ],
)
def test_transport_failures_are_classified(client, router, failure, expected):
    """Timeouts are told apart from other transport failures."""
    router.get(REPOS).mock(side_effect=failure)
    with pytest.raises(expected):
        client.list_repositories("lib")


@pytest.fixture
def plain_http_port() -> Iterator[int]:
    """Serve plain HTTP (no TLS) on a loopback port; yield the port."""

    class Handler(BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            self.send_response(200)
            self.end_headers()

        def log_message(self, *_args: object) -> None:
            pass

    server = HTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield server.server_address[1]
    server.shutdown()
    server.server_close()


def _closed_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@pytest.mark.parametrize(
    ("scheme", "expected"), [("http", HarborRefused), ("https", HarborTLSError)]
)
def test_refused_and_tls_are_told_apart(plain_http_port, scheme, expected):
    """A closed port is ``refused``; https against a plain-HTTP server is a TLS failure."""
    port = _closed_port() if scheme == "http" else plain_http_port
    settings = InstanceSettings(
        url=f"{scheme}://127.0.0.1:{port}", username="u", password=SecretStr("p")
    )
    with HarborClient(name="a", settings=settings) as client, pytest.raises(expected):
        client.list_repositories("lib")
