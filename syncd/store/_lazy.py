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
from syncd.store._memo import catalog_changes

if TYPE_CHECKING:
    from collections.abc import Callable, Iterable

    from syncd.core.model import Catalog, Repository

__all__ = ["RowSource", "fetch", "moved_along", "planned_write", "written_meanwhile"]


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


def planned_write(held: Catalog | None, catalog: Catalog) -> tuple[list[Repository], list[str]]:
    """Decide a save's rows and read every JSON it needs first (no read inside the write).

    Against the remembered catalog ``held``: the repositories that differ and the names gone,
    with the JSON of every row they replace; without it, every repository.
    """
    if held is None:
        writes, removed = list(catalog.repositories.values()), list[str]()
    else:
        writes, removed = catalog_changes(held, catalog)
        fetch(held.repositories.get(name) for name in [*removed, *(r.name for r in writes)])
    fetch(writes)
    return writes, removed


def written_meanwhile(where: str, instance: str) -> StateError:
    """Return the error of a save that finds the catalog moved on since it started."""
    return StateError(
        f"state database {where}: the catalog cache of {instance} was written by someone else"
        " during this pass; nothing of it was saved"
    )


def moved_along(
    sources: dict[str, RowSource], instance: str, *, held: bool, before: int | None, after: int
) -> None:
    """After a save: keep the instance's source valid if the save was incremental from it."""
    source = sources.pop(instance, None)
    if held and source is not None and source.generation == before:
        source.generation = after
        sources[instance] = source
