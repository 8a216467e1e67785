"""What a snapshot re-lists, and through which listing (pure)."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, datetime

import pytest
from hypothesis import given
from hypothesis import strategies as st

from syncd.core.model import Artifact, Catalog, Repository
from syncd.core.relist import assemble, plan_listing, short_repositories

T0 = datetime(2026, 1, 1, tzinfo=UTC)
T1 = datetime(2026, 1, 2, tzinfo=UTC)


def repo(name: str, count: int = 1, updated: datetime = T0) -> Repository:
    """Build a repository row as the listing returns it (no artifacts)."""
    return Repository(name=name, artifact_count=count, update_time=updated)


def arts(n: int) -> tuple[Artifact, ...]:
    """Build ``n`` distinct tagged artifacts."""
    return tuple(Artifact(digest=f"sha256:old{i}", tags=frozenset({f"v{i}"})) for i in range(n))


def catalog(*repos: Repository, rows: int | None = None) -> Catalog:
    """Build a previous catalog holding ``repos`` with ``artifact_count`` (or ``rows``) rows."""
    return Catalog(
        "a",
        T0,
        {
            r.name: Repository(
                r.name, r.artifact_count, r.update_time, arts(rows or r.artifact_count)
            )
            for r in repos
        },
    )


PREVIOUS = catalog(repo("p/a"), repo("p/b"), repo("q/c"))
SHORT = catalog(repo("p/a", count=3), rows=2)


@pytest.mark.parametrize(
    ("rows", "previous", "focus", "relisted"),
    [
        ([repo("p/a"), repo("p/b")], None, (), {"p/a", "p/b"}),  # cold: everything
        ([repo("p/a"), repo("p/b"), repo("q/c")], PREVIOUS, (), set()),  # nothing moved
        ([repo("p/a", updated=T1), repo("p/b"), repo("q/c")], PREVIOUS, (), {"p/a"}),
        ([repo("p/a", count=2), repo("p/b"), repo("q/c")], PREVIOUS, (), {"p/a"}),
        ([repo("p/a"), repo("p/b"), repo("q/c"), repo("q/new")], PREVIOUS, (), {"q/new"}),
        ([repo("p/a"), repo("p/b"), repo("q/c")], PREVIOUS, ("q/c",), {"q/c"}),  # webhook
        ([repo("p/a", count=0, updated=T1)], PREVIOUS, (), set()),  # emptied: nothing to list
        ([repo("p/a", count=3)], SHORT, (), {"p/a"}),  # cached rows short of artifact_count
    ],
)
def test_relists_new_moved_and_focused_repositories(rows, previous, focus, relisted):
    """New, moved (update_time or count), short-cached and webhook-named repos are re-listed."""
    plan = plan_listing(rows, previous=previous, focus=focus)
    assert {r.name for reps in plan.changed.values() for r in reps} == relisted


def test_cheaper_listing_is_chosen_per_project():
    """Many small changed repos: one project listing; one repo in a big project: its own listing."""
    small = [repo(f"many/r{i}") for i in range(10)]
    big = [repo("big/one", updated=T1), *[repo(f"big/r{i}", count=100) for i in range(5)]]
    previous = catalog(*[repo("big/one"), *big[1:]])
    plan = plan_listing([*small, *big], previous=previous)
    assert plan.project_jobs == ("many",)
    assert plan.repo_jobs == ("big/one",)


def test_assemble_takes_fresh_listings_and_carries_the_rest_over():
    """Listed repositories get their new artifacts; unchanged ones keep the previous ones."""
    fresh = (Artifact(digest="sha256:new", tags=frozenset({"v2"})),)
    rows = [repo("p/a", updated=T1), repo("p/b"), repo("p/empty", count=0)]
    out = assemble(rows, listed={"p/a": fresh}, previous=PREVIOUS)
    assert out["p/a"].artifacts == fresh
    assert out["p/b"].artifacts == PREVIOUS.repositories["p/b"].artifacts
    assert out["p/empty"].artifacts == ()


@pytest.mark.parametrize(
    ("listed", "expected"),
    [
        ({"p/a": ()}, ["p/a: 0 rows listed, artifact_count 1"]),
        ({"p/a": (Artifact(digest="sha256:x"),)}, []),
        ({}, []),  # not listed this pass: nothing to compare
    ],
)
def test_short_repositories_names_listings_that_disagree_with_artifact_count(listed, expected):
    """A freshly listed repository with fewer rows than artifact_count is reported."""
    assert short_repositories([repo("p/a")], listed=listed) == expected


@given(
    count=st.integers(min_value=1, max_value=300), cached=st.integers(min_value=0, max_value=300)
)
def test_cached_rows_short_of_artifact_count_are_always_relisted(count, cached):
    """Property: a repository is re-listed exactly when its cached rows disagree with its count."""
    row = repo("p/a", count=count)
    previous = Catalog("a", T0, {"p/a": replace(row, artifacts=arts(cached))})
    plan = plan_listing([row], previous=previous)
    relisted = {r.name for reps in plan.changed.values() for r in reps}
    assert (relisted == {"p/a"}) == (cached != count)
