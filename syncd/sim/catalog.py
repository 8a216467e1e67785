"""Catalog mutations with Harbor's semantics: push, tag moves, deletes, pulls, bulk data.

Each mutation runs under the store lock and returns the events Harbor would publish; the caller
dispatches them to the replication engine *after* releasing the lock.
"""

from __future__ import annotations

import hashlib
import random
from dataclasses import dataclass
from typing import Any

from syncd.sim.state import SimArtifact, SimProject, SimRepo, SimState, SimTag, utcnow

__all__ = ["Catalog", "SimError", "SimEvent", "fake_digest"]

INDEX_TYPES = {
    "application/vnd.oci.image.index.v1+json",
    "application/vnd.docker.distribution.manifest.list.v2+json",
}


class SimError(Exception):
    """A Harbor-style error: HTTP status, Harbor error code and message."""

    def __init__(self, status: int, code: str, message: str) -> None:
        super().__init__(message)
        self.status = status
        self.code = code
        self.message = message


@dataclass(frozen=True, slots=True)
class SimEvent:
    """What Harbor's notifier publishes: ``push`` | ``delete_artifact`` | ``delete_tag``."""

    kind: str
    repository: str
    digest: str
    tags: tuple[str, ...] = ()
    labels: tuple[str, ...] = ()


def fake_digest(content: str) -> str:
    """Make a deterministic sha256 digest standing in for manifest bytes."""
    return "sha256:" + hashlib.sha256(content.encode()).hexdigest()


