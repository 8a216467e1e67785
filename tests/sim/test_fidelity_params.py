"""Issue 9, points 6, 7, 13, 15: parameter binding, the q parser, Link, plain-error 500s.

Each case cites the Harbor source (goharbor/harbor ``src/``, or the go-openapi library its
generated ``restapi`` code calls) whose behaviour it pins.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import httpx
import pytest

from tests.simkit import api, check

if TYPE_CHECKING:
    from syncd.sim import SimCluster, SimInstance

ANON_POLICIES = "/replication/policies"


@pytest.mark.parametrize(
    ("kwargs", "status", "message"),
    [
        # go-openapi runtime: a body that does not decode into the model is a ParseError (400).
        ({"json": {"policy_id": "2"}}, 400, "parsing execution body"),
        ({"content": b"{not json"}, 400, "parsing execution body"),
        # A required body that is absent: errors.Required (422).
        ({}, 422, "execution in body is required"),
    ],
)
def test_execution_body_binding(
    client: httpx.Client, kwargs: dict[str, Any], status: int, message: str
) -> None:
    """POST /replication/executions: the generated binder answers before the handler."""
    resp = client.post("/replication/executions", **kwargs)
    assert resp.status_code == status
    assert message in resp.json()["errors"][0]["message"]


def test_binding_runs_before_authentication(sim: SimInstance) -> None:
    """Binding precedes the handler's RequireSystemAccess: anonymous gets 400/422, not 401."""
    with httpx.Client(base_url=sim.url + "/api/v2.0") as anon:
        assert anon.post("/replication/executions", json={"policy_id": "2"}).status_code == 400
        assert anon.get(ANON_POLICIES, params={"page_size": 101}).status_code == 422
        assert anon.get(ANON_POLICIES, params={"page": "x"}).status_code == 422
        assert anon.get(ANON_POLICIES).status_code == 401


@pytest.mark.parametrize(
    ("path", "params", "status"),
    [
        ("/projects", {"page": "two"}, 422),  # swag.ConvertInt64 fails -> errors.InvalidType
        ("/projects", {"page_size": "1.5"}, 422),
        ("/replication/executions", {"policy_id": "abc"}, 422),
        ("/replication/executions", {"policy_id": "7"}, 200),
        # swag.ConvertBool never fails: an unknown word is false (go-openapi/swag conv/convert.go).
        ("/projects", {"with_detail": "maybe"}, 200),
        ("/projects/library/repositories/nginx/artifacts", {"with_tag": "nope"}, 200),
    ],
)
def test_query_parameter_binding(
    client: httpx.Client, path: str, params: dict[str, str], status: int
) -> None:
    """Integer query parameters that do not parse are 422; booleans never fail to bind."""
    resp = client.get(path, params=params)
    assert resp.status_code == status
    check(resp)


def test_unknown_boolean_word_binds_false(client: httpx.Client) -> None:
    """with_tag=nope is false (swag.ConvertBool), yes is true: tags null versus listed."""
    path = "/projects/library/repositories/nginx/artifacts/1.0"
    assert client.get(path, params={"with_tag": "nope"}).json()["tags"] is None
    assert [t["name"] for t in client.get(path, params={"with_tag": "yes"}).json()["tags"]] == [
        "1.0"
    ]


@pytest.mark.parametrize(
    ("q", "status"),
    [
        ("name", 400),  # lib/q/builder.go parseKeywords: no "="
        ("name=", 400),  # empty value
        ("=x", 400),  # empty key
        ("name=library,", 400),  # trailing empty clause
        ("bogus=1", 200),  # unknown keys are ignored by the ORM
    ],
)
def test_q_parser(client: httpx.Client, q: str, status: int) -> None:
    """Malformed q is 400 with builder.go's message; unknown keys are ignored."""
    resp = client.get("/projects", params={"q": q})
    assert resp.status_code == status
    if status == 400:
        message = 'the query string must contain "=" and the key/value cannot be empty'
        assert resp.json()["errors"][0]["message"] == message


@pytest.mark.parametrize(
    ("q", "tags"),
    [
        ("tags=~atest", {"latest"}),  # pkg/artifact/dao/dao.go setTagQuery: LIKE, case-sensitive
        ("tags=~ATEST", set()),
        ("tags=1.0", {"1.0"}),
        ("labels=(1)", {"1.0"}),  # setLabelQuery: label ids, all must be present
        ("labels=(1 99)", set()),
        ("labels=(1),tags=~atest", set()),
    ],
)
def test_artifact_q_keys(client: httpx.Client, q: str, tags: set[str]) -> None:
    """tags=~x is case-sensitive; labels=(ids) keeps artifacts carrying every id."""
    path = "/projects/library/repositories/nginx/artifacts"
    body = check(client.get(path, params={"q": q}))
    assert {t["name"] for a in body for t in a["tags"] or ()} == tags


@pytest.mark.parametrize("q", ["labels=1", "labels={1 2}", "labels=(x)"])
def test_labels_must_be_an_and_list_of_ids(client: httpx.Client, q: str) -> None:
    """dao.go setLabelQuery: anything but an AND list of integers is 400."""
    resp = client.get("/projects/library/repositories/nginx/artifacts", params={"q": q})
    assert resp.status_code == 400


@pytest.mark.parametrize(
    ("path", "q"),
    [
        ("/projects/library/repositories/nginx/artifacts", "tags=*"),
        ("/replication/executions", "ignored=1"),  # q is ignored there, but kept in Link
        ("/projects", "name=~a"),
    ],
)
def test_link_keeps_the_q_filter(sim: SimInstance, client: httpx.Client, path: str, q: str) -> None:
    """handler/base.go Links builds from the request URL: q survives into next."""
    sim.create_project("alpha")
    sim.create_project("gamma")
    sim.push("library/nginx", "2.0", content="n2")
    with sim.state.lock:
        for _ in range(2):
            sim.start_execution(sim.add_policy(_manual_policy(sim)))
    resp = client.get(path, params={"q": q, "page_size": 1})
    assert int(resp.headers["X-Total-Count"]) > 1
    assert f"q={q}" in resp.headers["Link"]


def _manual_policy(sim: SimInstance) -> dict[str, Any]:
    with sim.state.lock:
        if not sim.state.registries:
            sim.add_registry("peer", "http://127.0.0.1:9", username="u", password="p")
        rid = next(iter(sim.state.registries))
        name = f"p{len(sim.state.policies)}"
    return {"name": name, "src_registry": {"id": 0}, "dest_registry": {"id": rid}, "enabled": True}


def test_single_active_with_event_trigger_is_a_plain_500(cluster: SimCluster) -> None:
    """handler/replication.go returns fmt.Errorf (no code): SendError makes it 500."""
    a = cluster.add("a")
    rid = a.add_registry("b", "http://127.0.0.1:9", username="u", password="p")
    body = {
        "name": "single",
        "src_registry": {"id": 0},
        "dest_registry": {"id": rid},
        "trigger": {"type": "event_based"},
        "single_active_replication": True,
    }
    with api(a) as c:
        resp = c.post("/replication/policies", json=body)
        allowed = c.post("/replication/policies", json=body | {"single_active_replication": False})
    assert resp.status_code == 500
    assert resp.json() == {"errors": [{"code": "UNKNOWN", "message": "internal server error"}]}
    assert allowed.status_code == 201
