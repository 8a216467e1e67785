"""StateStore: every table round-trips, survives a reopen, and stays consistent under threads."""

from __future__ import annotations

import sqlite3
import threading
from datetime import UTC, datetime, timedelta, timezone
from typing import TYPE_CHECKING

import pytest

from syncd.core.model import Artifact, Catalog, DriftClass, ExecutionStatus, HealthState, Repository
from syncd.store import (
    SCHEMA_VERSION,
    StateError,
    StateStore,
    Store,
    history_from_json,
    history_to_json,
)
from syncd.store.postgres import PostgresStore
from tests.pgkit import lead

if TYPE_CHECKING:
    from collections.abc import Iterator
    from pathlib import Path

T0 = datetime(2026, 1, 1, 12, 0, tzinfo=UTC)


@pytest.fixture(params=["sqlite", "postgres"])
def store(request: pytest.FixtureRequest) -> Iterator[Store]:
    """Give each backend's store (SQLite in memory, a fresh PostgreSQL database), leading."""
    if request.param == "sqlite":
        with StateStore.open(":memory:") as opened:
            yield opened
        return
    db = request.getfixturevalue("pg_db")
    with PostgresStore.open(db.url, password=db.password) as opened:
        opened.fence(lead(opened))
        yield opened


@pytest.fixture
def db_path(tmp_path: Path) -> Path:
    """Give a path for a file-backed store."""
    return tmp_path / "state.db"


def _repo(name: str, *tags: str, digest: str = "sha256:aa") -> Repository:
    art = Artifact(digest=digest, tags=frozenset(tags), push_time=T0)
    return Repository(name=name, artifact_count=1, update_time=T0, artifacts=(art,))


# --------------------------------------------------------------------------- lifecycle


def test_new_database_has_current_schema_version(db_path):
    """A fresh file is migrated to SCHEMA_VERSION and keeps it on reopen."""
    with StateStore.open(db_path) as first:
        assert first.schema_version() == SCHEMA_VERSION
    with StateStore.open(str(db_path)) as second:
        assert second.schema_version() == SCHEMA_VERSION


def test_newer_schema_is_refused(db_path):
    """A database written by a newer syncd is not opened (no silent downgrade)."""
    StateStore.open(db_path).close()
    conn = sqlite3.connect(db_path)
    conn.execute(f"PRAGMA user_version = {SCHEMA_VERSION + 1}")
    conn.close()
    with pytest.raises(StateError, match="newer"):
        StateStore.open(db_path)


def test_database_uses_wal(db_path):
    """File databases run in WAL mode."""
    StateStore.open(db_path).close()
    conn = sqlite3.connect(db_path)
    assert conn.execute("PRAGMA journal_mode").fetchone()[0] == "wal"
    conn.close()


@pytest.mark.parametrize("content", [b"this is not a sqlite database" * 100, None])
def test_unusable_file_raises_state_error(tmp_path, content):
    """Garbage files and missing directories surface as StateError."""
    path = tmp_path / "missing-dir" / "state.db"
    if content is not None:
        path = tmp_path / "garbage.db"
        path.write_bytes(content)
    with pytest.raises(StateError):
        StateStore.open(path)


def test_writable_true_when_open_false_when_closed(store):
    """writable() reflects whether a commit is possible."""
    assert store.writable()
    store.close()
    assert not store.writable()


def test_closed_store_raises_state_error(store):
    """Any call after close raises StateError; closing twice is harmless."""
    store.close()
    store.close()
    with pytest.raises(StateError, match="closed"):
        store.load_base("a->b")


def test_naive_datetime_rejected(store):
    """Naive datetimes are a programming error, not silently assumed UTC."""
    with pytest.raises(ValueError, match="naive"):
        store.save_base("a->b", {}, at=datetime(2026, 1, 1))  # noqa: DTZ001


def test_times_come_back_as_utc(store):
    """A non-UTC aware time comes back as the same instant in UTC."""
    cet = timezone(timedelta(hours=1))
    store.save_base("a->b", {}, at=datetime(2026, 1, 1, 13, 0, tzinfo=cet))
    converged = store.last_converged("a->b")
    assert converged == T0
    assert converged is not None
    assert converged.tzinfo is UTC


