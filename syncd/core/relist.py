"""What a snapshot must re-list, and how, at the fewest API calls: pure decisions only.

A repository is re-listed when it is new, its ``update_time`` or ``artifact_count`` moved since
the previous catalog (Harbor >= 2.15.2 bumps update_time on push and delete), its cached rows
disagree with its ``artifact_count`` (a short listing must not outlive the fault), or a webhook
named it. Per project, the changed repositories are listed either one by one
(``ceil(artifacts/100)`` pages each) or through the project-wide artifact listing
(``ceil(all the project's artifacts/100)`` pages), whichever costs fewer calls. ``observe``
does the I/O.
"""

from __future__ import annotations

import math
from collections import defaultdict
from dataclasses import dataclass, replace
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from collections.abc import Collection, Mapping, Sequence

    from syncd.core.model import Artifact, Catalog, Repository

__all__ = ["PAGE", "ListingPlan", "assemble", "plan_listing", "short_repositories"]

PAGE = 100
"""Harbor's maximum page size."""


@dataclass(frozen=True, slots=True)
class ListingPlan:
    """The listings one snapshot needs."""

    by_project: Mapping[str, Sequence[Repository]]
    changed: Mapping[str, Sequence[Repository]]
    """Repositories to re-list, per project."""
    project_jobs: tuple[str, ...]
    """Projects listed through ``/projects/{p}/artifacts``."""
    repo_jobs: tuple[str, ...]
    """Repositories listed one by one."""


def _changed(repo: Repository, previous: Catalog | None) -> bool:
    if previous is None:
        return True
    old = previous.repositories.get(repo.name)
    return old is None or (old.update_time, old.artifact_count, len(old.artifacts)) != (
        repo.update_time,
        repo.artifact_count,
        repo.artifact_count,
    )


def _per_repo_cost(repos: Sequence[Repository]) -> int:
    return sum(max(1, math.ceil(r.artifact_count / PAGE)) for r in repos)


def _project_cost(all_repos: Sequence[Repository]) -> int:
    return max(1, math.ceil(sum(r.artifact_count for r in all_repos) / PAGE))


def plan_listing(
    repos: Sequence[Repository], *, previous: Catalog | None, focus: Collection[str] = ()
) -> ListingPlan:
    """Decide what to re-list (``previous`` None: everything) and through which listing."""
    by_project: dict[str, list[Repository]] = defaultdict(list)
    changed: dict[str, list[Repository]] = defaultdict(list)
    for repo in repos:
        by_project[repo.project].append(repo)
        if repo.artifact_count > 0 and (_changed(repo, previous) or repo.name in focus):
            changed[repo.project].append(repo)
    projects = tuple(
        p for p, reps in changed.items() if _project_cost(by_project[p]) < _per_repo_cost(reps)
    )
    singles = tuple(r.name for p, reps in changed.items() if p not in projects for r in reps)
    return ListingPlan(dict(by_project), dict(changed), projects, singles)


def assemble(
    repos: Sequence[Repository],
    *,
    listed: Mapping[str, tuple[Artifact, ...]],
    previous: Catalog | None,
) -> dict[str, Repository]:
    """Repositories with artifacts: freshly listed, else carried over from ``previous``."""
    result: dict[str, Repository] = {}
    before = {} if previous is None else previous.repositories
    for repo in repos:
        name = repo.name
        if name in listed:
            result[name] = replace(repo, artifacts=listed[name])
        elif repo.artifact_count > 0 and (old := before.get(name)) is not None:
            # The previous object itself when nothing moved: later identity checks (what
            # changed, what to write) then need not compare the repository field by field.
            same = (old.update_time, old.artifact_count) == (repo.update_time, repo.artifact_count)
            result[name] = old if same else replace(repo, artifacts=old.artifacts)
        else:
            result[name] = repo
    return result


def short_repositories(
    repos: Sequence[Repository], *, listed: Mapping[str, tuple[Artifact, ...]]
) -> list[str]:
    """Describe each freshly listed repository whose rows disagree with its ``artifact_count``."""
    return [
        f"{repo.name}: {len(listed[repo.name])} rows listed, artifact_count {repo.artifact_count}"
        for repo in repos
        if repo.name in listed and len(listed[repo.name]) != repo.artifact_count
    ]
