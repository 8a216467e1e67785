"""Fixtures for the simulator's tests: a started instance with a small catalog, clients."""

from __future__ import annotations

from typing import TYPE_CHECKING

import httpx
import pytest

from syncd.sim import SimCluster, SimInstance
from tests.simkit import AUTH, seed_catalog

if TYPE_CHECKING:
    from collections.abc import Iterator


@pytest.fixture
def sim() -> Iterator[SimInstance]:
    """Start an instance with the small catalog."""
    with SimInstance("a", robots={"syncd": "s3cret"}) as inst:
        seed_catalog(inst)
        yield inst
        assert inst.errors == []


@pytest.fixture
def client(sim: SimInstance) -> Iterator[httpx.Client]:
    """Open an authenticated client that never keeps cookies."""
    with httpx.Client(base_url=sim.url + "/api/v2.0", auth=AUTH, timeout=10) as c:
        c.event_hooks["response"] = [lambda _r: c.cookies.clear()]
        yield c


@pytest.fixture
def cluster() -> Iterator[SimCluster]:
    """Provide an empty cluster, stopped after the test."""
    with SimCluster() as c:
        yield c
        for inst in c.instances.values():
            assert inst.errors == []
