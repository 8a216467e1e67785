"""The artifact listing's fast path (``syncd.harbor.rows``): shared values, same as the models."""

from __future__ import annotations

import json
import re
import sys
from datetime import UTC

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from pydantic import TypeAdapter

from syncd.core.model import Artifact, Repository
from syncd.errors import HarborProtocolError
from syncd.harbor import models as wire
from syncd.harbor import rows
from syncd.harbor.decode import decode_artifacts, decode_project_artifacts, decode_repositories
from tests.client import wirekit

D1 = "sha256:" + "11" * 32
D2 = "sha256:" + "22" * 32
D3 = "sha256:" + "33" * 32
_WIRE = TypeAdapter(list[wire.ProjectArtifact])


def raw(value: object) -> bytes:
    """Encode a body the way it arrives: JSON bytes."""
    return json.dumps(value).encode()


def names(*values: str) -> list[dict[str, str]]:
    """Harbor's ``Tag``/``Label`` objects for ``values``."""
    return [{"name": v} for v in values]


def reference(a: wire.Artifact) -> Artifact:
    """Map a model-validated row onto the core value, field by field (the spec's reading)."""
    return Artifact(
        digest=a.digest,
        tags=frozenset(t.name for t in a.tags or ()),
        push_time=rows.when(a.push_time),
        type=a.type,
        media_type=a.manifest_media_type,
        references=tuple(r.child_digest for r in a.references or ()),
        accessories=tuple(x.digest for x in a.accessories or ()),
        labels=frozenset(x.name for x in a.labels or ()),
    )


def decode_reference(body: bytes) -> list[tuple[str, Artifact]]:
    """Decode a project page through the wire models, raising a protocol error as decode does."""
    try:
        return [(a.repository_name, reference(a)) for a in _WIRE.validate_json(body)]
    except ValueError as exc:
        raise HarborProtocolError(str(exc)) from None


# --------------------------------------------------------------------------- sharing


@pytest.mark.parametrize(
    ("first", "second"),
    [
        ({"tags": names("latest")}, {"tags": names("latest")}),
        ({"tags": names("v1", "latest")}, {"tags": names("latest", "v1")}),
        ({"labels": names("prod")}, {"labels": names("prod")}),
        ({"tags": None, "labels": []}, {}),
    ],
    ids=["one-tag", "two-tags-any-order", "label", "empty"],
)
def test_equal_sets_are_one_object_across_pages(first, second):
    """Artifacts with equal tag (label) sets share one frozenset, even from different pages."""
    [a] = decode_artifacts(raw([{"digest": D1, **first}]))
    [b] = decode_artifacts(raw([{"digest": D2, **second}]))
    assert a.tags is b.tags
    assert a.labels is b.labels


@pytest.mark.parametrize(
    "pick",
    [
        lambda arts: (arts[1].digest, arts[2].digest),
        lambda arts: (arts[0].references[0], arts[1].digest),
        lambda arts: (arts[0].accessories[0], arts[1].digest),
        lambda arts: (arts[0].media_type, arts[1].media_type),
        lambda arts: (arts[0].type, arts[1].type),
        lambda arts: (next(iter(arts[0].tags)), next(iter(arts[1].labels))),
    ],
    ids=["digest", "child-digest", "accessory-digest", "media-type", "type", "tag-and-label"],
)
def test_strings_are_interned(pick):
    """Digests, types and names parsed from separate bodies are one interned object."""
    digest = "".join(["sha256:", "44" * 32])  # built at run time: not a constant of this module
    common = {"type": "CHART", "manifest_media_type": "m/x"}
    parent = {"digest": D1, "tags": names("x1"), **common}
    children = {"references": [{"child_digest": digest}], "accessories": [{"digest": digest}]}
    [a] = decode_artifacts(raw([{**parent, **children}]))
    child = raw([{"digest": digest, "labels": names("x1"), **common}])
    [b], [again] = decode_artifacts(child), decode_artifacts(child)
    one, other = pick((a, b, again))
    assert one is other
    assert one is sys.intern(one)


