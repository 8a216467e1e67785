"""PostgreSQL tables about *what was there*: bases, the catalog cache, drift first-seen times.

The same rows and encodings as the SQLite ``_snapshots``. Bulk rows (a base or a catalog of
200k tags) go in with COPY; a base row set carries the epoch checked in its transaction. A
write sends only what changed against the value the store remembers (``_memo``, by generation).
"""

from __future__ import annotations

import json
import sys
from typing import TYPE_CHECKING, Any, LiteralString

from syncd.core.model import Catalog
from syncd.errors import StateError
from syncd.store import _codec as c
from syncd.store._memo import BaseKey, base_changes, catalog_changes, new_generation
from syncd.store._pg_db import PgDatabase

if TYPE_CHECKING:
    from collections.abc import Collection, Iterable, Mapping
    from datetime import datetime

    import psycopg

    from syncd.core.incremental import EdgeStamp
    from syncd.core.model import Repository

__all__ = ["PgSnapshots"]


class PgSnapshots(PgDatabase):
    """Bases, the catalog cache and drift first-seen times."""

    def load_base(
        self, edge_name: str, only: Collection[str] | None = None
    ) -> Mapping[tuple[str, str], str] | None:
        """Return the edge's last converged ``(repository, tag) -> digest``, or None if never."""
        with self._tx(fenced=False) as conn:
            generation = _generation(conn, _BASE_GEN, edge_name)
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
            held = self._memo.base(edge_name, _generation(conn, _BASE_GEN_LOCKED, edge_name))
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
            gens = [_generation(conn, _CATALOG_HEAD, e) for e in c.stamp_ends(str(row[0]))]
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
            if _generation(conn, _BASE_GEN_LOCKED, edge_name) is None:
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

    def load_catalog(self, instance: str) -> Catalog | None:
        """Return the cached catalog of ``instance``, or None if never saved."""
        with self._tx(fenced=False) as conn:
            head = conn.execute(
                "SELECT generation, taken_at, projects, public_projects FROM catalog"
                " WHERE instance = %s",
                (instance,),
            ).fetchone()
            if head is None:
                return None
            kept = self._memo.catalog(instance, int(head[0]))
            if kept is not None:
                return kept
            rows = conn.execute(
                "SELECT name, artifact_count, update_time, artifacts, artifact_rows"
                " FROM catalog_repo WHERE instance = %s",
                (instance,),
            ).fetchall()
        catalog = Catalog(
            instance=instance,
            taken_at=c.dt(head[1]),
            repositories=_decode_repos(rows),
            projects=frozenset(json.loads(head[2])),
            public_projects=frozenset(json.loads(head[3])),
        )
        self._memo.keep_catalog(catalog, int(head[0]), instance=instance)
        return catalog

    def save_catalog(self, catalog: Catalog) -> None:
        """Replace the cached catalog of ``catalog.instance``; only what changed, as in SQLite."""
        instance, generation = catalog.instance, new_generation()
        with self._tx() as conn:
            held = self._memo.catalog(instance, _generation(conn, _CATALOG_GEN, instance))
            if held is None:
                conn.execute("DELETE FROM catalog_repo WHERE instance = %s", (instance,))
                _write_head(conn, catalog, generation)
                with conn.cursor().copy("COPY catalog_repo FROM STDIN") as cp:
                    for repo in catalog.repositories.values():
                        cp.write_row(c.repo_row(instance, repo))
            else:
                changed, removed = catalog_changes(held, catalog)
                _write_head(conn, catalog, generation)
                _upsert_repos(conn, instance, changed, removed)
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
        """Update the cache incrementally: upsert ``repos``, drop ``removed``, move ``taken_at``."""
        with self._tx() as conn:
            head = conn.execute(
                "SELECT projects, public_projects FROM catalog WHERE instance = %s", (instance,)
            ).fetchone()
            old = ("[]", "[]") if head is None else (head[0], head[1])
            head_of = Catalog(
                instance,
                taken_at,
                projects=frozenset(json.loads(old[0])) if projects is None else projects,
                public_projects=frozenset(json.loads(old[1]))
                if public_projects is None
                else public_projects,
            )
            _write_head(conn, head_of, new_generation())
            _upsert_repos(conn, instance, repos, removed)
        self._memo.keep_catalog(None, 0, instance=instance)

    def load_first_seen(self) -> dict[tuple[str, str, str, str], datetime]:
        """Return when each ``(edge, repository, tag, drift class)`` was first seen drifting."""
        with self._tx(fenced=False) as conn:
            rows = conn.execute(
                "SELECT edge, repository, tag, drift_class, at FROM first_seen"
            ).fetchall()
        return {(e, r, t, cls): c.dt(at) for e, r, t, cls, at in rows}

    def save_first_seen(self, mapping: Mapping[tuple[str, str, str, str], datetime]) -> None:
        """Replace all first-seen times; drift absent from ``mapping`` is forgotten."""
        with self._tx() as conn:
            conn.execute("DELETE FROM first_seen")
            with conn.cursor().copy("COPY first_seen FROM STDIN") as cp:
                for (e, r, t, cls), at in mapping.items():
                    cp.write_row((e, r, t, str(cls), c.ts(at)))


