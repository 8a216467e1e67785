"""Helpers shared by tests that drive the simulator: credentials, polling, spec checks, seeding."""

from __future__ import annotations

import time
from typing import TYPE_CHECKING, Any

import httpx
import pytest

from tests import harbor_spec

if TYPE_CHECKING:
    from collections.abc import Callable

    from syncd.sim import SimInstance

AUTH = ("admin", "Harbor12345")
INDEX = "application/vnd.oci.image.index.v1+json"


def wait_for(predicate: Callable[[], Any], *, timeout: float = 10.0) -> Any:
    """Poll ``predicate`` every 10 ms until truthy; fail after ``timeout`` seconds."""
    deadline = time.monotonic() + timeout
    while True:
        value = predicate()
        if value:
            return value
        if time.monotonic() > deadline:
            pytest.fail("condition not reached before the deadline")
        time.sleep(0.01)


def check(resp: httpx.Response) -> Any:
    """Validate a response body against Harbor's spec (strict); return the parsed body."""
    ctype = resp.headers.get("content-type", "")
    body = resp.json() if resp.content and "json" in ctype else resp.text or None
    path = resp.request.url.raw_path.decode()
    try:
        harbor_spec.validate_response(resp.request.method, path, resp.status_code, body)
    except harbor_spec.SpecViolation as exc:
        if "is not documented" not in str(exc):
            raise
        # Harbor returns some statuses its spec does not list (404/412): still the Errors shape.
        harbor_spec.validate_error_body(body, where=str(exc))
    return body


def seed_catalog(sim: SimInstance) -> dict[str, str]:
    """Create a small catalog: public/private projects, nested repos, an index, an accessory."""
    sim.create_project("library", public=True)
    sim.create_project("team")
    digests = {
        "nginx:1.0": sim.push("library/nginx", "1.0", labels=("prod",)),
        "nginx:latest": sim.push("library/nginx", "latest", content="nginx-latest"),
        "app:v1": sim.push("team/sub/app", "v1"),
    }
    children = (sim.push("library/multi", None, content="amd64"), sim.push("library/multi", None))
    digests["multi:1"] = sim.push("library/multi", "1", references=children)
    digests["sig"] = sim.push(
        "library/nginx", None, content="sig", accessory_of=digests["nginx:1.0"]
    )
    digests["untagged"] = sim.push("library/nginx", None, content="dangling")
    return digests


def api(inst: SimInstance) -> httpx.Client:
    """Open a fresh authenticated client for an instance (caller closes it)."""
    client = httpx.Client(base_url=inst.url + "/api/v2.0", auth=AUTH, timeout=10)
    client.event_hooks["response"] = [lambda _r: client.cookies.clear()]
    return client
