"""The configuration tree: one frozen ``Settings`` built from a YAML file plus ``SYNCD_*`` env.

Declarative: files and the environment are read only when ``load_settings`` is called, and only
the CLI (the composition root) calls it. Environment variables win over the file; nested keys use
``__`` (``SYNCD_RECONCILE__MODE=observe``, ``SYNCD_INSTANCES__A__PASSWORD=...``). Every problem is
reported at once as a ``ConfigError`` naming each bad field path. Secrets are ``SecretStr`` and
``redacted_dump`` never reveals them.
"""

from __future__ import annotations

import contextvars
from collections.abc import Mapping
from pathlib import Path
from typing import Annotated, Any, Literal, Self
from urllib.parse import urlsplit

import yaml
from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    SecretStr,
    StringConstraints,
    ValidationError,
    field_validator,
    model_validator,
)
from pydantic_settings import (
    BaseSettings,
    EnvSettingsSource,
    PydanticBaseSettingsSource,
    SettingsConfigDict,
    YamlConfigSettingsSource,
)

from syncd.core.radius import RepairMode
from syncd.errors import ConfigError

__all__ = [
    "HealthSettings",
    "HttpSettings",
    "InstanceSettings",
    "LoggingSettings",
    "ParitySettings",
    "ReconcileSettings",
    "ScopeSettings",
    "Settings",
    "StateSettings",
    "load_settings",
    "redacted_dump",
]

InstanceName = Annotated[str, StringConstraints(pattern=r"^[a-z0-9][a-z0-9_-]*$")]


def _read_secret_file(path: Path | None, *, field: str) -> SecretStr | None:
    """Read a secret file (stripped); an unreadable file names the field, never the value."""
    if path is None:
        return None
    try:
        return SecretStr(path.read_text(encoding="utf-8").strip())
    except OSError as exc:
        raise ValueError(f"{field}: cannot read {path} ({exc.strerror or exc})") from None


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
        return value.rstrip("/")

    @field_validator("ca_bundle")
    @classmethod
    def _check_ca_bundle(cls, value: Path | None) -> Path | None:
        if value is not None and not value.is_file():
            raise ValueError(f"{value} is not a readable file")
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
    """Local state (converged bases, history)."""

    path: Path = Path("syncd-state.sqlite3")
    """SQLite database file."""


class ReconcileSettings(_Section):
    """How and how often syncd repairs drift."""

    interval_seconds: float = Field(default=300, ge=10)
    """Seconds between reconcile passes."""
    jitter_seconds: float = Field(default=30, ge=0)
    """Random delay added to each pass so several daemons do not align."""
    misfire_grace_seconds: float = Field(default=60, gt=0)
    """A pass that starts this late still runs (instead of being dropped)."""
    mode: Literal["observe", "trigger", "toggle"] = "trigger"
    """observe: report only; trigger: start executions; toggle: also disable/enable to kick."""
    dry_run: bool = False
    """Plan and log actions without performing them."""
    max_actions_per_pass: int = Field(default=10, ge=0)
    """Cap on side effects per pass."""
    execution_timeout_seconds: float = Field(default=1800, gt=0)
    """How long to watch a triggered execution before calling it timed out."""
    poll_interval_seconds: float = Field(default=5, gt=0)
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

    interval_seconds: float = Field(default=30, gt=0)
    """Seconds between health probes."""


class HttpSettings(_Section):
    """syncd's own HTTP server (metrics, health, webhooks)."""

    bind: str = "127.0.0.1"
    """Address to listen on."""
    port: int = Field(default=9477, ge=0, le=65535)
    """Port to listen on (0 picks a free one)."""
    webhook_secret: SecretStr | None = None
    """Shared secret Harbor webhooks must present; at most one of secret / secret file."""
    webhook_secret_file: Path | None = None
    """File holding the webhook secret (read once at load, stripped)."""
    readiness_factor: float = Field(default=3, gt=0)
    """Not ready when the last good pass is older than this many intervals."""

    @model_validator(mode="before")
    @classmethod
    def _resolve_webhook_secret(cls, data: Any) -> Any:
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


_SOURCE: contextvars.ContextVar[tuple[Path | None, Mapping[str, str] | None]] = (
    contextvars.ContextVar("syncd_settings_source", default=(None, None))
)


