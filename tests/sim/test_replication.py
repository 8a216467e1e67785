"""The replication engine: events, outages, manual catch-up, override, naming, filters, hangs."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import pytest

from tests.simkit import api, wait_for

if TYPE_CHECKING:
    from syncd.sim import SimCluster, SimInstance


def _executions(inst: SimInstance, policy_id: int | None = None) -> list[dict[str, Any]]:
    with api(inst) as c:
        params = {"policy_id": policy_id} if policy_id else {}
        body: list[dict[str, Any]] = c.get("/replication/executions", params=params).json()
        return body


def _settled(inst: SimInstance, count: int) -> list[dict[str, Any]]:
    """Wait until ``count`` executions exist and none is InProgress."""

    def done() -> list[dict[str, Any]] | None:
        items = _executions(inst)
        ok = len(items) == count and all(e["status"] != "InProgress" for e in items)
        return items if ok else None

    result: list[dict[str, Any]] = wait_for(done)
    return result


def _manual(inst: SimInstance, policy_id: int) -> dict[str, Any]:
    with api(inst) as c:
        resp = c.post("/replication/executions", json={"policy_id": policy_id})
        url = resp.headers["Location"].removeprefix("/api/v2.0")
        body: dict[str, Any] = wait_for(
            lambda: (e := c.get(url).json())["status"] != "InProgress" and e
        )
        return body


@pytest.fixture
def pair(cluster: SimCluster) -> SimCluster:
    """Instances a and b, project library on a."""
    cluster.add("a")
    cluster.add("b")
    cluster["a"].create_project("library")
    return cluster


@pytest.mark.parametrize("mode", ["refuse", "503"])
def test_event_lost_while_destination_down(pair: SimCluster, mode: str) -> None:
    """A push while B is down fails for good; B never gets it until a manual run."""
    a, b = pair["a"], pair["b"]
    pid = pair.link("a", "b")
    b.set_down(mode)
    digest = a.push("library/nginx", "1.0")
    [execution] = _settled(a, 1)
    assert (execution["status"], execution["total"]) == ("Failed", 0)
    b.set_down("up")
    assert ("library/nginx", "1.0") not in b.state.tag_map()
    assert [p for _, p, _ in b.admin_log if "replicate-in" in p] == []
    assert _executions(a)[0]["status"] == "Failed"
    assert _manual(a, pid)["status"] == "Succeed"
    assert b.state.tag_map()[("library/nginx", "1.0")] == digest


def test_refuse_reopens_on_same_port(pair: SimCluster) -> None:
    """'refuse' closes the socket; 'up' listens again on the same port."""
    b = pair["b"]
    url = b.url
    b.set_down("refuse")
    with api(b) as c:
        with pytest.raises(Exception, match="onnect"):
            c.get("/ping")
        b.set_down("up")
        assert b.url == url
        assert c.get("/ping").text == "Pong"


def test_dual_master_echo_stops_after_one_noop(pair: SimCluster) -> None:
    """A push on A reaches B; B's echo execution succeeds without pushing back."""
    a, b = pair["a"], pair["b"]
    pair.dual_master("a", "b")
    a.push("library/nginx", "1.0")
    assert [e["trigger"] for e in _settled(a, 1)] == ["event_based"]
    [echo] = _settled(b, 1)
    assert echo["status"] == "Succeed"
    assert b.state.tag_map() == a.state.tag_map()
    assert len(_executions(a)) == 1


def test_override_false_keeps_differing_digest(pair: SimCluster) -> None:
    """override=false skips a tag whose digest differs, and the execution still Succeeds."""
    a, b = pair["a"], pair["b"]
    pid = pair.link("a", "b", trigger="manual", override=False)
    a.push("library/nginx", "1.0", content="from-a")
    b.create_project("library")
    theirs = b.push("library/nginx", "1.0", content="from-b")
    a.push("library/nginx", "2.0")
    execution = _manual(a, pid)
    assert (execution["status"], execution["succeed"]) == ("Succeed", 1)
    assert b.state.tag_map()[("library/nginx", "1.0")] == theirs
    assert ("library/nginx", "2.0") in b.state.tag_map()