def test_project_rows_share_repository_names_and_keep_their_order():
    """A project page pairs each row with its (interned) repository, in the page's order."""
    page = [
        {"repository_name": "lib/a", "digest": D1, "tags": names("v1")},
        {"repository_name": "lib/b", "digest": D2},
        {"repository_name": "lib/a", "digest": D3, "tags": names("v1")},
    ]
    pairs = decode_project_artifacts(raw(page))
    assert [(repo, art.digest) for repo, art in pairs] == [
        ("lib/a", D1),
        ("lib/b", D2),
        ("lib/a", D3),
    ]
    assert pairs[0][0] is pairs[2][0] is sys.intern("lib/a")
    assert pairs[0][1].tags is pairs[2][1].tags


def test_the_set_cache_starts_again_past_its_bound(monkeypatch):
    """Past ``SETS_MAX`` distinct sets the cache is emptied: values stay right, memory bounded."""
    monkeypatch.setattr(rows, "SETS_MAX", 2)
    [before] = decode_artifacts(raw([{"digest": D1, "tags": names("keep")}]))
    decode_artifacts(raw([{"digest": D2, "tags": names(f"t{i}")} for i in range(3)]))
    [after] = decode_artifacts(raw([{"digest": D3, "tags": names("keep")}]))
    assert after.tags == before.tags == {"keep"}
    assert after.tags is not before.tags


# --------------------------------------------------------------------------- same as the models


@settings(max_examples=200, deadline=None)
@given(st.lists(wirekit.for_model(wire.ProjectArtifact), max_size=6))
def test_any_page_the_models_accept_decodes_to_the_same_values(page):
    """The fast path reads every page the spec's models accept exactly as they do."""
    body = raw(page)
    assert decode_project_artifacts(body) == decode_reference(body)


@settings(max_examples=300, deadline=None)
@given(
    st.from_regex(rows.HARBOR_TIME, fullmatch=True)
    | st.sampled_from(["2024-02-30T12:00:00.000Z", "0001-01-01T00:00:00.000Z", "2024-05-01"])
)
def test_harbor_times_read_as_pydantic_reads_them(text):
    """A time in Harbor's rendering is the same instant (UTC) or the same rejection either way."""
    body = raw([{"repository_name": "lib/a", "digest": D1, "push_time": text}])
    try:
        expected = decode_reference(body)
    except HarborProtocolError:
        with pytest.raises(HarborProtocolError, match=r"push_time: expected an RFC 3339"):
            decode_project_artifacts(body)
    else:
        [(_, art)] = decode_project_artifacts(body)
        assert [art] == [a for _, a in expected]
        assert art.push_time is None or art.push_time.tzinfo is UTC


_WIRE_REPOSITORIES = TypeAdapter(list[wire.Repository])


def repositories_reference(body: bytes) -> list[Repository]:
    """Decode a repository page through the wire model, as the decoder did before the fast path."""
    try:
        page = _WIRE_REPOSITORIES.validate_json(body)
    except ValueError as exc:
        raise HarborProtocolError(str(exc)) from None
    return [Repository(r.name, r.artifact_count or 0, rows.when(r.update_time)) for r in page]


@settings(max_examples=200, deadline=None)
@given(st.lists(wirekit.for_model(wire.Repository), max_size=6))
def test_any_repository_page_the_model_accepts_decodes_to_the_same_values(page):
    """The repository fast path reads every page the spec's model accepts exactly as it does."""
    body = raw(page)
    assert decode_repositories(body) == repositories_reference(body)


@pytest.mark.parametrize(
    ("row", "problem"),
    [
        ({"artifact_count": 1}, "repositories[0].name"),
        ({"name": "", "artifact_count": 1}, "repositories[0].name"),
        ({"name": "lib/a", "artifact_count": "1"}, "repositories[0].artifact_count"),
        ({"name": "lib/a", "update_time": "yesterday"}, "repositories[0].update_time"),
    ],
)
def test_malformed_repository_rows_are_refused_naming_the_field(row, problem):
    """A row the model would refuse is refused, and the error names the field."""
    with pytest.raises(HarborProtocolError, match=re.escape(problem)):
        decode_repositories(raw([row]))
