"""The HTTP core under ``HarborClient``: one instance's connection, errors, retries, pages.

Owns what every endpoint shares: basic auth with cookies never stored (a ``sid`` cookie sent back
turns every write into a CSRF 403), a fresh ``X-Request-Id`` per request, a per-instance
concurrency bound, mapping failures onto ``syncd.errors`` (their kinds and TLS context in
``transport``), and stamina retries for idempotent reads only. Listings that prove themselves
complete come from the ``paging`` mixin. Knows no endpoint; ``client`` does.
"""

from __future__ import annotations

import http.cookiejar
import threading
import time
import uuid
from dataclasses import dataclass
from datetime import UTC, datetime
from email.utils import parsedate_to_datetime
from typing import TYPE_CHECKING, Any, TypeVar

import httpx
import stamina
import structlog

from syncd import __version__
from syncd.errors import (
    HarborError,
    HarborProtocolError,
    HarborServerError,
    HarborTLSError,
    error_class_for_status,
    is_retryable,
)
from syncd.harbor.paging import PAGE_SIZE, PagedReads
from syncd.harbor.pool import SharedPool
from syncd.harbor.transport import TlsContexts, classify, tls_verify, warn_if_insecure

if TYPE_CHECKING:
    from collections.abc import Callable, Collection, Iterable, Mapping

    from syncd.settings import InstanceSettings

__all__ = [
    "API",
    "PAGE_SIZE",
    "HarborSession",
    "RequestRecord",
    "parse_retry_after",
]

API = "/api/v2.0"

_IDEMPOTENT = frozenset({"GET", "HEAD"})
_log = structlog.get_logger(__name__)


T = TypeVar("T")
R = TypeVar("R")


@dataclass(frozen=True, slots=True)
class RequestRecord:
    """One finished request attempt, for metrics (low-cardinality fields only)."""

    instance: str
    method: str
    kind: str
    status_class: str
    """``2xx`` | ``3xx`` | ``4xx`` | ``5xx`` | ``error`` (no response)."""
    seconds: float
    received_bytes: int = 0
    """Size of the response body as received (before decompression; 0 without a response)."""


class _NeverStoreJar(http.cookiejar.CookieJar):
    """A cookie jar that drops everything it is offered."""

    def __init__(self) -> None:
        super().__init__(policy=http.cookiejar.DefaultCookiePolicy(allowed_domains=[]))

    def set_cookie(self, cookie: http.cookiejar.Cookie) -> None:
        """Drop the cookie."""

    def extract_cookies(self, response: Any, request: Any) -> None:
        """Drop every ``Set-Cookie``."""


def parse_retry_after(value: str | None, *, now: datetime | None = None) -> float | None:
    """Seconds to wait from a ``Retry-After`` header (delta-seconds or HTTP date), or None."""
    if not value:
        return None
    value = value.strip()
    try:
        return max(0.0, float(value))
    except ValueError:
        pass
    try:
        when = parsedate_to_datetime(value)
    except (TypeError, ValueError):
        return None
    now = now or datetime.now(UTC)
    return max(0.0, (when - now).total_seconds())


def _status_class(status: int) -> str:
    return f"{status // 100}xx"


