"""HarborClient edge cases against respx: paging, encoding, cookies, errors, retries, secrets."""

from __future__ import annotations

import threading
import time
from urllib.parse import parse_qs

import httpx
import pytest

from syncd import __version__
from syncd.core.model import ExecutionStatus
from syncd.errors import (
    HarborAuthError,
    HarborClientError,
    HarborConflict,
    HarborError,
    HarborForbidden,
    HarborNotFound,
    HarborPreconditionFailed,
    HarborProtocolError,
    HarborRateLimited,
    HarborServerError,
    HarborUnavailable,
    HarborUnprocessable,
)
from syncd.harbor.client import MANIFEST_ACCEPT, HarborClient, repository_path

API = "/api/v2.0"
DIGEST = "sha256:" + "ab" * 32


def _query(request: httpx.Request) -> dict[str, str]:
    return {k: v[0] for k, v in parse_qs(request.url.query.decode()).items()}


def _repo(name: str) -> dict[str, object]:
    return {"id": 1, "name": name, "artifact_count": 1, "update_time": "2024-05-01T12:00:00Z"}


def _policy(policy_id: int) -> dict[str, object]:
    return {
        "id": policy_id,
        "name": f"p{policy_id}",
        "enabled": True,
        "src_registry": {"id": 0, "name": "Local"},
        "dest_registry": {"id": 3, "name": "b"},
        "trigger": {"type": "event_based", "trigger_settings": {"cron": ""}},
        "filters": [{"type": "name", "value": "lib/**", "decoration": "matches"}],
        "dest_namespace_replace_count": 1,
        "override": True,
        "replicate_deletion": False,
    }


# --------------------------------------------------------------------------- pagination


def test_pagination_walks_page_numbers_and_ignores_link(client, router, sent):
    """Three pages are fetched by number with page_size=100; the Link header is never followed."""

    def page(request: httpx.Request) -> httpx.Response:
        number = int(_query(request)["page"])
        size = 100 if number < 3 else 50
        body = [_repo(f"lib/r{number}-{i}") for i in range(size)]
        link = '</api/v2.0/elsewhere?page=7&page_size=3>; rel="next"'
        return httpx.Response(200, json=body, headers={"X-Total-Count": "250", "Link": link})

    router.get(f"{API}/projects/lib/repositories").mock(side_effect=page)
    repos = client.list_repositories("lib")
    assert len(repos) == 250
    pages = [_query(r)["page"] for r in sent]
    # Page 1 first (it tells the total); 2 and 3 go out concurrently, in either order.
    assert (pages[0], sorted(pages)) == ("1", ["1", "2", "3"])
    assert {_query(r)["page_size"] for r in sent} == {"100"}
    assert all(r.url.path == f"{API}/projects/lib/repositories" for r in sent)


def test_pagination_proves_a_full_last_page_with_an_empty_one(client, router, sent):
    """A full last page is confirmed by one empty page (an understated total would hide rows)."""
    body = [_repo(f"lib/r{i}") for i in range(100)]
    route = router.get(f"{API}/projects/lib/repositories")
    route.side_effect = lambda request: httpx.Response(
        200,
        json=body if _query(request)["page"] == "1" else [],
        headers={"X-Total-Count": "100"},
    )
    assert len(client.list_repositories("lib")) == 100
    assert [_query(r)["page"] for r in sent] == ["1", "2"]


def test_pagination_without_total_count_stops_on_a_short_page(client, router, sent):
    """Missing X-Total-Count: a short page ends the listing."""
    router.get(f"{API}/registries").respond(
        200, json=[{"id": 0, "name": "Local", "url": "", "status": "healthy"}]
    )
    registries = client.list_registries()
    assert [r.name for r in registries] == ["Local"]
    assert len(sent) == 1


def test_list_projects_asks_without_detail(client, router, sent):
    """Projects are listed with with_detail=false."""
    router.get(f"{API}/projects").respond(200, json=[{"project_id": 1, "name": "lib"}])
    assert [(p.project_id, p.name) for p in client.list_projects()] == [(1, "lib")]
    assert _query(sent[0])["with_detail"] == "false"


def test_list_rejects_a_non_array_body(client, router):
    """A list endpoint answering an object is a protocol error."""
    router.get(f"{API}/registries").respond(200, json={"oops": 1})
    with pytest.raises(HarborProtocolError, match="JSON array"):
        client.list_registries()