# --------------------------------------------------------------------------- bases


def test_base_none_until_saved(store):
    """An edge that never converged has no base and no convergence time."""
    assert store.load_base("a->b") is None
    assert store.last_converged("a->b") is None


def test_base_round_trip_and_replace(store):
    """save_base replaces the whole mapping of that edge only."""
    store.save_base("a->b", {("p/r", "1"): "sha256:1", ("p/r", "2"): "sha256:2"}, at=T0)
    store.save_base("b->a", {("p/r", "1"): "sha256:x"}, at=T0)
    later = T0 + timedelta(minutes=5)
    store.save_base("a->b", {("p/r", "2"): "sha256:22"}, at=later)
    assert store.load_base("a->b") == {("p/r", "2"): "sha256:22"}
    assert store.load_base("b->a") == {("p/r", "1"): "sha256:x"}
    assert store.last_converged("a->b") == later


def test_empty_base_is_not_none(store):
    """Converging on an empty edge is remembered as an empty base."""
    store.save_base("a->b", {}, at=T0)
    assert store.load_base("a->b") == {}


def test_update_base_amends_existing_base(store):
    """update_base sets and removes keys but leaves the convergence time."""
    store.save_base("a->b", {("p/r", "1"): "sha256:1", ("p/r", "2"): "sha256:2"}, at=T0)
    applied = store.update_base(
        "a->b", set_={("p/r", "1"): "sha256:11", ("p/r", "3"): "sha256:3"}, remove=[("p/r", "2")]
    )
    assert applied
    assert store.load_base("a->b") == {("p/r", "1"): "sha256:11", ("p/r", "3"): "sha256:3"}
    assert store.last_converged("a->b") == T0


def test_update_base_without_base_is_a_no_op(store):
    """A targeted verify cannot invent a base for an edge that never converged."""
    assert not store.update_base("a->b", set_={("p/r", "1"): "sha256:1"}, remove=[])
    assert store.load_base("a->b") is None


def test_failed_save_rolls_back_and_raises_state_error(store):
    """A write that fails half way raises StateError and leaves the previous base intact."""
    store.save_base("a->b", {("p/r", "old"): "sha256:o"}, at=T0)
    unbindable = {("p/r", "new1"): "sha256:n1", ("p/r", "new2"): ["not", "a", "digest"]}
    with pytest.raises(StateError):
        store.save_base("a->b", unbindable, at=T0 + timedelta(hours=1))
    assert store.load_base("a->b") == {("p/r", "old"): "sha256:o"}
    assert store.last_converged("a->b") == T0
    assert store.writable()


def test_large_base_round_trip(db_path):
    """A 200k-tag base survives a save and a reopen intact."""
    mapping = {
        (f"proj{i % 40}/repo{i % 5000}", f"v{i}"): f"sha256:{i:064x}" for i in range(200_000)
    }
    with StateStore.open(db_path) as first:
        first.save_base("a->b", mapping, at=T0)
    with StateStore.open(db_path) as second:
        assert second.load_base("a->b") == mapping


# --------------------------------------------------------------------------- catalog cache


def test_catalog_none_until_saved(store):
    """No cached catalog for an instance never saved."""
    assert store.load_catalog("a") is None


def test_catalog_round_trip_keeps_every_field(store):
    """Artifacts keep digest, tags, times, type, media type, references, accessories, labels."""
    index = Artifact(
        digest="sha256:idx",
        tags=frozenset({"1.0", "latest"}),
        push_time=T0,
        type="IMAGE",
        media_type="application/vnd.oci.image.index.v1+json",
        references=("sha256:amd", "sha256:arm"),
        accessories=("sha256:sig",),
        labels=frozenset({"prod", "team-a"}),
    )
    untagged = Artifact(digest="sha256:old", push_time=None, type="CHART", media_type="x/y")
    catalog = Catalog(
        instance="a",
        taken_at=T0,
        repositories={
            "lib/app": Repository("lib/app", 2, T0, (index, untagged)),
            "lib/empty": Repository("lib/empty", 0, None, ()),
        },
        projects=frozenset({"lib", "private"}),
        public_projects=frozenset({"lib"}),
    )
    store.save_catalog(catalog)
    assert store.load_catalog("a") == catalog


