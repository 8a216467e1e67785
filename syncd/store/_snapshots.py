"""State tables about *what was there*: per-edge base snapshots, catalog cache, drift first-seen.

Large by nature (a base or catalog can hold 200k tags), so writes use ``executemany`` inside one
transaction, catalogs are stored as one compact JSON blob per repository, and a pass writes
only what changed against the value the store remembers (``_memo``, checked by generation).
"""

from __future__ import annotations

import gc
import json
import sys
from contextlib import contextmanager
from typing import TYPE_CHECKING

from syncd.core.model import Catalog, Repository
from syncd.store import _codec as c
from syncd.store._db import Database
from syncd.store._memo import base_changes, catalog_changes, new_generation

if TYPE_CHECKING:
    import sqlite3
    from collections.abc import Collection, Iterable, Iterator, Mapping
    from datetime import datetime

    from syncd.core.incremental import EdgeStamp

__all__ = ["SnapshotTables"]

_EMPTY: frozenset[str] = frozenset()
_intern = sys.intern


class SnapshotTables(Database):
    """Bases, the catalog cache and drift first-seen times."""

    # ------------------------------------------------------------------ bases

    def load_base(
        self, edge_name: str, only: Collection[str] | None = None
    ) -> Mapping[tuple[str, str], str] | None:
        """Return the edge's last converged ``(repository, tag) -> digest``, or None if never.

        With ``only``, just the entries of those repositories (read through the key's index).
        """
        with self._tx(write=False) as conn:
            generation = _generation(conn, "base_edge", "edge", edge_name)
            if generation is None:
                return None
            if only is not None:
                return _base_slice(conn, edge_name, only)
            kept = self._memo.base(edge_name, generation)
            if kept is not None:
                return kept
            rows = conn.execute(
                "SELECT repository, tag, digest FROM base WHERE edge = ?", (edge_name,)
            )
            # Interned: names and digests are shared with the catalog's (decoded interned too)
            # instead of one copy per row (a digest string alone is ~120 bytes).
            mapping = {(_intern(repo), _intern(tag)): _intern(digest) for repo, tag, digest in rows}
        self._memo.keep_base(mapping, generation, edge=edge_name)
        return mapping

    def save_base(
        self,
        edge_name: str,
        mapping: Mapping[tuple[str, str], str],
        *,
        at: datetime,
        only: Collection[str] | None = None,
        stamp: EdgeStamp | None = None,
    ) -> None:
        """Replace the edge's base (with ``only``: those repositories' entries) at ``at``.

        A whole base writes only the entries that differ from the base this store remembers,
        when the database still holds it (its generation); otherwise every entry. ``stamp``
        is kept with the generations the two catalogs hold in this same transaction.
        """
        generation = new_generation()
        with self._tx() as conn:
            held = self._memo.base(edge_name, _generation(conn, "base_edge", "edge", edge_name))
            if only is not None:
                _delete_base_repos(conn, edge_name, only)
                changed: Mapping[tuple[str, str], str] = mapping
            elif held is None:
                conn.execute("DELETE FROM base WHERE edge = ?", (edge_name,))
                changed = mapping
            else:
                changed, removed = base_changes(held, mapping)
                _delete_base_keys(conn, edge_name, removed)
            conn.executemany(
                "INSERT OR REPLACE INTO base (edge, repository, tag, digest) VALUES (?, ?, ?, ?)",
                ((edge_name, repo, tag, digest) for (repo, tag), digest in changed.items()),
            )
            text = None if stamp is None else c.stamp_text(stamp, _ends(conn, stamp))
            conn.execute(
                "INSERT OR REPLACE INTO base_edge (edge, converged_at, generation, stamp)"
                " VALUES (?, ?, ?, ?)",
                (edge_name, c.ts(at), generation, text),
            )
        self._memo.keep_base(
            None if only is not None else dict(mapping), generation, edge=edge_name
        )

    def edge_stamp(self, edge_name: str) -> EdgeStamp | None:
        """Return the stamp saved with the edge's base while both its catalogs still hold it."""
        with self._tx(write=False) as conn:
            row = conn.execute(
                "SELECT stamp FROM base_edge WHERE edge = ?", (edge_name,)
            ).fetchone()
            if row is None or not row[0]:
                return None
            ends = c.stamp_ends(row[0])
            return c.stamp_of(row[0], [_generation(conn, "catalog", "instance", e) for e in ends])

    def update_base(
        self,
        edge_name: str,
        *,
        set_: Mapping[tuple[str, str], str],
        remove: Iterable[tuple[str, str]],
    ) -> bool:
        """Amend an existing base after a targeted verify; return False (no change) if none.

        A partial base is never invented for an edge that has not converged, and the convergence
        time stays put: only a full `save_base` moves it.
        """
        with self._tx() as conn:
            if _generation(conn, "base_edge", "edge", edge_name) is None:
                return False
            _delete_base_keys(conn, edge_name, remove)
            conn.executemany(
                "INSERT OR REPLACE INTO base (edge, repository, tag, digest) VALUES (?, ?, ?, ?)",
                ((edge_name, repo, tag, digest) for (repo, tag), digest in set_.items()),
            )
            conn.execute(
                "UPDATE base_edge SET generation = ?, stamp = NULL WHERE edge = ?",
                (new_generation(), edge_name),
            )
        self._memo.keep_base(None, 0, edge=edge_name)
        return True

    def last_converged(self, edge_name: str) -> datetime | None:
        """Return when the edge's base was last saved in full, or None."""
        with self._tx(write=False) as conn:
            row = conn.execute(
                "SELECT converged_at FROM base_edge WHERE edge = ?", (edge_name,)
            ).fetchone()
        return None if row is None else c.dt(row[0])

    # ------------------------------------------------------------------ catalog cache

    def load_catalog(self, instance: str) -> Catalog | None:
        """Return the cached catalog of ``instance``, or None if never saved."""
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
                "SELECT name, artifact_count, update_time, artifacts, artifact_rows"
                " FROM catalog_repo WHERE instance = ?",
                (instance,),
            ).fetchall()
        with _gc_paused():
            sets: c.Sets = {}  # shared by every repository's artifacts, decoded on first use
            repositories = {row[0]: c.decode_repo(*row, sets=sets) for row in rows}
        catalog = Catalog(
            instance=instance,
            taken_at=c.dt(head[1]),
            repositories=repositories,
            projects=_set(head[2]),
            public_projects=_set(head[3]),
        )
        self._memo.keep_catalog(catalog, head[0], instance=instance)
        return catalog

    def save_catalog(self, catalog: Catalog) -> None:
        """Replace the cached catalog of ``catalog.instance``.

        Writes only the repositories that differ from the catalog this store remembers, when
        the database still holds it (its generation); otherwise every repository.
        """
        instance, generation = catalog.instance, new_generation()
        with self._tx() as conn:
            held = self._memo.catalog(instance, _generation(conn, "catalog", "instance", instance))
            if held is None:
                conn.execute("DELETE FROM catalog_repo WHERE instance = ?", (instance,))
                changed, removed = list(catalog.repositories.values()), list[str]()
            else:
                changed, removed = catalog_changes(held, catalog)
            _write_head(conn, catalog, generation)
            _write_repos(conn, instance, changed, removed)
        self._memo.keep_catalog(catalog, generation, instance=instance)

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


