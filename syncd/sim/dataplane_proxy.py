"""The ``/v2/`` surface of a simulated Harbor: auth, Harbor core's manifest hooks, the proxy.

Like Harbor core, the simulator sits in front of the registry: callers authenticate (no or bad
credentials -> 401 with a ``Basic realm="harbor"`` challenge; real Harbor uses a Bearer token
challenge, which clients handle alike), writes need an existing project, manifest reads are
answered 404 for artifacts the database does not know, and a successful manifest PUT/DELETE is
recorded in the state with the same push/delete events as the Python controls (Harbor core
intercepts the manifest PUT the same way; registry notifications are not used). A manifest GET
counts as a pull; HEAD does not. ``set_storage_lost(True)`` makes this node's manifest and blob
reads 404 while the API still lists them.

Without a registry (the *fake plane*) only ``GET /v2/`` and HEAD of manifests and of blobs that
are known manifest digests are answered, from the state. Artifacts created with the Python
``push`` control have no bytes; on a real plane their HEADs are answered the same way.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import re
import time
from dataclasses import dataclass
from http import HTTPStatus
from typing import TYPE_CHECKING, Any
from urllib.parse import urlsplit

from syncd.sim.catalog import INDEX_TYPES, SimError
from syncd.sim.dataplane_stream import PLANE_HEADER, has_body, relay, request_body, upstream

if TYPE_CHECKING:
    from collections.abc import Callable

    from syncd.sim.instance import SimInstance
    from syncd.sim.server import SimHandler
    from syncd.sim.state import SimArtifact

__all__ = ["PLANE_HEADER", "serve_v2"]

_ROUTE = re.compile(r"^/v2/(?P<repo>.+?)/(?P<kind>manifests|blobs|tags|referrers)/(?P<ref>.*)$")
_API_VERSION = ("Docker-Distribution-Api-Version", "registry/2.0")


@dataclass(frozen=True, slots=True)
class _Call:
    method: str
    path: str
    repo: str
    kind: str
    ref: str

    @property
    def is_read(self) -> bool:
        return self.method in {"GET", "HEAD"}


def _parse(method: str, raw_path: str) -> _Call:
    path = urlsplit(raw_path).path
    match = _ROUTE.match(path)
    if match is None:
        return _Call(method, path, "", "", "")
    return _Call(method, path, match["repo"], match["kind"], match["ref"])


def serve_v2(handler: SimHandler) -> None:
    """Answer one ``/v2/`` request on ``handler`` and log it in ``inst.v2_log``."""
    inst = handler.server.inst
    if inst.faults.down == "refuse":
        handler.close_connection = True
        return
    if inst.faults.latency:
        time.sleep(inst.faults.latency)
    call = _parse(handler.command, handler.path)
    try:
        status = _serve(handler, inst, call)
    except SimError as exc:
        status = _error(handler, exc.status, exc.code, exc.message)
    inst.log_v2(handler.command, handler.path, status)


def _serve(handler: SimHandler, inst: SimInstance, call: _Call) -> int:
    injected = inst.faults.for_data_plane()
    if injected is not None:
        return _error(handler, injected.status, injected.code, injected.message)
    principal = inst.principal(handler.headers.get("Authorization"))
    if not principal.authenticated:
        challenge = {"WWW-Authenticate": 'Basic realm="harbor"'}
        return _error(handler, 401, "UNAUTHORIZED", "authentication required", challenge)
    if call.kind in {"manifests", "blobs"} and call.is_read and inst.faults.storage_lost:
        code = "MANIFEST_UNKNOWN" if call.kind == "manifests" else "BLOB_UNKNOWN"
        return _error(handler, 404, code, f"{call.kind[:-1]} unknown to registry")
    if call.repo and not call.is_read:
        _require_project(inst, call.repo)
    known = _known_manifest(inst, call) if call.kind == "manifests" and call.is_read else None
    registry = inst.data_plane
    if registry is None:
        return _fake(handler, inst, call, known)
    registry.start()  # lazily, on the first /v2/ request (a no-op once running)
    if call.kind == "manifests" and call.method == "PUT":
        return _put_manifest(handler, inst, registry.url, call)
    on_ok = _record_pull if call.kind == "manifests" and call.method == "GET" else None
    status = _proxy(handler, inst, registry.url, synthetic=known, before_ok=on_ok, call=call)
    if call.kind == "manifests" and call.method == "DELETE" and status == HTTPStatus.ACCEPTED:
        _record_delete(inst, call)
    return status


def _require_project(inst: SimInstance, repo: str) -> None:
    project = repo.split("/", 1)[0]
    with inst.state.lock:
        if project not in inst.state.projects:
            raise SimError(404, "NAME_UNKNOWN", f"project {project} not found")


def _known_manifest(inst: SimInstance, call: _Call) -> SimArtifact:
    """Harbor answers manifest reads from its database first: unknown artifacts are 404."""
    try:
        return inst.catalog.resolve(call.repo, call.ref)
    except SimError:
        raise SimError(404, "MANIFEST_UNKNOWN", f"manifest {call.ref} unknown") from None


def _fake(handler: SimHandler, inst: SimInstance, call: _Call, known: SimArtifact | None) -> int:
    if call.path in {"/v2", "/v2/"} and call.is_read:
        return _send(handler, 200, b"{}", {"Content-Type": "application/json"})
    if call.method != "HEAD":
        return _error(handler, 405, "UNSUPPORTED", "fake data plane: HEAD only")
    if known is not None:
        return _synthetic(handler, known)
    if call.kind == "blobs" and call.ref in inst.state.digests(call.repo):
        return _send(handler, 200, b"", {"Docker-Content-Digest": call.ref})
    return _error(handler, 404, "BLOB_UNKNOWN", "blob unknown to registry")


def _synthetic(handler: SimHandler, art: SimArtifact) -> int:
    headers = {"Docker-Content-Digest": art.digest, "Content-Type": art.media_type}
    return _send(handler, 200, b"", headers)


# ---------------------------------------------------------------------- responses


def _send(handler: SimHandler, status: int, payload: bytes, headers: dict[str, str]) -> int:
    handler.send_response(status)
    handler.send_header(*_API_VERSION)
    handler.send_header(PLANE_HEADER, "registry" if handler.server.inst.data_plane else "fake")
    for key, value in headers.items():
        handler.send_header(key, value)
    handler.send_header("Content-Length", str(len(payload)))
    handler.end_headers()
    if handler.command != "HEAD":
        handler.wfile.write(payload)
    return status


def _error(
    handler: SimHandler,
    status: int,
    code: str,
    message: str,
    headers: dict[str, str] | None = None,
) -> int:
    if has_body(handler):
        handler.close_connection = True  # the unread request body must not reach the next parse
    body = json.dumps({"errors": [{"code": code, "message": message, "detail": None}]})
    return _send(
        handler, status, body.encode(), {"Content-Type": "application/json", **(headers or {})}
    )


# ---------------------------------------------------------------------- proxy


def _proxy(
    handler: SimHandler,
    inst: SimInstance,
    base: str,
    *,
    synthetic: SimArtifact | None,
    before_ok: Callable[[SimInstance, _Call], None] | None = None,
    call: _Call | None = None,
) -> int:
    body, framing = request_body(handler)
    conn, resp = upstream(handler, base, body, framing)
    try:
        if resp.status == HTTPStatus.NOT_FOUND and handler.command == "HEAD":
            fallback = synthetic or _blob_known(inst, handler)
            if fallback is not None:
                return _synthetic(handler, fallback)
        if before_ok is not None and call is not None and resp.status == HTTPStatus.OK:
            # Recorded before the response goes out, as Harbor's pull event is: a client that
            # reads pull_count right after its GET must see it counted.
            before_ok(inst, call)
        relay(handler, inst, base, resp)
        return resp.status
    finally:
        conn.close()


def _blob_known(inst: SimInstance, handler: SimHandler) -> SimArtifact | None:
    call = _parse(handler.command, handler.path)
    if call.kind != "blobs":
        return None
    with inst.state.lock:
        repo = inst.state.repos.get(call.repo)
        return repo.artifacts.get(call.ref) if repo else None


# ---------------------------------------------------------------------- manifest hooks


def _put_manifest(handler: SimHandler, inst: SimInstance, base: str, call: _Call) -> int:
    """Buffer the (small) manifest, forward it, and record the artifact on success."""
    body, _ = request_body(handler)
    payload = b"".join(body) if body is not None else b""
    conn, resp = upstream(handler, base, payload, {"Content-Length": str(len(payload))})
    try:
        if resp.status == HTTPStatus.CREATED:
            digest = resp.getheader("Docker-Content-Digest") or (
                "sha256:" + hashlib.sha256(payload).hexdigest()
            )
            _record_push(inst, call, digest, payload, handler.headers.get("Content-Type"))
        relay(handler, inst, base, resp)
        return resp.status
    finally:
        conn.close()


def _record_push(
    inst: SimInstance, call: _Call, digest: str, payload: bytes, content_type: str | None
) -> None:
    try:
        manifest: Any = json.loads(payload)
    except ValueError:
        manifest = {}
    manifest = manifest if isinstance(manifest, dict) else {}
    media_type = str(manifest.get("mediaType") or content_type or "").split(";")[0].strip()
    references: tuple[str, ...] = ()
    if media_type in INDEX_TYPES or "manifests" in manifest:
        references = tuple(str(m.get("digest")) for m in manifest.get("manifests") or ())
    tag = None if call.ref.startswith("sha256:") else call.ref
    inst.push(call.repo, tag, digest=digest, media_type=media_type or None, references=references)


def _record_pull(inst: SimInstance, call: _Call) -> None:
    with contextlib.suppress(SimError):  # deleted meanwhile; the response is already sent
        inst.pull(call.repo, call.ref)


def _record_delete(inst: SimInstance, call: _Call) -> None:
    with contextlib.suppress(SimError):  # already gone from the database
        inst.delete_artifact(call.repo, call.ref)
