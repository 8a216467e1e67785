"""Three-way diff per edge and per tag: the classification table, properties and stories."""

from __future__ import annotations

from datetime import timedelta

import pytest
from hypothesis import given
from hypothesis import strategies as st

from syncd.core.diff import carry_first_seen, converged_base, diff_edge, drift_key, summarize
from syncd.core.model import DriftClass, Edge
from tests.core.strategies import T0, tag_maps

AB = Edge("a", "b", "a", 1)
BA = Edge("b", "a", "b", 2)
K = ("lib/app", "v1")
X, Y, Z = "sha256:x", "sha256:y", "sha256:z"


def one(expected, destination, base):
    """Diff a single key on A->B and return (class, moved_on) or None when in sync."""

    def as_map(digest):
        return {} if digest is None else {K: digest}

    result = diff_edge(
        edge=AB,
        expected=as_map(expected),
        destination=as_map(destination),
        base=None if base == "nobase" else as_map(base),
    )
    assert len(result) <= 1
    return (result[0].drift_class.value, result[0].moved_on) if result else None


@pytest.mark.parametrize(
    ("expected", "destination", "base", "outcome"),
    [
        (X, X, None, None),
        (X, X, Y, None),
        (X, None, None, ("missing", "")),
        (X, None, "nobase", ("missing", "")),
        (X, None, X, ("deleted_unpropagated", "b")),
        (X, None, Y, ("conflict", "")),
        (None, X, None, ("extra", "")),
        (None, X, X, ("deleted_unpropagated", "a")),
        (None, X, Y, ("conflict", "")),
        (X, Y, Y, ("stale", "a")),
        (X, Y, X, ("stale", "b")),
        (X, Y, None, ("conflict", "")),
        (X, Y, "nobase", ("conflict", "")),
        (X, Y, Z, ("conflict", "")),
        (None, None, X, None),
    ],
)
def test_classification_table(expected, destination, base, outcome):
    """Every row of the E/D/B table yields its class and the side that moved."""
    assert one(expected, destination, base) == outcome


def test_drift_carries_digests_and_names():
    """A drift entry records all three digests and the source-side repository name."""
    (item,) = diff_edge(
        edge=AB,
        expected={("mirror/app", "v1"): X},
        destination={("mirror/app", "v1"): Y},
        base={("mirror/app", "v1"): Y},
        source_repo_of={"mirror/app": "lib/app"},
    )
    assert (item.source_digest, item.destination_digest, item.base_digest) == (X, Y, Y)
    assert (item.repository, item.source_repository, item.tag) == ("mirror/app", "lib/app", "v1")
    assert item.edge == AB


def test_in_scope_limits_extra_but_never_expected():
    """Out-of-scope destination tags are not EXTRA; expected tags are always compared."""
    result = diff_edge(
        edge=AB,
        expected={("lib/app", "v1"): X},
        destination={("lib/app", "dev"): X, ("other/app", "v1"): X},
        base=None,
        in_scope=lambda key: key[0] == "lib/app" and key[1] == "v1",
    )
    assert [(d.repository, d.tag, d.drift_class.value) for d in result] == [
        ("lib/app", "v1", "missing")
    ]


# --------------------------------------------------------------------------- stories


def test_push_to_a_while_b_is_down_is_missing_on_a_to_b():
    """A tag pushed on A during B's outage is exactly MISSING on A->B (EXTRA seen from B->A)."""
    base = {K: X}
    on_a = {K: X, ("lib/app", "v2"): Y}
    on_b = {K: X}
    forward = diff_edge(edge=AB, expected=on_a, destination=on_b, base=base)
    backward = diff_edge(edge=BA, expected=on_b, destination=on_a, base=base)
    assert [(d.tag, d.drift_class) for d in forward] == [("v2", DriftClass.MISSING)]
    assert [(d.tag, d.drift_class) for d in backward] == [("v2", DriftClass.EXTRA)]


def test_delete_on_a_after_converged_pass_is_never_missing():
    """Deleting on A after convergence is DELETED_UNPROPAGATED on both edges, never MISSING."""
    base = {K: X, ("lib/app", "v2"): Y}
    on_a = {K: X}
    on_b = dict(base)
    forward = diff_edge(edge=AB, expected=on_a, destination=on_b, base=base)
    backward = diff_edge(edge=BA, expected=on_b, destination=on_a, base=base)
    for result in (forward, backward):
        assert [(d.tag, d.drift_class, d.moved_on) for d in result] == [
            ("v2", DriftClass.DELETED_UNPROPAGATED, "a")
        ]


def test_move_on_both_sides_is_conflict():
    """The same tag moved to different digests on A and B is a CONFLICT on both edges."""
    base = {K: X}
    on_a, on_b = {K: Y}, {K: Z}
    for edge, exp, dst in ((AB, on_a, on_b), (BA, on_b, on_a)):
        (item,) = diff_edge(edge=edge, expected=exp, destination=dst, base=base)
        assert item.drift_class is DriftClass.CONFLICT


