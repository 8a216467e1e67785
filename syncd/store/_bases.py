"""SQLite base tables: each edge's last converged tag map, its stamp, read and written in slices.

A base is written in proportion to change: against the value the store remembers (``_memo``,
checked by generation) when whole, or one repository slice at a time when an assessment covered
only some repositories (``syncd.core.incremental``). Its stamp is stored with the generations
both catalogs hold in the same transaction, so it is handed back only while they still do.
"""

from __future__ import annotations

import sys
from typing import TYPE_CHECKING

from syncd.store import _codec as c
from syncd.store._db import Database
from syncd.store._memo import base_changes, new_generation

if TYPE_CHECKING:
    import sqlite3
    from collections.abc import Collection, Iterable, Mapping
    from datetime import datetime

    from syncd.core.incremental import EdgeStamp

__all__ = ["BaseTables", "generation_of"]

_intern = sys.intern


class BaseTables(Database):
    """Per-edge bases and their stamps."""

    def load_base(
        self, edge_name: str, only: Collection[str] | None = None
    ) -> Mapping[tuple[str, str], str] | None:
        """Return the edge's last converged ``(repository, tag) -> digest``, or None if never.

        With ``only``, just the entries of those repositories (read through the key's index).
        """
        with self._tx(write=False) as conn:
            generation = generation_of(conn, "base_edge", "edge", edge_name)
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
            held = self._memo.base(edge_name, generation_of(conn, "base_edge", "edge", edge_name))
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
            return c.stamp_of(row[0], [generation_of(conn, "catalog", "instance", e) for e in ends])

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
            if generation_of(conn, "base_edge", "edge", edge_name) is None:
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


def generation_of(conn: sqlite3.Connection, table: str, column: str, key: str) -> int | None:
    """Return the generation a head row holds, or None without the row."""
    # ``table`` and ``column`` are literals of the store modules, never input.
    row = conn.execute(f"SELECT generation FROM {table} WHERE {column} = ?", (key,)).fetchone()  # noqa: S608
    return None if row is None else int(row[0])


def _ends(conn: sqlite3.Connection, stamp: EdgeStamp) -> list[int | None]:
    return [
        generation_of(conn, "catalog", "instance", name)
        for name in (stamp.source, stamp.destination)
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
