"""Edge stamps, sliced base reads and cached artifacts decoded on first use (both backends)."""

from __future__ import annotations

import sqlite3
from datetime import UTC, datetime
from typing import TYPE_CHECKING

import pytest

from syncd.core.incremental import EdgeStamp
from syncd.core.model import Artifact, Catalog, Repository
from syncd.errors import StateError
from syncd.store import StateStore
from syncd.store._codec import StoredArtifacts, encode_artifacts

if TYPE_CHECKING:
    from pathlib import Path

T0 = datetime(2026, 11, 30, 12, 0, tzinfo=UTC)
BASE = {("p/a", "1"): "sha256:1", ("p/a", "2"): "sha256:2", ("p/b", "1"): "sha256:3"}
STAMP = EdgeStamp("fingerprint", "a", "b", frozenset({"p/b"}))


def _catalog(instance: str, digest: str = "sha256:1") -> Catalog:
    arts = (Artifact(digest, frozenset({"1", "latest"}), T0), Artifact("sha256:9"))
    return Catalog(instance, T0, {"p/a": Repository("p/a", 2, T0, arts)})


def test_base_slice_reads_and_replaces_only_those_repositories(opener):
    """``only`` reads and replaces the named repositories' entries; the rest stay."""
    store = opener()
    assert store.load_base("e", only=["p/a"]) is None
    store.save_base("e", BASE, at=T0)
    assert store.load_base("e", only=["p/a", "p/z"]) == {
        ("p/a", "1"): "sha256:1",
        ("p/a", "2"): "sha256:2",
    }
    store.save_base("e", {("p/a", "3"): "sha256:4"}, at=T0, only=["p/a", "p/c"])
    assert opener().load_base("e") == {("p/a", "3"): "sha256:4", ("p/b", "1"): "sha256:3"}


def test_stamp_holds_until_either_catalog_is_written_again(opener):
    """A stamp comes back while both catalogs are the ones saved before it, then never."""
    store = opener()
    store.save_catalog(_catalog("a"))
    store.save_catalog(_catalog("b"))
    store.save_base("e", BASE, at=T0, stamp=STAMP)
    assert opener().edge_stamp("e") == STAMP
    store.save_catalog(_catalog("b", "sha256:2"))
    assert store.edge_stamp("e") is None
    assert opener().edge_stamp("never") is None


def test_stamp_needs_both_catalogs_and_an_untouched_base(opener):
    """No stamp without a saved catalog at each end, nor after the base was amended."""
    store = opener()
    store.save_catalog(_catalog("a"))
    store.save_base("e", BASE, at=T0, stamp=STAMP)
    assert store.edge_stamp("e") is None  # b has no catalog: nothing to hold the stamp to
    store.save_catalog(_catalog("b"))
    store.save_base("e", BASE, at=T0, stamp=STAMP)
    assert store.edge_stamp("e") == STAMP
    assert store.update_base("e", set_={("p/c", "1"): "sha256:5"}, remove=())
    assert store.edge_stamp("e") is None


def test_cached_artifacts_keep_their_length_text_and_equality(tmp_path: Path):
    """A reloaded repository's artifacts: stored length, stored text, equal to the original."""
    original = _catalog("a")
    with StateStore.open(tmp_path / "state.db") as store:
        store.save_catalog(original)
    with StateStore.open(tmp_path / "state.db") as store:
        loaded = store.load_catalog("a")
        assert loaded is not None
        arts = loaded.repositories["p/a"].artifacts
        assert isinstance(arts, StoredArtifacts)
        assert (len(arts), arts.fetched) == (2, False)  # the length reads no JSON
        assert encode_artifacts(arts) == encode_artifacts(original.repositories["p/a"].artifacts)
        assert arts == original.repositories["p/a"].artifacts
        assert loaded == original
        assert hash(arts) == hash(tuple(original.repositories["p/a"].artifacts))


def _two_repos(digest: str) -> Catalog:
    arts = (Artifact(digest, frozenset({"1"}), T0),)
    repos = {n: Repository(n, 1, T0, arts) for n in ("p/a", "p/b")}
    return Catalog("a", T0, repos)


def test_unread_rows_stay_readable_after_this_stores_own_save(opener):
    """An incremental save moves the generation, and unread rows it did not write still read."""
    opener().save_catalog(_two_repos("sha256:1"))
    store = opener()
    loaded = store.load_catalog("a")
    assert loaded is not None
    changed = _two_repos("sha256:2").repositories["p/b"]
    store.save_catalog(Catalog("a", T0, {**loaded.repositories, "p/b": changed}))
    kept = loaded.repositories["p/a"].artifacts
    assert isinstance(kept, StoredArtifacts)
    assert not kept.fetched
    assert [a.digest for a in kept] == ["sha256:1"]
    expected = Catalog("a", T0, {"p/a": loaded.repositories["p/a"], "p/b": changed})
    assert opener().load_catalog("a") == expected


def test_a_row_written_by_another_store_is_never_mixed_in(opener):
    """Once another writer moved the catalog, a lazy read fails instead of mixing catalogs."""
    opener().save_catalog(_two_repos("sha256:1"))
    store, other = opener(), opener()
    loaded = store.load_catalog("a")
    assert loaded is not None
    other.save_catalog(_two_repos("sha256:2"))
    with pytest.raises(StateError, match="changed while a pass was using it"):
        list(loaded.repositories["p/a"].artifacts)
    store.save_catalog(_two_repos("sha256:3"))  # another generation: a whole rewrite
    assert opener().load_catalog("a") == _two_repos("sha256:3")


def test_v3_database_gets_row_counts_on_upgrade(tmp_path: Path):
    """Migrating to v4 counts each cached repository's rows from its stored JSON."""
    path = tmp_path / "state.db"
    with StateStore.open(path) as store:
        store.save_catalog(_catalog("a"))
    conn = sqlite3.connect(path)
    conn.execute("ALTER TABLE catalog_repo DROP COLUMN artifact_rows")
    conn.execute("ALTER TABLE base_edge DROP COLUMN stamp")
    conn.execute("PRAGMA user_version = 3")
    conn.commit()
    conn.close()
    with StateStore.open(path) as store:
        loaded = store.load_catalog("a")
        assert store.schema_version() == 4
        assert loaded is not None
        arts = loaded.repositories["p/a"].artifacts
        assert isinstance(arts, StoredArtifacts)
        assert (len(arts), arts) == (2, _catalog("a").repositories["p/a"].artifacts)
