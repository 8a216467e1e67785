"""Fixtures of the scenario suite: OCI images built once per module, a checked cluster.

The helpers live in ``scenariokit`` (``conftest`` is ambiguous across test folders).
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import pytest

from syncd.sim import SimCluster
from tests.scenarios.scenariokit import Image, build_images

if TYPE_CHECKING:
    from collections.abc import Iterator


@pytest.fixture(scope="module")
def images(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Image]:
    """Three one-layer images with different content (so different digests), per module."""
    return build_images(tmp_path_factory.mktemp("oci"), ("first", "second", "third"))


@pytest.fixture
def cluster() -> Iterator[SimCluster]:
    """Provide an empty cluster; at teardown no simulator handler crashed."""
    with SimCluster() as c:
        yield c
        for inst in c.instances.values():
            assert inst.errors == [], inst.name
