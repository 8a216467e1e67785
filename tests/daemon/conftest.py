"""Fixtures for ``syncd run`` end to end: converged simulator pairs and daemon subprocesses.

The helpers (``DaemonProcess``, config builders, webhook senders) live in ``daemonkit`` so
test modules import them by a unique name; ``conftest`` is ambiguous across test folders.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import pytest

from tests.daemonkit import (
    StartDaemon,
    converged_pair,
    daemons,
)

if TYPE_CHECKING:
    from collections.abc import Iterator
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
    with daemons(tmp_path) as start:
        yield start
