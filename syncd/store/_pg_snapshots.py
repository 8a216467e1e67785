"""PostgreSQL tables about *what was there*: bases, the catalog cache, drift first-seen times.

The same rows and encodings as the SQLite ``_snapshots``. Bulk rows (a base or a catalog of
200k tags) go in with COPY; a base row set carries the epoch checked in its transaction.
"""

from __future__ import annotations

import json
from typing import TYPE_CHECKING, Any

from syncd.core.model import Catalog
from syncd.errors import StateError
from syncd.store import _codec as c
from syncd.store._pg_db import PgDatabase

if TYPE_CHECKING:
    from collections.abc import Iterable, Mapping
    from datetime import datetime

    import psycopg

    from syncd.core.model import Repository

__all__ = ["PgSnapshots"]


class PgSnapshots(PgDatabase):
    """Bases, the catalog cache and drift first-seen times."""

    def load_base(self, edge_name: str) -> dict[tuple[str, str], str] | None:
        """Return the edge's last converged ``(repository, tag) -> digest``, or None if never."""
        with self._tx(fenced=False) as conn:
            if _converged_at(conn, edge_name) is None:
                return None
            rows = conn.execute(
                "SELECT repository, tag, digest FROM base WHERE edge = %s", (edge_name,)
            ).fetchall()
        return {(str(r), str(t)): str(d) for r, t, d in rows}

    def save_base(
        self, edge_name: str, mapping: Mapping[tuple[str, str], str], *, at: datetime
    ) -> None:
        """Replace the edge's base with ``mapping``, converged at ``at``."""
        with self._epoch_tx() as (conn, epoch):
            conn.execute("DELETE FROM base WHERE edge = %s", (edge_name,))
            with conn.cursor().copy("COPY base (edge, repository, tag, digest) FROM STDIN") as cp:
                for (repo, tag), digest in mapping.items():
                    cp.write_row(_text_row(edge_name, repo, tag, digest))
            conn.execute(
                "INSERT INTO base_edge VALUES (%s, %s, %s) ON CONFLICT (edge)"
                " DO UPDATE SET converged_at = excluded.converged_at, epoch = excluded.epoch",
                (edge_name, c.ts(at), epoch),
            )

    def update_base(
        self,
        edge_name: str,
        *,
        set_: Mapping[tuple[str, str], str],
        remove: Iterable[tuple[str, str]],
    ) -> bool:
        """Amend an existing base; return False (no change) if the edge has none."""
        with self._tx() as conn:
            if _converged_at(conn, edge_name) is None:
                return False
            conn.cursor().executemany(
                "DELETE FROM base WHERE edge = %s AND repository = %s AND tag = %s",
                [(edge_name, repo, tag) for repo, tag in remove],
            )
            conn.cursor().executemany(
                "INSERT INTO base VALUES (%s, %s, %s, %s) ON CONFLICT (edge, repository, tag)"
                " DO UPDATE SET digest = excluded.digest",
                [(edge_name, repo, tag, digest) for (repo, tag), digest in set_.items()],
            )
            return True

    def last_converged(self, edge_name: str) -> datetime | None:
        """Return when the edge's base was last saved in full, or None."""
        with self._tx(fenced=False) as conn:
            return c.opt_dt(_converged_at(conn, edge_name))

    def load_catalog(self, instance: str) -> Catalog | None:
        """Return the cached catalog of ``instance``, or None if never saved."""
        with self._tx(fenced=False) as conn:
            head = conn.execute(
                "SELECT taken_at, projects, public_projects FROM catalog WHERE instance = %s",
                (instance,),
            ).fetchone()
            if head is None:
                return None
            rows = conn.execute(
                "SELECT name, artifact_count, update_time, artifacts FROM catalog_repo"
                " WHERE instance = %s",
                (instance,),
            ).fetchall()
        return Catalog(
            instance=instance,
            taken_at=c.dt(head[0]),
            repositories={row[0]: c.decode_repo(*row) for row in rows},
            projects=frozenset(json.loads(head[1])),
            public_projects=frozenset(json.loads(head[2])),
        )

    def save_catalog(self, catalog: Catalog) -> None:
        """Replace the cached catalog of ``catalog.instance``."""
        with self._tx() as conn:
            conn.execute("DELETE FROM catalog_repo WHERE instance = %s", (catalog.instance,))
            _write_head(
                conn,
                catalog.instance,
                catalog.taken_at,
                catalog.projects,
                public=catalog.public_projects,
            )
            with conn.cursor().copy("COPY catalog_repo FROM STDIN") as cp:
                for repo in catalog.repositories.values():
                    cp.write_row(c.repo_row(catalog.instance, repo))

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
            _write_head(
                conn,
                instance,
                taken_at,
                frozenset(json.loads(old[0])) if projects is None else projects,
                public=frozenset(json.loads(old[1]))
                if public_projects is None
                else public_projects,
            )
            conn.cursor().executemany(
                "DELETE FROM catalog_repo WHERE instance = %s AND name = %s",
                [(instance, name) for name in removed],
            )
            conn.cursor().executemany(
                "INSERT INTO catalog_repo VALUES (%s, %s, %s, %s, %s) ON CONFLICT (instance, name)"
                " DO UPDATE SET artifact_count = excluded.artifact_count,"
                " update_time = excluded.update_time, artifacts = excluded.artifacts",
                [c.repo_row(instance, repo) for repo in repos],
            )

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


def _text_row(*values: object) -> tuple[str, ...]:
    # COPY would turn a list into an array literal; a non-text value is refused, as in SQLite.
    if not all(isinstance(v, str) for v in values):
        raise StateError(f"cannot store non-text values {values!r}")
    return tuple(str(v) for v in values)


def _converged_at(conn: psycopg.Connection[tuple[Any, ...]], edge_name: str) -> str | None:
    row = conn.execute(
        "SELECT converged_at FROM base_edge WHERE edge = %s", (edge_name,)
    ).fetchone()
    return None if row is None else str(row[0])


def _write_head(
    conn: psycopg.Connection[tuple[Any, ...]],
    instance: str,
    taken_at: datetime,
    projects: frozenset[str],
    *,
    public: frozenset[str],
) -> None:
    conn.execute(
        "INSERT INTO catalog VALUES (%s, %s, %s, %s) ON CONFLICT (instance) DO UPDATE SET"
        " taken_at = excluded.taken_at, projects = excluded.projects,"
        " public_projects = excluded.public_projects",
        (instance, c.ts(taken_at), c.dumps(sorted(projects)), c.dumps(sorted(public))),
    )
