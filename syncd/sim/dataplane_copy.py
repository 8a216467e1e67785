"""Replication of real bytes between data-plane simulators (Harbor's registry-to-registry copy).

Reads the source side like Harbor's internal ``harbor-registry-client``: straight from this
instance's own registry, so it is not a pull. Writes go to the *destination simulator's*
``/v2/`` with the endpoint's credentials, so the destination records the artifact and fires its
own push events (the dual-master echo). Per tag: the destination's manifest is HEADed first, an
equal digest is a no-op and a differing one is skipped when ``override`` is false; otherwise
missing blobs are uploaded (HEAD, then monolithic POST + PUT), index children recursively, and
the manifest bytes are PUT verbatim, so digests are preserved.

Units whose manifest the source registry does not hold (artifacts made with the Python ``push``
control) or a destination without a registry fall back to the state-level copy: the caller
sends what ``copy_units`` returns to ``/_sim/replicate-in`` as before.
"""

from __future__ import annotations

import json
from http import HTTPStatus
from typing import TYPE_CHECKING, Any, Protocol

import httpx

from syncd.sim.dataplane_stream import PLANE_HEADER
from syncd.sim.peer import Endpoint, PeerError

if TYPE_CHECKING:
    from collections.abc import Sequence

    from syncd.sim.dataplane import RegistryProcess

__all__ = ["Copier", "RealCopier"]

MANIFEST_TYPES = (
    "application/vnd.oci.image.index.v1+json, application/vnd.oci.image.manifest.v1+json, "
    "application/vnd.docker.distribution.manifest.list.v2+json, "
    "application/vnd.docker.distribution.manifest.v2+json"
)
_TIMEOUT = httpx.Timeout(30.0, connect=2.0)


class Copier(Protocol):
    """Copies units as real bytes; returns the units left for the state-level copy."""

    def __call__(
        self,
        *,
        endpoint: Endpoint,
        src_repo: str,
        dst_repo: str,
        units: Sequence[dict[str, Any]],
        override: bool,
        public: bool,
    ) -> list[dict[str, Any]]:
        """Copy ``units`` from ``src_repo`` here to ``dst_repo`` on the endpoint."""
        ...


class RealCopier:
    """Copies units from this instance's registry to a peer simulator's ``/v2/``."""

    def __init__(self, *, registry: RegistryProcess) -> None:
        self.registry = registry

    def __call__(
        self,
        *,
        endpoint: Endpoint,
        src_repo: str,
        dst_repo: str,
        units: Sequence[dict[str, Any]],
        override: bool,
        public: bool,
    ) -> list[dict[str, Any]]:
        """Copy what can be copied as bytes; return the units left for the state-level copy."""
        if not self.registry.started:
            return list(units)  # nothing was ever pushed through /v2/: no bytes to copy
        with (
            httpx.Client(base_url=self.registry.url, timeout=_TIMEOUT) as src,
            httpx.Client(
                base_url=endpoint.url,
                auth=(endpoint.username, endpoint.password),
                timeout=_TIMEOUT,
            ) as dst,
        ):
            job = _Copy(src, dst, src_repo, dst_repo)
            rest = [u for u in units if not job.has_source(u["digest"])]
            todo = [u for u in units if u not in rest]
            if not todo or _send(dst, "GET", "/v2/").headers.get(PLANE_HEADER) != "registry":
                return list(units)
            job.ensure_project(public=public)
            for unit in todo:
                job.copy_unit(unit, override=override)
            return rest


def _send(
    client: httpx.Client, method: str, url: str, *, allow: int = HTTPStatus.NOT_FOUND, **kw: Any
) -> httpx.Response:
    try:
        resp = client.request(method, url, **kw)
    except httpx.HTTPError as exc:
        raise PeerError(f"{method} {url}: {exc}") from exc
    client.cookies.clear()  # a sid cookie sent back would fail Harbor's CSRF check
    if resp.is_error and resp.status_code != allow:
        raise PeerError(f"{method} {url}: HTTP {resp.status_code}")
    return resp