@pytest.mark.parametrize(
    ("namespace", "count", "expected"),
    [
        ("", None, "library/a/b/img"),
        ("", 2, "library/a/b/img"),
        ("ns", None, "ns/img"),
        ("ns", -1, "ns/img"),
        ("ns", 0, "ns/library/a/b/img"),
        ("ns", 1, "ns/a/b/img"),
        ("ns", 3, "ns/img"),
        ("ns", 4, None),
    ],
)
def test_destination_namespace_mapping(
    pair: SimCluster, namespace: str, count: int | None, expected: str | None
) -> None:
    """dest_namespace + replace_count map names like stage.go; too large fails the execution."""
    a, b = pair["a"], pair["b"]
    pid = pair.link(
        "a", "b", trigger="manual", dest_namespace=namespace, dest_namespace_replace_count=count
    )
    a.push("library/a/b/img", "1")
    execution = _manual(a, pid)
    if expected is None:
        assert execution["status"] == "Failed"
        assert "flattening level is 4" in execution["status_text"]
        assert b.state.tag_map() == {}
    else:
        assert execution["status"] == "Succeed"
        assert set(b.state.tag_map()) == {(expected, "1")}


@pytest.mark.parametrize(
    ("filters", "expected"),
    [
        ([{"type": "name", "value": "library/*"}], {"library/web:1", "library/web:dev"}),
        (
            [{"type": "name", "value": "library/**"}],
            {"library/web:1", "library/web:dev", "library/x/y:1"},
        ),
        ([{"type": "name", "value": "*"}], set()),
        (
            [{"type": "tag", "value": "dev", "decoration": "excludes"}],
            {"library/web:1", "library/x/y:1"},
        ),
        (
            [{"type": "tag", "value": "{1,dev}", "decoration": "matches"}],
            {"library/web:1", "library/web:dev", "library/x/y:1"},
        ),
        ([{"type": "label", "value": ["prod"]}], {"library/web:1"}),
        (
            [{"type": "label", "value": ["prod"], "decoration": "excludes"}],
            {"library/web:dev", "library/x/y:1"},
        ),
        (
            [{"type": "resource", "value": "image"}],
            {"library/web:1", "library/web:dev", "library/x/y:1"},
        ),
    ],
)
def test_filters_on_manual_copy(
    pair: SimCluster, filters: list[dict[str, Any]], expected: set[str]
) -> None:
    """Name globs match full names, tag filters keep matching tags, labels are all-match."""
    a, b = pair["a"], pair["b"]
    a.push("library/web", "1", labels=("prod",), content="w1")
    a.push("library/web", "dev", content="wdev")
    a.push("library/x/y", "1")
    pid = pair.link("a", "b", trigger="manual", filters=filters)
    execution = _manual(a, pid)
    assert execution["status"] == "Succeed"
    assert {f"{r}:{t}" for r, t in b.state.tag_map()} == expected
    if not expected:
        assert execution["status_text"] == "no resources need to be replicated"


def test_label_filtered_event_policy_never_fires(pair: SimCluster) -> None:
    """Push events carry no labels, so a label-filtered event policy does not run."""
    a = pair["a"]
    pair.link("a", "b", filters=[{"type": "label", "value": ["prod"]}])
    a.push("library/web", "1", labels=("prod",))
    pair.link("a", "b", policy_name="plain")
    a.push("library/web", "2")
    assert [e["policy_id"] for e in _settled(a, 1)] == [2]


