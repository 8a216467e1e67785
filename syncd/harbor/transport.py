"""Transport-level facts about one instance: its TLS context, start-up warnings, failure kinds.

Owns how syncd verifies an instance's certificate (on by default; a CA bundle when given), the
warnings for an unchecked certificate or Basic credentials in clear to a non-loopback host, and
telling a failed request's cause apart (refused, timeout, TLS verification or handshake) with a
message that names the setting to change.
"""

from __future__ import annotations

import ipaddress
import ssl
import threading
from typing import TYPE_CHECKING

import httpx
import structlog

from syncd.errors import (
    HarborError,
    HarborProtocolError,
    HarborRefused,
    HarborTimeout,
    HarborTLSError,
    HarborUnavailable,
)

if TYPE_CHECKING:
    from syncd.settings import InstanceSettings

__all__ = ["TlsContexts", "classify", "tls_verify", "warn_if_insecure"]

log = structlog.get_logger("syncd.harbor.transport")


def tls_verify(settings: InstanceSettings) -> ssl.SSLContext | bool:
    """Return how httpx checks the certificate: off, with a CA bundle, or the default store."""
    if not settings.verify_tls:
        return False
    if settings.ca_bundle is not None:
        return ssl.create_default_context(cafile=str(settings.ca_bundle))
    return True


class TlsContexts:
    """One TLS context per distinct setting, shared by the clients of one runtime.

    Loading a CA store costs ~20 ms of CPU per context: instances with the same TLS settings
    share one. A new runtime (a configuration reload) builds new contexts, so a replaced CA
    bundle is read again.
    """

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._made: dict[tuple[bool, str | None], ssl.SSLContext | bool] = {}

    def verify(self, settings: InstanceSettings) -> ssl.SSLContext | bool:
        """Return `tls_verify`'s answer for ``settings``, made once per distinct setting."""
        bundle = None if settings.ca_bundle is None else str(settings.ca_bundle)
        key = (settings.verify_tls, bundle)
        with self._lock:
            if key not in self._made:
                made = tls_verify(settings)
                # httpx would load the default store for each client given True.
                self._made[key] = httpx.create_ssl_context() if made is True else made
            return self._made[key]


def _is_loopback(host: str) -> bool:
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def warn_if_insecure(name: str, settings: InstanceSettings) -> None:
    """Log a start-up warning when the certificate is not checked or Basic auth is in clear."""
    url = httpx.URL(settings.url)
    if url.scheme == "https" and not settings.verify_tls:
        log.warning(
            "harbor.tls_verification_disabled",
            instance=name,
            url=settings.url,
            remedy=f"set instances.{name}.ca_bundle and remove verify_tls: false",
        )
    if url.scheme == "http" and not _is_loopback(url.host):
        log.warning(
            "harbor.plaintext_credentials",
            instance=name,
            url=settings.url,
            remedy=f"use an https:// URL for instances.{name}.url",
        )


def _ssl_error(exc: BaseException) -> ssl.SSLError | None:
    """Find the ``ssl`` error in ``exc``'s cause chain (httpx wraps httpcore wraps ssl)."""
    seen: set[int] = set()
    current: BaseException | None = exc
    while current is not None and id(current) not in seen:
        if isinstance(current, ssl.SSLError):
            return current
        seen.add(id(current))
        current = current.__cause__ or current.__context__
    return None


def classify(exc: httpx.RequestError, *, name: str, url: str) -> tuple[type[HarborError], str]:
    """Pick the error class and a one-line message for a request that got no usable response."""
    tls = _ssl_error(exc)
    if isinstance(tls, ssl.SSLCertVerificationError):
        reason = tls.verify_message or tls.reason or str(tls)
        return HarborTLSError, (
            f"TLS certificate verification failed for {name} ({url}): {reason}; "
            f"set instances.{name}.ca_bundle"
        )
    if tls is not None:
        return HarborTLSError, (
            f"TLS handshake with {name} ({url}) failed: {tls.reason or tls}; "
            f"check that instances.{name}.url uses the scheme and port Harbor serves"
        )
    cls: type[HarborError] = HarborProtocolError
    if isinstance(exc, httpx.TimeoutException):
        cls = HarborTimeout
    elif isinstance(exc, httpx.TransportError):
        cls = HarborRefused if _refused(exc) else HarborUnavailable
    return cls, f"no usable response from instance {name}: {type(exc).__name__}: {exc}"


def _refused(exc: httpx.RequestError) -> bool:
    """Whether the cause chain (httpx -> httpcore -> OSError) holds a refused connection."""
    cause: BaseException | None = exc
    seen: set[int] = set()
    while cause is not None and id(cause) not in seen:
        seen.add(id(cause))
        if isinstance(cause, ConnectionRefusedError):
            return True
        cause = cause.__cause__ or cause.__context__
    return False
