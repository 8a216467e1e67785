"""Assessment in proportion to change equals the full assessment (``syncd.core.incremental``)."""

from __future__ import annotations

from collections import defaultdict
from dataclasses import replace
from datetime import UTC, datetime
from typing import TYPE_CHECKING
from unittest.mock import patch

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from syncd.core import edges
from syncd.core.edges import EdgeAssessment, assess_edge
from syncd.core.incremental import (
    EdgeStamp,
    changed_repositories,
    dirty_repositories,
    merge,
    policy_fingerprint,
    rediff,
    stamp_of,
)
from syncd.core.model import Artifact, Catalog, Edge, Filter, Policy, Repository
from tests.core.strategies import digests, tags

if TYPE_CHECKING:
    from collections.abc import Collection, Mapping

    from syncd.core.model import TagKey

T0 = datetime(2026, 11, 30, tzinfo=UTC)
EDGE = Edge("a", "b", "a", 1)
SOURCE_REPOS = ("lib/app", "lib/db", "team/app", "team/sub/api", "other/web")
DEST_REPOS = (*SOURCE_REPOS, "mirror/app", "mirror/db", "mirror/api", "mirror/sub/api")
FILTERS = (
    (),
    (Filter("name", "lib/**"),),
    (Filter("tag", "v*"),),
    (Filter("tag", "dev", "excludes"), Filter("name", "{lib,team}/**")),
)
NAMESPACES = (("", -1), ("mirror", -1), ("mirror", 1), ("mirror", 2))

policies = st.builds(
    lambda filters, ns, override: Policy(
        owner="a",
        id=1,
        name="p",
        enabled=True,
        src_registry_id=0,
        dest_registry_id=1,
        filters=filters,
        dest_namespace=ns[0],
        dest_namespace_replace_count=ns[1],
        override=override,
    ),
    st.sampled_from(FILTERS),
    st.sampled_from(NAMESPACES),
    st.booleans(),
)


def _maps(names: tuple[str, ...]) -> st.SearchStrategy[dict[TagKey, str]]:
    return st.dictionaries(st.tuples(st.sampled_from(names), tags), digests, max_size=14)


def catalog(name: str, tag_map: Mapping[TagKey, str], *, like: Catalog | None = None) -> Catalog:
    """Build a catalog; repositories equal to ``like``'s reuse its objects (as a warm pass)."""
    grouped: dict[str, dict[str, set[str]]] = defaultdict(lambda: defaultdict(set))
    for (repo, tag), digest in tag_map.items():
        grouped[repo][digest].add(tag)
    repos = {}
    for repo, by_digest in grouped.items():
        arts = tuple(Artifact(d, frozenset(t)) for d, t in sorted(by_digest.items()))
        old = None if like is None else like.repositories.get(repo)
        same = old is not None and tuple(old.artifacts) == arts
        repos[repo] = old if same and old is not None else Repository(repo, len(arts), T0, arts)
    return Catalog(name, T0, repos)


def assess(
    policy: Policy,
    source: Catalog,
    destination: Catalog,
    base: Mapping[TagKey, str] | None,
    only: Collection[str] | None = None,
) -> EdgeAssessment:
    """Assess the one edge of these tests."""
    return assess_edge(
        EDGE, policy=policy, source=source, destination=destination, base=base, only=only
    )


def stored_after(stored: Mapping[TagKey, str], done: EdgeAssessment) -> dict[TagKey, str]:
    """Return what a store holds after saving ``done``'s base (sliced or whole)."""
    assert done.new_base is not None
    if done.repositories is None:
        return dict(done.new_base)
    kept = {k: v for k, v in stored.items() if k[0] not in done.repositories}
    return kept | dict(done.new_base)


def incremental_step(
    policy: Policy,
    before: tuple[Catalog, Catalog],
    after: tuple[Catalog, Catalog],
    last: EdgeAssessment,
    stored: Mapping[TagKey, str],
) -> EdgeAssessment | None:
    """Assess ``after`` against the complete assessment ``last`` of ``before`` (None: full)."""
    stamp = stamp_of(last, policy)
    assert stamp.policy == policy_fingerprint(policy)
    source_changed = changed_repositories(before[0], after[0])
    destination_changed = changed_repositories(before[1], after[1])
    assert source_changed is not None
    assert destination_changed is not None
    dirty = dirty_repositories(
        policy=policy,
        source_changed=source_changed,
        destination_changed=destination_changed,
        still_open=stamp.still_open,
    )
    if dirty is None:
        return None
    base = {k: v for k, v in stored.items() if k[0] in dirty}
    return assess(policy, *after, base, only=dirty)


@settings(max_examples=300, deadline=None)
@given(
    policies,
    _maps(SOURCE_REPOS),
    _maps(DEST_REPOS),
    st.one_of(st.none(), _maps(DEST_REPOS)),
    _maps(SOURCE_REPOS),
    _maps(DEST_REPOS),
)
def test_incremental_equals_full(policy, src0, dst0, base0, src1, dst1):
    """Re-diffing only the dirty repositories gives the full drift, radius and stored base."""
    before = (catalog("a", src0), catalog("b", dst0))
    first = assess(policy, *before, base0)
    if first.new_base is None:  # the mapping is invalid: nothing is stamped or stored
        return
    after = (catalog("a", src1, like=before[0]), catalog("b", dst1, like=before[1]))
    stored = stored_after({}, first)
    full = assess(policy, *after, stored)
    step = incremental_step(policy, before, after, first, stored)
    if step is None:  # a changed name cannot be mapped: the full assessment reports it
        assert not full.observable
        return
    assert step.drift == full.drift
    assert step.radius is not None
    assert full.radius is not None
    assert step.radius.writes == full.radius.writes
    assert step.radius.identical is None  # identical tags outside the dirty set: not counted
    assert "selected differ" in step.radius.summary()
    assert stored_after(stored, step) == stored_after(stored, full)


