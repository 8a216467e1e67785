"""Fixtures for ``syncd run`` end to end: converged simulator pairs and daemon subprocesses.

The helpers (``DaemonProcess``, config builders, webhook senders) live in ``daemonkit`` so
test modules import them by a unique name; ``conftest`` is ambiguous across test folders.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import pytest

from syncd.sim import SimCluster, SimInstance
from tests.daemonkit import DaemonProcess, StartDaemon, converged, poll_until, settled, write_config

if TYPE_CHECKING:
    from collections.abc import Iterator, Mapping
    from pathlib import Path


@pytest.fixture
def pair() -> Iterator[tuple[SimInstance, SimInstance]]:
    """Two converged dual-master simulators ``a`` and ``b`` holding ``library/app:v1``."""
    with SimCluster() as cluster:
        a, b = cluster.add("a"), cluster.add("b")
        for inst in (a, b):
            inst.create_project("library")
        cluster.dual_master("a", "b")
        a.push("library/app", "v1")
        poll_until(lambda: converged(a, b), what="initial replication")
        # The copy to b echoes back as one no-op execution b->a; wait for both to finish.
        poll_until(lambda: settled(a) and settled(b), what="replication to settle")
        yield a, b


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
