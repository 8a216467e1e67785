"""Fixtures for ``syncd run`` end to end: converged simulator pairs and daemon subprocesses.

The helpers (``DaemonProcess``, config builders, webhook senders) live in ``daemonkit`` so
test modules import them by a unique name; ``conftest`` is ambiguous across test folders.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import pytest

from tests.daemonkit import (
    DaemonProcess,
    StartDaemon,
    converged_pair,
    write_config,
)

if TYPE_CHECKING:
    from collections.abc import Iterator, Mapping
    from pathlib import Path

    from syncd.sim import SimInstance


@pytest.fixture
def pair() -> Iterator[tuple[SimInstance, SimInstance]]:
    """Two converged dual-master simulators ``a`` and ``b`` holding ``library/app:v1``."""
    with converged_pair() as both:
        yield both


@pytest.fixture
def start_daemon(tmp_path: Path) -> Iterator[StartDaemon]:
    """Start daemons from config dicts (written to ``tmp_path``); all are stopped at teardown."""
    started: list[DaemonProcess] = []

    def start(config: Mapping[str, Any]) -> DaemonProcess:
        path = write_config(tmp_path / f"syncd-{len(started)}.yaml", config)
        daemon = DaemonProcess(config=path, cwd=tmp_path)
        started.append(daemon)
        return daemon.start()

    yield start
    for daemon in started:
        daemon.close()