def test_disabled_policy_drops_events(pair: SimCluster) -> None:
    """Events while disabled are dropped and not replayed on re-enable."""
    a, b = pair["a"], pair["b"]
    pid = pair.link("a", "b", enabled=False)
    a.push("library/web", "1")
    a.state.policies[pid].enabled = True
    a.push("library/web", "2")
    _settled(a, 1)
    assert set(b.state.tag_map()) == {("library/web", "2")}


@pytest.mark.parametrize("replicate", [True, False])
def test_deletion_propagates_only_with_replicate_deletion(
    pair: SimCluster, replicate: bool
) -> None:
    """Artifact deletes replicate by event only when the policy says so."""
    a, b = pair["a"], pair["b"]
    pair.link("a", "b", replicate_deletion=replicate)
    digest = a.push("library/web", "1")
    _settled(a, 1)
    a.delete_artifact("library/web", digest)
    _settled(a, 2 if replicate else 1)
    assert (("library/web", "1") in b.state.tag_map()) is not replicate


def test_pull_policy_copies_from_peer(pair: SimCluster) -> None:
    """A pull policy on B reads A and copies into B, creating the project."""
    a, b = pair["a"], pair["b"]
    digest = a.push("library/web", "1")
    pid = pair.link_pull("a", "b")
    assert _manual(b, pid)["status"] == "Succeed"
    assert b.state.tag_map() == {("library/web", "1"): digest}


def test_hang_and_stop(pair: SimCluster) -> None:
    """A hung execution stays InProgress until stopped; stop_ignored keeps it running."""
    a = pair["a"]
    a.push("library/web", "1")
    pid = pair.link("a", "b", trigger="manual")
    a.hang_executions(pid, True)
    with api(a) as c:
        eid = int(
            c.post("/replication/executions", json={"policy_id": pid})
            .headers["Location"]
            .rsplit("/", 1)[1]
        )
        wait_for(lambda: c.get(f"/replication/executions/{eid}").json()["in_progress"] == 1)
        assert c.put(f"/replication/executions/{eid}").status_code == 200
        assert c.get(f"/replication/executions/{eid}").json()["status"] == "Stopped"
        a.hang_executions(pid, True, stop_ignored=True)
        again = int(
            c.post("/replication/executions", json={"policy_id": pid})
            .headers["Location"]
            .rsplit("/", 1)[1]
        )
        wait_for(lambda: c.get(f"/replication/executions/{again}").json()["total"] == 1)
        c.put(f"/replication/executions/{again}")
        assert c.get(f"/replication/executions/{again}").json()["status"] == "InProgress"
        running = c.get("/replication/executions", params={"status": "InProgress"}).json()
        assert [e["id"] for e in running] == [again]


def test_tasks_report_repositories(pair: SimCluster) -> None:
    """One task per repository, with Harbor's resource strings."""
    a = pair["a"]
    a.push("library/web", "1")
    a.push("library/web", "2", content="two")
    pid = pair.link("a", "b", trigger="manual")
    execution = _manual(a, pid)
    with api(a) as c:
        [task] = c.get(f"/replication/executions/{execution['id']}/tasks").json()
    assert task["src_resource"] == "library/web [2 item(s) in total]"
    assert (task["operation"], task["status"]) == ("copy", "Succeed")


def test_single_active_replication_skips_while_running(pair: SimCluster) -> None:
    """With single_active_replication, a start during a running execution is 201 and Failed."""
    a = pair["a"]
    a.push("library/web", "1")
    pid = pair.link("a", "b", trigger="manual")
    a.state.policies[pid].single_active_replication = True
    a.hang_executions(pid, True)
    with api(a) as c:
        first = c.post("/replication/executions", json={"policy_id": pid})
        second = c.post("/replication/executions", json={"policy_id": pid})
        assert (first.status_code, second.status_code) == (201, 201)
        skipped = c.get(second.headers["Location"].removeprefix("/api/v2.0")).json()
    assert skipped["status"] == "Failed"
    assert skipped["status_text"] == "Execution skipped: active replication still in progress."
