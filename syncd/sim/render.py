"""Artifact listing rows written straight to JSON text: the hot path of every listing page.

``serialize.artifact_json`` stays the reference rendering (a dict in the spec's shape, then
``json.dumps``). Building that dict and encoding it cost ~35 us per artifact, most of a page's
CPU. Here a *plain* artifact (no labels, references or accessories to embed, every scalar field
non-zero, so nothing is omitted) is formatted into the very text ``json.dumps`` would produce;
any other artifact goes through the reference. tests/sim/test_render_fast.py holds them equal.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from json.encoder import encode_basestring_ascii
from typing import TYPE_CHECKING

from syncd.sim.serialize import artifact_json, config_media_type, fmt_time, newest_first

if TYPE_CHECKING:
    from collections.abc import Iterable, Mapping

    from syncd.sim.state import SimArtifact, SimRepo, SimState

__all__ = ["Flags", "artifact_text", "rows_text"]

_ARTIFACT = (
    '{"id": %d, "type": %s, "media_type": %s, "manifest_media_type": %s, "project_id": %d, '
    '"repository_id": %d, "repository_name": %s, "digest": %s, "size": %d, '
    '"push_time": "%s", "pull_time": "%s", "tags": %s, "labels": null, "references": null, '
    '"accessories": null}'
)
_TAG = (
    '{"id": %d, "repository_id": %d, "artifact_id": %d, "name": %s, "push_time": "%s", '
    '"pull_time": "%s", "immutable": false}'
)


@dataclass(frozen=True, slots=True)
class Flags:
    """The listing's ``with_*`` query flags."""

    with_tag: bool = True
    with_label: bool = False
    with_accessory: bool = False

    def as_dict(self) -> dict[str, bool]:
        """Return the flags as ``serialize.artifact_json`` takes them."""
        return {
            "with_tag": self.with_tag,
            "with_label": self.with_label,
            "with_accessory": self.with_accessory,
        }


def _plain(repo: SimRepo, art: SimArtifact, flags: Flags, *, has_accessories: bool) -> bool:
    """Whether nothing is embedded but tags and no field is omitted (zero) or oddly typed."""
    if art.references or (flags.with_label and art.labels):
        return False
    if flags.with_accessory and has_accessories:
        return False
    ints = (art.id, art.size, repo.project_id, repo.id)
    strings = (art.type, art.media_type, art.digest, repo.name)
    return all(type(n) is int and n for n in ints) and all(type(s) is str and s for s in strings)


def _tags_text(repo: SimRepo, art: SimArtifact) -> str:
    tags = newest_first(art) if len(art.tags) > 1 else art.tags.values()
    pulled, quote = fmt_time(art.pull_time), encode_basestring_ascii
    rows = [
        _TAG % (t.id, repo.id, art.id, quote(t.name), fmt_time(t.push_time), pulled) for t in tags
    ]
    return "[" + ", ".join(rows) + "]" if rows else "null"


def artifact_text(
    repo: SimRepo,
    art: SimArtifact,
    state: SimState,
    *,
    flags: Flags,
    accessories: Iterable[SimArtifact] | None = None,
) -> str:
    """``json.dumps(artifact_json(...))``, written directly where the artifact is plain.

    ``accessories`` are the artifact's accessories when the caller knows them (an index);
    None looks them up.
    """
    if accessories is None:
        accessories = repo.accessories_of(art.digest)
    if not _plain(repo, art, flags, has_accessories=bool(accessories)):
        return json.dumps(artifact_json(repo, art, state, flags=flags.as_dict()))
    return _ARTIFACT % (
        art.id,
        encode_basestring_ascii(art.type),
        encode_basestring_ascii(config_media_type(art.media_type)),
        encode_basestring_ascii(art.media_type),
        repo.project_id,
        repo.id,
        encode_basestring_ascii(repo.name),
        encode_basestring_ascii(art.digest),
        art.size,
        fmt_time(art.push_time),
        fmt_time(art.pull_time),
        _tags_text(repo, art) if flags.with_tag else "null",
    )


def rows_text(
    rows: Iterable[tuple[SimRepo, SimArtifact]],
    state: SimState,
    *,
    flags: Flags,
    accessories: Mapping[int, list[SimArtifact]],
) -> str:
    """Render a JSON array of artifact rows (``accessories``: artifact id -> accessories)."""
    texts = [
        artifact_text(repo, art, state, flags=flags, accessories=accessories.get(art.id, ()))
        for repo, art in rows
    ]
    return "[" + ", ".join(texts) + "]"
