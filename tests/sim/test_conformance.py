"""Every simulated endpoint, called over real HTTP, answers with bodies that match Harbor's spec."""

from __future__ import annotations

from typing import TYPE_CHECKING

import httpx
import pytest

from tests.simkit import api, check, wait_for

if TYPE_CHECKING:
    from syncd.sim import SimCluster

CATALOG_GETS = [
    ("/ping", 200),
    ("/health", 200),
    ("/systeminfo", 200),
    ("/projects", 200),
    ("/projects?with_detail=false&page_size=1", 200),
    ("/projects?q=name%3D~lib&sort=-name", 200),
    ("/projects?page_size=101", 422),
    ("/projects/library", 200),
    ("/projects/1", 200),
    ("/projects/nope", 404),
    ("/repositories", 200),
    ("/repositories?q=name%3D~nginx&sort=name", 200),
    ("/projects/library/repositories", 200),
    ("/projects/library/repositories/nginx", 200),
    ("/projects/team/repositories/sub%252Fapp", 200),
    ("/projects/library/repositories/nope", 404),
    ("/projects/library/repositories/nginx/artifacts", 200),
    ("/projects/library/repositories/nginx/artifacts?with_label=true&with_accessory=true", 200),
    ("/projects/library/repositories/nginx/artifacts?with_tag=false&q=tags%3Dnil", 200),
    ("/projects/library/repositories/multi/artifacts?q=base%3D*", 200),
    ("/projects/library/repositories/nginx/artifacts/1.0", 200),
    ("/projects/library/repositories/nginx/artifacts/1.0?with_accessory=true&with_label=true", 200),
    ("/projects/library/repositories/nginx/artifacts/nope", 404),
    ("/projects/library/repositories/nginx/artifacts/1.0/tags", 200),
    ("/projects/library/artifacts", 200),
    ("/projects/library/artifacts?with_label=true&with_accessory=true&page_size=2&page=2", 200),
    ("/projects/nope/artifacts", 404),
]


@pytest.mark.parametrize(("path", "status"), CATALOG_GETS)
def test_catalog_endpoints_conform(client: httpx.Client, path: str, status: int) -> None:
    """Catalog GETs answer the expected status with a spec-conformant body."""
    resp = client.get(path)
    assert resp.status_code == status
    check(resp)
    assert resp.headers["X-Request-Id"]


def test_replication_endpoints_conform(cluster: SimCluster) -> None:
    """Registries, policies, executions and tasks conform, including 201/412/404 on start."""
    a, b = cluster.add("a"), cluster.add("b")
    a.create_project("library")
    a.push("library/nginx", "1.0")
    policy = cluster.link("a", "b", trigger="manual")
    disabled = cluster.link("a", "b", policy_name="off", enabled=False)
    with api(a) as c:
        for path in ["/registries", "/registries/1", "/replication/policies"]:
            check(c.get(path))
        assert c.get(f"/replication/policies/{policy}").json()["src_registry"]["id"] == 0
        check(c.get(f"/replication/policies/{policy}"))
        started = c.post("/replication/executions", json={"policy_id": policy})
        assert started.status_code == 201
        check(started)
        location = started.headers["Location"]
        eid = int(location.rsplit("/", 1)[1])
        assert location == f"/api/v2.0/replication/executions/{eid}"
        for pid, status in [(disabled, 412), (999, 404)]:
            resp = c.post("/replication/executions", json={"policy_id": pid})
            assert resp.status_code == status
            check(resp)
        wait_for(lambda: c.get(f"/replication/executions/{eid}").json()["status"] == "Succeed")
        for path in [
            f"/replication/executions/{eid}",
            f"/replication/executions?policy_id={policy}&status=Succeed&trigger=manual",
            f"/replication/executions/{eid}/tasks",
            "/replication/executions/999",
            "/registries/999",
        ]:
            check(c.get(path))
        stop = c.put(f"/replication/executions/{eid}")
        assert stop.status_code == 200
        assert b.state.tag_map() == a.state.tag_map()


def test_error_bodies_conform(client: httpx.Client) -> None:
    """401, 403 (CSRF), 404 and 405 answers use Harbor's error envelope."""
    anonymous = httpx.get(client.base_url.join("replication/policies"))
    assert anonymous.status_code == 401
    check(anonymous)
    csrf = client.post(
        "/replication/executions",
        json={"policy_id": 1},
        headers={"Cookie": "sid=abc; _gorilla_csrf=secret", "X-Harbor-CSRF-Token": "wrong"},
    )
    assert csrf.status_code == 403
    assert csrf.json() == {"errors": [{"code": "FORBIDDEN", "message": "CSRF token invalid"}]}
    missing = client.get("/replication/policies/42")
    assert missing.status_code == 404
    check(missing)


def test_vendored_spec_is_the_recorded_upstream_file():
    """The vendored swagger.yaml is byte for byte the file SOURCE.md records (sha256)."""
    import hashlib  # noqa: PLC0415 - only this test needs it
    import re  # noqa: PLC0415

    from tests.harbor_spec import SPEC_PATH  # noqa: PLC0415

    recorded = re.search(
        r"sha256 of `swagger.yaml`: `([0-9a-f]{64})`", (SPEC_PATH.parent / "SOURCE.md").read_text()
    )
    assert recorded is not None
    assert hashlib.sha256(SPEC_PATH.read_bytes()).hexdigest() == recorded.group(1)
