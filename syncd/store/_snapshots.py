"""State tables about *what was there*: the catalog cache and drift first-seen (bases: ``_bases``).

Large by nature (a catalog can hold 200k tags), so writes use ``executemany`` inside one
transaction, catalogs are stored as one compact JSON blob per repository (decoded only when a
pass uses it), and a pass writes only what changed against the value the store remembers
(``_memo``, checked by generation).
"""

from __future__ import annotations

import gc
import json
from contextlib import contextmanager
from typing import TYPE_CHECKING

from syncd.core.model import Catalog, Repository
from syncd.store import _codec as c
from syncd.store._bases import BaseTables, generation_of
from syncd.store._lazy import RowSource, moved_along, planned_write, written_meanwhile
from syncd.store._memo import new_generation

if TYPE_CHECKING:
    import sqlite3
    from collections.abc import Iterable, Iterator, Mapping
    from datetime import datetime


__all__ = ["SnapshotTables"]

_EMPTY: frozenset[str] = frozenset()


class SnapshotTables(BaseTables):
    """The catalog cache and drift first-seen times (and the bases, from ``BaseTables``)."""

    # ------------------------------------------------------------------ catalog cache

    def load_catalog(self, instance: str) -> Catalog | None:
        """Return the cached catalog of ``instance``, or None if never saved.

        Reads each repository's summary only: its artifacts' JSON is read when first used
        (`RowSource`), so an unchanged repository costs one small row.
        """
        with self._tx(write=False) as conn:
            head = conn.execute(
                "SELECT generation, taken_at, projects, public_projects FROM catalog"
                " WHERE instance = ?",
                (instance,),
            ).fetchone()
            if head is None:
                return None
            kept = self._memo.catalog(instance, head[0])
            if kept is not None:
                return kept
            rows = conn.execute(
                "SELECT name, artifact_count, update_time, NULL, artifact_rows"
                " FROM catalog_repo WHERE instance = ?",
                (instance,),
            ).fetchall()
        source = RowSource(self._row, where=self.path, instance=instance, generation=head[0])
        with _gc_paused():
            sets: c.Sets = {}  # shared by every repository's artifacts, decoded on first use
            repositories = {
                row[0]: c.decode_repo(*row, sets=sets, fetch=source.text) for row in rows
            }
        catalog = Catalog(
            instance=instance,
            taken_at=c.dt(head[1]),
            repositories=repositories,
            projects=_set(head[2]),
            public_projects=_set(head[3]),
        )
        self._memo.keep_catalog(catalog, head[0], instance=instance)
        self._sources[instance] = source
        return catalog

    def save_catalog(self, catalog: Catalog) -> None:
        """Replace the cached catalog of ``catalog.instance``.

        Writes only the repositories that differ from the catalog this store remembers, when
        the database still holds it (its generation); otherwise every repository. Every
        artifact JSON the write needs, or the write replaces, is read before it begins.
        """
        instance = catalog.instance
        with self._tx(write=False) as conn:
            current = generation_of(conn, "catalog", "instance", instance)
        held = self._memo.catalog(instance, current)
        writes, removed = planned_write(held, catalog)
        generation = new_generation()
        with self._tx() as conn:
            if generation_of(conn, "catalog", "instance", instance) != current:
                raise written_meanwhile(self.path, instance)
            if held is None:
                conn.execute("DELETE FROM catalog_repo WHERE instance = ?", (instance,))
            _write_head(conn, catalog, generation)
            _write_repos(conn, instance, writes, removed)
        self._memo.keep_catalog(catalog, generation, instance=instance)
        moved_along(
            self._sources, instance, held=held is not None, before=current, after=generation
        )

    def _row(self, instance: str, name: str) -> tuple[int | None, str | None]:
        """Return the catalog's generation now and one repository's artifact JSON, read at once."""
        with self._tx(write=False) as conn:
            row = conn.execute(
                "SELECT artifacts FROM catalog_repo WHERE instance = ? AND name = ?",
                (instance, name),
            ).fetchone()
            return generation_of(conn, "catalog", "instance", instance), (
                None if row is None else str(row[0])
            )

    def replace_repositories(
        self,
        instance: str,
        repos: Iterable[Repository],
        removed: Iterable[str],
        *,
        taken_at: datetime,
        projects: frozenset[str] | None = None,
        public_projects: frozenset[str] | None = None,
    ) -> None:
        """Update the cache incrementally: upsert ``repos``, drop ``removed``, move ``taken_at``.

        The project sets are kept unless given; an instance with no cached catalog gets empty ones.
        """
        with self._tx() as conn:
            head = conn.execute(
                "SELECT projects, public_projects FROM catalog WHERE instance = ?", (instance,)
            ).fetchone()
            old = (_EMPTY, _EMPTY) if head is None else (_set(head[0]), _set(head[1]))
            head_of = Catalog(
                instance,
                taken_at,
                projects=old[0] if projects is None else projects,
                public_projects=old[1] if public_projects is None else public_projects,
            )
            _write_head(conn, head_of, new_generation())
            _write_repos(conn, instance, repos, removed)
        self._memo.keep_catalog(None, 0, instance=instance)

    # ------------------------------------------------------------------ drift first-seen

    def load_first_seen(self) -> dict[tuple[str, str, str, str], datetime]:
        """Return when each ``(edge, repository, tag, drift class)`` was first seen drifting."""
        with self._tx(write=False) as conn:
            rows = conn.execute("SELECT edge, repository, tag, drift_class, at FROM first_seen")
            return {(edge, repo, tag, cls): c.dt(at) for edge, repo, tag, cls, at in rows}

    def save_first_seen(self, mapping: Mapping[tuple[str, str, str, str], datetime]) -> None:
        """Replace all first-seen times; drift absent from ``mapping`` is forgotten."""
        with self._tx() as conn:
            conn.execute("DELETE FROM first_seen")
            conn.executemany(
                "INSERT INTO first_seen VALUES (?, ?, ?, ?, ?)",
                ((e, r, t, str(cls), c.ts(at)) for (e, r, t, cls), at in mapping.items()),
            )


@contextmanager
def _gc_paused() -> Iterator[None]:
    # Decoding 200k artifacts allocates ~1M objects with no cycles; the cyclic collector would
    # rescan the whole (large) heap many times over, doubling the load time. Another thread
    # re-enabling it early only costs speed, never correctness.
    enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if enabled:
            gc.enable()


def _write_head(conn: sqlite3.Connection, catalog: Catalog, generation: int) -> None:
    conn.execute(
        "INSERT OR REPLACE INTO catalog (instance, taken_at, projects, public_projects,"
        " generation) VALUES (?, ?, ?, ?, ?)",
        (
            catalog.instance,
            c.ts(catalog.taken_at),
            c.dumps(sorted(catalog.projects)),
            c.dumps(sorted(catalog.public_projects)),
            generation,
        ),
    )


def _write_repos(
    conn: sqlite3.Connection, instance: str, repos: Iterable[Repository], removed: Iterable[str]
) -> None:
    conn.executemany(
        "DELETE FROM catalog_repo WHERE instance = ? AND name = ?",
        ((instance, name) for name in removed),
    )
    conn.executemany(
        "INSERT OR REPLACE INTO catalog_repo VALUES (?, ?, ?, ?, ?, ?)",
        (c.repo_row(instance, repo) for repo in repos),
    )


def _set(text: str) -> frozenset[str]:
    return frozenset(json.loads(text))
