"""What a store remembers of the catalogs and bases it last read or wrote, and the row changes.

Both backends keep, per instance and per edge, the value they last loaded or saved together
with the *generation* the database held for it. Every write of a catalog or a base stores a
fresh random generation in the same transaction. So a remembered value is used only while the
database still holds the generation it was remembered with: then a load returns it without
decoding a row, and a save writes only the repositories / base entries that differ from it.
Any other writer (another process, a replica, a database restored or recreated at the same
address: random, never a counter that restarts) changes the generation, and the store falls
back to a whole read or a whole rewrite. The memory is an optimisation, never a source of truth.
"""

from __future__ import annotations

import secrets
import threading
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from collections.abc import Mapping

    from syncd.core.model import Catalog, Repository

__all__ = ["BaseKey", "Memo", "base_changes", "catalog_changes", "new_generation"]

BaseKey = tuple[str, str]


def new_generation() -> int:
    """Draw a fresh generation: random, so a recreated database never repeats a remembered one."""
    return secrets.randbits(62)


class Memo:
    """The last catalog per instance and base per edge, each with its database generation."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._catalogs: dict[str, tuple[int, Catalog]] = {}
        self._bases: dict[str, tuple[int, Mapping[BaseKey, str]]] = {}

    def catalog(self, instance: str, generation: int | None) -> Catalog | None:
        """Return the catalog remembered for ``instance`` if still at ``generation``."""
        with self._lock:
            held = self._catalogs.get(instance)
        return held[1] if held is not None and held[0] == generation else None

    def keep_catalog(self, catalog: Catalog | None, generation: int, *, instance: str) -> None:
        """Remember ``catalog`` as the database's value at ``generation`` (None forgets)."""
        with self._lock:
            if catalog is None:
                self._catalogs.pop(instance, None)
            else:
                self._catalogs[instance] = (generation, catalog)

    def base(self, edge: str, generation: int | None) -> Mapping[BaseKey, str] | None:
        """Return the remembered base of ``edge`` if the database still holds ``generation``."""
        with self._lock:
            held = self._bases.get(edge)
        return held[1] if held is not None and held[0] == generation else None

    def keep_base(
        self, mapping: Mapping[BaseKey, str] | None, generation: int, *, edge: str
    ) -> None:
        """Remember ``mapping`` as the database's base at ``generation`` (None forgets)."""
        with self._lock:
            if mapping is None:
                self._bases.pop(edge, None)
            else:
                self._bases[edge] = (generation, mapping)


def catalog_changes(old: Catalog, new: Catalog) -> tuple[list[Repository], list[str]]:
    """Return the repositories of ``new`` that differ from ``old``, and the names it dropped."""
    before = old.repositories
    # Identity first: an incremental snapshot reuses the unchanged Repository objects.
    changed = [
        repo
        for name, repo in new.repositories.items()
        if (prev := before.get(name)) is not repo and prev != repo
    ]
    removed = [name for name in before if name not in new.repositories]
    return changed, removed


def base_changes(
    old: Mapping[BaseKey, str], new: Mapping[BaseKey, str]
) -> tuple[dict[BaseKey, str], list[BaseKey]]:
    """Return the entries of ``new`` that differ from ``old``, and the keys it dropped."""
    changed = {key: digest for key, digest in new.items() if old.get(key) != digest}
    removed = [key for key in old if key not in new]
    return changed, removed
