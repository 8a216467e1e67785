"""Fixtures for the data-plane tests: OCI layouts built once per module."""

from __future__ import annotations

from typing import TYPE_CHECKING

import pytest

from tests import ocikit

if TYPE_CHECKING:
    from pathlib import Path


@pytest.fixture(scope="module")
def image(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, str]:
    """Build a one-layer image tagged ``v1`` in an OCI layout; give it with its digest."""
    layout = tmp_path_factory.mktemp("oci") / "image"
    return layout, ocikit.build_image(layout, tag="v1")


@pytest.fixture(scope="module")
def index(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, str, tuple[str, ...]]:
    """Build a two-platform image index tagged ``multi``; give its digest and children."""
    layout = tmp_path_factory.mktemp("oci") / "index"
    digest, children = ocikit.build_index(layout, tag="multi")
    return layout, digest, children
