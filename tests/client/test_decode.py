"""Harbor JSON -> model values: spec-checked bodies, go-swagger shapes, bad fields by path."""

from __future__ import annotations

import json
import re
from datetime import UTC, datetime, timedelta, timezone

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from syncd.core.model import ExecutionStatus, Filter
from syncd.errors import HarborProtocolError
from syncd.harbor import models as wire
from syncd.harbor.decode import (
    decode_artifacts,
    decode_execution,
    decode_executions,
    decode_health,
    decode_policies,
    decode_policy,
    decode_project_artifacts,
    decode_projects,
    decode_registries,
    decode_repositories,
    decode_repository,
    decode_systeminfo,
    decode_tasks,
    when,
)
from tests import harbor_spec
from tests.client import wirekit

API = "/api/v2.0"
D1 = "sha256:" + "11" * 32
D2 = "sha256:" + "22" * 32
D3 = "sha256:" + "33" * 32

ARTIFACT = {
    "id": 7,
    "type": "IMAGE",
    "media_type": "application/vnd.oci.image.config.v1+json",
    "manifest_media_type": "application/vnd.oci.image.index.v1+json",
    "project_id": 1,
    "repository_id": 2,
    "repository_name": "lib/nginx",
    "digest": D1,
    "size": 1024,
    "push_time": "2024-05-01T12:00:00.000Z",
    "pull_time": "0001-01-01T00:00:00.000Z",
    "extra_attrs": {"config": {"Env": ["A=1"]}, "annotations": {"a": "b"}},
    "addition_links": {"build_history": {"absolute": False, "href": "/x"}},
    "tags": [{"id": 1, "name": "v1", "artifact_id": 7}, {"id": 2, "name": "latest"}],
    "references": [{"parent_id": 7, "child_id": 8, "child_digest": D2}],
    "accessories": [{"id": 3, "digest": D3, "type": "signature.cosign"}],
    "labels": [{"id": 1, "name": "prod"}],
}

POLICY = {
    "id": 5,
    "name": "a-to-b",
    "src_registry": {"id": 0, "name": "Local", "type": "harbor", "status": "healthy"},
    "dest_registry": {"id": 3, "name": "b", "url": "https://b", "type": "harbor"},
    "dest_namespace": "mirror",
    "dest_namespace_replace_count": 1,
    "trigger": {"type": "scheduled", "trigger_settings": {"cron": "0 0 * * * *"}},
    "filters": [
        {"type": "name", "value": "lib/**"},
        {"type": "label", "value": ["prod", "gold"], "decoration": "excludes"},
    ],
    "replicate_deletion": True,
    "deletion": True,
    "override": False,
    "enabled": True,
    "speed": -1,
}

EXECUTION = {
    "id": 9,
    "policy_id": 5,
    "status": "Succeed",
    "status_text": "",
    "trigger": "event_based",
    "start_time": "2024-05-01T12:00:00Z",
    "end_time": "2024-05-01T12:01:00Z",
    "total": 3,
    "succeed": 2,
    "failed": 1,
    "in_progress": 0,
    "stopped": 0,
}


def raw(value: object) -> bytes:
    """Encode a body the way it arrives: JSON bytes."""
    return json.dumps(value).encode()


def one_artifact(body: object):
    """Decode a one-artifact page."""
    [art] = decode_artifacts(raw([body]))
    return art


def test_samples_conform_to_the_spec():
    """The sample bodies use Harbor's real field names and types."""
    path = f"{API}/projects/lib/repositories/nginx/artifacts"
    harbor_spec.validate_response("GET", path, 200, [ARTIFACT])
    harbor_spec.validate_response("GET", f"{API}/replication/policies/5", 200, POLICY)
    harbor_spec.validate_response("GET", f"{API}/replication/executions/9", 200, EXECUTION)


# --------------------------------------------------------------------------- artifacts


def test_decode_artifact_full():
    """Tags, children, accessories and label names are all carried over."""
    art = one_artifact(ARTIFACT)
    assert art.digest == D1
    assert art.tags == frozenset({"v1", "latest"})
    assert art.references == (D2,)
    assert art.accessories == (D3,)
    assert art.labels == frozenset({"prod"})
    assert art.media_type == "application/vnd.oci.image.index.v1+json"
    assert art.push_time == datetime(2024, 5, 1, 12, tzinfo=UTC)


