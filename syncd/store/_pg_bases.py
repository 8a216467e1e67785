"""PostgreSQL base tables: each edge's last converged tag map and its stamp, as in ``_bases``.

The same rows and semantics as the SQLite ``_bases``. A whole base goes in with COPY or as the
entries that differ from the remembered one; a slice replaces just its repositories' rows; the
row set carries the epoch checked in its transaction.
"""

from __future__ import annotations

import sys
from typing import TYPE_CHECKING, Any, LiteralString

from syncd.errors import StateError
from syncd.store import _codec as c
from syncd.store._memo import BaseKey, base_changes, new_generation
from syncd.store._pg_db import PgDatabase

if TYPE_CHECKING:
    from collections.abc import Collection, Iterable, Mapping
    from datetime import datetime

    import psycopg

    from syncd.core.incremental import EdgeStamp

__all__ = ["CATALOG_GEN", "CATALOG_HEAD", "PgBases", "generation_of", "text_row"]


class PgBases(PgDatabase):
    """Per-edge bases and their stamps."""

    def load_base(
        self, edge_name: str, only: Collection[str] | None = None
    ) -> Mapping[tuple[str, str], str] | None:
        """Return the edge's last converged ``(repository, tag) -> digest``, or None if never."""
        with self._tx(fenced=False) as conn:
            generation = generation_of(conn, _BASE_GEN, edge_name)
            if generation is None:
                return None
            if only is not None:
                rows = conn.execute(
                    "SELECT repository, tag, digest FROM base WHERE edge = %s"
                    " AND repository = ANY(%s)",
                    (edge_name, list(only)),
                ).fetchall()
                return _interned(rows)
            kept = self._memo.base(edge_name, generation)
            if kept is not None:
                return kept
            rows = conn.execute(
                "SELECT repository, tag, digest FROM base WHERE edge = %s", (edge_name,)
            ).fetchall()
        mapping = _interned(rows)
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
        """Replace the edge's base (or ``only`` some repositories'), as in SQLite."""
        generation = new_generation()
        with self._epoch_tx() as (conn, epoch):
            held = self._memo.base(edge_name, generation_of(conn, _BASE_GEN_LOCKED, edge_name))
            if only is not None:
                conn.execute(
                    "DELETE FROM base WHERE edge = %s AND repository = ANY(%s)",
                    (edge_name, list(only)),
                )
                _upsert_base(conn, edge_name, mapping)
            elif held is None:
                conn.execute("DELETE FROM base WHERE edge = %s", (edge_name,))
                _copy_base(conn, edge_name, mapping)
            else:
                changed, removed = base_changes(held, mapping)
                _delete_base_keys(conn, edge_name, removed)
                _upsert_base(conn, edge_name, changed)
            text = None if stamp is None else c.stamp_text(stamp, _ends(conn, stamp))
            conn.execute(
                "INSERT INTO base_edge (edge, converged_at, epoch, generation, stamp)"
                " VALUES (%s, %s, %s, %s, %s) ON CONFLICT (edge) DO UPDATE SET"
                " converged_at = excluded.converged_at, epoch = excluded.epoch,"
                " generation = excluded.generation, stamp = excluded.stamp",
                (edge_name, c.ts(at), epoch, generation, text),
            )
        self._memo.keep_base(
            None if only is not None else dict(mapping), generation, edge=edge_name
        )

    def edge_stamp(self, edge_name: str) -> EdgeStamp | None:
        """Return the stamp saved with the edge's base while both its catalogs still hold it."""
        with self._tx(fenced=False) as conn:
            row = conn.execute(
                "SELECT stamp FROM base_edge WHERE edge = %s", (edge_name,)
            ).fetchone()
            if row is None or not row[0]:
                return None
            gens = [generation_of(conn, CATALOG_HEAD, e) for e in c.stamp_ends(str(row[0]))]
            return c.stamp_of(str(row[0]), gens)

    def update_base(
        self,
        edge_name: str,
        *,
        set_: Mapping[tuple[str, str], str],
        remove: Iterable[tuple[str, str]],
    ) -> bool:
        """Amend an existing base; return False (no change) if the edge has none."""
        with self._tx() as conn:
            if generation_of(conn, _BASE_GEN_LOCKED, edge_name) is None:
                return False
            _delete_base_keys(conn, edge_name, remove)
            _upsert_base(conn, edge_name, set_)
            conn.execute(
                "UPDATE base_edge SET generation = %s, stamp = NULL WHERE edge = %s",
                (new_generation(), edge_name),
            )
        self._memo.keep_base(None, 0, edge=edge_name)
        return True

    def last_converged(self, edge_name: str) -> datetime | None:
        """Return when the edge's base was last saved in full, or None."""
        with self._tx(fenced=False) as conn:
            return c.opt_dt(_converged_at(conn, edge_name))