class Catalog:
    """Projects, repositories, artifacts and tags of one instance."""

    def __init__(self, state: SimState, *, touch_on_write: bool) -> None:
        self.state = state
        self.touch_on_write = touch_on_write
        """Harbor >= v2.15.2 bumps repository update_time on artifact/tag create and delete."""

    def create_project(self, name: str, *, public: bool = False) -> SimProject:
        """Create a project (409 if it exists)."""
        with self.state.lock:
            if name in self.state.projects:
                raise SimError(409, "CONFLICT", f"The project named {name} already exists")
            now = utcnow()
            project = SimProject(self.state.next_id("project"), name, public, now, now)
            self.state.projects[name] = project
            return project

    def _repo(self, name: str, *, create: bool) -> SimRepo:
        project_name, _, rest = name.partition("/")
        project = self.state.projects.get(project_name)
        if project is None:
            raise SimError(404, "NOT_FOUND", f"project {project_name} not found")
        if not rest:
            raise SimError(400, "BAD_REQUEST", f"invalid repository name {name}")
        repo = self.state.repos.get(name)
        if repo is None:
            if not create:
                raise SimError(404, "NOT_FOUND", f"repository {name} not found")
            now = utcnow()
            repo = SimRepo(self.state.next_id("repo"), project.id, name, now, now)
            self.state.repos[name] = repo
        return repo

    def _touch(self, repo: SimRepo) -> None:
        self.state.touched(repo.name)
        if self.touch_on_write:
            repo.update_time = utcnow()

    def push(self, repository: str, tag: str | None, digest: str, **meta: Any) -> list[SimEvent]:
        """Push one manifest (optionally tagged) like a registry client; creates the repository."""
        with self.state.lock:
            repo = self._repo(repository, create=True)
            art = self._ensure_artifact(repo, digest, meta)
            if tag:
                self._set_tag(repo, tag, art)
            self._touch(repo)
            return [SimEvent("push", repository, digest, (tag,) if tag else ())]

    def _ensure_artifact(self, repo: SimRepo, digest: str, meta: dict[str, Any]) -> SimArtifact:
        now = utcnow()
        for child in meta.get("references") or ():
            if child not in repo.artifacts:
                repo.artifacts[child] = SimArtifact(self.state.next_id("artifact"), child, now)
        art = repo.artifacts.get(digest)
        if art is None:
            media_type = meta.get("media_type") or (
                "application/vnd.oci.image.index.v1+json"
                if meta.get("references")
                else "application/vnd.oci.image.manifest.v1+json"
            )
            art = SimArtifact(self.state.next_id("artifact"), digest, now, media_type=media_type)
            art.type = meta.get("type") or (
                "IMAGE" if not meta.get("accessory_of") else "SIGNATURE"
            )
            art.references = tuple(meta.get("references") or ())
            art.accessory_of = meta.get("accessory_of")
            repo.artifacts[digest] = art
        art.push_time = now
        labels = meta.get("labels") or ()
        art.labels = tuple(dict.fromkeys([*art.labels, *labels]))
        for label in labels:
            self.state.label_id(label)
        return art

    def _set_tag(self, repo: SimRepo, tag: str, art: SimArtifact) -> None:
        old = repo.tag_index.get(tag)
        if old is not None and old in repo.artifacts:
            repo.artifacts[old].tags.pop(tag, None)
        art.tags[tag] = SimTag(self.state.next_id("tag"), tag, utcnow())
        repo.tag_index[tag] = art.digest

    def retag(self, repository: str, tag: str, digest: str) -> list[SimEvent]:
        """Point ``tag`` at an existing artifact (Harbor's create-tag; publishes a push event)."""
        with self.state.lock:
            repo = self._repo(repository, create=False)
            art = repo.artifacts.get(digest)
            if art is None:
                raise SimError(404, "NOT_FOUND", f"artifact {repository}@{digest} not found")
            self._set_tag(repo, tag, art)
            self._touch(repo)
            return [SimEvent("push", repository, digest, (tag,), art.labels)]

    def resolve(self, repository: str, reference: str) -> SimArtifact:
        """Find an artifact by tag or digest (404 if either is missing)."""
        with self.state.lock:
            repo = self._repo(repository, create=False)
            digest = reference if reference.startswith("sha256:") else repo.tag_index.get(reference)
            art = repo.artifacts.get(digest or "")
            if art is None:
                raise SimError(404, "NOT_FOUND", f"artifact {repository}:{reference} not found")
            return art

    def delete_tag(self, repository: str, tag: str) -> list[SimEvent]:
        """Delete one tag; the artifact stays (untagged)."""
        with self.state.lock:
            repo = self._repo(repository, create=False)
            digest = repo.tag_index.pop(tag, None)
            if digest is None:
                raise SimError(404, "NOT_FOUND", f"tag {tag} not found in {repository}")
            art = repo.artifacts[digest]
            art.tags.pop(tag, None)
            self._touch(repo)
            return [SimEvent("delete_tag", repository, digest, (tag,), art.labels)]

    def delete_artifact(self, repository: str, reference: str) -> list[SimEvent]:
        """Delete an artifact with all its tags, accessories and unshared children."""
        with self.state.lock:
            repo = self._repo(repository, create=False)
            art = self.resolve(repository, reference)
            self._drop(repo, art)
            others = {r for a in repo.artifacts.values() for r in a.references}
            for child in art.references:
                kid = repo.artifacts.get(child)
                if kid is not None and not kid.tags and child not in others:
                    self._drop(repo, kid)
            self._touch(repo)
            return [
                SimEvent("delete_artifact", repository, art.digest, tuple(art.tags), art.labels)
            ]

    def _drop(self, repo: SimRepo, art: SimArtifact) -> None:
        for acc in repo.accessories_of(art.digest):
            self._drop(repo, acc)
        for tag in art.tags:
            repo.tag_index.pop(tag, None)
        repo.artifacts.pop(art.digest, None)

    def pull(self, repository: str, reference: str) -> None:
        """Record a client's manifest GET: pull counts and, on every version, update_time."""
        with self.state.lock:
            art = self.resolve(repository, reference)
            repo = self.state.repos[repository]
            art.pull_time = repo.update_time = utcnow()
            repo.pull_count += 1
            self.state.touched(repository)

    def generate(
        self,
        *,
        projects: int,
        repos_per_project: int,
        tags_per_repo: int,
        seed: int = 0,
        public: bool = False,
    ) -> int:
        """Bulk-create a catalog in memory without events; returns the number of tags made."""
        rng = random.Random(seed)
        now = utcnow()
        state = self.state
        with state.lock:
            for p in range(projects):
                pname = f"gen{seed}-p{p:04d}"
                project = state.projects.get(pname) or self.create_project(pname, public=public)
                state.touched(pname)
                for r in range(repos_per_project):
                    name = f"{pname}/repo-{r:05d}"
                    repo = SimRepo(state.next_id("repo"), project.id, name, now, now)
                    state.repos[name] = repo
                    for t in range(tags_per_repo):
                        digest = f"sha256:{rng.getrandbits(256):064x}"
                        art = SimArtifact(state.next_id("artifact"), digest, now)
                        art.tags[f"v{t}"] = SimTag(state.next_id("tag"), f"v{t}", now)
                        repo.artifacts[digest] = art
                        repo.tag_index[f"v{t}"] = digest
        return projects * repos_per_project * tags_per_repo
