"""Build tiny OCI image layouts on disk with Python: random gzip layers, configs, manifests."""

from __future__ import annotations

import gzip
import hashlib
import io
import json
import os
import tarfile
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from pathlib import Path

__all__ = ["INDEX", "MANIFEST", "build_image", "build_index", "sha256"]

MANIFEST = "application/vnd.oci.image.manifest.v1+json"
INDEX = "application/vnd.oci.image.index.v1+json"
CONFIG = "application/vnd.oci.image.config.v1+json"
LAYER = "application/vnd.oci.image.layer.v1.tar+gzip"


def sha256(data: bytes) -> str:
    """Return the OCI digest of some bytes."""
    return "sha256:" + hashlib.sha256(data).hexdigest()


def _blob(layout: Path, data: bytes, media_type: str) -> dict[str, Any]:
    digest = sha256(data)
    path = layout / "blobs" / "sha256" / digest.removeprefix("sha256:")
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(data)
    return {"mediaType": media_type, "digest": digest, "size": len(data)}


def _layer() -> tuple[bytes, str]:
    raw = io.BytesIO()
    with tarfile.open(fileobj=raw, mode="w") as tar:
        payload = os.urandom(2048)
        info = tarfile.TarInfo("random.bin")
        info.size = len(payload)
        tar.addfile(info, io.BytesIO(payload))
    return gzip.compress(raw.getvalue(), mtime=0), sha256(raw.getvalue())


def _manifest(layout: Path, arch: str) -> dict[str, Any]:
    layer, diff_id = _layer()
    rootfs = {"type": "layers", "diff_ids": [diff_id]}
    config = {"architecture": arch, "os": "linux", "rootfs": rootfs}
    body = {
        "schemaVersion": 2,
        "mediaType": MANIFEST,
        "config": _blob(layout, json.dumps(config).encode(), CONFIG),
        "layers": [_blob(layout, layer, LAYER)],
    }
    return _blob(layout, json.dumps(body).encode(), MANIFEST)


def _finish(layout: Path, descriptors: list[dict[str, Any]]) -> None:
    (layout / "oci-layout").write_text(json.dumps({"imageLayoutVersion": "1.0.0"}))
    index = {"schemaVersion": 2, "mediaType": INDEX, "manifests": descriptors}
    (layout / "index.json").write_text(json.dumps(index))


def build_image(layout: Path, *, tag: str) -> str:
    """Write a one-layer image tagged ``tag`` into the layout; return its manifest digest."""
    layout.mkdir(parents=True, exist_ok=True)
    desc = _manifest(layout, "amd64")
    desc["annotations"] = {"org.opencontainers.image.ref.name": tag}
    _finish(layout, [desc])
    return str(desc["digest"])


def build_index(layout: Path, *, tag: str) -> tuple[str, tuple[str, ...]]:
    """Write a two-platform image index tagged ``tag``; return its digest and the children."""
    layout.mkdir(parents=True, exist_ok=True)
    children = []
    for arch in ("amd64", "arm64"):
        child = _manifest(layout, arch)
        child["platform"] = {"architecture": arch, "os": "linux"}
        children.append(child)
    body = {"schemaVersion": 2, "mediaType": INDEX, "manifests": children}
    desc = _blob(layout, json.dumps(body).encode(), INDEX)
    desc["annotations"] = {"org.opencontainers.image.ref.name": tag}
    _finish(layout, [desc])
    return str(desc["digest"]), tuple(str(c["digest"]) for c in children)
