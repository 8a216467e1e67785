"""The CLI on PostgreSQL state: the shared lock, a newer schema, the password kept out of sight."""

from __future__ import annotations

import json
import sqlite3
from typing import TYPE_CHECKING

import pytest
import yaml

from syncd.cli import EXIT_CONFIG, EXIT_NOT_LEADER, EXIT_RUNTIME, main
from syncd.engine.leader import PgLeadership, Role
from syncd.store import SCHEMA_VERSION as SQLITE_SCHEMA
from syncd.store import StateStore
from syncd.store.postgres import SCHEMA_VERSION, PostgresStore

if TYPE_CHECKING:
    from pathlib import Path

    from tests.pgkit import PgDatabase, PgServer


def _config(tmp_path: Path, db: PgDatabase, **state: str) -> Path:
    (tmp_path / "pw").write_text(db.password, encoding="utf-8")
    config = {
        # Port 9 (discard) is never contacted: these runs stop before any Harbor request.
        "instances": {
            "a": {"url": "http://127.0.0.1:9", "username": "admin", "password": "Harbor12345"}
        },
        "state": {"url": db.url, "password_file": str(tmp_path / "pw"), **state},
        "logging": {"format": "json"},
    }
    path = tmp_path / "syncd.yaml"
    path.write_text(json.dumps(config), encoding="utf-8")
    return path


@pytest.mark.parametrize("command", [["reconcile", "--once"], ["diff"]])
def test_second_process_exits_4_with_one_line_while_another_leads(pg_db, tmp_path, capsys, command):
    """While a daemon holds the lock, a cron run does nothing: one line on stderr, exit 4."""
    with PostgresStore.open(pg_db.url, password=pg_db.password) as store:
        daemon = PgLeadership(store)
        assert daemon.poll() is Role.LEADER
        code = main(["--config", str(_config(tmp_path, pg_db)), *command])
        daemon.close()
    out, err = capsys.readouterr()
    assert code == EXIT_NOT_LEADER
    lines = [line for line in err.splitlines() if not line.startswith("{")]  # not log events
    assert lines == [f"syncd: another syncd process leads on {pg_db.url}; this run did nothing"]
    assert pg_db.password not in out + err


def _newer_postgres(pg_server: PgServer, db: PgDatabase, tmp_path: Path) -> tuple[Path, int]:
    PostgresStore.open(db.url, password=db.password).close()
    newer = f"UPDATE syncd_schema SET version = {SCHEMA_VERSION + 1}"  # noqa: S608 - a constant
    pg_server.admin(newer, dbname=db.name)
    return _config(tmp_path, db), SCHEMA_VERSION


def _newer_sqlite(_server: PgServer, db: PgDatabase, tmp_path: Path) -> tuple[Path, int]:
    state = tmp_path / "state.sqlite3"
    StateStore.open(state).close()
    with sqlite3.connect(state) as conn:
        conn.execute(f"PRAGMA user_version = {SQLITE_SCHEMA + 1}")
    path = _config(tmp_path, db)
    config = yaml.safe_load(path.read_text())
    config["state"] = {"path": str(state)}
    path.write_text(yaml.safe_dump(config))
    return path, SQLITE_SCHEMA


@pytest.mark.parametrize("make", [_newer_postgres, _newer_sqlite], ids=["postgres", "sqlite"])
def test_newer_schema_exits_2_with_one_line(pg_server, pg_db, tmp_path, capsys, make):
    """A state migrated by a newer syncd is refused by either backend: one line, exit 2."""
    config, known = make(pg_server, pg_db, tmp_path)
    code = main(["--config", str(config), "reconcile", "--once"])
    _, err = capsys.readouterr()
    assert code == EXIT_RUNTIME
    assert err.count("\n") == 1
    assert err.startswith("syncd: state database ")
    assert f"newer than this syncd's v{known}" in err


def test_config_shows_url_and_file_but_never_the_password(pg_db, tmp_path, capsys):
    """``syncd config`` prints the URL and the password file's path, not its content."""
    assert main(["--config", str(_config(tmp_path, pg_db)), "config"]) == 0
    out, _ = capsys.readouterr()
    assert yaml.safe_load(out)["state"] == {
        "path": "syncd-state.sqlite3",
        "url": pg_db.url,
        "password_file": str(tmp_path / "pw"),
    }
    assert pg_db.password not in out


@pytest.mark.parametrize(
    ("url", "message"),
    [
        ("postgresql://syncd:hunter22@127.0.0.1/syncd", "state.url: must not contain a password"),
        ("postgresql://syncd@127.0.0.1/syncd?password=hunter22", "state.url: must not contain"),
        ("mysql://syncd@127.0.0.1/syncd", "state.url: must be a postgresql://"),
        ("postgresql://syncd@127.0.0.1/", "state.url: must name the database"),
    ],
    ids=["userinfo", "query", "scheme", "no-database"],
)
def test_bad_state_url_is_a_config_error_that_does_not_echo_it(
    pg_db, tmp_path, capsys, url, message
):
    """A URL carrying a password (or not PostgreSQL's) is refused, exit 3, nothing echoed."""
    code = main(["--config", str(_config(tmp_path, pg_db, url=url)), "config"])
    out, err = capsys.readouterr()
    assert code == EXIT_CONFIG
    assert message in err
    assert "hunter22" not in out + err


def test_password_file_without_url_is_a_config_error(pg_db, tmp_path, capsys):
    """state.password_file alone is a mistake (SQLite has no password): exit 3."""
    path = _config(tmp_path, pg_db)
    config = yaml.safe_load(path.read_text())
    del config["state"]["url"]
    path.write_text(yaml.safe_dump(config))
    assert main(["--config", str(path), "config"]) == EXIT_CONFIG
    assert "only used with state.url" in capsys.readouterr().err
