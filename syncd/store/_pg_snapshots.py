"""PostgreSQL tables about *what was there*: the catalog cache, drift first-seen times.

The same rows and encodings as the SQLite ``_snapshots`` (bases: ``_pg_bases``). A whole
catalog of 200k tags goes in with COPY; otherwise a write sends only what changed against the
value the store remembers (``_memo``, by generation).
"""

from __future__ import annotations

import json
from typing import TYPE_CHECKING, Any

from syncd.core.model import Catalog
from syncd.store import _codec as c
from syncd.store._lazy import RowSource, moved_along, planned_write, written_meanwhile
from syncd.store._memo import new_generation
from syncd.store._pg_bases import CATALOG_GEN, CATALOG_HEAD, PgBases, generation_of

if TYPE_CHECKING:
    from collections.abc import Iterable, Mapping
    from datetime import datetime

    import psycopg

    from syncd.core.model import Repository

__all__ = ["PgSnapshots"]


class PgSnapshots(PgBases):
    """The catalog cache and drift first-seen times (and the bases, from ``PgBases``)."""

    def load_catalog(self, instance: str) -> Catalog | None:
        """Return the cached catalog of ``instance``, or None if never saved.

        Summaries only, as in SQLite: artifact JSON is read when first used (``_lazy``).
        """
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
                "SELECT name, artifact_count, update_time, NULL, artifact_rows"
                " FROM catalog_repo WHERE instance = %s",
                (instance,),
            ).fetchall()
        generation = int(head[0])
        source = RowSource(self._row, where=self.path, instance=instance, generation=generation)
        sets: c.Sets = {}  # equal tag sets shared, artifacts decoded on first use (see _codec)
        catalog = Catalog(
            instance=instance,
            taken_at=c.dt(head[1]),
            repositories={r[0]: c.decode_repo(*r, sets=sets, fetch=source.text) for r in rows},
            projects=frozenset(json.loads(head[2])),
            public_projects=frozenset(json.loads(head[3])),
        )
        self._memo.keep_catalog(catalog, generation, instance=instance)
        self._sources[instance] = source
        return catalog

    def save_catalog(self, catalog: Catalog) -> None:
        """Replace the cached catalog of ``catalog.instance``; only what changed, as in SQLite."""
        instance = catalog.instance
        with self._tx(fenced=False) as conn:
            current = generation_of(conn, CATALOG_HEAD, instance)
        held = self._memo.catalog(instance, current)
        writes, removed = planned_write(held, catalog)
        generation = new_generation()
        with self._tx() as conn:
            if generation_of(conn, CATALOG_GEN, instance) != current:
                raise written_meanwhile(self.path, instance)
            _write_head(conn, catalog, generation)
            if held is None:
                conn.execute("DELETE FROM catalog_repo WHERE instance = %s", (instance,))
                with conn.cursor().copy("COPY catalog_repo FROM STDIN") as cp:
                    for repo in writes:
                        cp.write_row(c.repo_row(instance, repo))
            else:
                _upsert_repos(conn, instance, writes, removed)
        self._memo.keep_catalog(catalog, generation, instance=instance)
        moved_along(
            self._sources, instance, held=held is not None, before=current, after=generation
        )

    def _row(self, instance: str, name: str) -> tuple[int | None, str | None]:
        """Return the catalog's generation now and one repository's artifact JSON, read at once."""
        with self._tx(fenced=False) as conn:
            row = conn.execute(
                "SELECT artifacts FROM catalog_repo WHERE instance = %s AND name = %s",
                (instance, name),
            ).fetchone()
            return generation_of(conn, CATALOG_HEAD, instance), (
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