@pytest.mark.parametrize(
    "body",
    [
        {"digest": D1, "tags": None, "references": None, "labels": None, "push_time": None},
        {"digest": D1},
        {"digest": D1, "tags": [], "accessories": [], "push_time": "0001-01-01T00:00:00Z"},
        {"digest": D1, "push_time": ""},
    ],
    ids=["null", "omitted", "empty-and-zero-time", "empty-time"],
)
def test_decode_artifact_go_swagger_shapes(body):
    """Null or omitted lists, omitted strings and zero/unset times take Harbor's defaults."""
    art = one_artifact(body)
    assert (art.tags, art.references, art.accessories, art.labels) == (
        frozenset(),
        (),
        (),
        frozenset(),
    )
    assert art.push_time is None
    assert (art.type, art.media_type) == ("IMAGE", wire.OCI_MANIFEST)


def test_decode_project_artifacts_pairs_rows_with_repositories():
    """A project-wide page yields (repository, artifact) pairs in order."""
    rows = [{**ARTIFACT, "repository_name": "lib/a/b"}, {"digest": D2, "repository_name": "lib/c"}]
    pairs = decode_project_artifacts(raw(rows))
    assert [(repo, art.digest) for repo, art in pairs] == [("lib/a/b", D1), ("lib/c", D2)]


# Each row: a malformed page, what it decodes through, the path and the complaint expected.
MALFORMED = [
    ([{}], decode_artifacts, "artifacts[0].digest: Field required"),
    ([ARTIFACT, {"digest": ""}], decode_artifacts, "artifacts[1].digest: String should have"),
    ([{"digest": 5}], decode_artifacts, "artifacts[0].digest: Input should be a valid string"),
    ([{"digest": D1, "tags": "v1"}], decode_artifacts, "artifacts[0].tags: expected a JSON array"),
    (
        [ARTIFACT, ARTIFACT, ARTIFACT, {"digest": D1, "tags": [{"id": 1}]}],
        decode_artifacts,
        "artifacts[3].tags[0].name: Field required",
    ),
    (
        [{"digest": D1, "tags": [{"name": "v1"}, {"name": None}]}],
        decode_artifacts,
        "artifacts[0].tags[1].name: Input should be a valid string",
    ),
    (
        [{"digest": D1, "push_time": "yesterday"}],
        decode_artifacts,
        "artifacts[0].push_time: expected an RFC 3339 timestamp",
    ),
    (
        [{"digest": D1, "push_time": 1714564800}],
        decode_artifacts,
        "artifacts[0].push_time: expected an RFC 3339 timestamp",
    ),
    (
        [{"digest": D1, "references": [{"child_id": 1}]}],
        decode_artifacts,
        "artifacts[0].references[0].child_digest: Field required",
    ),
    (
        [{"digest": D1, "accessories": [{"digest": 3}]}],
        decode_artifacts,
        "artifacts[0].accessories[0].digest: Input should be a valid string",
    ),
    (
        [{"digest": D1, "labels": [7]}],
        decode_artifacts,
        "artifacts[0].labels[0]: expected a JSON object",
    ),
    ([[1, 2]], decode_artifacts, "artifacts[0]: expected a JSON object"),
    ({"oops": 1}, decode_artifacts, "artifacts: expected a JSON array"),
    ([{"digest": D1}], decode_project_artifacts, "artifacts[0].repository_name: Field required"),
    (
        [{"name": "lib/a", "artifact_count": "3"}],
        decode_repositories,
        "repositories[0].artifact_count: Input should be a valid integer",
    ),
    ([{"artifact_count": 1}], decode_repositories, "repositories[0].name: Field required"),
    ([{"name": "b"}], decode_registries, "registries[0].id: Field required"),
    ([{"id": True, "name": "b"}], decode_registries, "registries[0].id: Input should be"),
    ([{"project_id": 1}], decode_projects, "projects[0].name: Field required"),
    ([{"id": 1, "execution_id": "8"}], decode_tasks, "tasks[0].execution_id: Input should be"),
    ([{"id": 1}], lambda b: decode_executions(b, instance="a"), "executions[0].policy_id"),
    ([{"id": 1}], lambda b: decode_policies(b, owner="a"), "policies[0].name: Field required"),
]