def test_save_catalog_replaces_previous(store):
    """Repositories absent from the new catalog are gone; other instances are untouched."""
    store.save_catalog(Catalog("a", T0, {"p/old": _repo("p/old", "1")}))
    store.save_catalog(Catalog("b", T0, {"p/b": _repo("p/b", "1")}))
    store.save_catalog(Catalog("a", T0, {"p/new": _repo("p/new", "1")}))
    loaded_a, loaded_b = store.load_catalog("a"), store.load_catalog("b")
    assert loaded_a is not None
    assert loaded_b is not None
    assert set(loaded_a.repositories) == {"p/new"}
    assert set(loaded_b.repositories) == {"p/b"}


def test_replace_repositories_is_incremental(store):
    """Upserts changed repositories, drops removed ones, keeps the rest and moves taken_at."""
    repos = {name: _repo(name, "1") for name in ("p/keep", "p/change", "p/drop")}
    store.save_catalog(Catalog("a", T0, repos, frozenset({"p"}), frozenset({"p"})))
    changed = _repo("p/change", "1", "2", digest="sha256:bb")
    later = T0 + timedelta(minutes=1)
    store.replace_repositories("a", [changed, _repo("p/add", "9")], ["p/drop"], taken_at=later)
    assert store.load_catalog("a") == Catalog(
        "a",
        later,
        {"p/keep": repos["p/keep"], "p/change": changed, "p/add": _repo("p/add", "9")},
        frozenset({"p"}),
        frozenset({"p"}),
    )


def test_replace_repositories_can_set_projects_and_start_a_cache(store):
    """Without a cached catalog it starts one; given project sets replace the stored ones."""
    store.replace_repositories("a", [_repo("p/x", "1")], [], taken_at=T0)
    started = store.load_catalog("a")
    assert started == Catalog("a", T0, {"p/x": _repo("p/x", "1")})
    store.replace_repositories(
        "a", [], ["p/x"], taken_at=T0, projects=frozenset({"p"}), public_projects=frozenset()
    )
    assert store.load_catalog("a") == Catalog("a", T0, {}, frozenset({"p"}))


def test_large_catalog_round_trip(store):
    """A catalog of 2k repositories with 20k tags round-trips exactly."""
    repos = {
        f"p{i % 10}/r{i}": Repository(
            f"p{i % 10}/r{i}",
            10,
            T0,
            tuple(
                Artifact(digest=f"sha256:{i:08x}{j:02x}", tags=frozenset({f"v{j}"}), push_time=T0)
                for j in range(10)
            ),
        )
        for i in range(2000)
    }
    catalog = Catalog("a", T0, repos, frozenset(f"p{i}" for i in range(10)))
    store.save_catalog(catalog)
    loaded = store.load_catalog("a")
    assert loaded == catalog
    assert loaded is not None
    assert len(loaded.tag_map()) == 20_000


# --------------------------------------------------------------------------- first seen


def test_first_seen_round_trip_and_replace(store):
    """save_first_seen replaces everything: drift that disappeared is forgotten."""
    gone = ("a->b", "p/r", "1", "missing")
    kept = ("a->b", "p/r", "2", DriftClass.STALE)
    store.save_first_seen({gone: T0, kept: T0})
    assert store.load_first_seen() == {gone: T0, ("a->b", "p/r", "2", "stale"): T0}
    store.save_first_seen({kept: T0})
    assert store.load_first_seen() == {("a->b", "p/r", "2", "stale"): T0}


# --------------------------------------------------------------------------- health


def test_record_health_reports_transitions_only(store):
    """First sight and repeats return None; a change returns the previous state."""
    t1, t2, t3 = T0, T0 + timedelta(minutes=1), T0 + timedelta(minutes=2)
    assert store.record_health("a", HealthState.UP, t1) is None
    assert store.record_health("a", HealthState.UP, t2) is None
    assert store.record_health("a", HealthState.DOWN, t3) is HealthState.UP
    assert store.health_states() == {"a": (HealthState.DOWN, t3)}


