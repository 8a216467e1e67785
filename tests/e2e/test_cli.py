"""The CLI's contract end to end: ``syncd config`` redaction, config errors, overlapping runs."""

from __future__ import annotations

import json
from typing import TYPE_CHECKING, Any

import pytest
import yaml

from tests.e2e.e2ekit import executions, finished, push_during_outage, quiesce, spawn, starts
from tests.simkit import wait_for

if TYPE_CHECKING:
    from pathlib import Path

    from tests.e2e.e2ekit import Pair, RunCli, WriteConfig

SECRET = "Sup3r-s3cret-harbor-pw"


def _write(path: Path, config: dict[str, Any]) -> Path:
    path.write_text(yaml.safe_dump(config), encoding="utf-8")
    return path


@pytest.mark.parametrize("from_file", [False, True])
def test_config_prints_the_redacted_configuration(
    tmp_path: Path, cli: RunCli, from_file: bool
) -> None:
    """`syncd config` prints the resolved settings with every password masked."""
    secret: dict[str, Any] = {"password": SECRET}
    if from_file:
        (tmp_path / "pw").write_text(SECRET + "\n", encoding="utf-8")
        secret = {"password_file": str(tmp_path / "pw")}
    instance = {"url": "http://127.0.0.1:1", "username": "admin", **secret}
    config = _write(
        tmp_path / "syncd.yaml",
        {"instances": {"a": instance, "b": {**instance, "url": "http://127.0.0.1:2"}}},
    )

    run = cli(config, "config")

    assert run.code == 0
    assert SECRET not in run.out + run.err
    shown = yaml.safe_load(run.out)
    assert {name: i["password"] for name, i in shown["instances"].items()} == {
        "a": "**********",
        "b": "**********",
    }
    assert shown["reconcile"]["mode"] == "trigger"


@pytest.mark.parametrize(
    ("section", "field"),
    [
        ({"reconcile": {"poll_intervall_seconds": 1}}, "reconcile.poll_intervall_seconds"),
        ({"reconcile": {"mode": "sometimes"}}, "reconcile.mode"),
        ({"statee": {"path": "x.sqlite3"}}, "statee"),
    ],
)
def test_bad_config_key_exits_3_naming_the_field(
    tmp_path: Path, cli: RunCli, section: dict[str, Any], field: str
) -> None:
    """A misspelt or invalid key: exit 3, the field path on stderr, nothing on stdout."""
    instance = {"url": "http://127.0.0.1:1", "username": "admin", "password": SECRET}
    config = _write(tmp_path / "syncd.yaml", {"instances": {"a": instance}, **section})

    for command in (("config",), ("diff",), ("reconcile", "--once")):
        run = cli(config, *command)
        assert (run.code, run.out) == (3, "")
        assert "configuration error" in run.err
        assert field in run.err
        assert SECRET not in run.err


@pytest.mark.slow
@pytest.mark.xdist_group("e2e-proc")
def test_overlapping_runs_start_one_execution_per_policy(
    pair: Pair, syncd_config: WriteConfig, tmp_path: Path
) -> None:
    """A second run while the first watches a hung execution never starts another one."""
    pair.a.push("library/app", "v1")
    quiesce(*pair.both)
    push_during_outage(pair, pushed_on="b", tags=[("library/app", "v2")])
    pair.b.hang_executions(pair.b_to_a, True)
    config = syncd_config(pair, reconcile={"execution_timeout_seconds": 30})
    args = ("reconcile", "--once", "--output", "json")

    first = spawn(config, *args, logs=tmp_path / "first")
    try:
        hung = wait_for(lambda: executions(pair.b, policy_id=pair.b_to_a), timeout=30)[0]
        second = finished(spawn(config, *args, logs=tmp_path / "second"), logs=tmp_path / "second")
        pair.b.engine.stop(hung)  # ends the first run's watch: Stopped is terminal
        first_run = finished(first, logs=tmp_path / "first")
    finally:
        if first.poll() is None:
            first.kill()
            first.wait()

    assert [e.id for e in executions(pair.b, policy_id=pair.b_to_a)] == [hung.id]
    assert (len(starts(pair.b)), starts(pair.a)) == (1, [])
    assert first_run.code == 1
    assert [a["result"] for a in json.loads(first_run.out)["actions"]] == ["stopped"]
    assert second.code in {1, 2}  # locked out (2), or it saw the execution running (1)
    if second.code == 2:
        assert "another syncd process is running a pass" in second.err
    else:
        reasons = {s["reason"] for s in json.loads(second.out)["skipped"]}
        assert "execution_running" in reasons
