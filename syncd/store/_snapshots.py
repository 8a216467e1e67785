"""State tables about *what was there*: per-edge base snapshots, catalog cache, drift first-seen.

Large by nature (a base or catalog can hold 200k tags), so writes use ``executemany`` inside one
transaction and catalogs are stored as one compact JSON blob per repository.
"""

from __future__ import annotations

import gc
import json
from contextlib import contextmanager
from typing import TYPE_CHECKING

from syncd.core.model import Catalog, Repository
from syncd.store import _codec as c
from syncd.store._db import Database

if TYPE_CHECKING:
    import sqlite3
    from collections.abc import Iterable, Iterator, Mapping
    from datetime import datetime

__all__ = ["SnapshotTables"]

_EMPTY: frozenset[str] = frozenset()


class SnapshotTables(Database):
    """Bases, the catalog cache and drift first-seen times."""

    # ------------------------------------------------------------------ bases

    def load_base(self, edge_name: str) -> dict[tuple[str, str], str] | None:
        """Return the edge's last converged ``(repository, tag) -> digest``, or None if never."""
        with self._tx(write=False) as conn:
            if not _has_base(conn, edge_name):
                return None
            rows = conn.execute(
                "SELECT repository, tag, digest FROM base WHERE edge = ?", (edge_name,)
            )
            return {(repo, tag): digest for repo, tag, digest in rows}

    def save_base(
        self, edge_name: str, mapping: Mapping[tuple[str, str], str], *, at: datetime
    ) -> None:
        """Replace the edge's base with ``mapping``, converged at ``at``."""
        with self._tx() as conn:
            conn.execute("DELETE FROM base WHERE edge = ?", (edge_name,))
            conn.executemany(
                "INSERT INTO base (edge, repository, tag, digest) VALUES (?, ?, ?, ?)",
                ((edge_name, repo, tag, digest) for (repo, tag), digest in mapping.items()),
            )
            conn.execute(
                "INSERT OR REPLACE INTO base_edge (edge, converged_at) VALUES (?, ?)",
                (edge_name, c.ts(at)),
            )

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
            if not _has_base(conn, edge_name):
                return False
            conn.executemany(
                "DELETE FROM base WHERE edge = ? AND repository = ? AND tag = ?",
                ((edge_name, repo, tag) for repo, tag in remove),
            )
            conn.executemany(
                "INSERT OR REPLACE INTO base (edge, repository, tag, digest) VALUES (?, ?, ?, ?)",
                ((edge_name, repo, tag, digest) for (repo, tag), digest in set_.items()),
            )
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
                "SELECT taken_at, projects, public_projects FROM catalog WHERE instance = ?",
                (instance,),
            ).fetchone()
            if head is None:
                return None
            rows = conn.execute(
                "SELECT name, artifact_count, update_time, artifacts FROM catalog_repo"
                " WHERE instance = ?",
                (instance,),
            ).fetchall()
        with _gc_paused():
            repositories = {row[0]: c.decode_repo(*row) for row in rows}
        return Catalog(
            instance=instance,
            taken_at=c.dt(head[0]),
            repositories=repositories,
            projects=_set(head[1]),
            public_projects=_set(head[2]),
        )

    def save_catalog(self, catalog: Catalog) -> None:
        """Replace the cached catalog of ``catalog.instance``."""
        with self._tx() as conn:
            conn.execute("DELETE FROM catalog_repo WHERE instance = ?", (catalog.instance,))
            _write_head(
                conn,
                catalog.instance,
                catalog.taken_at,
                catalog.projects,
                public=catalog.public_projects,
            )
            conn.executemany(
                "INSERT INTO catalog_repo VALUES (?, ?, ?, ?, ?)",
                (c.repo_row(catalog.instance, repo) for repo in catalog.repositories.values()),
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
            _write_head(
                conn,
                instance,
                taken_at,
                old[0] if projects is None else projects,
                public=old[1] if public_projects is None else public_projects,
            )
            conn.executemany(
                "DELETE FROM catalog_repo WHERE instance = ? AND name = ?",
                ((instance, name) for name in removed),
            )
            conn.executemany(
                "INSERT OR REPLACE INTO catalog_repo VALUES (?, ?, ?, ?, ?)",
                (c.repo_row(instance, repo) for repo in repos),
            )

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


def _has_base(conn: sqlite3.Connection, edge_name: str) -> bool:
    return (
        conn.execute("SELECT 1 FROM base_edge WHERE edge = ?", (edge_name,)).fetchone() is not None
    )


def _write_head(
    conn: sqlite3.Connection,
    instance: str,
    taken_at: datetime,
    projects: frozenset[str],
    *,
    public: frozenset[str],
) -> None:
    conn.execute(
        "INSERT OR REPLACE INTO catalog VALUES (?, ?, ?, ?)",
        (instance, c.ts(taken_at), c.dumps(sorted(projects)), c.dumps(sorted(public))),
    )


def _set(text: str) -> frozenset[str]:
    return frozenset(json.loads(text))