def test_health_transitions_persist_across_reopen(db_path):
    """The state and its since-time survive a restart, so a recovery is still detected."""
    with StateStore.open(db_path) as first:
        first.record_health("a", HealthState.UP, T0)
        first.record_health("a", HealthState.DOWN, T0 + timedelta(minutes=1))
    with StateStore.open(db_path) as second:
        assert second.health_states() == {"a": (HealthState.DOWN, T0 + timedelta(minutes=1))}
        later = T0 + timedelta(minutes=5)
        assert second.record_health("a", HealthState.UP, later) is HealthState.DOWN
        assert second.health_states() == {"a": (HealthState.UP, later)}


# --------------------------------------------------------------------------- toggle intents


def test_intent_survives_crash_until_completed(db_path):
    """An intent written before a crash is pending after reopen, and gone once completed."""
    policy = {
        "id": 7,
        "name": "to-b",
        "enabled": True,
        "filters": [{"type": "name", "value": "**"}],
    }
    crashed = StateStore.open(db_path)
    intent_id = crashed.journal_disable_intent("a", 7, policy_json=policy, at=T0)
    # No close(): the process "dies" here; only committed data may be relied on.
    with StateStore.open(db_path) as restarted:
        pending = restarted.pending_intents()
        assert [(i.id, i.instance, i.policy_id, i.policy_json, i.created_at) for i in pending] == [
            (intent_id, "a", 7, policy, T0)
        ]
        restarted.complete_intent(intent_id, at=T0 + timedelta(seconds=30))
        restarted.complete_intent(intent_id, at=T0 + timedelta(seconds=40))
        assert restarted.pending_intents() == []
    with StateStore.open(db_path) as again:
        assert again.pending_intents() == []
    crashed.close()


def test_pending_intents_oldest_first(store):
    """Several pending intents come back in journal order with distinct ids."""
    first = store.journal_disable_intent("a", 1, policy_json={"id": 1}, at=T0)
    second = store.journal_disable_intent("b", 2, policy_json={"id": 2}, at=T0)
    assert first != second
    assert [i.id for i in store.pending_intents()] == [first, second]


# --------------------------------------------------------------------------- policy history


def test_history_round_trip_with_helpers(store):
    """Records are stored as JSON with ISO times; history_from_json restores the datetimes."""
    record = {
        "policy_owner": "a",
        "policy_id": 3,
        "last_trigger": T0,
        "drift_at_trigger": 5,
        "last_result": "succeeded",
        "non_converging_since": None,
        "backoff_until": T0 + timedelta(hours=1),
        "failures": 2,
    }
    store.save_history("a", 3, record)
    loaded = store.load_history()
    assert loaded == {("a", 3): history_to_json(record)}
    assert loaded["a", 3]["last_trigger"] == "2026-01-01T12:00:00.000000+00:00"
    assert history_from_json(loaded["a", 3]) == record
    store.delete_history("a", 3)
    assert store.load_history() == {}


# --------------------------------------------------------------------------- audit / passes


def test_audit_entries_newest_first_with_limit(store):
    """Audit entries keep every field and come back newest first, limited."""
    for n in range(3):
        store.audit(
            pass_id=f"p{n}",
            at=T0 + timedelta(seconds=n),
            kind="trigger",
            instance="a",
            policy_id=n,
            edge="a->b" if n else None,
            reason="3 missing",
            result="succeeded",
            execution_id=100 + n if n else None,
        )
    entries = store.audit_entries(limit=2)
    assert [e.pass_id for e in entries] == ["p2", "p1"]
    newest = entries[0]
    assert (newest.at, newest.kind, newest.instance, newest.policy_id, newest.edge) == (
        T0 + timedelta(seconds=2),
        "trigger",
        "a",
        2,
        "a->b",
    )
    assert (newest.reason, newest.result, newest.detail, newest.execution_id) == (
        "3 missing",
        "succeeded",
        "",
        102,
    )
    assert store.audit_entries()[-1].edge is None


