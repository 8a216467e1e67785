"""Persistence in proportion to change: what a store writes and reads against what it remembers.

Both backends: any sequence of catalog / base saves, by this store or by another one writing
the same database, leaves exactly the last saved value (what a store that remembers nothing
reads back), so the incremental write equals the whole rewrite.
"""

from __future__ import annotations

import itertools
from datetime import UTC, datetime, timedelta
from typing import TYPE_CHECKING

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from syncd.core.model import Artifact, Catalog, Repository
from syncd.store import StateStore
from syncd.store._memo import base_changes, catalog_changes

if TYPE_CHECKING:
    from collections.abc import Callable

T0 = datetime(2026, 1, 1, 12, 0, tzinfo=UTC)
_NAMES = itertools.count()


def _repo(name: str, digest: str, tags: frozenset[str]) -> Repository:
    art = Artifact(digest=f"sha256:{digest}", tags=tags, push_time=T0)
    return Repository(name=name, artifact_count=1, update_time=T0, artifacts=(art,))


_REPOS = st.dictionaries(
    st.sampled_from(["p/a", "p/b", "p/c", "q/d", "q/e"]),
    st.tuples(st.sampled_from("0123"), st.frozensets(st.sampled_from(["1", "2", "latest"]))),
)
_BASES = st.dictionaries(
    st.tuples(st.sampled_from(["p/a", "p/b", "q/d"]), st.sampled_from(["1", "2", "3"])),
    st.sampled_from(["sha256:0", "sha256:1", "sha256:2"]),
)
_WRITERS = st.sampled_from(["this", "other"])
_BASE_WRITES = ("this", "other", "update", "slice")
_SLICE = frozenset({"p/a", "q/d"})
"""The repositories a sliced base save replaces (``save_base(..., only=...)``)."""


def _catalog(instance: str, step: int, repos: dict[str, tuple[str, frozenset[str]]]) -> Catalog:
    return Catalog(
        instance,
        T0 + timedelta(minutes=step),
        {name: _repo(name, digest, tags) for name, (digest, tags) in repos.items()},
        projects=frozenset(name.split("/")[0] for name in repos),
    )


@settings(
    max_examples=25, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(steps=st.lists(st.tuples(_WRITERS, _REPOS), min_size=1, max_size=6))
def test_catalog_saves_equal_the_last_catalog(opener, steps):
    """Incremental catalog saves, interleaved with another writer, leave the last catalog."""
    this, other = opener(), opener()
    instance = f"i{next(_NAMES)}"
    for step, (who, repos) in enumerate(steps):
        catalog = _catalog(instance, step, repos)
        (this if who == "this" else other).save_catalog(catalog)
        assert this.load_catalog(instance) == catalog
    assert opener().load_catalog(instance) == catalog


@settings(
    max_examples=25, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(steps=st.lists(st.tuples(st.sampled_from(list(_BASE_WRITES)), _BASES), max_size=6))
def test_base_saves_equal_the_last_base(opener, steps):
    """Base saves (whole, sliced, amends, another writer's) leave what the last one implies."""
    this, other = opener(), opener()
    edge = f"e{next(_NAMES)}"
    this.save_base(edge, {}, at=T0)
    expected: dict[tuple[str, str], str] = {}
    for who, mapping in steps:
        if who == "update":
            other.update_base(edge, set_=mapping, remove=[k for k in expected if k not in mapping])
            expected = dict(mapping)
        elif who == "slice":
            sliced = {k: v for k, v in mapping.items() if k[0] in _SLICE}
            this.save_base(edge, sliced, at=T0, only=_SLICE)
            expected = {k: v for k, v in expected.items() if k[0] not in _SLICE} | sliced
        else:
            (this if who == "this" else other).save_base(edge, mapping, at=T0)
            expected = dict(mapping)
        assert this.load_base(edge) == expected
    assert opener().load_base(edge) == expected


def test_unchanged_catalog_is_not_read_again(opener):
    """While the database holds the generation saved, a load returns the catalog held."""
    store = opener()
    catalog = _catalog("a", 0, {"p/a": ("1", frozenset({"1"}))})
    store.save_catalog(catalog)
    assert store.load_catalog("a") is catalog
    opener().save_catalog(_catalog("a", 1, {}))
    assert store.load_catalog("a") == _catalog("a", 1, {})


def _changes(store: StateStore, write: Callable[[], None]) -> int:
    conn = store._conn  # counting the rows a write touches is this test's point
    assert conn is not None
    before = conn.total_changes
    write()
    return conn.total_changes - before


@pytest.mark.parametrize(("changed", "removed"), [(0, 0), (1, 0), (3, 2)])
def test_sqlite_writes_only_what_changed(tmp_path, changed, removed):
    """A save after a load writes the head row plus one row per changed or dropped entry."""
    repos = {f"p/r{i}": ("0", frozenset({"1"})) for i in range(50)}
    base = {(f"p/r{i}", "1"): "sha256:0" for i in range(50)}
    with StateStore.open(tmp_path / "state.db") as first:
        first.save_catalog(_catalog("a", 0, repos))
        first.save_base("e", base, at=T0)
    with StateStore.open(tmp_path / "state.db") as store:
        assert store.load_catalog("a") is not None
        assert store.load_base("e") is not None
        new_repos = {
            n: ("1", t) if i < changed else (d, t) for i, (n, (d, t)) in enumerate(repos.items())
        }
        new_base = {k: "sha256:1" if i < changed else d for i, (k, d) in enumerate(base.items())}
        for name, key in itertools.islice(zip(repos, base, strict=True), 50 - removed, None):
            del new_repos[name], new_base[key]
        catalog_rows = _changes(store, lambda: store.save_catalog(_catalog("a", 1, new_repos)))
        base_rows = _changes(store, lambda: store.save_base("e", new_base, at=T0))
    assert (catalog_rows, base_rows) == (1 + changed + removed, 1 + changed + removed)


_CATALOGS = _REPOS.map(lambda repos: _catalog("a", 0, repos))


@given(old=_CATALOGS, new=_CATALOGS)
def test_catalog_changes_applied_to_old_give_new(old, new):
    """Upserting the changed repositories and dropping the removed ones turns old into new."""
    changed, removed = catalog_changes(old, new)
    applied = {n: r for n, r in old.repositories.items() if n not in removed}
    applied.update({r.name: r for r in changed})
    assert applied == dict(new.repositories)
    assert all(old.repositories.get(r.name) != r for r in changed)


@given(old=_BASES, new=_BASES)
def test_base_changes_applied_to_old_give_new(old, new):
    """Setting the changed entries and removing the dropped keys turns old into new."""
    changed, removed = base_changes(old, new)
    applied = {k: v for k, v in old.items() if k not in removed} | changed
    assert applied == new
    assert all(old.get(k) != v for k, v in changed.items())
