"""structlog configuration: JSON or console output, context variables, and secret redaction.

Owns the processor chain every event goes through. Redaction is the last line of defence
behind ``SecretStr``: values of secret-looking keys are masked (case-insensitive, also inside
nested dicts and lists), ``Basic``/``Bearer`` credentials and ``user:pass@`` URL userinfo are
scrubbed from every string, and any exact secret value handed to :func:`configure_logging` is
masked wherever it appears. stdlib loggers (httpx, apscheduler) are routed through the same
chain so their records are redacted and rendered alike.

Event names are stable dotted names (``reconcile.pass_finished``); keys are ``instance``,
``edge``, ``policy_id``, ``project``, ``repository``, ``pass_id``.
"""

from __future__ import annotations

import logging
import sys
from typing import TYPE_CHECKING, TextIO

import structlog

from syncd.core.redact import MASK, Scrubber, is_secret_key, redact_text

if TYPE_CHECKING:
    from collections.abc import Iterable

    from structlog.typing import EventDict, Processor, WrappedLogger

__all__ = [
    "MASK",
    "Redactor",
    "configure_logging",
    "is_secret_key",
    "redact_secrets",
    "redact_text",
]

_LEVELS = {"debug", "info", "warning", "error", "critical"}
# Libraries that log one line per request at INFO would drown syncd's own events.
_NOISY_LOGGERS = ("httpx", "httpcore", "apscheduler.executors", "apscheduler.scheduler")


class Redactor(Scrubber):
    """A structlog processor masking secrets by key, by credential pattern and by exact value."""

    def __call__(self, _logger: WrappedLogger, _method: str, event_dict: EventDict) -> EventDict:
        """Return ``event_dict`` with every secret masked (top level and nested)."""
        return {key: self.value(key, value) for key, value in event_dict.items()}


redact_secrets = Redactor()
"""The key- and pattern-based redactor without known secret values."""


def _shared_processors(redactor: Redactor) -> list[Processor]:
    return [
        structlog.contextvars.merge_contextvars,
        structlog.processors.add_log_level,
        structlog.processors.TimeStamper(fmt="iso", utc=True),
        structlog.processors.StackInfoRenderer(),
        structlog.processors.format_exc_info,
        redactor,
    ]


def _renderer(*, fmt: str, stream: TextIO) -> Processor:
    if fmt == "auto":
        fmt = "console" if stream.isatty() else "json"
    if fmt == "json":
        return structlog.processors.JSONRenderer(sort_keys=True)
    if fmt == "console":
        return structlog.dev.ConsoleRenderer(colors=stream.isatty())
    raise ValueError(f"unknown log format {fmt!r}: expected auto, json or console")


def configure_logging(
    *,
    level: str = "info",
    fmt: str = "auto",
    stream: TextIO | None = None,
    secrets: Iterable[str] = (),
) -> None:
    """Configure structlog and stdlib logging once, at startup (called by the CLI).

    ``fmt`` is ``auto`` (console on a TTY, JSON otherwise), ``json`` or ``console``.
    ``secrets`` are exact values (passwords, robot secrets) masked wherever they appear.
    """
    if level.lower() not in _LEVELS:
        raise ValueError(f"unknown log level {level!r}: expected one of {sorted(_LEVELS)}")
    out = sys.stderr if stream is None else stream
    numeric = logging.getLevelNamesMapping()[level.upper()]
    redactor = Redactor(secrets=secrets)
    renderer = _renderer(fmt=fmt, stream=out)
    structlog.configure(
        processors=[*_shared_processors(redactor), renderer],
        wrapper_class=structlog.make_filtering_bound_logger(numeric),
        logger_factory=structlog.WriteLoggerFactory(file=out),
        # Not cached: tests swap processors with capture_logs() after loggers exist.
        cache_logger_on_first_use=False,
    )
    _route_stdlib(level=numeric, stream=out, redactor=redactor, renderer=renderer)


def _route_stdlib(*, level: int, stream: TextIO, redactor: Redactor, renderer: Processor) -> None:
    formatter = structlog.stdlib.ProcessorFormatter(
        foreign_pre_chain=[
            structlog.stdlib.add_logger_name,
            *_shared_processors(redactor),
        ],
        processors=[structlog.stdlib.ProcessorFormatter.remove_processors_meta, renderer],
    )
    handler = logging.StreamHandler(stream)
    handler.setFormatter(formatter)
    root = logging.getLogger()
    root.handlers[:] = [handler]
    root.setLevel(level)
    for name in _NOISY_LOGGERS:
        logging.getLogger(name).setLevel(max(level, logging.WARNING))