class HarborSession(PagedReads):
    """Sends requests to one Harbor instance; endpoint methods live in ``HarborClient``."""

    def __init__(
        self,
        *,
        name: str,
        settings: InstanceSettings,
        transport: httpx.BaseTransport | None = None,
        on_request: Callable[[RequestRecord], None] | None = None,
        retry_attempts: int = 4,
        retry_timeout: float = 30.0,
        tls: TlsContexts | None = None,
    ) -> None:
        self.name = name
        self._url = settings.url
        warn_if_insecure(name, settings)
        self._on_request = on_request
        self._retry_attempts = retry_attempts
        self._retry_timeout = retry_timeout
        self._slots = threading.BoundedSemaphore(settings.max_concurrency)
        self._pool = SharedPool(settings.max_concurrency, name=f"harbor-{name}")
        self._count_lock = threading.Lock()
        self._count = 0
        self._http = httpx.Client(
            base_url=settings.url,
            auth=httpx.BasicAuth(settings.username, settings.secret()),
            headers={"User-Agent": f"syncd/{__version__}", "Accept": "application/json"},
            cookies=_NeverStoreJar(),
            timeout=httpx.Timeout(settings.read_timeout, connect=settings.connect_timeout),
            verify=tls_verify(settings) if tls is None else tls.verify(settings),
            transport=transport,
            follow_redirects=False,
        )

    def __repr__(self) -> str:
        return f"<{type(self).__name__} {self.name} {self._http.base_url}>"

    @property
    def request_count(self) -> int:
        """Request attempts sent so far (retries count individually)."""
        with self._count_lock:
            return self._count

    def close(self) -> None:
        """Close the connection pool and stop the instance's threads."""
        self._pool.close()
        self._http.close()

    def map_concurrent(self, fn: Callable[[T], R], items: Iterable[T]) -> list[R]:
        """``[fn(i) for i in items]`` on up to ``max_concurrency`` threads, order preserved.

        One pool per instance, reused by every listing and pass (nested maps included).
        """
        return self._pool.map(fn, list(items))

    # ----------------------------------------------------------------------- requests

    def request(
        self,
        method: str,
        path: str,
        *,
        kind: str,
        params: Mapping[str, str | int] | None = None,
        json: Any = None,
        headers: Mapping[str, str] | None = None,
        allow: Collection[int] = (),
        retry: bool = True,
    ) -> httpx.Response:
        """Send one request (GET/HEAD retried on transient errors); 2xx or ``allow`` returns."""
        request = self._http.build_request(
            method, path, params=dict(params) if params else None, json=json, headers=headers
        )
        if not retry or method.upper() not in _IDEMPOTENT:
            # Writes are never retried: a POST that timed out may have started an execution.
            return self._send_once(request, kind=kind, allow=allow)
        for attempt in stamina.retry_context(
            on=self._retry_predicate, attempts=self._retry_attempts, timeout=self._retry_timeout
        ):
            with attempt:
                return self._send_once(request, kind=kind, allow=allow)
        raise AssertionError("unreachable: stamina re-raises the last error")  # pragma: no cover

    def _retry_predicate(self, exc: Exception) -> bool | float:
        if isinstance(exc, HarborTLSError):
            return False  # a certificate does not become trusted by asking again
        verdict = is_retryable(exc)
        if verdict is False and isinstance(exc, HarborServerError):
            verdict = True  # a read is safe to repeat: one 500 must not mark an instance down
        if isinstance(verdict, bool):
            return verdict
        # A huge Retry-After must not park a pass; the retry timeout bounds the wait.
        return min(verdict, self._retry_timeout)

    def _send_once(
        self, request: httpx.Request, *, kind: str, allow: Collection[int]
    ) -> httpx.Response:
        # A fresh id per attempt, so each retry can be found in Harbor's core log on its own.
        request.headers["X-Request-Id"] = uuid.uuid4().hex
        started = time.monotonic()
        status_class, received = "error", 0
        try:
            with self._slots:
                self._bump()
                response = self._http.send(request)
            # httpx binds the body stream to its response (a reference cycle), so every page
            # would wait for the cyclic collector, or leak for a pass once frozen (observe
            # freezes the growing catalog). The body is read and the stream closed already.
            response.stream = _EMPTY_STREAM
            status_class, received = (
                _status_class(response.status_code),
                response.num_bytes_downloaded,
            )
        except httpx.RequestError as exc:
            raise self._transport_error(exc, request) from None
        finally:
            self._record(
                RequestRecord(
                    self.name,
                    request.method,
                    kind,
                    status_class,
                    time.monotonic() - started,
                    received,
                )
            )
        if response.is_success or response.status_code in allow:
            return response
        raise self._error(response)

    def _transport_error(self, exc: httpx.RequestError, request: httpx.Request) -> HarborError:
        cls, message = classify(exc, name=self.name, url=self._url)
        if cls is HarborTLSError:
            # A probe swallows the error (the instance reads as down): say why, every time.
            _log.warning("harbor.tls_failed", instance=self.name, url=self._url, error=message)
        return cls(
            message,
            instance=self.name,
            method=request.method,
            url=_raw_path(request),
            request_id=request.headers["X-Request-Id"],
        )

    def _bump(self) -> None:
        with self._count_lock:
            self._count += 1

    def _record(self, record: RequestRecord) -> None:
        if self._on_request is not None:
            self._on_request(record)

    def _error(self, response: httpx.Response) -> HarborError:
        status = response.status_code
        cls = error_class_for_status(status)
        return cls(
            f"instance {self.name} answered {status} {response.reason_phrase}",
            instance=self.name,
            method=response.request.method,
            url=_raw_path(response.request),
            status=status,
            body=response.text,
            request_id=response.headers.get(
                "X-Request-Id", response.request.headers["X-Request-Id"]
            ),
            retry_after=parse_retry_after(response.headers.get("Retry-After")),
        )

    # ----------------------------------------------------------------------- JSON helpers

    def protocol_error(self, response: httpx.Response, message: str) -> HarborProtocolError:
        """Build a ``HarborProtocolError`` about ``response``."""
        return HarborProtocolError(
            f"instance {self.name}: {message}",
            instance=self.name,
            method=response.request.method,
            url=_raw_path(response.request),
            status=response.status_code,
            body=response.text,
            request_id=response.headers.get(
                "X-Request-Id", response.request.headers["X-Request-Id"]
            ),
        )

    def decoded(self, response: httpx.Response, decode: Callable[[bytes], R]) -> R:
        """Decode the raw body with ``decode``; its protocol error gains the request's facts."""
        try:
            return decode(response.content)
        except HarborProtocolError as exc:
            raise self.protocol_error(response, str(exc)) from None


_EMPTY_STREAM = httpx.ByteStream(b"")


def _raw_path(request: httpx.Request) -> str:
    # ``url.path`` is decoded once, which would show a%2Fb for the a%252Fb actually sent.
    return request.url.raw_path.decode("ascii").split("?", 1)[0]