def test_a_malformed_row_names_the_instance_request_and_field_path(client, router):
    """A bad field deep in a page is a protocol error naming instance, path and request."""
    rows = [{"digest": DIGEST, "tags": [{"name": "v1"}]}, {"digest": DIGEST, "tags": [{"id": 1}]}]
    router.get(f"{API}/projects/lib/repositories/a/artifacts").respond(200, json=rows)
    with pytest.raises(HarborProtocolError) as info:
        client.list_artifacts("lib/a")
    assert str(info.value).startswith("instance a: artifacts[1].tags[0].name: Field required")
    assert (info.value.instance, info.value.status, info.value.method) == ("a", 200, "GET")
    assert info.value.url == f"{API}/projects/lib/repositories/a/artifacts"


# --------------------------------------------------------------------------- encoding


@pytest.mark.parametrize(
    ("full", "expected"),
    [
        ("lib/nginx", f"{API}/projects/lib/repositories/nginx"),
        ("lib/a/b", f"{API}/projects/lib/repositories/a%252Fb"),
        ("lib/a/b/c", f"{API}/projects/lib/repositories/a%252Fb%252Fc"),
    ],
)
def test_repository_path_encodes_twice(full, expected):
    """The project prefix is stripped and the remaining name is percent-encoded twice."""
    assert repository_path(full) == expected


def test_repository_path_needs_a_project():
    """A name without a project cannot address a repository."""
    with pytest.raises(ValueError, match="project"):
        repository_path("nginx")


def test_requests_carry_double_encoded_names(client, router, sent):
    """The wire path holds a%252Fb for repository lib/a/b, for the repository and its artifacts."""
    router.get(url__regex=r".*/repositories/a%252Fb$").respond(200, json=_repo("lib/a/b"))
    router.get(url__regex=r".*/repositories/a%252Fb/artifacts.*").respond(200, json=[])
    assert client.get_repository("lib/a/b").name == "lib/a/b"
    assert client.list_artifacts("lib/a/b") == ()
    assert [r.url.raw_path.split(b"?")[0] for r in sent] == [
        b"/api/v2.0/projects/lib/repositories/a%252Fb",
        b"/api/v2.0/projects/lib/repositories/a%252Fb/artifacts",
    ]
    assert _query(sent[1]) == {
        "with_tag": "true",
        "with_label": "true",
        "with_accessory": "true",
        "page": "1",
        "page_size": "100",
    }


# --------------------------------------------------------------------------- headers, cookies


def test_set_cookie_is_never_sent_back(client, router, sent):
    """A sid cookie from Harbor is dropped, so later writes cannot trip the CSRF check."""
    router.get(f"{API}/systeminfo").respond(
        200, json={"harbor_version": "v2.15.2"}, headers={"Set-Cookie": "sid=abc123; Path=/"}
    )
    router.post(f"{API}/replication/executions").respond(
        201, headers={"Location": f"{API}/replication/executions/9"}
    )
    client.systeminfo()
    client.systeminfo()
    assert client.start_execution(5) == 9
    assert len(sent) == 3
    assert all("cookie" not in r.headers for r in sent)


def test_headers_identify_syncd_and_each_request(client, router, sent):
    """User-Agent names syncd and its version; every request has its own X-Request-Id."""
    router.get(f"{API}/health").respond(200, json={"status": "healthy", "components": []})
    client.health()
    client.health()
    assert {r.headers["User-Agent"] for r in sent} == {f"syncd/{__version__}"}
    ids = [r.headers["X-Request-Id"] for r in sent]
    assert len(set(ids)) == 2
    assert all(len(i) == 32 for i in ids)


def test_basic_auth_with_a_robot_account(client, router, sent, password):
    """Robot accounts authenticate with plain basic auth."""
    router.get(f"{API}/health").respond(200, json={"status": "healthy", "components": []})
    client.health()
    expected = httpx.BasicAuth("robot$syncd", password)._auth_header
    assert sent[0].headers["Authorization"] == expected


# --------------------------------------------------------------------------- auth probe, liveness


def test_probe_auth_passes_when_authenticated(client, router, sent):
    """A 200 from the policy list proves the credentials were accepted."""
    router.get(f"{API}/replication/policies").respond(200, json=[])
    client.probe_auth()
    assert _query(sent[0]) == {"page_size": "1"}


def test_probe_auth_detects_the_anonymous_fallback(client, router, password):
    """A 401 means Harbor treated us as anonymous: a clear auth error naming the instance."""
    router.get(f"{API}/replication/policies").respond(
        401, json={"errors": [{"code": "UNAUTHORIZED", "message": "unauthorized"}]}
    )
    with pytest.raises(HarborAuthError, match=r"instance a were rejected.*anonymous") as info:
        client.probe_auth()
    assert info.value.status == 401
    assert password not in str(info.value)


