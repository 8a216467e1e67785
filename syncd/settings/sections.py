"""The sections of the settings tree: one frozen pydantic model per YAML section.

Each field is documented where it is declared (``use_attribute_docstrings``) and validated with
a message naming field and value; secrets are ``SecretStr`` read from a value, a file
(``*_file``) or the environment, and never shown.
"""

from __future__ import annotations

import ipaddress
import ssl
from collections.abc import Mapping
from pathlib import Path
from typing import Any, Literal, Self
from urllib.parse import parse_qs, urlsplit

from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    PrivateAttr,
    SecretStr,
    field_validator,
    model_validator,
)

from syncd.core.model import ReconcileMode
from syncd.core.radius import RepairMode

__all__ = [
    "HealthSettings",
    "HttpSettings",
    "InstanceSettings",
    "LoggingSettings",
    "ParitySettings",
    "ReconcileSettings",
    "ScopeSettings",
    "StateSettings",
]


def _read_secret_file(path: Path | None, *, field: str) -> SecretStr | None:
    """Read a secret file (stripped); an unreadable file names the field, never the value."""
    if path is None:
        return None
    try:
        value = path.read_text(encoding="utf-8").strip()
    except OSError as exc:
        raise ValueError(f"{field}: cannot read {path} ({exc.strerror or exc})") from None
    if not value:
        # An empty webhook secret would silently turn authentication off.
        raise ValueError(f"{field}: {path} is empty; put the secret in it")
    return SecretStr(value)


class _Section(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True, use_attribute_docstrings=True)


class InstanceSettings(_Section):
    """One Harbor instance syncd talks to."""

    url: str
    """Base URL, http or https, with no path (``https://harbor-a.example.com``)."""
    username: str
    """User or robot account name (``robot$syncd`` works the same as a user)."""
    password: SecretStr | None = None
    """Password or robot secret; exactly one of ``password`` / ``password_file``."""
    password_file: Path | None = None
    """File holding the password (read once at load, surrounding whitespace stripped)."""
    ca_bundle: Path | None = None
    """PEM bundle used to verify the server certificate instead of the system store."""
    verify_tls: bool = True
    """Verify the server certificate; turn off only for throwaway test setups."""
    connect_timeout: float = Field(default=5.0, gt=0)
    """Seconds to establish a connection."""
    read_timeout: float = Field(default=30.0, gt=0)
    """Seconds to wait for response data."""
    max_concurrency: int = Field(default=8, ge=1, le=64)
    """Maximum requests in flight to this instance at once."""
    cluster: str | None = None
    """Instances with the same cluster name share one database and storage (parity probe)."""

    @field_validator("url")
    @classmethod
    def _check_url(cls, value: str) -> str:
        parts = urlsplit(value)
        if parts.scheme not in {"http", "https"} or not parts.hostname:
            raise ValueError("must be an http:// or https:// URL with a host")
        if parts.username or parts.password:
            raise ValueError("must not contain credentials; use username/password")
        if parts.path not in {"", "/"} or parts.query or parts.fragment:
            raise ValueError("must have no path, query or fragment (syncd adds /api/v2.0)")
        try:
            port = parts.port
        except ValueError:
            port = -1
        if port is not None and not 1 <= port <= 65535:  # noqa: PLR2004 - the TCP port range
            raise ValueError(f"{value!r}: the port must be a number from 1 to 65535")
        return value.rstrip("/")

    @field_validator("ca_bundle")
    @classmethod
    def _check_ca_bundle(cls, value: Path | None) -> Path | None:
        if value is None:
            return None
        if not value.is_file():
            raise ValueError(f"{value} is not a readable file")
        try:
            ssl.create_default_context(cafile=str(value))
        except OSError as exc:  # ssl.SSLError is an OSError
            raise ValueError(
                f"{value} is not a readable PEM certificate bundle ({exc.strerror or exc})"
            ) from None
        return value

    @model_validator(mode="before")
    @classmethod
    def _resolve_password(cls, data: Any) -> Any:
        if not isinstance(data, Mapping):
            return data
        has_pw = data.get("password") is not None
        has_file = data.get("password_file") is not None
        if has_pw == has_file:
            raise ValueError("exactly one of password / password_file must be set")
        if has_file:
            secret = _read_secret_file(Path(data["password_file"]), field="password_file")
            return {**data, "password": secret}
        return data

    def secret(self) -> str:
        """Return the password value, for building the HTTP client's basic auth only."""
        assert self.password is not None  # guaranteed by _resolve_password
        return self.password.get_secret_value()


class ScopeSettings(_Section):
    """Which projects syncd looks at."""

    include_projects: tuple[str, ...] = ("*",)
    """Globs of project names to include."""
    exclude_projects: tuple[str, ...] = ()
    """Globs of project names to exclude (wins over include)."""


class StateSettings(_Section):
    """Where syncd keeps its state (converged bases, journal, history): SQLite or PostgreSQL."""

    path: Path = Path("syncd-state.sqlite3")
    """SQLite database file (used when ``url`` is not set)."""
    url: str | None = None
    """``postgresql://user@host:port/db``: keep state in PostgreSQL (replicas elect a leader)."""
    password_file: Path | None = None
    """File holding the PostgreSQL password (else libpq's ``PGPASSWORD`` or ``~/.pgpass``)."""
    _password: SecretStr | None = PrivateAttr(default=None)

    @field_validator("url")
    @classmethod
    def _check_url(cls, value: str | None) -> str | None:
        if value is None:
            return None
        parts = urlsplit(value)
        if parts.scheme not in {"postgresql", "postgres"} or not parts.hostname:
            raise ValueError("must be a postgresql://user@host:port/database URL")
        if parts.password is not None or "password" in parse_qs(parts.query):
            # Never echo the URL here: it holds the password.
            raise ValueError("must not contain a password; use state.password_file or PGPASSWORD")
        if parts.path in {"", "/"}:
            raise ValueError("must name the database (postgresql://user@host:port/database)")
        return value

    @model_validator(mode="after")
    def _read_password(self) -> Self:
        if self.password_file is None:
            return self
        if self.url is None:
            raise ValueError("state.password_file is only used with state.url")
        self._password = _read_secret_file(self.password_file, field="state.password_file")
        return self

    def password(self) -> str | None:
        """Return the PostgreSQL password read from ``password_file``, for the connection only."""
        return None if self._password is None else self._password.get_secret_value()