@pytest.mark.parametrize(("body", "decode", "message"), MALFORMED)
def test_malformed_pages_name_the_field_path(body, decode, message):
    """A missing or mistyped field raises a protocol error naming its path in the page."""
    with pytest.raises(HarborProtocolError, match="^" + re.escape(message)):
        decode(raw(body))


def test_every_error_is_counted():
    """Several bad fields are reported as the first plus a count of the others."""
    with pytest.raises(HarborProtocolError, match=r"^artifacts\[0\]\.digest: .* \(and 1 more\)$"):
        decode_artifacts(raw([{}, {"digest": D1, "tags": [{}]}]))


@pytest.mark.parametrize("body", [b"", b"{not json", b"\xff\xfe", b"[1, 2"])
def test_invalid_json_is_a_protocol_error(body):
    """A body that is not JSON says so."""
    with pytest.raises(HarborProtocolError, match=r"^artifacts: response body is not valid JSON"):
        decode_artifacts(body)


# --------------------------------------------------------------------------- times


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ("2024-05-01T12:00:00", datetime(2024, 5, 1, 12, tzinfo=UTC)),
        ("2024-05-01T12:00:00.250Z", datetime(2024, 5, 1, 12, 0, 0, 250000, tzinfo=UTC)),
        ("2024-05-01T14:00:00+02:00", datetime(2024, 5, 1, 12, tzinfo=UTC)),
        ("2024-05-01T12:00:00.123456789Z", datetime(2024, 5, 1, 12, 0, 0, 123456, tzinfo=UTC)),
        ("0001-01-01T00:00:00.000Z", None),
        ("", None),
        (None, None),
    ],
)
def test_times_are_utc_and_never_is_none(value, expected):
    """Naive times are UTC, offsets are moved to UTC, Go's zero time and unset are None."""
    [repo] = decode_repositories(raw([{"name": "lib/a", "update_time": value}]))
    assert repo.update_time == expected
    assert repo.update_time is None or repo.update_time.tzinfo is UTC


@pytest.mark.parametrize(
    ("moment", "zone"),
    [
        (datetime(2024, 5, 1, 14, tzinfo=timezone(timedelta(hours=2))), UTC),
        (datetime(2024, 5, 1, 12, tzinfo=timezone(timedelta(0))), UTC),
        (datetime(9999, 12, 31, 23, tzinfo=timezone(timedelta(hours=-5))), None),  # no overflow
    ],
)
def test_when_keeps_the_instant(moment, zone):
    """A time keeps its instant, in UTC unless UTC cannot hold it (past year 9999)."""
    result = when(moment)
    assert result == moment
    assert result is not None
    assert result.tzinfo is (zone or moment.tzinfo)


# --------------------------------------------------------------------------- policies


def test_decode_policy():
    """The local registry (id 0) as source is push mode; the raw JSON is kept for PUTs."""
    policy = decode_policy(raw(POLICY), owner="a")
    assert (policy.owner, policy.id, policy.name, policy.enabled) == ("a", 5, "a-to-b", True)
    assert (policy.src_registry_id, policy.dest_registry_id, policy.is_push) == (0, 3, True)
    assert (policy.trigger, policy.cron) == ("scheduled", "0 0 * * * *")
    assert policy.filters == (
        Filter(type="name", value="lib/**"),
        Filter(type="label", value=("prod", "gold"), decoration="excludes"),
    )
    assert policy.dest_namespace == "mirror"
    assert policy.dest_namespace_replace_count == 1
    assert (policy.override, policy.replicate_deletion) == (False, True)
    assert policy.raw == POLICY


