"""Registry helpers shared by data-plane tests: skip marker, skopeo pushes, /v2/ and API reads."""

from __future__ import annotations

import shutil
import subprocess
from typing import TYPE_CHECKING, Any

import httpx
import pytest

from tests.simkit import AUTH

__all__ = [
    "ACCEPT",
    "AUTH",
    "MISSING",
    "api_artifacts",
    "get_manifest",
    "head",
    "requires_registry",
    "settled",
    "skopeo_push",
]

if TYPE_CHECKING:
    from pathlib import Path

    from syncd.sim import SimInstance

ACCEPT = {
    "Accept": "application/vnd.oci.image.index.v1+json, application/vnd.oci.image.manifest.v1+json"
}
MISSING = [b for b in ("docker-registry", "skopeo") if shutil.which(b) is None]
requires_registry = pytest.mark.skipif(
    bool(MISSING),
    reason=f"needs the Debian docker-registry and skopeo binaries; missing: {', '.join(MISSING)}",
)


def skopeo_push(
    layout: Path, ref: str, inst: SimInstance, target: str, *, all_: bool = False
) -> str:
    """``skopeo copy`` an OCI layout into the simulator's /v2/; return the pushed digest."""
    digestfile = layout.parent / f"{layout.name}-{ref}.digest"
    cmd = [
        "skopeo", "copy", "--dest-creds", "admin:Harbor12345", "--dest-tls-verify=false",
        "--digestfile", str(digestfile),
        *(["--all"] if all_ else []),
        f"oci:{layout}:{ref}", f"docker://127.0.0.1:{inst.port}/{target}",
    ]  # fmt: skip
    result = subprocess.run(cmd, capture_output=True, text=True, timeout=50, check=False)
    assert result.returncode == 0, result.stderr
    return digestfile.read_text().strip()


def head(inst: SimInstance, repo: str, ref: str, **kw: Any) -> httpx.Response:
    """HEAD a manifest through the simulator's /v2/ with admin credentials."""
    url = f"{inst.url}/v2/{repo}/manifests/{ref}"
    return httpx.head(url, auth=kw.pop("auth", AUTH), headers=ACCEPT, timeout=10, **kw)


def get_manifest(inst: SimInstance, repo: str, ref: str) -> httpx.Response:
    """GET a manifest through the simulator's /v2/ (counts as a pull)."""
    url = f"{inst.url}/v2/{repo}/manifests/{ref}"
    return httpx.get(url, auth=AUTH, headers=ACCEPT, timeout=10)


def api_artifacts(inst: SimInstance, repo: str) -> list[dict[str, Any]]:
    """List a repository's artifacts through the Harbor API."""
    project, rest = repo.split("/", 1)
    url = f"{inst.url}/api/v2.0/projects/{project}/repositories/{rest}/artifacts"
    resp = httpx.get(url, auth=AUTH, params={"with_tag": "true"}, timeout=10)
    resp.raise_for_status()
    body: list[dict[str, Any]] = resp.json()
    return body


def settled(inst: SimInstance) -> list[str]:
    """Every execution's fresh status, once none is InProgress (else an empty list)."""
    with inst.state.lock:
        executions = list(inst.state.executions.values())
    statuses = [inst.engine.status(e, fresh=True)[0] for e in executions]
    return [] if "InProgress" in statuses else statuses
