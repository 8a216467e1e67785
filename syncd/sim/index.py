"""Listing indexes beside the store, so that one page of a listing costs O(page), not O(project).

Owns, per project, the repository names and the listed artifacts in Harbor's default order
(``-push_time,-id``) with their repositories and accessories. An entry is rebuilt when the
project's revision (``SimState.touched``) or the number of repositories moved since it was
built: once per change, however many pages are read between changes. Call with
``state.lock`` held.
"""

from __future__ import annotations

import weakref
from dataclasses import dataclass
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from datetime import datetime

    from syncd.sim.state import SimArtifact, SimRepo, SimState

__all__ = ["ProjectArtifacts", "accessories_by_subject", "project_artifacts", "repos_of"]


@dataclass(frozen=True, slots=True)
class ProjectArtifacts:
    """The listed artifacts of one project, newest push first, with what renders them."""

    rows: tuple[tuple[SimRepo, SimArtifact], ...]
    accessories: dict[int, list[SimArtifact]]
    """Artifact id -> its accessories (only artifacts that have some)."""
    counts: dict[str, int]
    """Repository name -> how many of its artifacts are listed (its ``artifact_count``)."""


@dataclass(frozen=True, slots=True)
class _Entry:
    key: tuple[int, int]
    repos: tuple[str, ...]
    artifacts: ProjectArtifacts | None


_ENTRIES: weakref.WeakKeyDictionary[SimState, dict[str, _Entry]] = weakref.WeakKeyDictionary()
_REPOS: weakref.WeakKeyDictionary[SimState, tuple[int, dict[str, tuple[str, ...]]]] = (
    weakref.WeakKeyDictionary()
)


def repos_of(state: SimState, project: str) -> tuple[str, ...]:
    """Names of the repositories of ``project``, in creation order."""
    return _entry(state, project).repos


def project_artifacts(state: SimState, project: str) -> ProjectArtifacts:
    """Return the listed artifacts of ``project`` (no accessories, no untagged children)."""
    entry = _entry(state, project)
    if entry.artifacts is None:
        entry = _Entry(entry.key, entry.repos, _build(state, entry.repos))
        _ENTRIES[state][project] = entry
    assert entry.artifacts is not None
    return entry.artifacts


def _entry(state: SimState, project: str) -> _Entry:
    key = (state.revisions.get(project, 0), len(state.repos))
    entries = _ENTRIES.setdefault(state, {})
    entry = entries.get(project)
    if entry is None or entry.key != key:
        entry = _Entry(key, _names_by_project(state).get(project, ()), None)
        entries[project] = entry
    return entry


def _names_by_project(state: SimState) -> dict[str, tuple[str, ...]]:
    """Every repository name by project; rebuilt when the count of repositories changes."""
    cached = _REPOS.get(state)
    if cached is None or cached[0] != len(state.repos):
        index: dict[str, list[str]] = {}
        for name in state.repos:
            index.setdefault(name.partition("/")[0], []).append(name)
        cached = (len(state.repos), {p: tuple(names) for p, names in index.items()})
        _REPOS[state] = cached
    return cached[1]


def accessories_by_subject(repo: SimRepo) -> dict[int, list[SimArtifact]]:
    """Artifact id -> its accessories, in the repository's order (``SimRepo.accessories_of``)."""
    found: dict[int, list[SimArtifact]] = {}
    for art in [a for a in repo.artifacts.values() if a.accessory_of is not None]:
        subject = repo.artifacts.get(art.accessory_of or "")
        if subject is not None:
            found.setdefault(subject.id, []).append(art)
    return found


def _build(state: SimState, names: tuple[str, ...]) -> ProjectArtifacts:
    keyed: list[tuple[datetime, int, SimRepo, SimArtifact]] = []
    accessories: dict[int, list[SimArtifact]] = {}
    counts: dict[str, int] = {}
    for name in names:
        repo = state.repos[name]
        accessories.update(accessories_by_subject(repo))
        listed = repo.visible()
        counts[name] = len(listed)
        keyed.extend([(art.push_time, art.id, repo, art) for art in listed])
    keyed.sort(reverse=True)  # -push_time, -id: ids are unique, so repos are never compared
    rows = tuple((repo, art) for _, _, repo, art in keyed)
    return ProjectArtifacts(rows, accessories, counts)