class _MappingEnvSource(EnvSettingsSource):
    """The standard env source, reading a given mapping instead of ``os.environ``."""

    def __init__(self, settings_cls: type[BaseSettings], *, env: Mapping[str, str]) -> None:
        self._given_env = env
        super().__init__(settings_cls)

    def _load_env_vars(self) -> Mapping[str, str | None]:
        return {key.lower(): value for key, value in self._given_env.items()}


class Settings(BaseSettings):
    """The whole syncd configuration."""

    model_config = SettingsConfigDict(
        env_prefix="SYNCD_",
        env_nested_delimiter="__",
        extra="forbid",
        frozen=True,
        use_attribute_docstrings=True,
    )

    version: Literal[1] = 1
    """Configuration format version."""
    instances: dict[InstanceName, InstanceSettings] = Field(min_length=1)
    """Harbor instances by name (lowercase letters, digits, ``-``, ``_``)."""
    scope: ScopeSettings = ScopeSettings()
    """Project selection."""
    state: StateSettings = StateSettings()
    """Local state database."""
    reconcile: ReconcileSettings = ReconcileSettings()
    """Reconcile loop behaviour."""
    health: HealthSettings = HealthSettings()
    """Health probing."""
    http: HttpSettings = HttpSettings()
    """syncd's own HTTP endpoint."""
    logging: LoggingSettings = LoggingSettings()
    """Log output."""
    parity: ParitySettings = ParitySettings()
    """Parity probe."""

    @model_validator(mode="after")
    def _check_conflict_preference(self) -> Self:
        pref = self.reconcile.conflict_preference
        if pref not in {"report", "newest"} and pref not in self.instances:
            raise ValueError(
                f"reconcile.conflict_preference: {pref!r} is neither 'report', 'newest' "
                "nor a configured instance name"
            )
        return self

    @classmethod
    def settings_customise_sources(
        cls,
        settings_cls: type[BaseSettings],
        init_settings: PydanticBaseSettingsSource,
        env_settings: PydanticBaseSettingsSource,
        dotenv_settings: PydanticBaseSettingsSource,  # noqa: ARG003 - no .env files, by design
        file_secret_settings: PydanticBaseSettingsSource,  # noqa: ARG003 - password_file instead
    ) -> tuple[PydanticBaseSettingsSource, ...]:
        """Init kwargs, then env, then the YAML file chosen by ``load_settings`` (first wins)."""
        path, env = _SOURCE.get()
        sources: list[PydanticBaseSettingsSource] = [init_settings]
        sources.append(env_settings if env is None else _MappingEnvSource(settings_cls, env=env))
        if path is not None:
            sources.append(YamlConfigSettingsSource(settings_cls, yaml_file=path))
        return tuple(sources)


def _describe(exc: ValidationError) -> str:
    lines = []
    for err in exc.errors(include_input=False, include_url=False):
        loc = ".".join(str(part) for part in err["loc"])
        msg = err["msg"].removeprefix("Value error, ")
        msg = msg[:1].lower() + msg[1:]
        lines.append(f"{loc}: {msg}" if loc else msg)
    return "invalid configuration:\n  " + "\n  ".join(lines)


def load_settings(path: Path | None, *, env: Mapping[str, str] | None = None) -> Settings:
    """Build the frozen settings from ``path`` (YAML) and ``env`` (default ``os.environ``)."""
    if path is not None and not path.is_file():
        raise ConfigError(f"config file {path} does not exist or is not a file")
    token = _SOURCE.set((path, env))
    try:
        return Settings()  # values come from the sources
    except ValidationError as exc:
        raise ConfigError(_describe(exc)) from None
    except yaml.YAMLError as exc:
        raise ConfigError(f"config file {path} is not valid YAML: {exc}") from None
    except (TypeError, ValueError) as exc:
        raise ConfigError(f"config file {path} could not be used: {exc}") from None
    finally:
        _SOURCE.reset(token)


def redacted_dump(settings: Settings) -> dict[str, Any]:
    """JSON-ready dict of ``settings`` with every secret masked (for ``syncd config``)."""
    # SecretStr serialises as "**********" in JSON mode; secret file *contents* live only in the
    # SecretStr fields, and the file fields hold paths.
    dumped: dict[str, Any] = settings.model_dump(mode="json")
    return dumped
