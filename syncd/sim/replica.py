"""The replication data plane between simulators: export artifacts as units, ingest them.

A *unit* is one listed artifact with the tags to copy plus what travels with it (index children,
accessories). The receiving side applies Harbor's transfer rules per tag: same digest is a no-op,
a differing digest is skipped when ``override`` is false, and only real pushes publish events.
Labels are Harbor metadata, not registry content: they do not travel.
"""

from __future__ import annotations

from http import HTTPStatus
from typing import TYPE_CHECKING, Any

from syncd.sim.catalog import Catalog, SimError, SimEvent

if TYPE_CHECKING:
    from syncd.sim.state import SimArtifact, SimRepo

__all__ = ["apply_deletion", "export_repo", "export_units", "ingest", "prepare_push"]


def _meta(art: SimArtifact) -> dict[str, Any]:
    return {"digest": art.digest, "media_type": art.media_type, "type": art.type}


def export_units(repo: SimRepo) -> list[dict[str, Any]]:
    """Every listed artifact of a repository as a unit carrying all its tags (caller holds lock)."""
    units = []
    for art in repo.visible():
        children = [_meta(repo.artifacts[c]) for c in art.references if c in repo.artifacts]
        accessories = [_meta(a) for a in repo.accessories_of(art.digest)]
        units.append(
            {
                **_meta(art),
                "tags": sorted(art.tags),
                "labels": list(art.labels),
                "references": list(art.references),
                "children": children,
                "accessories": accessories,
            }
        )
    return units


def export_repo(catalog: Catalog, name: str, digest: str, tags: tuple[str, ...]) -> dict[str, Any]:
    """One unit for an event: the artifact with just the event's tags (no labels on push)."""
    with catalog.state.lock:
        repo = catalog.state.repos.get(name)
        for unit in export_units(repo) if repo else []:
            if unit["digest"] == digest:
                return {**unit, "tags": list(tags)}
        return {"digest": digest, "tags": list(tags), "labels": [], "references": []}


def _ensure_project(catalog: Catalog, repository: str, *, public: bool) -> bool:
    """PrepareForPush: create a missing project; False for proxy-cache projects (skipped)."""
    name = repository.split("/", 1)[0]
    project = catalog.state.projects.get(name)
    if project is None:
        project = catalog.create_project(name, public=public)
    return project.registry_id == 0


def prepare_push(catalog: Catalog, body: dict[str, Any]) -> dict[str, Any]:
    """Serve the destination side of PrepareForPush: create the projects the flow writes."""
    with catalog.state.lock:
        for repository, public in body.get("repositories", ()):
            _ensure_project(catalog, str(repository), public=bool(public))
    return {}


def _push_unit(catalog: Catalog, repository: str, unit: dict[str, Any], tag: str | None) -> None:
    for child in unit.get("children", ()):
        catalog.push(repository, None, child["digest"], media_type=child.get("media_type"))
    catalog.push(
        repository,
        tag,
        unit["digest"],
        media_type=unit.get("media_type"),
        type=unit.get("type"),
        references=unit.get("references", ()),
    )


def _copy_accessories(catalog: Catalog, repository: str, unit: dict[str, Any]) -> None:
    have = catalog.state.repos[repository].artifacts
    for acc in unit.get("accessories", ()):
        if acc["digest"] not in have:
            catalog.push(
                repository,
                None,
                acc["digest"],
                media_type=acc.get("media_type"),
                type=acc.get("type"),
                accessory_of=unit["digest"],
            )


def ingest(catalog: Catalog, body: dict[str, Any]) -> tuple[dict[str, Any], list[SimEvent]]:
    """Apply a replicate-in request; returns a summary and the push events to publish."""
    repository: str = body["repository"]
    override = bool(body.get("override"))
    events: list[SimEvent] = []
    pushed: list[str] = []
    skipped: list[str] = []
    with catalog.state.lock:
        if not _ensure_project(catalog, repository, public=bool(body.get("public"))):
            return {"pushed": [], "skipped": ["proxy-cache project"]}, []
        for unit in body.get("artifacts", ()):
            repo = catalog.state.repos.get(repository)
            items: list[str | None] = list(unit.get("tags") or ()) or [None]
            for tag in items:
                current = (repo.tag_index.get(tag) if tag else None) if repo else None
                exists = current is not None or (
                    tag is None and repo is not None and unit["digest"] in repo.artifacts
                )
                if exists and (current in {None, unit["digest"]} or not override):
                    skipped.append(tag or unit["digest"])
                    continue
                _push_unit(catalog, repository, unit, tag)
                events.append(SimEvent("push", repository, unit["digest"], (tag,) if tag else ()))
                pushed.append(tag or unit["digest"])
                repo = catalog.state.repos[repository]
            if repository in catalog.state.repos:
                _copy_accessories(catalog, repository, unit)
    return {"pushed": pushed, "skipped": skipped}, events


def apply_deletion(catalog: Catalog, body: dict[str, Any]) -> tuple[dict[str, Any], list[SimEvent]]:
    """Apply a delete-in request (``deletion`` by tag->digest, or ``tag deletion``); 404s skip."""
    repository: str = body["repository"]
    events: list[SimEvent] = []
    done: list[str] = []
    refs: list[str] = list(body.get("tags") or ()) or [body["digest"]]
    for ref in refs:
        try:
            if body.get("operation") == "tag deletion":
                events += catalog.delete_tag(repository, ref)
            else:
                events += catalog.delete_artifact(repository, ref)
            done.append(ref)
        except SimError as exc:
            if exc.status != HTTPStatus.NOT_FOUND:
                raise
    return {"deleted": done}, events