@pytest.mark.parametrize(
    ("response", "expected"),
    [
        ([httpx.Response(200, text="Pong")], True),
        ([httpx.Response(200, text="Pang")], False),
        ([httpx.Response(500, text="blip"), httpx.Response(200, text="Pong")], True),
        ([httpx.Response(429), httpx.Response(200, text="Pong")], True),
        ([httpx.ConnectError("refused"), httpx.Response(200, text="Pong")], True),
    ],
)
def test_ping_is_retried_like_every_read(client, router, sent, response, expected):
    """Ping goes through the GET retry policy: one 500/429/reset does not make it fail."""
    router.get(f"{API}/ping").mock(side_effect=response)
    assert client.ping() is expected
    assert len(sent) == len(response)


def test_ping_raises_once_the_retries_fail(client, router, sent):
    """Ping raises the last error once every attempt failed (the caller says DOWN)."""
    router.get(f"{API}/ping").respond(503, text="down")
    with pytest.raises(HarborServerError):
        client.ping()
    assert len(sent) == 3


def test_health_rejects_invalid_json(client, router):
    """A body that is not JSON is a protocol error."""
    router.get(f"{API}/health").respond(200, text="<html>proxy error</html>")
    with pytest.raises(HarborProtocolError, match="not valid JSON"):
        client.health()


# --------------------------------------------------------------------------- error mapping


@pytest.mark.parametrize(
    ("status", "cls"),
    [
        (400, HarborClientError),
        (401, HarborAuthError),
        (403, HarborForbidden),
        (404, HarborNotFound),
        (409, HarborConflict),
        (412, HarborPreconditionFailed),
        (422, HarborUnprocessable),
        (429, HarborRateLimited),
        (500, HarborServerError),
        (502, HarborServerError),
        (503, HarborServerError),
    ],
)
def test_error_mapping_with_truncated_body(client, router, status, cls):
    """Each status maps to its class; a 10 kB body is cut to 256 chars plus a marker."""
    router.delete(url__regex=r".*/artifacts/sha256:.*").respond(
        status, text="x" * 10_000, headers={"X-Request-Id": "harbor-req-1"}
    )
    with pytest.raises(cls) as info:
        client.delete_artifact("lib/a/b", DIGEST)
    exc = info.value
    assert type(exc) is cls
    assert exc.status == status
    assert exc.instance == "a"
    assert exc.method == "DELETE"
    assert exc.url == f"{API}/projects/lib/repositories/a%252Fb/artifacts/{DIGEST}"
    assert exc.request_id == "harbor-req-1"
    assert exc.body.startswith("x" * 256)
    assert len(exc.body) <= 256 + 30
    assert "more chars" in exc.body
    assert len(str(exc)) < 1000


def test_transport_error_is_unavailable(client, router, password):
    """A refused connection becomes HarborUnavailable without leaking credentials."""
    router.get(f"{API}/health").mock(side_effect=httpx.ConnectError("connection refused"))
    with pytest.raises(HarborUnavailable, match="no usable response from instance a") as info:
        client.health()
    assert password not in str(info.value)
    assert password not in repr(info.value)


# --------------------------------------------------------------------------- retries


@pytest.mark.parametrize(
    "failure",
    [
        httpx.Response(503, text="busy"),
        httpx.Response(502, text="bad gateway"),
        httpx.Response(429, text="slow down", headers={"Retry-After": "7"}),
        httpx.ConnectError("refused"),
        httpx.ReadTimeout("slow"),
    ],
)
def test_get_is_retried_on_transient_errors(client, router, sent, failure):
    """A transient failure of a GET is retried and the second attempt's result returned."""
    ok = httpx.Response(200, json=_policy(4))
    router.get(f"{API}/replication/policies/4").mock(side_effect=[failure, ok])
    assert client.get_policy(4, owner="a").name == "p4"
    assert len(sent) == 2
    assert len({r.headers["X-Request-Id"] for r in sent}) == 2
    assert client.request_count == 2


def test_get_gives_up_after_the_attempts(client, router, sent):
    """A persistently failing GET raises after the configured attempts."""
    router.get(f"{API}/replication/executions/3").respond(503, text="busy")
    with pytest.raises(HarborServerError):
        client.get_execution(3)
    assert len(sent) == 3


