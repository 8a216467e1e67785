"""Fixtures of the store tests: stores of either backend opened on one database."""

from __future__ import annotations

from typing import TYPE_CHECKING

import pytest

from syncd.store import StateStore, Store
from syncd.store.postgres import PostgresStore
from tests.pgkit import lead

if TYPE_CHECKING:
    from collections.abc import Callable, Iterator
    from pathlib import Path


@pytest.fixture(params=["sqlite", "postgres"])
def opener(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Callable[[], Store]]:
    """Open stores on one database (each with its own memory), all writing as the same leader."""
    opened: list[Store] = []
    epoch: list[int] = []

    def open_store() -> Store:
        store: Store
        if request.param == "sqlite":
            store = StateStore.open(tmp_path / "state.db")
        else:
            db = request.getfixturevalue("pg_db")
            pg = PostgresStore.open(db.url, password=db.password)
            epoch.extend([] if epoch else [lead(pg)])
            pg.fence(epoch[0])
            store = pg
        opened.append(store)
        return store

    yield open_store
    for store in opened:
        store.close()
