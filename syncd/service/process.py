"""``syncd run``: the process around the daemon, its HTTP listener and its signals.

SIGTERM/SIGINT stop taking work, let an in-flight pass reach its end and exit 0; SIGHUP reloads
the configuration file between passes, keeping the old one when the new one is invalid. A
listener that cannot bind is one ``ListenerError`` (the CLI prints one line, exit 2).
"""

from __future__ import annotations

import signal
import threading
from typing import TYPE_CHECKING

import structlog

from syncd.errors import SyncdError
from syncd.service.daemon import Daemon
from syncd.service.metrics import Metrics
from syncd.service.webserver import ListenerLimits, start_server

if TYPE_CHECKING:
    from collections.abc import Callable
    from pathlib import Path
    from types import FrameType

    from syncd.engine.runtime import RuntimeFactory
    from syncd.service.listener import RunningListener
    from syncd.settings import Settings

__all__ = ["run_daemon"]

log = structlog.get_logger("syncd.service.process")


def _listen(settings: Settings, daemon: Daemon, metrics: Metrics) -> RunningListener:
    http = settings.http
    secret = http.webhook_secret.get_secret_value() if http.webhook_secret else None
    limits = ListenerLimits(
        threads=http.threads,
        max_connections=http.max_connections,
        request_timeout=http.request_timeout_seconds,
    )
    try:
        return start_server(
            bind=http.bind,
            port=http.port,
            metrics_registry=metrics.registry,
            readiness=daemon.readiness,
            report=daemon.report_json,
            on_webhook=daemon.on_webhook,
            webhook_secret=secret,
            limits=limits,
        )
    except SyncdError:  # ListenerError: the CLI prints it as one line, exit 2
        daemon.discard()
        raise


def _signals(daemon: Daemon) -> threading.Event:
    """Install SIGTERM/SIGINT (stop) and SIGHUP (reload); return the reload flag."""
    hup = threading.Event()

    def on_term(signum: int, _frame: FrameType | None) -> None:
        log.info("daemon.signal", signal=signal.Signals(signum).name)
        daemon.stopping.set()

    def on_hup(_signum: int, _frame: FrameType | None) -> None:
        hup.set()

    signal.signal(signal.SIGTERM, on_term)
    signal.signal(signal.SIGINT, on_term)
    signal.signal(signal.SIGHUP, on_hup)
    return hup


def run_daemon(
    settings: Settings,
    *,
    config_path: Path | None,
    reload: Callable[[Path | None], Settings],
    build: RuntimeFactory,
) -> int:
    """Run until SIGTERM/SIGINT; SIGHUP reloads ``config_path``."""
    metrics = Metrics()
    daemon = Daemon(settings=settings, metrics=metrics, build=build)
    server = _listen(settings, daemon, metrics)
    hup = _signals(daemon)
    log.info("daemon.started", port=server.port, instances=sorted(settings.instances))
    daemon.start()
    # Signal handlers only set flags; the reload itself runs here, on the main thread.
    while not daemon.stopping.wait(0.2):
        if hup.is_set():
            hup.clear()
            try:
                daemon.reload(reload(config_path))
            except SyncdError as exc:  # ConfigError, or a state file the new config cannot open
                # An explained refusal: its one line says what to fix, a traceback would not.
                log.error(  # noqa: TRY400 - explained in one line, a traceback adds nothing
                    "config.reload_rejected", error=str(exc), kind=type(exc).__name__
                )
    daemon.stop()
    server.stop()
    return 0