class ReconcileSettings(_Section):
    """How and how often syncd repairs drift."""

    interval_seconds: float = Field(default=300, ge=10)
    """Seconds between reconcile passes."""
    jitter_seconds: float = Field(default=30, ge=0)
    """Random delay added to each pass so several daemons do not align."""
    misfire_grace_seconds: float = Field(default=60, gt=0)
    """A pass that starts this late still runs (instead of being dropped)."""
    mode: ReconcileMode = ReconcileMode.TRIGGER
    """observe: report only; trigger: start executions; toggle: also disable/enable to kick."""
    dry_run: bool = False
    """Plan and log actions without performing them."""
    max_actions_per_pass: int = Field(default=10, ge=0)
    """Cap on side effects per pass."""
    execution_timeout_seconds: float = Field(default=1800, gt=0)
    """How long to watch a triggered execution before calling it timed out."""
    poll_interval_seconds: float = Field(default=5, ge=0.05)
    """Seconds between execution status polls."""
    stop_hung_executions: bool = False
    """Stop executions that exceed the timeout."""
    propagate_deletions: bool = False
    """Delete on the peer what was deleted on one side since the converged base."""
    max_deletions_per_pass: int = Field(default=20, ge=0)
    """Cap on deletions per pass (a safety net against mass deletion)."""
    conflict_preference: str = "report"
    """Conflicts: ``report``, ``newest`` (latest push wins) or an instance name that wins."""
    reenable_disabled_policies: bool = False
    """Re-enable replication policies found disabled."""
    non_converging_backoff_seconds: float = Field(default=300, ge=0)
    """Wait before re-triggering a policy whose successful run left drift."""
    repair: RepairMode = RepairMode.AUTO
    """auto: whole policy when its blast radius is harmless, else a scoped repair through a
    temporary policy; policy: whole policy when harmless, else report ``blocked``; scoped:
    always a scoped repair (needs permission to create and delete replication policies)."""


class HealthSettings(_Section):
    """Instance health probing."""

    interval_seconds: float = Field(default=30, ge=0.25)
    """Seconds between health probes."""


class HttpSettings(_Section):
    """syncd's own HTTP server (metrics, health, webhooks)."""

    bind: str = "127.0.0.1"
    """IP address to listen on (``127.0.0.1``, ``0.0.0.0``, ``::1``); the port goes in ``port``."""
    port: int = Field(default=9477, ge=0, le=65535)
    """Port to listen on, 1-65535 (0 picks a free one, for tests)."""
    webhook_secret: SecretStr | None = None
    """Shared secret Harbor webhooks must present; at most one of secret / secret file."""
    webhook_secret_file: Path | None = None
    """File holding the webhook secret (read once at load, stripped)."""
    readiness_factor: float = Field(default=3, gt=0)
    """Not ready when the last good pass is older than this many intervals."""
    threads: int = Field(default=4, ge=1, le=32)
    """Worker threads answering requests; slow clients never hold one (the cap is firm)."""
    max_connections: int = Field(default=256, ge=8, le=4096)
    """Open connections at most; beyond that new ones wait in the kernel's backlog."""
    request_timeout_seconds: int = Field(default=10, ge=1, le=300)
    """A request (headers and body) must arrive within this many seconds, else it is dropped."""

    @field_validator("bind")
    @classmethod
    def _check_bind(cls, value: str) -> str:
        try:
            ipaddress.ip_address(value)
        except ValueError:
            raise ValueError(
                f"{value!r} is not an IP address (e.g. 127.0.0.1, 0.0.0.0, ::1); "
                "the port goes in http.port"
            ) from None
        return value

    @model_validator(mode="before")
    @classmethod
    def _resolve_webhook_secret(cls, data: Any) -> Any:
        if isinstance(data, Mapping) and data.get("webhook_secret") == "":
            raise ValueError("webhook_secret is empty; remove it or set a value")
        if not isinstance(data, Mapping) or data.get("webhook_secret_file") is None:
            return data
        if data.get("webhook_secret") is not None:
            raise ValueError("at most one of webhook_secret / webhook_secret_file may be set")
        path = Path(data["webhook_secret_file"])
        return {**data, "webhook_secret": _read_secret_file(path, field="webhook_secret_file")}


class LoggingSettings(_Section):
    """Log output."""

    level: Literal["debug", "info", "warning", "error"] = "info"
    """Minimum level."""
    format: Literal["auto", "json", "console"] = "auto"
    """auto: console on a terminal, JSON otherwise."""

    @field_validator("level", mode="before")
    @classmethod
    def _lower(cls, value: Any) -> Any:
        return value.lower() if isinstance(value, str) else value


class ParitySettings(_Section):
    """Shared-storage parity probe."""

    sample_size: int = Field(default=20, ge=0)
    """Artifacts sampled per pass for the HEAD-manifest parity check."""
