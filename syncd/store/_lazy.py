"""Cached artifact JSON read on first use, for both backends: the sources and the rules of a save.

A warm pass loads one summary row per cached repository; a repository's artifact JSON is read
only when the pass uses it, through the `RowSource` of the catalog it was loaded with. The
source checks, in the read's own transaction, that the database still holds the generation it
was loaded at, so a lazily read repository is always the one the catalog was loaded with. A
store's own incremental save moves its source to the new generation (the rows it does not
write are unchanged) after reading the JSON of every row it replaces; a catalog written by
anyone else makes a later read fail (``StateError``) instead of mixing two catalogs.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from syncd.errors import StateError
from syncd.store._codec import StoredArtifacts

if TYPE_CHECKING:
    from collections.abc import Callable, Iterable

    from syncd.core.model import Catalog, Repository

__all__ = ["RowSource", "fetch", "moved_along", "prefetch"]


class RowSource:
    """Where a loaded catalog's artifact JSON is read from: one instance, at one generation."""

    def __init__(
        self,
        read: Callable[[str, str], tuple[int | None, str | None]],
        # ``(instance, name) -> (the catalog's generation now, the row's JSON)``, one transaction
        *,
        where: str,
        instance: str,
        generation: int,
    ) -> None:
        self._read, self._where = read, where
        self.instance, self.generation = instance, generation

    def text(self, name: str) -> str:
        """Return the stored JSON of ``name``'s artifacts (``StateError`` if it moved on)."""
        generation, text = self._read(self.instance, name)
        if generation != self.generation or text is None:
            raise StateError(
                f"state database {self._where}: the catalog cache of {self.instance} changed"
                f" while a pass was using it ({name}); the next pass starts from what it holds now"
            )
        return text


def fetch(repos: Iterable[Repository | None]) -> None:
    """Read the artifact JSON of cached repositories now (a write must not read meanwhile)."""
    for repo in repos:
        if repo is not None and isinstance(repo.artifacts, StoredArtifacts):
            _ = repo.artifacts.text


def prefetch(held: Catalog | None, writes: list[Repository], removed: list[str]) -> None:
    """Before a save: the JSON it writes, and (incrementally) of every row it replaces."""
    if held is not None:
        fetch(held.repositories.get(name) for name in [*removed, *(r.name for r in writes)])
    fetch(writes)


def moved_along(
    sources: dict[str, RowSource], instance: str, *, held: bool, before: int | None, after: int
) -> None:
    """After a save: keep the instance's source valid if the save was incremental from it."""
    source = sources.pop(instance, None)
    if held and source is not None and source.generation == before:
        source.generation = after
        sources[instance] = source
