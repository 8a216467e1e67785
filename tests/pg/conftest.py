"""Fixtures for two ``syncd run`` replicas on one PostgreSQL: a simulator pair and daemons.

The PostgreSQL servers come from ``pgkit`` (the Debian package); the daemon helpers from
``daemonkit``; scenario helpers from ``replicakit``.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import pytest

from tests.daemonkit import (
    DaemonProcess,
    converged_pair,
    daemons,
)

if TYPE_CHECKING:
    from collections.abc import Callable, Iterator, Mapping
    from pathlib import Path

    from syncd.sim import SimInstance


@pytest.fixture
def sims() -> Iterator[tuple[SimInstance, SimInstance]]:
    """Two converged dual-master simulators ``a`` and ``b`` holding ``library/app:v1``."""
    with converged_pair() as both:
        yield both


@pytest.fixture
def replicas(tmp_path: Path) -> Iterator[Callable[[Mapping[str, Any]], DaemonProcess]]:
    """Start ``syncd run`` replicas from config dicts; all are stopped at teardown."""
    with daemons(tmp_path) as start:
        yield start
