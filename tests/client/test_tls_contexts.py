"""One TLS context per distinct TLS setting, shared by a runtime's clients (``TlsContexts``)."""

from __future__ import annotations

import ssl
from typing import Any

import certifi
import pytest
from pydantic import SecretStr

from syncd.harbor.transport import TlsContexts
from syncd.settings import InstanceSettings


def _settings(url: str, **tls: Any) -> InstanceSettings:
    return InstanceSettings(url=url, username="u", password=SecretStr("p"), **tls)


@pytest.mark.parametrize(
    ("first", "second", "one_context"),
    [
        ({}, {}, True),
        ({"ca_bundle": certifi.where()}, {"ca_bundle": certifi.where()}, True),
        ({}, {"ca_bundle": certifi.where()}, False),
    ],
)
def test_equal_settings_share_one_context(first, second, one_context):
    """Two instances with the same TLS settings get the same context object."""
    contexts = TlsContexts()
    a = contexts.verify(_settings("https://a.example:443", **first))
    b = contexts.verify(_settings("https://b.example:443", **second))
    assert isinstance(a, ssl.SSLContext)
    assert isinstance(b, ssl.SSLContext)
    assert (a is b) is one_context
    assert a.verify_mode is ssl.CERT_REQUIRED


def test_verification_off_stays_off():
    """``verify_tls: false`` is passed on as False, never as a context."""
    settings = _settings("http://127.0.0.1:8080", verify_tls=False)
    assert TlsContexts().verify(settings) is False