class _Copy:
    """One repository's copy: source registry client, destination simulator client."""

    def __init__(self, src: httpx.Client, dst: httpx.Client, src_repo: str, dst_repo: str) -> None:
        self.src, self.dst = src, dst
        self.src_repo, self.dst_repo = src_repo, dst_repo
        self._manifests: dict[str, tuple[bytes, str]] = {}

    def has_source(self, digest: str) -> bool:
        resp = _send(
            self.src, "HEAD", f"/v2/{self.src_repo}/manifests/{digest}",
            headers={"Accept": MANIFEST_TYPES},
        )  # fmt: skip
        return resp.status_code == HTTPStatus.OK

    def ensure_project(self, *, public: bool) -> None:
        """Harbor's adapter creates a missing destination project before pushing."""
        body = {
            "project_name": self.dst_repo.split("/", 1)[0],
            "metadata": {"public": str(public).lower()},
        }
        _send(self.dst, "POST", "/api/v2.0/projects", json=body, allow=HTTPStatus.CONFLICT)

    def copy_unit(self, unit: dict[str, Any], *, override: bool) -> None:
        digest: str = unit["digest"]
        refs = [
            ref
            for ref in (list(unit.get("tags") or ()) or [digest])
            if self._wanted(ref, digest, override=override)
        ]
        if not refs:
            return
        payload, media_type = self._content(digest)
        for ref in refs:
            self._put_manifest(ref, payload, media_type)

    def _wanted(self, ref: str, digest: str, *, override: bool) -> bool:
        resp = _send(
            self.dst, "HEAD", f"/v2/{self.dst_repo}/manifests/{ref}",
            headers={"Accept": MANIFEST_TYPES},
        )  # fmt: skip
        if resp.status_code == HTTPStatus.NOT_FOUND:
            return True
        current = resp.headers.get("Docker-Content-Digest")
        return current != digest and override and ref != digest

    def _manifest(self, digest: str) -> tuple[bytes, str]:
        if digest not in self._manifests:
            resp = _send(
                self.src, "GET", f"/v2/{self.src_repo}/manifests/{digest}",
                headers={"Accept": MANIFEST_TYPES},
            )  # fmt: skip
            if resp.status_code != HTTPStatus.OK:
                raise PeerError(f"source manifest {self.src_repo}@{digest} is gone")
            media_type = resp.headers.get("Content-Type", "").split(";")[0]
            self._manifests[digest] = (resp.content, media_type)
        return self._manifests[digest]

    def _content(self, digest: str) -> tuple[bytes, str]:
        """Make everything ``digest`` refers to present on the destination; return its bytes."""
        payload, media_type = self._manifest(digest)
        document = json.loads(payload)
        for child in document.get("manifests") or ():
            child_payload, child_type = self._content(child["digest"])
            if self._wanted(child["digest"], child["digest"], override=False):
                self._put_manifest(child["digest"], child_payload, child_type)
        blobs = [document.get("config") or {}, *(document.get("layers") or ())]
        for blob in blobs:
            if blob.get("digest") and not blob.get("urls"):
                self._copy_blob(blob["digest"])
        return payload, media_type

    def _copy_blob(self, digest: str) -> None:
        path = f"/v2/{self.dst_repo}/blobs/{digest}"
        if _send(self.dst, "HEAD", path).status_code == HTTPStatus.OK:
            return
        started = _send(self.dst, "POST", f"/v2/{self.dst_repo}/blobs/uploads/")
        location = started.headers.get("Location")
        if started.status_code != HTTPStatus.ACCEPTED or not location:
            raise PeerError(f"blob upload to {self.dst_repo} not started: {started.status_code}")
        with self.src.stream("GET", f"/v2/{self.src_repo}/blobs/{digest}") as blob:
            if blob.status_code != HTTPStatus.OK:
                raise PeerError(f"source blob {self.src_repo}@{digest} is gone")
            length = blob.headers["Content-Length"]
            sep = "&" if "?" in location else "?"
            done = _send(
                self.dst, "PUT", f"{location}{sep}digest={digest}",
                content=blob.iter_bytes(),
                headers={"Content-Length": length, "Content-Type": "application/octet-stream"},
            )  # fmt: skip
        if done.status_code != HTTPStatus.CREATED:
            raise PeerError(f"blob {digest} upload to {self.dst_repo}: {done.status_code}")

    def _put_manifest(self, ref: str, payload: bytes, media_type: str) -> None:
        resp = _send(
            self.dst, "PUT", f"/v2/{self.dst_repo}/manifests/{ref}",
            content=payload, headers={"Content-Type": media_type},
        )  # fmt: skip
        if resp.status_code != HTTPStatus.CREATED:
            raise PeerError(f"manifest {self.dst_repo}:{ref}: HTTP {resp.status_code}")