@pytest.mark.parametrize("status", [400, 401, 403, 404])
def test_get_is_not_retried_on_permanent_errors(client, router, sent, status):
    """Client errors are not retried (a 5xx on a read is: reads are safe to repeat)."""
    router.get(f"{API}/replication/executions/3").respond(status, text="no")
    with pytest.raises(HarborError):
        client.get_execution(3)
    assert len(sent) == 1


@pytest.mark.parametrize(
    "failure",
    [httpx.Response(503, text="busy"), httpx.Response(429), httpx.ConnectError("refused")],
)
def test_start_execution_is_never_retried(client, router, sent, failure):
    """POST starting an execution is sent exactly once, even on a transient failure."""
    router.post(f"{API}/replication/executions").mock(side_effect=[failure])
    with pytest.raises(HarborError):
        client.start_execution(5)
    assert len(sent) == 1


@pytest.mark.parametrize(
    ("header", "expected"),
    [("7", 7.0), ("0", 0.0), ("3600", 30.0), ("Wed, 21 Oct 2015 07:28:00 GMT", 0.0), (None, True)],
)
def test_retry_after_becomes_the_backoff(client, router, header, expected):
    """The retry predicate returns Retry-After (capped by the retry timeout) as the backoff."""
    headers = {"Retry-After": header} if header else {}
    router.delete(url__regex=r".*/artifacts/.*").respond(429, headers=headers)
    with pytest.raises(HarborRateLimited) as info:
        client.delete_artifact("lib/x", DIGEST)
    assert client._retry_predicate(info.value) == expected


# --------------------------------------------------------------------------- executions, policies


def test_start_execution_parses_location(client, router, sent):
    """The new execution id comes from the Location header of the 201."""
    router.post(f"{API}/replication/executions").respond(
        201, headers={"Location": "/api/v2.0/replication/executions/12345"}
    )
    assert client.start_execution(5) == 12345
    assert sent[0].content == b'{"policy_id":5}'


@pytest.mark.parametrize("location", [None, "", "/api/v2.0/replication/executions/", "/x/abc"])
def test_start_execution_without_usable_location(client, router, location):
    """A 201 without an id in Location is a protocol error naming the header."""
    headers = {"Location": location} if location is not None else {}
    router.post(f"{API}/replication/executions").respond(201, headers=headers)
    with pytest.raises(HarborProtocolError, match="Location"):
        client.start_execution(5)


def test_start_execution_of_disabled_policy(client, router):
    """412 (policy disabled) maps to HarborPreconditionFailed."""
    router.post(f"{API}/replication/executions").respond(
        412, json={"errors": [{"code": "PRECONDITION", "message": "the policy is disabled"}]}
    )
    with pytest.raises(HarborPreconditionFailed, match="disabled"):
        client.start_execution(5)


def test_list_executions_filters(client, router, sent):
    """Execution filters travel as policy_id/status query parameters; rows become Executions."""
    row = {"id": 8, "policy_id": 5, "status": "InProgress", "trigger": "manual", "total": 2}
    router.get(f"{API}/replication/executions").respond(200, json=[row])
    (execution,) = client.list_executions(policy_id=5, status="InProgress")
    assert execution.status is ExecutionStatus.IN_PROGRESS
    assert execution.instance == "a"
    assert _query(sent[0])["policy_id"] == "5"
    assert _query(sent[0])["status"] == "InProgress"


def test_policies_keep_raw_json_and_put_sends_it_back(client, router, sent):
    """Policies keep their JSON; a PUT sends the body as given."""
    router.get(f"{API}/replication/policies").respond(200, json=[_policy(1), _policy(2)])
    router.put(f"{API}/replication/policies/1").respond(200)
    policies = client.list_policies(owner="a")
    assert [(p.owner, p.id, p.dest_registry_id) for p in policies] == [("a", 1, 3), ("a", 2, 3)]
    assert policies[0].raw == _policy(1)
    client.put_policy(1, {**policies[0].raw, "enabled": False})
    assert sent[-1].method == "PUT"
    assert b'"enabled":false' in sent[-1].content


def test_stop_execution_and_tasks(client, router, sent):
    """Stop is a body-less PUT; tasks are listed."""
    router.put(f"{API}/replication/executions/8").respond(200)
    task = {"id": 1, "execution_id": 8, "status": "Stopped"}
    router.get(f"{API}/replication/executions/8/tasks").respond(200, json=[task])
    client.stop_execution(8)
    assert [(t.id, t.execution_id, t.status) for t in client.list_tasks(8)] == [(1, 8, "Stopped")]
    assert sent[0].content == b""


