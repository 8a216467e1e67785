"""The listings' fast rendering writes exactly what ``json.dumps(artifact_json(...))`` writes."""

from __future__ import annotations

import itertools
import json
from dataclasses import dataclass
from datetime import timedelta

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from syncd.sim.catalog import Catalog, fake_digest
from syncd.sim.index import accessories_by_subject
from syncd.sim.render import Flags, artifact_text
from syncd.sim.serialize import artifact_json
from syncd.sim.state import SimState, utcnow

ALL_FLAGS = [Flags(*combo) for combo in itertools.product((False, True), repeat=3)]
NAMES = st.text(min_size=1, max_size=8)
MEDIA_TYPES = [
    "application/vnd.oci.image.manifest.v1+json",
    "application/vnd.docker.distribution.manifest.v2+json",
    "application/vnd.oci.image.index.v1+json",
    "",
]


@dataclass(frozen=True, slots=True)
class Shape:
    """One artifact to render: what it embeds and which of its fields are zero."""

    tags: list[str]
    labels: list[str]
    children: int
    accessory: bool
    size: int
    type: str
    media_type: str
    pulled: bool
    older_tag: bool


SHAPES = st.builds(
    Shape,
    tags=st.lists(NAMES, max_size=3, unique=True),
    labels=st.lists(NAMES, max_size=2, unique=True),
    children=st.integers(0, 2),
    accessory=st.booleans(),
    size=st.sampled_from([0, 1, 1024, 2**40]),
    type=st.sampled_from(["IMAGE", "", "CHART"]),
    media_type=st.sampled_from(MEDIA_TYPES),
    pulled=st.booleans(),
    older_tag=st.booleans(),
)


def _store(shape: Shape) -> tuple[SimState, str]:
    """Push one artifact of ``shape`` to ``p/r`` in a fresh store; return the store and digest."""
    state = SimState()
    catalog = Catalog(state, touch_on_write=True)
    catalog.create_project("p")
    kids = tuple(fake_digest(f"child{i}") for i in range(shape.children))
    for kid in kids:
        catalog.push("p/r", None, kid)
    digest = fake_digest("subject")
    first = shape.tags[0] if shape.tags else None
    catalog.push("p/r", first, digest, references=kids, labels=shape.labels)
    for tag in shape.tags[1:]:
        catalog.retag("p/r", tag, digest)
    if shape.accessory:
        catalog.push("p/r", None, fake_digest("sig"), accessory_of=digest, type="SIGNATURE")
    art = state.repos["p/r"].artifacts[digest]
    art.size, art.type, art.media_type = shape.size, shape.type, shape.media_type
    if shape.pulled:
        catalog.pull("p/r", digest)
    if shape.older_tag and art.tags:
        next(iter(art.tags.values())).push_time = utcnow() - timedelta(days=1)
    return state, digest


@settings(max_examples=150, deadline=None)
@given(shape=SHAPES, flags=st.sampled_from(ALL_FLAGS))
def test_fast_text_equals_the_reference(shape: Shape, flags: Flags) -> None:
    """Any artifact, any flags: the fast text is byte for byte the reference's json.dumps."""
    state, digest = _store(shape)
    repo = state.repos["p/r"]
    art = repo.artifacts[digest]
    reference = json.dumps(artifact_json(repo, art, state, flags=flags.as_dict()))
    found = accessories_by_subject(repo).get(art.id, [])
    assert artifact_text(repo, art, state, flags=flags, accessories=found) == reference
    assert artifact_text(repo, art, state, flags=flags) == reference


@pytest.mark.parametrize("flags", ALL_FLAGS)
def test_plain_artifact_takes_the_fast_path(flags: Flags) -> None:
    """A generated artifact renders the reference's text (the case every bench page hits)."""
    state = SimState()
    Catalog(state, touch_on_write=True).generate(projects=1, repos_per_project=1, tags_per_repo=2)
    [repo] = state.repos.values()
    for art in repo.artifacts.values():
        reference = json.dumps(artifact_json(repo, art, state, flags=flags.as_dict()))
        assert artifact_text(repo, art, state, flags=flags, accessories=[]) == reference
