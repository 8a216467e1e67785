"""The syncd exception tree and the retry predicate stamina consults.

Pure: no httpx, no logging. Harbor errors carry data (status, request id, Retry-After) so callers
decide on values, not on message text. Messages never contain credentials: URLs are reduced to
their path and response bodies are truncated. The body of an authentication failure (401, 403,
407) is kept on the ``body`` attribute only, never in ``str(exc)``: such a page may echo the
request's ``Authorization`` header or even the password, and ``str(exc)`` reaches logs, pass
results and the CLI's error line (which also mask known secrets and credential patterns).
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum
from urllib.parse import urlsplit

__all__ = [
    "BODY_LIMIT",
    "ConfigError",
    "Failure",
    "FailureKind",
    "HarborAuthError",
    "HarborClientError",
    "HarborConflict",
    "HarborError",
    "HarborForbidden",
    "HarborNotFound",
    "HarborPreconditionFailed",
    "HarborProtocolError",
    "HarborRateLimited",
    "HarborServerError",
    "HarborTLSError",
    "HarborUnavailable",
    "HarborUnprocessable",
    "ListenerError",
    "StateError",
    "SyncdError",
    "describe_failure",
    "error_class_for_status",
    "is_retryable",
    "truncate_body",
]

BODY_LIMIT = 256
"""Response bodies kept in errors are cut to this many characters."""

_RETRYABLE_STATUSES = frozenset({502, 503, 504})
_ECHOING_STATUSES = frozenset({401, 403, 407})
"""Authentication failures, whose pages may echo the credentials that were sent."""


class SyncdError(Exception):
    """Root of every error syncd raises on purpose."""


class ConfigError(SyncdError):
    """The configuration is invalid; the message names every bad field path."""


class StateError(SyncdError):
    """The local state database is unusable (corrupt, locked, wrong schema)."""


class ListenerError(SyncdError):
    """syncd's own HTTP listener cannot start (port in use, address not on this host)."""


def truncate_body(body: str, *, limit: int = BODY_LIMIT) -> str:
    """Cut ``body`` to ``limit`` characters, with a marker saying how much was dropped."""
    if len(body) <= limit:
        return body
    return f"{body[:limit]}...[{len(body) - limit} more chars]"


def _path_only(url: str) -> str:
    # A full URL may carry userinfo (``https://user:pw@host``); only the path is ever kept.
    return urlsplit(url).path if "://" in url else url.split("?", 1)[0]


class HarborError(SyncdError):
    """A Harbor request failed; carries the request and response facts callers need."""

    def __init__(
        self,
        message: str,
        *,
        instance: str = "",
        method: str = "",
        url: str = "",
        status: int | None = None,
        body: str = "",
        request_id: str = "",
        retry_after: float | None = None,
    ) -> None:
        super().__init__(message)
        self.message = message
        self.instance = instance
        self.method = method
        self.url = _path_only(url)
        self.status = status
        self.body = truncate_body(body)
        self.request_id = request_id
        self.retry_after = retry_after

    def __str__(self) -> str:
        parts = [self.message]
        if self.method or self.url:
            parts.append(f"[{self.instance} {self.method} {self.url}".rstrip() + "]")
        if self.status is not None:
            parts.append(f"status={self.status}")
        if self.request_id:
            parts.append(f"request_id={self.request_id}")
        if self.body and self.status not in _ECHOING_STATUSES:
            parts.append(f"body={self.body!r}")
        return " ".join(parts)

    def __repr__(self) -> str:
        return f"{type(self).__name__}({str(self)!r})"


class HarborClientError(HarborError):
    """Harbor answered 4xx: the request itself is wrong or not allowed; never retried."""


class HarborAuthError(HarborClientError):
    """401, or Harbor silently treated the credentials as anonymous."""


class HarborForbidden(HarborClientError):  # noqa: N818 - names fixed by the design
    """403: missing permission, or a CSRF rejection (a session cookie was sent back)."""


class HarborNotFound(HarborClientError):  # noqa: N818 - names fixed by the design
    """404."""


class HarborConflict(HarborClientError):  # noqa: N818 - names fixed by the design
    """409."""


class HarborPreconditionFailed(HarborClientError):  # noqa: N818 - names fixed by the design
    """412, e.g. starting an execution of a disabled policy."""


class HarborUnprocessable(HarborClientError):  # noqa: N818 - names fixed by the design
    """422: go-swagger rejected a parameter (e.g. page_size > 100)."""


class HarborRateLimited(HarborClientError):  # noqa: N818 - names fixed by the design
    """429: a proxy in front of Harbor (or an upstream registry) is throttling us."""


class HarborServerError(HarborError):
    """Harbor answered 5xx."""


class HarborUnavailable(HarborError):  # noqa: N818 - names fixed by the design
    """No usable HTTP response: connection refused, timeout, TLS failure."""


class HarborTLSError(HarborUnavailable):
    """The TLS handshake failed (certificate not trusted, name mismatch); retrying cannot help."""


