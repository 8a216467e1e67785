"""Each pass keeps syncd's own history bounded: old audit rows go, recent ones stay."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta

from syncd.engine.reconcile import HISTORY_RETENTION, run_pass
from syncd.settings import load_settings
from syncd.sim import SimInstance
from syncd.wiring import build_runtime


def test_pass_prunes_audit_rows_older_than_the_retention(tmp_path):
    """An audit row older than the retention is dropped by the next pass; a fresh one stays."""
    with SimInstance("a") as sim:
        config = tmp_path / "syncd.yaml"
        config.write_text(
            json.dumps(
                {
                    "instances": {
                        "a": {"url": sim.url, "username": "admin", "password": "Harbor12345"}
                    },
                    "state": {"path": str(tmp_path / "state.sqlite3")},
                }
            ),
            encoding="utf-8",
        )
        runtime = build_runtime(load_settings(config, env={}))
        now = datetime.now(UTC)
        for pass_id, age in (("old", HISTORY_RETENTION + timedelta(days=1)), ("new", timedelta())):
            runtime.store.audit(
                pass_id=pass_id,
                at=now - age,
                kind="trigger",
                instance="a",
                policy_id=1,
                edge=None,
                reason="test",
                result="succeeded",
            )
        try:
            run_pass(runtime.deps)
            assert [e.pass_id for e in runtime.store.audit_entries()] == ["new"]
        finally:
            runtime.close()