def _decode_repos(rows: Iterable[tuple[Any, ...]]) -> dict[str, Repository]:
    sets: c.Sets = {}  # equal tag sets shared, artifacts decoded on first use (see _codec)
    return {row[0]: c.decode_repo(*row, sets=sets) for row in rows}


def _text_row(*values: object) -> tuple[str, ...]:
    # COPY would turn a list into an array literal; a non-text value is refused, as in SQLite.
    if not all(isinstance(v, str) for v in values):
        raise StateError(f"cannot store non-text values {values!r}")
    return tuple(str(v) for v in values)


_BASE_GEN = "SELECT generation FROM base_edge WHERE edge = %s"
_BASE_GEN_LOCKED = _BASE_GEN + " FOR UPDATE"
_CATALOG_HEAD = "SELECT generation FROM catalog WHERE instance = %s"
_CATALOG_GEN = _CATALOG_HEAD + " FOR UPDATE"
"""Writers lock the head row first: two writers of one catalog or base run one after another."""


def _generation(
    conn: psycopg.Connection[tuple[Any, ...]], query: LiteralString, key: str
) -> int | None:
    row = conn.execute(query, (key,)).fetchone()
    return None if row is None else int(row[0])


def _interned(rows: Iterable[tuple[Any, ...]]) -> dict[BaseKey, str]:
    # Interned as in SQLite: shared with the catalog's names and digests.
    return {(sys.intern(str(r)), sys.intern(str(t))): sys.intern(str(d)) for r, t, d in rows}


def _ends(conn: psycopg.Connection[tuple[Any, ...]], stamp: EdgeStamp) -> list[int | None]:
    return [_generation(conn, _CATALOG_HEAD, e) for e in (stamp.source, stamp.destination)]


def _copy_base(
    conn: psycopg.Connection[tuple[Any, ...]], edge_name: str, mapping: Mapping[BaseKey, str]
) -> None:
    with conn.cursor().copy("COPY base (edge, repository, tag, digest) FROM STDIN") as cp:
        for (repo, tag), digest in mapping.items():
            cp.write_row(_text_row(edge_name, repo, tag, digest))


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
        [_text_row(edge_name, repo, tag, digest) for (repo, tag), digest in entries.items()],
    )


def _upsert_repos(
    conn: psycopg.Connection[tuple[Any, ...]],
    instance: str,
    repos: Iterable[Repository],
    removed: Iterable[str],
) -> None:
    conn.cursor().executemany(
        "DELETE FROM catalog_repo WHERE instance = %s AND name = %s",
        [(instance, name) for name in removed],
    )
    conn.cursor().executemany(
        "INSERT INTO catalog_repo VALUES (%s, %s, %s, %s, %s, %s) ON CONFLICT (instance, name)"
        " DO UPDATE SET artifact_count = excluded.artifact_count,"
        " update_time = excluded.update_time, artifacts = excluded.artifacts,"
        " artifact_rows = excluded.artifact_rows",
        [c.repo_row(instance, repo) for repo in repos],
    )


def _converged_at(conn: psycopg.Connection[tuple[Any, ...]], edge_name: str) -> str | None:
    row = conn.execute(
        "SELECT converged_at FROM base_edge WHERE edge = %s", (edge_name,)
    ).fetchone()
    return None if row is None else str(row[0])


def _write_head(
    conn: psycopg.Connection[tuple[Any, ...]], catalog: Catalog, generation: int
) -> None:
    conn.execute(
        "INSERT INTO catalog (instance, taken_at, projects, public_projects, generation)"
        " VALUES (%s, %s, %s, %s, %s) ON CONFLICT (instance) DO UPDATE SET"
        " taken_at = excluded.taken_at, projects = excluded.projects,"
        " public_projects = excluded.public_projects, generation = excluded.generation",
        (
            catalog.instance,
            c.ts(catalog.taken_at),
            c.dumps(sorted(catalog.projects)),
            c.dumps(sorted(catalog.public_projects)),
            generation,
        ),
    )