@settings(max_examples=200, deadline=None)
@given(policies, _maps(SOURCE_REPOS), _maps(DEST_REPOS), _maps(SOURCE_REPOS), _maps(DEST_REPOS))
def test_merged_rounds_equal_one_full_assessment(policy, src0, dst0, src1, dst1):
    """A repair round's assessment merged with the round before equals a full one."""
    before = (catalog("a", src0), catalog("b", dst0))
    first = assess(policy, *before, None)
    if first.new_base is None:
        return
    after = (catalog("a", src1, like=before[0]), catalog("b", dst1, like=before[1]))
    # Within a pass the store still holds nothing: both rounds read the same (empty) base.
    step = incremental_step(policy, before, after, first, {})
    if step is None:
        return
    merged = merge(first, step)
    full = assess(policy, *after, None)
    assert merged.drift == full.drift
    assert merged.repositories is None
    assert merged.new_base == full.new_base


@settings(max_examples=200, deadline=None)
@given(policies, _maps(SOURCE_REPOS), _maps(DEST_REPOS), st.one_of(st.none(), _maps(DEST_REPOS)))
def test_chunked_assessment_equals_one_chunk(policy, src, dst, base):
    """Diffing one destination repository at a time joins into the whole-edge assessment."""
    ends = (catalog("a", src), catalog("b", dst))
    whole = assess(policy, *ends, base)
    with patch.object(edges, "CHUNK", 1):
        chunked = assess(policy, *ends, base)
    assert chunked == whole


@pytest.mark.parametrize(
    ("filters", "namespace", "changed", "expected"),
    [
        ((), ("", -1), ["lib/app"], {"lib/app"}),
        ((Filter("name", "lib/**"),), ("", -1), ["other/web"], set()),
        ((), ("mirror", -1), ["team/sub/api"], {"mirror/api"}),
        ((), ("mirror", 1), ["team/sub/api"], {"mirror/sub/api"}),
        ((), ("mirror", 2), ["lib/app"], None),
    ],
)
def test_dirty_maps_changed_source_names(filters, namespace, changed, expected):
    """A changed source repository makes its destination image dirty; unmappable: full."""
    policy = Policy(
        owner="a",
        id=1,
        name="p",
        enabled=True,
        src_registry_id=0,
        dest_registry_id=1,
        filters=filters,
        dest_namespace=namespace[0],
        dest_namespace_replace_count=namespace[1],
    )
    dirty = dirty_repositories(
        policy=policy, source_changed=changed, destination_changed=(), still_open=()
    )
    assert dirty == (None if expected is None else frozenset(expected))


def test_changed_repositories_skips_shared_and_equal_artifacts():
    """Shared or equal artifacts are unchanged; added, removed or different ones changed."""
    old = catalog("a", {("lib/app", "v1"): "sha256:1", ("lib/db", "v1"): "sha256:2"})
    new = catalog("a", {("lib/app", "v1"): "sha256:1", ("lib/web", "v1"): "sha256:3"}, like=old)
    assert changed_repositories(old, new) == frozenset({"lib/db", "lib/web"})
    assert changed_repositories(None, new) is None


def test_fingerprint_ignores_override_but_not_filters():
    """Override only shapes the radius (never carried); filters shape the expected tags."""
    base = Policy("a", 1, "p", enabled=True, src_registry_id=0, dest_registry_id=1)
    flipped = Policy(
        "a", 1, "p", enabled=True, src_registry_id=0, dest_registry_id=1, override=False
    )
    filtered = Policy(
        "a",
        1,
        "p",
        enabled=True,
        src_registry_id=0,
        dest_registry_id=1,
        filters=(Filter("tag", "v*"),),
    )
    assert policy_fingerprint(base) == policy_fingerprint(flipped)
    assert policy_fingerprint(base) != policy_fingerprint(filtered)


_PLAIN = Policy("a", 1, "p", enabled=True, src_registry_id=0, dest_registry_id=1)
_TAGGED = Policy(
    "a", 1, "p", enabled=True, src_registry_id=0, dest_registry_id=1, filters=(Filter("tag", "v*"),)
)
_STAMP = EdgeStamp(policy_fingerprint(_PLAIN), "a", "b", frozenset({"lib/db"}))


@pytest.mark.parametrize(
    ("stamp", "policy", "source", "expected"),
    [
        (_STAMP, _PLAIN, frozenset({"lib/app"}), {"lib/app", "lib/db", "lib/web"}),
        (None, _PLAIN, frozenset({"lib/app"}), None),  # never assessed completely
        (_STAMP, _TAGGED, frozenset({"lib/app"}), None),  # another policy
        (replace(_STAMP, destination="c"), _PLAIN, frozenset(), None),  # another edge's stamp
        (_STAMP, _PLAIN, None, None),  # the source's previous catalog is unknown
    ],
)
def test_rediff_carries_only_under_a_matching_stamp(stamp, policy, source, expected):
    """Dirty repositories come only from a stamp of this edge and policy, else the whole edge."""
    got = rediff(
        edge=EDGE,
        policy=policy,
        stamp=stamp,
        source_changed=source,
        destination_changed=frozenset({"lib/web"}),
    )
    assert got == (None if expected is None else frozenset(expected))
