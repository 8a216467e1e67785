"""Fixtures for the Harbor client tests: a respx router behind a spec-validating transport."""

from __future__ import annotations

import json
from typing import TYPE_CHECKING

import httpx
import pytest
import respx
import stamina
from pydantic import SecretStr

from syncd.harbor.client import HarborClient
from syncd.settings import InstanceSettings
from tests import harbor_spec

if TYPE_CHECKING:
    from syncd.harbor.session import RequestRecord

BASE_URL = "https://127.0.0.1:8443"
PASSWORD = "s3cr3t-Pa55word"


@pytest.fixture(autouse=True)
def _stamina_testing():
    """Retries without backoff, three attempts."""
    with stamina.set_testing(True, attempts=3):
        yield


@pytest.fixture
def password() -> str:
    """Return the fake instance's password (to prove it never leaks)."""
    return PASSWORD


@pytest.fixture
def instance_settings() -> InstanceSettings:
    """Describe one fake instance reached with a robot account."""
    return InstanceSettings(
        url=BASE_URL, username="robot$syncd", password=SecretStr(PASSWORD), max_concurrency=2
    )


@pytest.fixture
def router():
    """Route requests with respx; unmatched requests fail the test."""
    return respx.Router(base_url=BASE_URL, assert_all_mocked=True, assert_all_called=False)


@pytest.fixture
def sent() -> list[httpx.Request]:
    """Every request the client sent, in order."""
    return []


@pytest.fixture
def records() -> list[RequestRecord]:
    """Every request record the client reported."""
    return []


@pytest.fixture
def transport(router, sent):
    """Check each API request against Harbor's spec, then route it."""

    def handler(request: httpx.Request) -> httpx.Response:
        # A copy: a retried request is the same object, re-sent with a new X-Request-Id.
        sent.append(
            httpx.Request(
                request.method, request.url, headers=request.headers.copy(), content=request.content
            )
        )
        if not request.url.path.startswith("/v2/"):
            body = json.loads(request.content) if request.content else None
            harbor_spec.validate_request(request.method, str(request.url), body)
        response: httpx.Response = router.handler(request)
        return response

    return httpx.MockTransport(handler)


@pytest.fixture
def client(instance_settings, transport, records):
    """Talk to the router as instance ``a``."""
    with HarborClient(
        name="a", settings=instance_settings, transport=transport, on_request=records.append
    ) as c:
        yield c