class HarborRefused(HarborUnavailable):
    """The connection was refused: nothing listens on the instance's port."""


class HarborTimeout(HarborUnavailable):
    """Connecting or reading took longer than the instance's timeouts."""


class HarborProtocolError(HarborError):
    """The response does not match what the API promises (bad JSON, missing field or header)."""


class IncompleteListingError(HarborProtocolError):
    """A paged listing cannot be proven complete: never act on it, never cache it."""


_BY_STATUS: dict[int, type[HarborError]] = {
    401: HarborAuthError,
    403: HarborForbidden,
    404: HarborNotFound,
    409: HarborConflict,
    412: HarborPreconditionFailed,
    422: HarborUnprocessable,
    429: HarborRateLimited,
}


def error_class_for_status(status: int) -> type[HarborError]:
    """Pick the exception class for an unexpected HTTP status."""
    if status in _BY_STATUS:
        return _BY_STATUS[status]
    if 400 <= status < 500:  # noqa: PLR2004 - the 4xx class boundary
        return HarborClientError
    if status >= 500:  # noqa: PLR2004 - the 5xx class boundary
        return HarborServerError
    return HarborProtocolError


def is_retryable(exc: BaseException) -> bool | float:
    """Stamina ``on=`` predicate: transient failures retry; a Retry-After becomes the backoff."""
    if isinstance(exc, HarborTLSError):
        return False
    if isinstance(exc, HarborUnavailable):
        return True
    transient = isinstance(exc, HarborRateLimited) or (
        isinstance(exc, HarborServerError) and exc.status in _RETRYABLE_STATUSES
    )
    if not transient:
        return False
    assert isinstance(exc, HarborError)  # narrowed above; keeps mypy exact
    return exc.retry_after if exc.retry_after is not None else True


class FailureKind(StrEnum):
    """What went wrong, as the CLI reports it (``{"error": {"kind": ...}}``)."""

    CONFIG = "config"
    AUTH = "auth"
    TLS = "tls"
    UNAVAILABLE = "unavailable"
    HARBOR = "harbor"
    STATE = "state"
    LISTENER = "listener"
    IO = "io"
    INTERNAL = "internal"


@dataclass(frozen=True, slots=True)
class Failure:
    """One failed command told to the operator: kind, exit code and a line with a remedy."""

    kind: FailureKind
    exit_code: int
    message: str


EXIT_RUNTIME, EXIT_CONFIG = 2, 3


def describe_failure(exc: BaseException) -> Failure:
    """Map any exception escaping a command onto one line naming what failed and the remedy.

    The line is not yet redacted (the caller knows the secret values); Harbor response bodies
    are never part of it (see :class:`HarborError`).
    """
    if isinstance(exc, ConfigError):
        return Failure(FailureKind.CONFIG, EXIT_CONFIG, f"configuration error: {exc}")
    if isinstance(exc, HarborError):
        return _harbor_failure(exc)
    if isinstance(exc, StateError):
        return Failure(
            FailureKind.STATE,
            EXIT_RUNTIME,
            f"{exc}; check state.path (its directory must be "
            "writable by syncd) or wait for the other process",
        )
    if isinstance(exc, ListenerError):
        return Failure(FailureKind.LISTENER, EXIT_RUNTIME, str(exc))
    if isinstance(exc, OSError):
        where = f"{exc.filename}: " if exc.filename else ""
        return Failure(
            FailureKind.IO,
            EXIT_RUNTIME,
            f"{where}{exc.strerror or exc}; check that the file "
            "(e.g. state.path or its .lock) exists and is owned and writable by syncd's user",
        )
    return Failure(
        FailureKind.INTERNAL,
        EXIT_RUNTIME,
        f"internal error: {type(exc).__name__}: {exc}; "
        "rerun with SYNCD_LOGGING__LEVEL=debug for the traceback and report it",
    )


def _harbor_failure(exc: HarborError) -> Failure:
    inst = exc.instance or "?"
    if isinstance(exc, HarborTLSError):
        return Failure(FailureKind.TLS, EXIT_RUNTIME, str(exc))
    if isinstance(exc, HarborAuthError):
        remedy = (
            f"; check instances.{inst}.username and instances.{inst}.password (or password_file)"
        )
        text = f"authentication failed: {exc}{'' if 'check the' in exc.message else remedy}"
        return Failure(FailureKind.AUTH, EXIT_RUNTIME, text)
    if isinstance(exc, HarborForbidden):
        remedy = "grant the account the permissions listed in README (Configuration)"
        return Failure(FailureKind.HARBOR, EXIT_RUNTIME, f"{exc}; {remedy}")
    if isinstance(exc, HarborUnavailable):
        remedy = f"check instances.{inst}.url and that the instance is reachable"
        return Failure(FailureKind.UNAVAILABLE, EXIT_RUNTIME, f"{exc}; {remedy}")
    remedy = "look the request id up in Harbor's core log"
    return Failure(FailureKind.HARBOR, EXIT_RUNTIME, f"{exc}; {remedy}")
