"""Replication policy PUT/POST traps and cron handling, as Harbor's handler behaves."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

import pytest

from syncd.sim.policy import cron_error, cron_matches
from tests.simkit import api, check, wait_for

if TYPE_CHECKING:
    from syncd.sim import SimCluster


@pytest.fixture
def owner(cluster: SimCluster) -> tuple[Any, int]:
    """Instance a with an event-based, deletion-replicating policy a->b."""
    cluster.add("a")
    cluster.add("b")
    pid = cluster.link(
        "a",
        "b",
        replicate_deletion=True,
        dest_namespace="ns",
        dest_namespace_replace_count=1,
        filters=[{"type": "name", "value": "library/**"}],
    )
    return cluster["a"], pid


def test_get_masks_secret_and_fills_both_deletion_fields(owner: tuple[Any, int]) -> None:
    """GET shows '*****' for secrets and deletion == replicate_deletion."""
    inst, pid = owner
    with api(inst) as c:
        body = check(c.get(f"/replication/policies/{pid}"))
    assert body["dest_registry"]["credential"]["access_secret"] == "*****"
    assert body["deletion"] is body["replicate_deletion"] is True
    assert body["src_registry"]["name"] == "Local"


def test_put_traps(owner: tuple[Any, int]) -> None:
    """PUT reads deletion, defaults replace_count to -1, drops omitted filters and trigger."""
    inst, pid = owner
    with api(inst) as c:
        current = c.get(f"/replication/policies/{pid}").json()
        blind = {
            "name": current["name"],
            "src_registry": {"id": 0},
            "dest_registry": {"id": current["dest_registry"]["id"]},
            "dest_namespace": "ns",
            "replicate_deletion": True,
            "enabled": True,
        }
        assert c.put(f"/replication/policies/{pid}", json=blind).status_code == 200
        after = c.get(f"/replication/policies/{pid}").json()
    assert after["dest_namespace_replace_count"] == -1
    assert "deletion" not in after  # replicate_deletion was ignored; false is omitted
    assert after["filters"] is None  # omitted filters: none, rendered as a nil slice
    assert "trigger" not in after


def test_toggle_procedure_round_trips(owner: tuple[Any, int]) -> None:
    """GET, flip enabled, copy replicate_deletion into deletion, PUT back: nothing else moves."""
    inst, pid = owner
    with api(inst) as c:
        body = c.get(f"/replication/policies/{pid}").json()
        body |= {"enabled": False, "deletion": body.get("replicate_deletion", False)}
        assert c.put(f"/replication/policies/{pid}", json=body).status_code == 200
        after = c.get(f"/replication/policies/{pid}").json()
    assert "enabled" not in after
    assert after["dest_namespace_replace_count"] == 1
    assert after["filters"] == body["filters"]
    assert after["trigger"] == body["trigger"]


@pytest.mark.parametrize(
    ("change", "message"),
    [
        ({"name": ""}, "empty name"),
        ({"trigger": {"type": "scheduled", "trigger_settings": {"cron": "5 0 * * * *"}}}, "1st"),
        ({"trigger": {"type": "scheduled", "trigger_settings": {"cron": "0 * * * * *"}}}, "2nd"),
        ({"trigger": {"type": "scheduled", "trigger_settings": {"cron": "0 0 * * *"}}}, "6 fields"),
        ({"filters": [{"type": "name", "value": "x", "decoration": "excludes"}]}, "decoration"),
        ({"filters": [{"type": "bogus", "value": "x"}]}, "invalid filter type"),
        ({"src_registry": {"id": 1}}, "should be local"),
    ],
)
def test_put_rejects_invalid(owner: tuple[Any, int], change: dict[str, Any], message: str) -> None:
    """Invalid names, crons, filters and registries give 400 with Harbor's reason."""
    inst, pid = owner
    with api(inst) as c:
        body = c.get(f"/replication/policies/{pid}").json() | change
        resp = c.put(f"/replication/policies/{pid}", json=body)
    assert resp.status_code == 400
    assert message in resp.json()["errors"][0]["message"]


def test_valid_cron_is_accepted(owner: tuple[Any, int]) -> None:
    """A seconds=0, minutes!=* cron is stored."""
    inst, pid = owner
    with api(inst) as c:
        body = c.get(f"/replication/policies/{pid}").json()
        body["trigger"] = {"type": "scheduled", "trigger_settings": {"cron": "0 */5 * * * *"}}
        assert c.put(f"/replication/policies/{pid}", json=body).status_code == 200
        assert c.get(f"/replication/policies/{pid}").json()["trigger"]["type"] == "scheduled"


def test_post_policy_returns_location_and_rejects_duplicates(owner: tuple[Any, int]) -> None:
    """POST gives 201 + Location; a duplicate name gives 409."""
    inst, pid = owner
    with api(inst) as c:
        body = c.get(f"/replication/policies/{pid}").json()
        created = c.post("/replication/policies", json=body | {"name": "second"})
        assert created.status_code == 201
        assert created.headers["Location"].startswith("/api/v2.0/replication/policies/")
        assert c.post("/replication/policies", json=body).status_code == 409


@pytest.mark.parametrize(
    ("cron", "when", "fires"),
    [
        ("0 */5 * * * *", datetime(2024, 1, 1, 0, 10, 0, tzinfo=UTC), True),
        ("0 */5 * * * *", datetime(2024, 1, 1, 0, 11, 0, tzinfo=UTC), False),
        ("0 0 3 * * 1", datetime(2024, 1, 1, 3, 0, 0, tzinfo=UTC), True),
        ("0 0 3 * * 2", datetime(2024, 1, 1, 3, 0, 0, tzinfo=UTC), False),
        ("0 30 1-3 15 * ?", datetime(2024, 3, 15, 2, 30, 0, tzinfo=UTC), True),
    ],
)
def test_cron_matcher(cron: str, when: datetime, fires: bool) -> None:
    """Six-field crons (seconds first, UTC) fire on exactly the matching seconds."""
    assert cron_error(cron) is None
    assert cron_matches(cron, when) is fires


def test_scheduled_policy_fires_on_tick(cluster: SimCluster) -> None:
    """A cron tick starts a full-copy 'scheduled' execution; disabled policies do not fire."""
    a = cluster.add("a")
    cluster.add("b")
    a.create_project("library")
    a.push("library/web", "1")
    pid = cluster.link("a", "b", trigger="scheduled", cron="0 */5 * * * *")
    cluster.link(
        "a", "b", policy_name="off", trigger="scheduled", cron="0 */5 * * * *", enabled=False
    )
    a.engine.loops.tick(datetime(2024, 1, 1, 0, 10, 0, tzinfo=UTC))
    [execution] = a.state.executions.values()
    assert (execution.policy_id, execution.trigger) == (pid, "scheduled")
    wait_for(lambda: a.execution_status(execution.id) == "Succeed")
    assert ("library/web", "1") in cluster["b"].state.tag_map()
