"""Harbor webhook parsing and shared-secret authentication, table-driven."""

from __future__ import annotations

import json
from datetime import UTC, datetime

import pytest

from syncd.service.webhook import WebhookError, WebhookEvent, parse_webhook

SECRET = "Bearer wh-5ecret"
DIGEST = "sha256:" + "ab" * 32


def push(**changes: object) -> dict[str, object]:
    """Build a PUSH_ARTIFACT payload in Harbor's Default format."""
    payload: dict[str, object] = {
        "type": "PUSH_ARTIFACT",
        "occur_at": 1690000000,
        "operator": "admin",
        "event_data": {
            "resources": [
                {
                    "digest": DIGEST,
                    "tag": "v1",
                    "resource_url": "harbor.example/library/nginx:v1",
                }
            ],
            "repository": {
                "date_created": 1689990000,
                "name": "nginx",
                "namespace": "library",
                "repo_full_name": "library/nginx",
                "repo_type": "private",
            },
        },
    }
    return payload | changes


REPLICATION = {
    "type": "REPLICATION",
    "occur_at": 1690000100,
    "operator": "MANUAL",
    "event_data": {
        "replication": {
            "harbor_hostname": "harbor-a.example",
            "job_status": "Success",
            "override_mode": True,
            "trigger_type": "MANUAL",
            "policy_creator": "admin",
            "execution_timestamp": 1690000000,
            "src_resource": {
                "registry_type": "harbor",
                "endpoint": "https://harbor-a.example",
                "namespace": "library",
            },
            "dest_resource": {
                "registry_name": "b",
                "registry_type": "harbor",
                "endpoint": "https://harbor-b.example",
                "namespace": "library",
            },
            "successful_artifact": [{"type": "image", "status": "Success", "name_tag": "nginx:v1"}],
        }
    },
}
RETENTION = {
    "type": "TAG_RETENTION",
    "occur_at": 1690000200,
    "operator": "MANUAL",
    "event_data": {"retention": {"project_name": "library", "total": 2, "retained": 1}},
}
SCAN = {"type": "SCANNING_COMPLETED", "occur_at": 1690000300, "event_data": {}}
AT = datetime.fromtimestamp(1690000000, tz=UTC)


def body(payload: object) -> bytes:
    """Encode a payload as Harbor does."""
    return json.dumps(payload).encode()


@pytest.mark.parametrize(
    ("payload", "expected"),
    [
        (
            push(),
            WebhookEvent(
                type="PUSH_ARTIFACT",
                occur_at=AT,
                operator="admin",
                project="library",
                repository="library/nginx",
                tags=("v1",),
                digests=(DIGEST,),
            ),
        ),
        (
            push(type="DELETE_ARTIFACT"),
            WebhookEvent(
                type="DELETE_ARTIFACT",
                occur_at=AT,
                operator="admin",
                project="library",
                repository="library/nginx",
                tags=("v1",),
                digests=(DIGEST,),
            ),
        ),
        (
            REPLICATION,
            WebhookEvent(
                type="REPLICATION",
                occur_at=datetime.fromtimestamp(1690000100, tz=UTC),
                operator="MANUAL",
                job_status="Success",
            ),
        ),
        (
            RETENTION,
            WebhookEvent(
                type="TAG_RETENTION",
                occur_at=datetime.fromtimestamp(1690000200, tz=UTC),
                operator="MANUAL",
                project="library",
            ),
        ),
        (
            SCAN,
            WebhookEvent(
                type="SCANNING_COMPLETED", occur_at=datetime.fromtimestamp(1690000300, tz=UTC)
            ),
        ),
    ],
    ids=["push", "delete", "replication", "retention", "scan"],
)
def test_valid_payloads(payload, expected):
    """Each supported event type parses to the expected event."""
    assert parse_webhook(body(payload), authorization=SECRET, secret=SECRET) == expected


@pytest.mark.parametrize(
    ("event_type", "actionable"),
    [
        ("PUSH_ARTIFACT", True),
        ("DELETE_ARTIFACT", True),
        ("REPLICATION", True),
        ("TAG_RETENTION", True),
        ("PULL_ARTIFACT", False),
        ("SCANNING_FAILED", False),
        ("QUOTA_EXCEED", False),
    ],
)
def test_actionable_types(event_type, actionable):
    """Only events that can change a catalog are actionable."""
    assert WebhookEvent(type=event_type, occur_at=AT).actionable is actionable