def test_decode_policy_minimal():
    """Only id and name: manual trigger, no filters, a null registry means local."""
    body = {"id": 1, "name": "p", "deletion": True, "src_registry": None, "trigger": None}
    policy = decode_policy(raw({**body, "dest_namespace_replace_count": None}), owner="b")
    assert (policy.src_registry_id, policy.dest_registry_id) == (0, 0)
    assert policy.dest_namespace_replace_count == -1
    assert (policy.trigger, policy.cron, policy.filters) == ("manual", None, ())
    assert policy.replicate_deletion is True
    assert policy.enabled is False


def test_decode_policies_keep_each_raw_body():
    """Every policy of a page keeps its own raw JSON, unknown fields included."""
    second = {"id": 6, "name": "b-to-a", "copy_by_chunk": True}
    policies = decode_policies(raw([POLICY, second]), owner="a")
    assert [(p.id, p.raw) for p in policies] == [(5, POLICY), (6, second)]


@pytest.mark.parametrize(
    ("body", "message"),
    [
        ({"name": "p"}, "policy.id: Field required"),
        ({"id": "5", "name": "p"}, "policy.id: Input should be a valid integer"),
        ({"id": 5}, "policy.name: Field required"),
        ({"id": 5, "name": "p", "filters": {}}, "policy.filters: expected a JSON array"),
        ({"id": 5, "name": "p", "filters": [{"value": "x"}]}, "policy.filters[0].type: Field"),
        (
            {"id": 5, "name": "p", "filters": [{"type": "tag", "value": 3}]},
            "policy.filters[0].value: expected a string or an array of strings",
        ),
        (
            {"id": 5, "name": "p", "filters": [{"type": "label", "value": ["a", 1]}]},
            "policy.filters[0].value: expected a string or an array of strings",
        ),
        ({"id": 5, "name": "p", "dest_registry": {"id": "x"}}, "policy.dest_registry.id: "),
        ({"id": 5, "name": "p", "trigger": "manual"}, "policy.trigger: expected a JSON object"),
        (
            {"id": 5, "name": "p", "trigger": {"trigger_settings": {"cron": 5}}},
            "policy.trigger.trigger_settings.cron: Input should be a valid string",
        ),
        ({"id": 5, "name": "p", "enabled": "true"}, "policy.enabled: Input should be a valid"),
        ([POLICY], "policy: expected a JSON object"),
    ],
)
def test_decode_policy_names_the_bad_field(body, message):
    """A missing or malformed policy field raises a protocol error naming its path."""
    with pytest.raises(HarborProtocolError, match="^" + re.escape(message)):
        decode_policy(raw(body), owner="a")


# --------------------------------------------------------------------------- executions


def test_decode_execution():
    """Execution counts, times and status are carried over."""
    execution = decode_execution(raw(EXECUTION), instance="a")
    assert (execution.instance, execution.id, execution.policy_id) == ("a", 9, 5)
    assert execution.status is ExecutionStatus.SUCCEED
    assert (execution.total, execution.succeed, execution.failed) == (3, 2, 1)
    assert execution.end_time == datetime(2024, 5, 1, 12, 1, tzinfo=UTC)


def test_decode_execution_omitted_zero_counts():
    """Counts go-swagger left out are zero; an unfinished end time is None."""
    body = {"id": 9, "policy_id": 5, "status": "InProgress", "end_time": "0001-01-01T00:00:00Z"}
    [execution] = decode_executions(raw([body]), instance="a")
    assert (execution.total, execution.succeed, execution.failed, execution.stopped) == (0,) * 4
    assert (execution.end_time, execution.trigger, execution.status_text) == (None, "manual", "")


@pytest.mark.parametrize("status", ["", None, "Odd"])
def test_decode_execution_unknown_status_is_not_terminal(status):
    """A status Harbor could not convert is treated as still running."""
    execution = decode_execution(raw({**EXECUTION, "status": status}), instance="a")
    assert execution.status is ExecutionStatus.PENDING
    assert not execution.status.terminal


@pytest.mark.parametrize("field", ["id", "policy_id"])
def test_decode_execution_names_missing_ids(field):
    """A missing id raises a protocol error naming it."""
    body = {k: v for k, v in EXECUTION.items() if k != field}
    with pytest.raises(HarborProtocolError, match=f"^execution.{field}: Field required"):
        decode_execution(raw(body), instance="a")


# --------------------------------------------------------------------------- the rest