def test_list_project_artifacts_groups_by_repository(client, router, sent):
    """The project-wide listing is grouped by full repository name."""
    rows = [
        {"digest": DIGEST, "repository_name": "lib/a", "tags": [{"name": "v1"}]},
        {"digest": "sha256:" + "cd" * 32, "repository_name": "lib/b/c", "tags": None},
    ]
    router.get(f"{API}/projects/lib/artifacts").respond(200, json=rows)
    grouped = client.list_project_artifacts("lib")
    assert {k: [a.digest for a in v] for k, v in grouped.items()} == {
        "lib/a": [DIGEST],
        "lib/b/c": ["sha256:" + "cd" * 32],
    }
    assert sent[0].headers["X-Is-Resource-Name"] == "true"


def test_delete_tag_path(client, router, sent):
    """A tag is deleted through the artifact digest, with the repository encoded twice."""
    router.delete(url__regex=r".*/tags/v1$").respond(200)
    client.delete_tag("lib/a/b", reference=DIGEST, tag="v1")
    assert sent[0].url.raw_path == (
        f"{API}/projects/lib/repositories/a%252Fb/artifacts/{DIGEST}/tags/v1".encode()
    )


# --------------------------------------------------------------------------- registry v2


@pytest.mark.parametrize(("status", "expected"), [(200, True), (404, False)])
def test_head_manifest(client, router, sent, status, expected):
    """Manifests are HEADed with every manifest media type accepted; 404 means absent."""
    router.head(f"/v2/lib/a/b/manifests/{DIGEST}").respond(status)
    assert client.head_manifest("lib/a/b", DIGEST) is expected
    assert [r.method for r in sent] == ["HEAD"]
    accepted = {t.strip() for t in sent[0].headers["Accept"].split(",")}
    assert accepted == {t.strip() for t in MANIFEST_ACCEPT.split(",")}
    assert len(accepted) == 4


@pytest.mark.parametrize(("status", "expected"), [(200, True), (404, False)])
def test_head_blob(client, router, sent, status, expected):
    """Blobs are HEADed; 404 means absent."""
    router.head(f"/v2/lib/a/blobs/{DIGEST}").respond(status)
    assert client.head_blob("lib/a", DIGEST) is expected
    assert [r.method for r in sent] == ["HEAD"]


# --------------------------------------------------------------------------- records, concurrency


def test_request_records_for_metrics(client, router, records):
    """Each attempt reports instance, method, kind and status class."""
    router.get(f"{API}/replication/executions/3").mock(
        side_effect=[httpx.ConnectError("x"), httpx.Response(404, json={"errors": []})]
    )
    with pytest.raises(HarborNotFound):
        client.get_execution(3)
    assert [(r.instance, r.method, r.kind, r.status_class) for r in records] == [
        ("a", "GET", "/replication/executions/{id}", "error"),
        ("a", "GET", "/replication/executions/{id}", "4xx"),
    ]
    assert all(r.seconds >= 0 for r in records)
    body = httpx.Response(404, json={"errors": []}).content  # as respx encodes it
    assert [r.received_bytes for r in records] == [0, len(body)]


def test_map_concurrent_preserves_order(client):
    """Results come back in input order."""
    assert client.map_concurrent(lambda i: i * 2, range(20)) == [i * 2 for i in range(20)]


def test_requests_in_flight_are_bounded(instance_settings, router):
    """No more than max_concurrency (2) requests are in flight at once."""
    lock = threading.Lock()
    state = {"in_flight": 0, "peak": 0}
    release = threading.Event()

    def handler(request: httpx.Request) -> httpx.Response:
        with lock:
            state["in_flight"] += 1
            state["peak"] = max(state["peak"], state["in_flight"])
        release.wait(timeout=10)
        with lock:
            state["in_flight"] -= 1
        return httpx.Response(200, text="Pong")

    client = HarborClient(
        name="a", settings=instance_settings, transport=httpx.MockTransport(handler)
    )
    threads = [threading.Thread(target=client.ping) for _ in range(6)]
    for t in threads:
        t.start()
    deadline = time.monotonic() + 10
    while state["in_flight"] < 2 and time.monotonic() < deadline:
        time.sleep(0.005)
    release.set()
    for t in threads:
        t.join(timeout=10)
    client.close()
    assert state["peak"] == 2
    assert client.request_count == 6


def test_repr_and_errors_hold_no_secret(client, router, password):
    """Neither the client's repr nor an error message contains the password."""
    router.get(f"{API}/systeminfo").respond(500, text="internal server error")
    with pytest.raises(HarborServerError) as info:
        client.systeminfo()
    for text in (repr(client), str(info.value), repr(info.value)):
        assert password not in text
