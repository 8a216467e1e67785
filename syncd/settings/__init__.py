"""The configuration tree: one frozen ``Settings`` built from a YAML file plus ``SYNCD_*`` env.

Declarative: files and the environment are read only when ``load_settings`` is called, and only
the CLI (the composition root) calls it. Environment variables win over the file; nested keys use
``__`` (``SYNCD_RECONCILE__MODE=observe``, ``SYNCD_INSTANCES__A__PASSWORD=...``; see
:mod:`syncd.settings.env` for instance names and unknown sections). Every problem is reported at
once, on one line, as a ``ConfigError`` naming each bad field path and value. Secrets are
``SecretStr`` and ``redacted_dump`` never reveals them.
"""

from __future__ import annotations

import contextvars
import os
from typing import TYPE_CHECKING, Annotated, Any, Literal, Self
from urllib.parse import urlsplit

import yaml
from pydantic import Field, StringConstraints, ValidationError, model_validator
from pydantic_settings import (
    BaseSettings,
    EnvSettingsSource,
    PydanticBaseSettingsSource,
    SettingsConfigDict,
    YamlConfigSettingsSource,
)

from syncd.errors import ConfigError
from syncd.settings.env import (
    describe_errors,
    file_instances,
    map_environment,
    own_listener_problem,
    unknown_sections,
)
from syncd.settings.sections import (
    HealthSettings,
    HttpSettings,
    InstanceSettings,
    LoggingSettings,
    ParitySettings,
    ReconcileSettings,
    ScopeSettings,
    StateSettings,
)

if TYPE_CHECKING:
    from collections.abc import Mapping
    from pathlib import Path

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


_SOURCE: contextvars.ContextVar[tuple[Path | None, Mapping[str, str] | None]] = (
    contextvars.ContextVar("syncd_settings_source", default=(None, None))
)
"""The file and environment ``load_settings`` hands to the sources (settings are built once)."""


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

    @model_validator(mode="after")
    def _check_not_own_listener(self) -> Self:
        urls = {name: inst.url for name, inst in self.instances.items()}
        problem = own_listener_problem(urls, bind=self.http.bind, port=self.http.port)
        if problem:
            raise ValueError(problem)
        return self

    @model_validator(mode="after")
    def _check_unique_urls(self) -> Self:
        # Two names for one Harbor would start two executions of one policy at once; only
        # nodes of one shared-storage cluster may share an address (a load balancer).
        seen: dict[str, str] = {}
        for name, inst in sorted(self.instances.items()):
            url = _normalised(inst.url)
            other = seen.setdefault(url, name)
            if other != name and (
                inst.cluster is None or inst.cluster != self.instances[other].cluster
            ):
                raise ValueError(
                    f"instances: {other} and {name} have the same URL {url}; configure each "
                    "Harbor once, or give both the same `cluster` if they are nodes of one Harbor"
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


def _describe(exc: ValidationError, path: Path | None) -> str:
    where = f"config file {path} or SYNCD_* variables" if path else "SYNCD_* variables"
    lines = describe_errors(exc, root=Settings)
    return f"invalid configuration ({where}): " + "; ".join(lines)


def _environment(path: Path | None, env: Mapping[str, str] | None) -> dict[str, str]:
    given = os.environ if env is None else env
    problems = unknown_sections(given, sections=Settings.model_fields)
    if problems:
        raise ConfigError("invalid environment: " + "; ".join(problems))
    return map_environment(given, instances=file_instances(path))


def _normalised(url: str) -> str:
    """``scheme://host:port`` in lower case with the default port made explicit."""
    parts = urlsplit(url)
    port = parts.port or {"http": 80, "https": 443}.get(parts.scheme, 0)
    host = (parts.hostname or "").lower()
    return f"{parts.scheme.lower()}://{f'[{host}]' if ':' in host else host}:{port}"


def load_settings(path: Path | None, *, env: Mapping[str, str] | None = None) -> Settings:
    """Build the frozen settings from ``path`` (YAML) and ``env`` (default ``os.environ``)."""
    if path is not None and not path.is_file():
        raise ConfigError(f"config file {path} does not exist or is not a file")
    token = _SOURCE.set((path, _environment(path, env)))
    try:
        return Settings()  # values come from the sources
    except ValidationError as exc:
        raise ConfigError(_describe(exc, path)) from None
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