_BASE_GEN = "SELECT generation FROM base_edge WHERE edge = %s"
_BASE_GEN_LOCKED = _BASE_GEN + " FOR UPDATE"
CATALOG_HEAD = "SELECT generation FROM catalog WHERE instance = %s"
CATALOG_GEN = CATALOG_HEAD + " FOR UPDATE"
"""Writers lock the head row first: two writers of one catalog or base run one after another."""


def generation_of(
    conn: psycopg.Connection[tuple[Any, ...]], query: LiteralString, key: str
) -> int | None:
    row = conn.execute(query, (key,)).fetchone()
    return None if row is None else int(row[0])


def text_row(*values: object) -> tuple[str, ...]:
    # COPY would turn a list into an array literal; a non-text value is refused, as in SQLite.
    if not all(isinstance(v, str) for v in values):
        raise StateError(f"cannot store non-text values {values!r}")
    return tuple(str(v) for v in values)


def _interned(rows: Iterable[tuple[Any, ...]]) -> dict[BaseKey, str]:
    # Interned as in SQLite: shared with the catalog's names and digests.
    return {(sys.intern(str(r)), sys.intern(str(t))): sys.intern(str(d)) for r, t, d in rows}


def _ends(conn: psycopg.Connection[tuple[Any, ...]], stamp: EdgeStamp) -> list[int | None]:
    return [generation_of(conn, CATALOG_HEAD, e) for e in (stamp.source, stamp.destination)]


def _copy_base(
    conn: psycopg.Connection[tuple[Any, ...]], edge_name: str, mapping: Mapping[BaseKey, str]
) -> None:
    with conn.cursor().copy("COPY base (edge, repository, tag, digest) FROM STDIN") as cp:
        for (repo, tag), digest in mapping.items():
            cp.write_row(text_row(edge_name, repo, tag, digest))


def _delete_base_keys(
    conn: psycopg.Connection[tuple[Any, ...]], edge_name: str, keys: Iterable[BaseKey]
) -> None:
    conn.cursor().executemany(
        "DELETE FROM base WHERE edge = %s AND repository = %s AND tag = %s",
        [(edge_name, repo, tag) for repo, tag in keys],
    )


def _upsert_base(
    conn: psycopg.Connection[tuple[Any, ...]], edge_name: str, entries: Mapping[BaseKey, str]
) -> None:
    conn.cursor().executemany(
        "INSERT INTO base (edge, repository, tag, digest) VALUES (%s, %s, %s, %s)"
        " ON CONFLICT (edge, repository, tag) DO UPDATE SET digest = excluded.digest",
        [text_row(edge_name, repo, tag, digest) for (repo, tag), digest in entries.items()],
    )


def _converged_at(conn: psycopg.Connection[tuple[Any, ...]], edge_name: str) -> str | None:
    row = conn.execute(
        "SELECT converged_at FROM base_edge WHERE edge = %s", (edge_name,)
    ).fetchone()
    return None if row is None else str(row[0])