def _generation(conn: sqlite3.Connection, table: str, column: str, key: str) -> int | None:
    # ``table`` and ``column`` are literals of this module, never input.
    row = conn.execute(f"SELECT generation FROM {table} WHERE {column} = ?", (key,)).fetchone()  # noqa: S608
    return None if row is None else int(row[0])


def _ends(conn: sqlite3.Connection, stamp: EdgeStamp) -> list[int | None]:
    return [
        _generation(conn, "catalog", "instance", name) for name in (stamp.source, stamp.destination)
    ]


def _base_slice(
    conn: sqlite3.Connection, edge_name: str, repositories: Collection[str]
) -> dict[tuple[str, str], str]:
    query = "SELECT repository, tag, digest FROM base WHERE edge = ? AND repository = ?"
    return {
        (_intern(repo), _intern(tag)): _intern(digest)
        for name in repositories
        for repo, tag, digest in conn.execute(query, (edge_name, name))
    }


def _delete_base_repos(
    conn: sqlite3.Connection, edge_name: str, repositories: Collection[str]
) -> None:
    conn.executemany(
        "DELETE FROM base WHERE edge = ? AND repository = ?",
        ((edge_name, name) for name in repositories),
    )


def _delete_base_keys(
    conn: sqlite3.Connection, edge_name: str, keys: Iterable[tuple[str, str]]
) -> None:
    conn.executemany(
        "DELETE FROM base WHERE edge = ? AND repository = ? AND tag = ?",
        ((edge_name, repo, tag) for repo, tag in keys),
    )


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