def test_decode_registries_and_repository():
    """Registries and repositories decode; a missing registry status is unknown, not healthy."""
    [registry] = decode_registries(raw([{"id": 3, "name": "b", "url": "https://b"}]))
    assert (registry.id, registry.name, registry.type, registry.status) == (
        3,
        "b",
        "harbor",
        "unknown",
    )
    repo = decode_repository(raw({"name": "lib/a/b", "artifact_count": None, "update_time": None}))
    assert (repo.name, repo.project, repo.artifact_count, repo.update_time) == (
        "lib/a/b",
        "lib",
        0,
        None,
    )


def test_decode_projects_and_tasks():
    """Projects and tasks decode to their wire models, omitted zero values filled in."""
    [project] = decode_projects(raw([{"project_id": 1, "name": "lib", "metadata": {}}]))
    assert (project.project_id, project.name, project.registry_id) == (1, "lib", 0)
    [task] = decode_tasks(raw([{"id": 2, "execution_id": 9, "status": "Succeed"}]))
    assert (task.id, task.execution_id, task.status, task.operation) == (2, 9, "Succeed", "")


@pytest.mark.parametrize(
    ("body", "expected"),
    [
        ({"harbor_version": "v2.15.2-abc", "auth_mode": "db_auth"}, "v2.15.2-abc"),
        ({"auth_mode": "db_auth"}, None),  # an anonymous caller sees fewer fields
        ({"harbor_version": None}, None),
    ],
)
def test_decode_systeminfo(body, expected):
    """The version is read when present; absent or null is None."""
    assert decode_systeminfo(raw(body))["harbor_version"] == expected


@pytest.mark.parametrize(
    ("body", "expected"),
    [
        (
            {"status": "unhealthy", "components": [{"name": "redis", "status": "unhealthy"}]},
            {
                "status": "unhealthy",
                "components": [{"name": "redis", "status": "unhealthy", "error": ""}],
            },
        ),
        ({"status": "healthy", "components": None}, {"status": "healthy", "components": []}),
        ({"status": "healthy"}, {"status": "healthy", "components": []}),
    ],
)
def test_decode_health(body, expected):
    """The health body is shaped for the classifier; a null component list is empty."""
    assert decode_health(raw(body)) == expected


@pytest.mark.parametrize(
    ("body", "message"),
    [
        ({"components": []}, "health.status: Field required"),
        ({"status": "healthy", "components": [{"status": "ok"}]}, "health.components[0].name"),
        (["not", "an", "object"], "health: expected a JSON object"),
    ],
)
def test_decode_health_names_the_bad_field(body, message):
    """A health body of the wrong shape names the field."""
    with pytest.raises(HarborProtocolError, match="^" + re.escape(message)):
        decode_health(raw(body))


# --------------------------------------------------------------------------- properties


@settings(max_examples=200, deadline=None)
@given(st.lists(wirekit.for_model(wire.Artifact), max_size=8))
def test_any_page_the_models_accept_decodes(page):
    """Any artifact page built from the models decodes, keeping digests, tags, labels and kids."""
    arts = decode_artifacts(raw(page))
    assert [a.digest for a in arts] == [row["digest"] for row in page]
    for art, row in zip(arts, page, strict=True):
        assert art.tags == {t["name"] for t in row.get("tags") or ()}
        assert art.labels == {x["name"] for x in row.get("labels") or ()}
        assert art.references == tuple(r["child_digest"] for r in row.get("references") or ())
        assert art.push_time is None or art.push_time.tzinfo is UTC


@settings(max_examples=100, deadline=None)
@given(st.lists(wirekit.for_model(wire.ReplicationPolicy), max_size=4))
def test_any_policy_page_the_models_accept_decodes(page):
    """Any policy page built from the models decodes and keeps each raw body."""
    policies = decode_policies(raw(page), owner="a")
    assert [p.raw for p in policies] == page
    for policy, row in zip(policies, page, strict=True):
        assert (policy.id, policy.name) == (row["id"], row["name"])
        assert policy.dest_registry_id == (row.get("dest_registry") or {}).get("id", 0)
        assert len(policy.filters) == len(row.get("filters") or ())
