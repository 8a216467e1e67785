"""Harbor JSON -> model values: realistic bodies (checked against the spec), nulls, bad fields."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from syncd.core.model import ExecutionStatus, Filter
from syncd.errors import HarborProtocolError
from syncd.harbor.decode import (
    parse_artifact,
    parse_execution,
    parse_policy,
    parse_registry,
    parse_repository,
    parse_time,
)
from tests import harbor_spec

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


def test_samples_conform_to_the_spec():
    """The sample bodies use Harbor's real field names and types."""
    path = f"{API}/projects/lib/repositories/nginx/artifacts"
    harbor_spec.validate_response("GET", path, 200, [ARTIFACT])
    harbor_spec.validate_response("GET", f"{API}/replication/policies/5", 200, POLICY)
    harbor_spec.validate_response("GET", f"{API}/replication/executions/9", 200, EXECUTION)


def test_parse_artifact_full():
    """Tags, children, accessories and label names are all carried over."""
    art = parse_artifact(ARTIFACT)
    assert art.digest == D1
    assert art.tags == frozenset({"v1", "latest"})
    assert art.references == (D2,)
    assert art.accessories == (D3,)
    assert art.labels == frozenset({"prod"})
    assert art.media_type == "application/vnd.oci.image.index.v1+json"
    assert art.push_time == datetime(2024, 5, 1, 12, tzinfo=UTC)


def test_parse_artifact_tolerates_nulls():
    """Nullable lists and times become empty values and defaults."""
    art = parse_artifact(
        {"digest": D1, "tags": None, "references": None, "labels": None, "push_time": None}
    )
    assert (art.tags, art.references, art.accessories, art.labels) == (
        frozenset(),
        (),
        (),
        frozenset(),
    )
    assert art.push_time is None
    assert art.type == "IMAGE"


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({}, "digest"),
        ({"digest": ""}, "digest"),
        ({"digest": 5}, "digest"),
        ({"digest": D1, "tags": "v1"}, "tags"),
        ({"digest": D1, "tags": [{"id": 1}]}, "name"),
        ({"digest": D1, "push_time": "yesterday"}, "push_time"),
        ({"digest": D1, "references": [{"child_id": 1}]}, "child_digest"),
    ],
)
def test_parse_artifact_names_the_bad_field(body, field):
    """A missing or malformed field raises a protocol error naming it."""
    with pytest.raises(HarborProtocolError, match=field):
        parse_artifact(body)


def test_parse_artifact_rejects_a_non_object():
    """A list where an object belongs is a protocol error."""
    with pytest.raises(HarborProtocolError, match="JSON object"):
        parse_artifact([1, 2])


def test_parse_time_assumes_utc_for_naive_values():
    """Harbor's zone-less timestamps are UTC."""
    assert parse_time("2024-05-01T12:00:00", field="t") == datetime(2024, 5, 1, 12, tzinfo=UTC)
    assert parse_time("", field="t") is None


def test_parse_policy():
    """The local registry (id 0) as source is push mode; nulls fall back to Harbor's defaults."""
    policy = parse_policy(POLICY, owner="a")
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


def test_parse_policy_minimal():
    """Only id and name: manual trigger, no filters, a null registry means local."""
    body = {"id": 1, "name": "p", "deletion": True, "src_registry": None, "trigger": None}
    policy = parse_policy({**body, "dest_namespace_replace_count": None}, owner="b")
    assert (policy.src_registry_id, policy.dest_registry_id) == (0, 0)
    assert policy.dest_namespace_replace_count == -1
    assert (policy.trigger, policy.cron, policy.filters) == ("manual", None, ())
    assert policy.replicate_deletion is True
    assert policy.enabled is False


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"name": "p"}, "id"),
        ({"id": "5", "name": "p"}, "id"),
        ({"id": 5}, "name"),
        ({"id": 5, "name": "p", "filters": {}}, "filters"),
        ({"id": 5, "name": "p", "filters": [{"value": "x"}]}, "type"),
        ({"id": 5, "name": "p", "filters": [{"type": "tag", "value": 3}]}, "value"),
        ({"id": 5, "name": "p", "dest_registry": {"id": "x"}}, "id"),
        ({"id": 5, "name": "p", "trigger": "manual"}, "trigger"),
    ],
)
def test_parse_policy_names_the_bad_field(body, field):
    """A missing or malformed policy field raises a protocol error naming it."""
    with pytest.raises(HarborProtocolError, match=field):
        parse_policy(body, owner="a")


def test_parse_execution():
    """Execution counts, times and status are carried over."""
    execution = parse_execution(EXECUTION, instance="a")
    assert (execution.instance, execution.id, execution.policy_id) == ("a", 9, 5)
    assert execution.status is ExecutionStatus.SUCCEED
    assert (execution.total, execution.succeed, execution.failed) == (3, 2, 1)
    assert execution.end_time == datetime(2024, 5, 1, 12, 1, tzinfo=UTC)


@pytest.mark.parametrize(
    ("raw", "status"), [("", "Pending"), (None, "Pending"), ("Odd", "Pending")]
)
def test_parse_execution_unknown_status_is_not_terminal(raw, status):
    """A status Harbor could not convert is treated as still running."""
    execution = parse_execution({**EXECUTION, "status": raw}, instance="a")
    assert execution.status == status
    assert not execution.status.terminal


@pytest.mark.parametrize("field", ["id", "policy_id"])
def test_parse_execution_names_missing_ids(field):
    """A missing id raises a protocol error naming it."""
    body = {k: v for k, v in EXECUTION.items() if k != field}
    with pytest.raises(HarborProtocolError, match=field):
        parse_execution(body, instance="a")


def test_parse_registry_and_repository():
    """Registries and repositories parse; a missing registry status is unknown, not healthy."""
    registry = parse_registry({"id": 3, "name": "b", "url": "https://b", "type": "harbor"})
    assert (registry.id, registry.name, registry.status) == (3, "b", "unknown")
    repo = parse_repository({"name": "lib/a/b", "artifact_count": None, "update_time": None})
    assert (repo.name, repo.project, repo.artifact_count, repo.update_time) == (
        "lib/a/b",
        "lib",
        0,
        None,
    )
    with pytest.raises(HarborProtocolError, match="name"):
        parse_repository({"artifact_count": 1})
    with pytest.raises(HarborProtocolError, match="id"):
        parse_registry({"name": "b"})