def test_untagged_push_and_duplicates():
    """An untagged resource contributes its digest only, and duplicates collapse."""
    resources = [{"digest": DIGEST, "tag": ""}, {"digest": DIGEST, "tag": "v1"}, {"tag": "v1"}]
    data = {"resources": resources, "repository": {"repo_full_name": "p/a/b"}}
    event = parse_webhook(body(push(event_data=data)), authorization=None, secret=None)
    assert event.tags == ("v1",)
    assert event.digests == (DIGEST,)
    assert event.project == "p"
    assert event.repository == "p/a/b"


@pytest.mark.parametrize(
    ("authorization", "secret", "status", "message"),
    [
        (None, SECRET, 401, "missing Authorization header"),
        ("Bearer wrong", SECRET, 401, "invalid Authorization header"),
        ("wh-5ecret", SECRET, 401, "invalid Authorization header"),
        ("", SECRET, 401, "invalid Authorization header"),
    ],
)
def test_authentication_failures(authorization, secret, status, message):
    """A configured secret must arrive verbatim in Authorization."""
    with pytest.raises(WebhookError) as info:
        parse_webhook(body(push()), authorization=authorization, secret=secret)
    assert (info.value.status, info.value.message) == (status, message)


@pytest.mark.parametrize("secret", [None, ""])
def test_no_secret_configured_accepts_anyone(secret):
    """Without a configured secret any sender is accepted."""
    event = parse_webhook(body(push()), authorization="whatever", secret=secret)
    assert event.repository == "library/nginx"


def test_authentication_runs_before_parsing():
    """A malformed body from an unauthenticated sender still gets 401, not 400."""
    with pytest.raises(WebhookError) as info:
        parse_webhook(b"{not json", authorization=None, secret=SECRET)
    assert info.value.status == 401


@pytest.mark.parametrize(
    ("raw", "status", "message"),
    [
        (b"{not json", 400, "body is not valid JSON"),
        (b"\xff\xfe", 400, "body is not valid JSON"),
        (body([1, 2]), 400, "body must be a JSON object"),
        (body({"occur_at": 1}), 400, "missing field 'type'"),
        (body({"type": 5, "occur_at": 1}), 400, "field 'type' must be a string"),
        (body(push(occur_at=None)), 400, "missing field 'occur_at'"),
        (body(push(occur_at="yesterday")), 400, "field 'occur_at' must be an integer"),
        (body(push(occur_at=True)), 400, "field 'occur_at' must be an integer"),
        (body(push(occur_at=10**20)), 400, "field 'occur_at' is out of range"),
        (body(push(event_data=None)), 400, "missing field 'event_data'"),
        (body(push(event_data=[])), 400, "field 'event_data' must be an object"),
        (
            body(push(event_data={"resources": []})),
            400,
            "missing field 'event_data.repository'",
        ),
        (
            body(push(event_data={"resources": [], "repository": {}})),
            400,
            "missing field 'event_data.repository.repo_full_name'",
        ),
        (
            body(push(event_data={"repository": {"repo_full_name": "a/b"}})),
            400,
            "missing field 'event_data.resources'",
        ),
        (
            body(push(event_data={"resources": ["x"], "repository": {"repo_full_name": "a/b"}})),
            400,
            "field 'event_data.resources[0]' must be an object",
        ),
        (
            body(
                push(
                    event_data={"resources": [{"tag": 1}], "repository": {"repo_full_name": "a/b"}}
                )
            ),
            400,
            "field 'event_data.resources[0].tag' must be a string",
        ),
        (
            body({"type": "REPLICATION", "occur_at": 1, "event_data": {}}),
            400,
            "missing field 'event_data.replication'",
        ),
        (
            body({"type": "TAG_RETENTION", "occur_at": 1, "event_data": {"retention": {}}}),
            400,
            "missing field 'event_data.retention.project_name'",
        ),
        (body(push(type="PUSH_IMAGE")), 422, "unsupported event type 'PUSH_IMAGE'"),
        (
            body({"specversion": "1.0", "type": "harbor.artifact.pushed", "data": {}}),
            415,
            "CloudEvents payloads are not supported",
        ),
    ],
)
def test_malformed_payloads(raw, status, message):
    """Malformed bodies are rejected with a status and a message naming the field."""
    with pytest.raises(WebhookError) as info:
        parse_webhook(raw, authorization=None, secret=None)
    assert info.value.status == status
    assert info.value.message.startswith(message)
