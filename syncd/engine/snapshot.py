"""Catalog snapshots of one instance: the listings a pass needs, run concurrently, proven complete.

Owns which projects are in scope, running the pure re-list plan (``syncd.core.relist``) through
the client (project-wide listings, falling back per repository on a Harbor without them, and
remembering that fallback per client and Harbor version),
progress callbacks, and refusing a snapshot whose rows disagree with the repositories' counts.
"""

from __future__ import annotations

import gc
import re
import threading
import weakref
from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING, TypeVar

from syncd.core.glob import glob_match
from syncd.core.model import Artifact, Catalog
from syncd.core.relist import ListingPlan, assemble, plan_listing, short_repositories
from syncd.errors import HarborNotFound, IncompleteListingError

if TYPE_CHECKING:
    from collections.abc import Iterable
    from datetime import datetime

    from syncd.harbor.client import HarborClient

__all__ = ["Progress", "Scope", "has_project_listing", "snapshot"]

T = TypeVar("T")
Progress = Callable[[str, int, int], None]
"""``(instance, listings done, listings planned)``; the CLI draws it on a terminal."""


@dataclass(frozen=True, slots=True)
class Scope:
    """Which projects syncd looks at: include globs (empty = all) minus exclude globs."""

    include: tuple[str, ...] = ()
    exclude: tuple[str, ...] = ()

    def covers(self, project: str) -> bool:
        """Whether ``project`` is in scope."""
        if self.include and not any(glob_match(p, project) for p in self.include):
            return False
        return not any(glob_match(p, project) for p in self.exclude)


class _Ticker:
    """Counts finished listings for a progress callback (``(instance, done, total)``)."""

    def __init__(self, instance: str, total: int, progress: Progress | None) -> None:
        self.instance, self.total, self._progress = instance, total, progress
        self._done = 0
        self._lock = threading.Lock()

    def wrap(self, fn: Callable[[str], T]) -> Callable[[str], T]:
        def run(item: str) -> T:
            result = fn(item)
            if self._progress is not None:
                with self._lock:
                    self._done += 1
                    done = self._done
                self._progress(self.instance, done, self.total)
            return result

        return run


class _MissingRoutes:
    """Clients whose Harbor answered 404 to the project-wide listing, with its harbor_version.

    Harbor before v2.12 has no ``/projects/{p}/artifacts``: after the first 404 no listing of
    this client (in this pass or a later one) asks again, until the instance reports another
    version (an upgrade). Keyed weakly: a closed, dropped client is forgotten.
    """

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._versions: weakref.WeakKeyDictionary[HarborClient, str] = weakref.WeakKeyDictionary()

    def lacks(self, client: HarborClient, version: str | None) -> bool:
        """Whether ``client``'s Harbor at ``version`` is known to lack the project listing."""
        with self._lock:
            return version is not None and self._versions.get(client) == version

    def remember(self, client: HarborClient, version: str | None) -> None:
        """Note that ``client``'s Harbor at ``version`` lacks the project listing."""
        if version is not None:
            with self._lock:
                self._versions[client] = version


_MISSING = _MissingRoutes()
PROJECT_LISTING_SINCE = (2, 12, 0)
"""The first Harbor with ``GET /projects/{p}/artifacts`` (goharbor/harbor#20803)."""


def has_project_listing(version: str | None) -> bool:
    """Whether a ``harbor_version`` (``v2.15.2-abc``) is known to serve the project listing."""
    match = re.match(r"v?(\d+)\.(\d+)\.(\d+)", version or "")
    return match is not None and tuple(int(g) for g in match.groups()) >= PROJECT_LISTING_SINCE


def _list_changed(
    client: HarborClient,
    plan: ListingPlan,
    *,
    version: str | None = None,
    progress: Progress | None = None,
) -> dict[str, tuple[Artifact, ...]]:
    """Run the plan's listings; a project listing Harbor lacks falls back to per repository."""
    repo_jobs = list(plan.repo_jobs)
    ticker = _Ticker(client.name, len(plan.project_jobs) + len(repo_jobs), progress)
    listed: dict[str, tuple[Artifact, ...]] = {}
    lister = ticker.wrap(_project_lister(client, version))
    for project, per_repo in zip(
        plan.project_jobs, client.map_concurrent(lister, plan.project_jobs), strict=True
    ):
        if per_repo is None:  # older Harbor without the project-wide listing
            repo_jobs.extend(r.name for r in plan.changed[project])
            ticker.total += len(plan.changed[project])
            continue
        wanted = {r.name for r in plan.changed[project]}
        listed.update({name: arts for name, arts in per_repo.items() if name in wanted})
        listed.update({name: () for name in wanted if name not in per_repo})
    arts = client.map_concurrent(ticker.wrap(client.list_artifacts), repo_jobs)
    listed.update(zip(repo_jobs, arts, strict=True))
    return listed


def _project_lister(
    client: HarborClient, version: str | None
) -> Callable[[str], dict[str, tuple[Artifact, ...]] | None]:
    def lister(project: str) -> dict[str, tuple[Artifact, ...]] | None:
        if _MISSING.lacks(client, version):
            return None
        try:
            listed = client.list_project_artifacts(project)
        except HarborNotFound:
            # On a Harbor that has the route, a 404 means the project went away meanwhile:
            # nothing to remember (its repositories are listed one by one this time).
            if not has_project_listing(version):
                _MISSING.remember(client, version)
            return None
        # The catalog grows by ~10^4 long-lived objects per project: frozen, full collections
        # stop rescanning all listed so far (the next pass's start unfreezes them). The young
        # generations are collected first so that their garbage cycles are not frozen too.
        gc.collect(1)
        gc.freeze()
        return listed

    return lister


def snapshot(
    client: HarborClient,
    *,
    previous: Catalog | None,
    scope: Scope,
    now: datetime,
    incremental: bool,
    focus: Iterable[str] = (),
    progress: Progress | None = None,
    version: str | None = None,
) -> tuple[Catalog, int]:
    """Take a catalog of one instance; re-list only changed repositories when ``incremental``.

    ``focus`` names repositories to re-list whatever their update_time says (webhooks).
    ``version`` (the instance's ``harbor_version``) keys the memory of a missing project-wide
    listing; None never remembers. Returns the catalog and how many repositories were re-listed.
    """
    listed_repos = client.list_all_repositories()
    # Once per project, not per repository: a glob per repository is most of a warm pass.
    covered = {p for p in {r.project for r in listed_repos} if scope.covers(p)}
    repos = [r for r in listed_repos if r.project in covered]
    base = previous if incremental else None
    plan = plan_listing(repos, previous=base, focus=frozenset(focus))
    listed = _list_changed(client, plan, version=version, progress=progress)
    short = short_repositories(repos, listed=listed)
    if short:
        more = f" (+{len(short) - 1} more)" if len(short) > 1 else ""
        raise IncompleteListingError(
            f"instance {client.name}: incomplete listing: {short[0]}{more}", instance=client.name
        )
    catalog = Catalog(
        instance=client.name,
        taken_at=now,
        repositories=assemble(repos, listed=listed, previous=base),
        projects=frozenset(plan.by_project),
    )
    return catalog, len(listed)
