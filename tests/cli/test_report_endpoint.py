"""``GET /report`` on a real ``syncd run``: the last pass's drift, as ``syncd diff`` shows it."""

from __future__ import annotations

from typing import TYPE_CHECKING

import httpx
import pytest

from syncd.sim import SimCluster
from tests.daemonkit import (
    DaemonProcess,
    converged,
    daemon_config,
    poll_until,
    push_while_down,
    settled,
    write_config,
)

if TYPE_CHECKING:
    from collections.abc import Iterator
    from pathlib import Path

pytestmark = [pytest.mark.slow, pytest.mark.xdist_group("daemon")]


@pytest.fixture
def daemon(tmp_path: Path) -> Iterator[DaemonProcess]:
    """Start an observing daemon over a dual-master pair where b missed library/app:v2."""
    with SimCluster() as cluster:
        a, b = cluster.add("a"), cluster.add("b")
        for inst in (a, b):
            inst.create_project("library")
        cluster.dual_master("a", "b")
        a.push("library/app", "v1")
        poll_until(lambda: converged(a, b), what="initial replication")
        poll_until(lambda: settled(a) and settled(b), what="replication to settle")
        push_while_down(source=a, peer=b, repository="library/app", tag="v2")
        config = daemon_config(
            instances={"a": a, "b": b}, state=tmp_path / "state.sqlite3", mode="observe"
        )
        running = DaemonProcess(config=write_config(tmp_path / "syncd.yaml", config), cwd=tmp_path)
        try:
            yield running.start()
        finally:
            running.close()


def test_report_shows_which_tags_drift(daemon):
    """After a pass, /report lists the missing tag with its edge, class and digest; HEAD works."""
    # On the reverse edge b->a the same tag is on the destination only: extra.
    daemon.wait_for("reconcile.pass_finished", outcome="drift")
    finished = daemon.first("reconcile.pass_finished", outcome="drift")
    report = httpx.get(f"{daemon.url}/report", timeout=10)
    head = httpx.head(f"{daemon.url}/report", timeout=10)

    assert (report.status_code, report.headers["content-type"]) == (200, "application/json")
    document = report.json()
    assert document["pass_id"] == finished["pass_id"]
    assert document["outcome"] == "drift"
    assert sorted((d["edge"], d["class"]) for d in document["drift"]) == [
        ("a->b", "missing"),
        ("b->a", "extra"),
    ]
    [gap] = [d for d in document["drift"] if d["edge"] == "a->b"]
    assert (gap["edge"], gap["class"], gap["repository"], gap["tag"]) == (
        "a->b",
        "missing",
        "library/app",
        "v2",
    )
    assert gap["source_digest"].startswith("sha256:")
    assert gap["first_seen"] is not None
    assert (head.status_code, head.content) == (200, b"")
