"""An execution syncd did not start, stuck InProgress past the timeout, is reported as hung."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import TYPE_CHECKING

from prometheus_client import CollectorRegistry
from structlog.testing import capture_logs

from syncd.engine.reconcile import run_pass
from syncd.service.metrics import Metrics
from syncd.settings import load_settings
from syncd.wiring import build_runtime
from tests.e2e.e2ekit import executions, quiesce

if TYPE_CHECKING:
    from pathlib import Path

    from tests.e2e.e2ekit import Pair, WriteConfig


def test_foreign_hung_execution_is_reported_and_blocks_a_second_start(
    synced: Pair, syncd_config: WriteConfig
) -> None:
    """A hung execution of b's policy: named in the result, log and metric; not started twice."""
    synced.a.set_down("refuse")
    synced.b.push("library/app", "v2")  # its event replication to a fails: a is down
    quiesce(*synced.both)
    synced.a.set_down("up")
    synced.b.hang_executions(synced.b_to_a, True)
    hung_id = synced.b.start_execution(synced.b_to_a)  # e.g. an operator's manual run, stuck
    config: Path = syncd_config(synced)
    an_hour_later = lambda: datetime.now(UTC) + timedelta(hours=1)  # noqa: E731
    runtime = build_runtime(load_settings(config, env={}), now=an_hour_later)
    metrics = Metrics(registry=CollectorRegistry())
    try:
        with capture_logs() as logs:
            result = run_pass(runtime.deps)
    finally:
        runtime.close()
    metrics.record_pass(result, now=result.finished_at)
    assert [(e.instance, e.id) for e in result.hung] == [("b", hung_id)]
    assert [e["execution_id"] for e in logs if e["event"] == "reconcile.execution_hung"] == [
        hung_id
    ]
    assert metrics.registry.get_sample_value("syncd_hung_executions", {"instance": "b"}) == 1
    assert metrics.registry.get_sample_value("syncd_hung_executions", {"instance": "a"}) == 0
    assert "execution_running" in {s.reason.value for s in result.plan.skips}
    assert [e.id for e in executions(synced.b, policy_id=synced.b_to_a)] == [hung_id]
    assert ("library/app", "v2") not in synced.a.state.tag_map()
