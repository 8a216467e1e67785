"""Hypothesis strategies for the pure decision core: globs, names, tag maps, drift.

Shared by the tests in ``tests/core``; generators stay inside what Harbor can hold
(repository components start and end with an alphanumeric, tags have no ``/``).
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from hypothesis import strategies as st

from syncd.core.model import Drift, DriftClass, Edge

T0 = datetime(2024, 5, 1, 12, 0, tzinfo=UTC)
INSTANCES = ("a", "b", "c")
DIGESTS = tuple(f"sha256:{c * 8}" for c in "0123")

# --------------------------------------------------------------------------- globs

_LITERALS = st.sampled_from(["a", "b", "ab", ".", "-", "_"])
_ATOMS = st.one_of(
    _LITERALS,
    st.just("?"),
    st.just("*"),
    st.sampled_from(["[ab]", "[^a]", "[a-b]", "[^.b]", "[\\-a]"]),
    st.just("\\*"),
)
_OPTION = st.lists(st.one_of(_LITERALS, st.just("?"), st.just("*")), max_size=2).map("".join)
_BRACE = st.lists(_OPTION, min_size=2, max_size=3).map(lambda opts: "{" + ",".join(opts) + "}")
_COMPONENT = st.one_of(
    st.just("**"),
    st.builds(
        lambda before, brace, after: "".join(before) + brace + "".join(after),
        st.lists(_ATOMS, max_size=2),
        st.one_of(st.just(""), _BRACE),
        st.lists(_ATOMS, max_size=2),
    ).filter(bool),
)
glob_patterns = st.lists(_COMPONENT, min_size=1, max_size=3).map("/".join)
"""Globs in the subset where doublestar v1 and wcmatch agree (callers ``assume`` the rest)."""

_ALNUM = st.sampled_from("ab")
_NAME_COMPONENT = st.builds(
    lambda head, middle, tail: head + middle + tail,
    _ALNUM,
    st.lists(st.sampled_from("ab.-_"), max_size=2).map("".join),
    st.one_of(st.just(""), _ALNUM),
)
glob_texts = st.lists(_NAME_COMPONENT, min_size=1, max_size=4).map("/".join)
"""Repository-like names over the same small alphabet, so matches are frequent."""

# --------------------------------------------------------------------------- tag maps

repositories = st.sampled_from(["lib/app", "lib/db", "team/sub/api", "other/web"])
tags = st.sampled_from(["v1", "v2", "latest", "1.0", "dev"])
digests = st.sampled_from(DIGESTS)
tag_maps = st.dictionaries(st.tuples(repositories, tags), digests, max_size=12)

# --------------------------------------------------------------------------- drift

edges = st.builds(
    lambda pair, policy_id, owner_is_source: Edge(
        pair[0], pair[1], pair[0] if owner_is_source else pair[1], policy_id
    ),
    st.permutations(INSTANCES).map(lambda names: (names[0], names[1])),
    st.integers(min_value=1, max_value=3),
    st.booleans(),
)


@st.composite
def drifts(draw: st.DrawFn) -> Drift:
    """Draw one drift entry with digests consistent with its class."""
    edge = draw(edges)
    cls = draw(st.sampled_from(list(DriftClass)))
    src = None if cls is DriftClass.EXTRA else draw(digests)
    dst = None if cls is DriftClass.MISSING else draw(digests)
    moved_on = draw(st.sampled_from([edge.source, edge.destination]))
    age = draw(st.integers(min_value=0, max_value=3600))
    repo = draw(repositories)
    return Drift(
        edge=edge,
        repository=repo,
        tag=draw(tags),
        drift_class=cls,
        source_digest=src,
        destination_digest=dst,
        base_digest=draw(st.one_of(st.none(), digests)),
        moved_on=moved_on,
        source_repository=repo,
        first_seen=T0 - timedelta(seconds=age),
    )