def test_last_pass_and_last_success(store):
    """An error pass is the last pass but not the last success."""
    assert store.last_pass() is None
    assert store.last_success() is None
    t1, t2 = T0 + timedelta(seconds=10), T0 + timedelta(seconds=70)
    store.record_pass("p1", started_at=T0, finished_at=t1, outcome="drift")
    store.record_pass("p2", started_at=t1, finished_at=t2, outcome="error")
    assert store.last_pass() == ("p2", t2, "error")
    assert store.last_success() == t1


# --------------------------------------------------------------------------- executions


def test_open_executions_survive_reopen_until_finished(db_path):
    """An execution started before a crash is still open after reopen, until finished."""
    with StateStore.open(db_path) as first:
        first.remember_execution("a", 7, 501, started_at=T0)
        first.remember_execution("b", 8, 502, started_at=T0 + timedelta(seconds=1))
    with StateStore.open(db_path) as second:
        opened = [
            (e.instance, e.policy_id, e.execution_id, e.started_at)
            for e in second.open_executions()
        ]
        assert opened == [("a", 7, 501, T0), ("b", 8, 502, T0 + timedelta(seconds=1))]
        second.finish_execution("a", 501, status=ExecutionStatus.SUCCEED, at=T0)
        assert [e.execution_id for e in second.open_executions()] == [502]


def test_prune_keeps_pending_and_open_rows(store):
    """Pruning drops old finished rows but never pending intents or open executions."""
    store.audit(
        pass_id="p",
        at=T0,
        kind="k",
        instance="a",
        policy_id=None,
        edge=None,
        reason="r",
        result="ok",
    )
    done = store.journal_disable_intent("a", 1, policy_json={}, at=T0)
    store.complete_intent(done, at=T0)
    pending = store.journal_disable_intent("a", 2, policy_json={}, at=T0)
    store.remember_execution("a", 1, 10, started_at=T0)
    store.finish_execution("a", 10, status="Failed", at=T0)
    store.remember_execution("a", 2, 11, started_at=T0)
    assert store.prune(before=T0 + timedelta(days=1)) == 3
    assert store.audit_entries() == []
    assert [i.id for i in store.pending_intents()] == [pending]
    assert [e.execution_id for e in store.open_executions()] == [11]


# --------------------------------------------------------------------------- concurrency


def test_concurrent_writers_do_not_corrupt(db_path):
    """Threads writing bases, audit entries and health at once all land, intact."""
    threads_n, rounds = 6, 25
    barrier = threading.Barrier(threads_n)
    errors: list[BaseException] = []

    def work(store: StateStore, n: int) -> None:
        try:
            barrier.wait()
            for r in range(rounds):
                store.save_base(
                    f"e{n}", {("p/r", str(t)): f"sha256:{n}-{r}" for t in range(50)}, at=T0
                )
                store.audit(
                    pass_id=f"t{n}",
                    at=T0,
                    kind="k",
                    instance=f"i{n}",
                    policy_id=r,
                    edge=None,
                    reason="r",
                    result="ok",
                )
                store.record_health(f"i{n}", HealthState.UP if r % 2 else HealthState.DOWN, T0)
                assert store.load_base(f"e{n}") is not None
        except BaseException as exc:  # surfaced by the main thread below
            errors.append(exc)

    with StateStore.open(db_path) as store:
        threads = [threading.Thread(target=work, args=(store, n)) for n in range(threads_n)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
        assert errors == []
        assert len(store.audit_entries(limit=10_000)) == threads_n * rounds
        for n in range(threads_n):
            expected = {("p/r", str(t)): f"sha256:{n}-{rounds - 1}" for t in range(50)}
            assert store.load_base(f"e{n}") == expected
        assert set(store.health_states()) == {f"i{n}" for n in range(threads_n)}
    conn = sqlite3.connect(db_path)
    assert conn.execute("PRAGMA integrity_check").fetchone()[0] == "ok"
    conn.close()
