"""Blast radius: every write a whole-policy execution would make, classified; scoped repairs."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from syncd.core.diff import diff_edge
from syncd.core.edges import assess_edge
from syncd.core.model import Artifact, Catalog, Edge, Filter, Policy, RepairScope, Repository
from syncd.core.radius import (
    Harm,
    WriteClass,
    blast_radius,
    classify,
    radius_of_drift,
    tag_pattern,
)
from tests.core.strategies import tag_maps

AB = Edge("a", "b", "a", 1)
S, D, B = "sha256:s", "sha256:d", "sha256:b"
T0 = datetime(2024, 5, 1, tzinfo=UTC)


@pytest.mark.parametrize(
    ("have", "base", "override", "cls", "harm"),
    [
        (S, None, True, WriteClass.NO_OP, None),  # same digest
        (S, D, False, WriteClass.NO_OP, None),
        (None, None, True, WriteClass.WANTED, None),  # missing
        (None, S, True, WriteClass.HARMFUL, Harm.UNDOES_DELETION),  # deleted there since base
        (None, B, False, WriteClass.HARMFUL, Harm.UNDOES_DELETION),  # deleted there, moved here
        (D, D, True, WriteClass.WANTED, None),  # stale: moved on the source only
        (D, D, False, WriteClass.NO_OP, None),  # stale, override off: Harbor skips it
        (D, S, True, WriteClass.HARMFUL, Harm.OVERWRITES_MOVED),  # moved on the destination
        (D, None, True, WriteClass.HARMFUL, Harm.OVERWRITES_CONFLICT),  # differs, no base
        (D, B, True, WriteClass.HARMFUL, Harm.OVERWRITES_CONFLICT),  # both moved
        (D, B, False, WriteClass.NO_OP, None),  # a conflict Harbor would skip
    ],
)
def test_classification_table(have, base, override, cls, harm):
    """Each (destination, base, override) combination has exactly one class and harm."""
    got = classify(source_digest=S, destination_digest=have, base_digest=base, override=override)
    assert got[:2] == (cls, harm)
    assert got[2]


def _catalog(name: str, tags: dict[tuple[str, str], str], labels=frozenset()) -> Catalog:
    repos: dict[str, list[Artifact]] = {}
    for (repo, tag), digest in sorted(tags.items()):
        repos.setdefault(repo, []).append(Artifact(digest, frozenset({tag}), labels=labels))
    return Catalog(
        name, T0, {r: Repository(r, len(a), artifacts=tuple(a)) for r, a in repos.items()}
    )


def test_radius_follows_filters_and_dest_namespace():
    """Only selected tags count, under their mapped names; identical ones are only counted."""
    policy = Policy(
        "a",
        1,
        "p",
        True,
        0,
        7,
        filters=(Filter("name", "lib/**"), Filter("tag", "v*")),
        dest_namespace="mirror",
        dest_namespace_replace_count=1,
    )
    source = _catalog(
        "a",
        {("lib/app", "v1"): S, ("lib/app", "v2"): S, ("lib/app", "dev"): S, ("x/y", "v1"): S},
    )
    dest = _catalog("b", {("mirror/app", "v2"): S})
    assessed = assess_edge(AB, policy=policy, source=source, destination=dest, base=None)
    radius = assessed.radius
    assert radius is not None
    assert [(w.repository, w.tag, w.source_repository) for w in radius.writes] == [
        ("mirror/app", "v1", "lib/app")
    ]
    assert radius.identical == 1
    assert radius.scopes() == (RepairScope("lib/app", ("v1",), overwrite=False),)


def test_conflict_and_missing_on_one_edge():
    """The issue's dual-master case: 11 missing, one split-brain tag: one harmful write."""
    expected = {("library/app", f"v{i}"): S for i in range(11)} | {("library/nginx", "stable"): S}
    radius = blast_radius(
        edge=AB,
        expected=expected,
        destination={("library/nginx", "stable"): D},
        base=None,
        override=True,
    )
    assert len(radius.wanted) == 11
    assert [(w.key, w.harm) for w in radius.harmful] == [
        (("library/nginx", "stable"), Harm.OVERWRITES_CONFLICT)
    ]
    assert radius.summary() == (
        "radius a->b policy 1: 12 selected, 11 wanted, 0 no-op, 1 harmful "
        "(library/nginx:stable overwrites_conflict)"
    )
    (scope,) = radius.scopes()
    assert scope.source_repository == "library/app"
    assert len(scope.tags) == 11


@pytest.mark.parametrize(
    ("override", "overwrite"),
    [(True, True), (False, False)],
)
def test_scope_overrides_only_for_a_wanted_stale_tag(override, overwrite):
    """The temporary policy overrides only when the original does and a wanted tag is stale."""
    radius = blast_radius(
        edge=AB,
        expected={("lib/app", "v1"): S, ("lib/app", "v2"): S},
        destination={("lib/app", "v1"): D},
        base={("lib/app", "v1"): D},
        override=override,
    )
    tags = ("v1", "v2") if override else ("v2",)
    assert radius.scopes() == (RepairScope("lib/app", tags, overwrite=overwrite),)


@pytest.mark.parametrize(
    ("tags", "pattern"),
    [(("v1",), "v1"), (("v2", "v1", "v2"), "{v1,v2}"), (("1.0", "latest"), "{1.0,latest}")],
)
def test_tag_pattern_matches_exactly_the_tags(tags, pattern):
    """The tag filter is the bare tag or a brace set of the distinct tags, sorted."""
    assert tag_pattern(tags) == pattern


@settings(max_examples=200, deadline=None)
@given(tag_maps, tag_maps, st.one_of(st.none(), tag_maps), st.booleans())
def test_radius_rebuilt_from_drift_equals_the_catalog_radius(expected, destination, base, over):
    """Every differing selected tag is drift, so the drift rebuilds the same writes."""
    direct = blast_radius(
        edge=AB, expected=expected, destination=destination, base=base, override=over
    )
    drift = diff_edge(edge=AB, expected=expected, destination=destination, base=base)
    assert radius_of_drift(AB, drift, override=over).writes == direct.writes


@settings(max_examples=200, deadline=None)
@given(tag_maps, tag_maps, st.one_of(st.none(), tag_maps), st.booleans())
def test_wanted_writes_never_touch_what_moved_since_the_base(expected, destination, base, over):
    """A wanted write fills a gap never agreed on, or replaces exactly the base digest."""
    radius = blast_radius(
        edge=AB, expected=expected, destination=destination, base=base, override=over
    )
    known = base or {}
    for write in radius.wanted:
        if write.destination_digest is None:
            assert write.key not in known
        else:
            assert over
            assert known.get(write.key) == write.destination_digest
    assert radius.identical is not None  # a whole-edge radius counts them
    assert len(radius.writes) + radius.identical == len(expected)
