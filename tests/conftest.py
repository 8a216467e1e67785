"""Shared test setup: hypothesis profiles, retry settings, and the PostgreSQL fixtures.

``tests`` is a package: helpers are imported by package path (``from tests.simkit import ...``).
"""

from __future__ import annotations

import logging
import os
from typing import TYPE_CHECKING

import pytest
import stamina
import structlog
from hypothesis import settings

from tests.pgkit import PgDatabase, PgServer

# CI runs are derandomized: a property failure there is reproducible, never a coin toss. Local
# runs keep exploring new examples.
settings.register_profile("ci", derandomize=True, print_blob=True)
if os.environ.get("CI"):
    settings.load_profile("ci")

if TYPE_CHECKING:
    from collections.abc import Iterator


@pytest.fixture(autouse=True)
def _isolated(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    """No ``SYNCD_*`` override leaks in; logging set up by in-process runs is undone after."""
    for key in list(os.environ):
        if key.startswith("SYNCD_"):
            monkeypatch.delenv(key)
    yield
    structlog.reset_defaults()
    logging.getLogger().handlers.clear()


@pytest.fixture(autouse=True)
def _fast_retries() -> Iterator[None]:
    """Retries keep their attempt counts but never wait in tests."""
    stamina.set_testing(True, attempts=3)
    yield
    stamina.set_testing(False)


@pytest.fixture(scope="session")
def pg_server() -> Iterator[PgServer]:
    """Give a throwaway PostgreSQL server (Debian package) for the session (one per worker)."""
    server = PgServer.start_new()
    yield server
    server.close()


@pytest.fixture
def pg_db(pg_server: PgServer) -> PgDatabase:
    """Give a fresh database on the session's PostgreSQL server, owned by the role syncd."""
    return pg_server.database()