# --------------------------------------------------------------------------- properties


@given(tag_maps, st.booleans())
def test_diff_with_itself_is_empty(catalog, with_base):
    """A tag map diffed against itself (base itself or none) has no drift."""
    base = dict(catalog) if with_base else None
    assert diff_edge(edge=AB, expected=catalog, destination=dict(catalog), base=base) == ()


@given(tag_maps, tag_maps, st.one_of(st.none(), tag_maps))
def test_every_key_in_sync_or_in_exactly_one_drift(expected, destination, base):
    """Each key of E or D is either in sync or reported once; nothing else is reported."""
    result = diff_edge(edge=AB, expected=expected, destination=destination, base=base)
    reported = [(d.repository, d.tag) for d in result]
    assert len(reported) == len(set(reported))
    for key in expected.keys() | destination.keys():
        in_sync = expected.get(key) == destination.get(key)
        assert (key in reported) is not in_sync
    assert set(reported) <= expected.keys() | destination.keys()


@given(tag_maps, tag_maps, st.one_of(st.none(), tag_maps), st.randoms())
def test_result_independent_of_input_order(expected, destination, base, rnd):
    """Building the maps in another order gives the identical, sorted result."""

    def shuffled(mapping):
        items = list(mapping.items())
        rnd.shuffle(items)
        return dict(items)

    first = diff_edge(edge=AB, expected=expected, destination=destination, base=base)
    second = diff_edge(
        edge=AB,
        expected=shuffled(expected),
        destination=shuffled(destination),
        base=None if base is None else shuffled(base),
    )
    assert first == second
    keys = [(d.repository, d.tag) for d in first]
    assert keys == sorted(keys)


@given(tag_maps, tag_maps, st.one_of(st.none(), tag_maps))
def test_converged_base_makes_agreed_tags_in_sync(expected, destination, previous):
    """The new base holds agreed tags and keeps the old base only for tags still in dispute."""
    base = converged_base(expected, destination, previous=previous)
    for key, digest in base.items():
        agreed = expected.get(key) == destination.get(key) == digest
        assert agreed or (previous is not None and previous.get(key) == digest)
        assert key in expected or key in destination


def test_converged_base_of_in_sync_edge_is_expected():
    """When both sides agree, the base is the expected map itself."""
    expected = {K: X, ("lib/db", "v1"): Y}
    assert converged_base(expected, dict(expected), previous={K: Z}) == expected


def test_large_diff_is_linear():
    """A 200k-tag edge with a few drifted tags diffs correctly (speed is in bench/)."""
    expected = {(f"p/r{i // 100}", f"t{i % 100}"): f"sha256:{i}" for i in range(200_000)}
    destination = dict(expected)
    destination["p/r7", "t7"] = "sha256:other"
    del destination["p/r9", "t9"]
    result = diff_edge(edge=AB, expected=expected, destination=destination, base=expected)
    assert [(d.tag, d.drift_class.value) for d in result] == [
        ("t7", "stale"),
        ("t9", "deleted_unpropagated"),
    ]


# --------------------------------------------------------------------------- age / summary


def test_carry_first_seen_keeps_earlier_times():
    """Known drift keeps its first-seen time; new drift is stamped with now."""
    now = T0 + timedelta(minutes=10)
    drift = diff_edge(edge=AB, expected={K: X, ("lib/db", "v1"): Y}, destination={}, base=None)
    stamped = carry_first_seen(drift, {drift_key(drift[1]): T0}, now)
    assert [d.first_seen for d in stamped] == [now, T0]
    assert drift_key(stamped[0]) == ("a->b", "a", 1, "lib/app", "v1", "missing")


def test_summarize_counts_and_oldest_per_edge_and_class():
    """Summary groups by (edge name, class) with count and oldest first-seen."""
    drift = diff_edge(
        edge=AB, expected={K: X, ("lib/db", "v1"): Y}, destination={("lib/x", "v"): Z}, base=None
    )
    times = {drift_key(d): T0 - timedelta(seconds=n) for n, d in enumerate(drift)}
    stamped = carry_first_seen(drift, times, T0)
    assert summarize(stamped) == {
        ("a->b", DriftClass.EXTRA): (1, T0 - timedelta(seconds=2)),
        ("a->b", DriftClass.MISSING): (2, T0 - timedelta(seconds=1)),
    }


def test_summarize_without_times():
    """Drift never stamped reports no oldest time."""
    drift = diff_edge(edge=AB, expected={K: X}, destination={}, base=None)
    assert summarize(drift) == {("a->b", DriftClass.MISSING): (1, None)}
