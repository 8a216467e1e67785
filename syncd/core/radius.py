"""Blast radius: every write a whole-policy manual execution would make on its destination.

A manual execution copies **everything** the policy's filters select, not only the tags syncd
found missing (replication-semantics.md §3), and with ``override`` on it overwrites whatever
differs on the destination. This module classifies each of those writes against the
destination and the edge's base (the last agreed state) before anything is triggered:

* ``wanted``: the tag is missing (and was not deleted there since the base), or it is stale
  (the destination still holds the base digest) and ``override`` is on;
* ``no_op``: same digest already there, or ``override`` is off so Harbor skips the tag;
* ``harmful``: it would undo a deletion made on the destination since the base, overwrite a
  conflict (both sides moved, or they differ with no base), or overwrite a destination tag
  whose digest moved since the base.

A whole-policy trigger is safe only when the radius holds no harmful write; otherwise the
wanted writes can go through a scoped repair (``scopes``). Pure: no I/O, no logging.
"""

from __future__ import annotations

import enum
from dataclasses import dataclass
from typing import TYPE_CHECKING

from syncd.core.model import RepairScope

if TYPE_CHECKING:
    from collections.abc import Collection, Iterable, Mapping

    from syncd.core.model import Drift, Edge, TagKey

__all__ = [
    "Harm",
    "Radius",
    "RepairMode",
    "Write",
    "WriteClass",
    "blast_radius",
    "classify",
    "radius_of_drift",
    "tag_pattern",
]

_EXAMPLES = 3


class RepairMode(enum.StrEnum):
    """How drift is repaired (setting ``reconcile.repair``)."""

    AUTO = "auto"
    """The whole policy when its radius is harmless, else a scoped repair."""
    POLICY = "policy"
    """The whole policy when its radius is harmless, else report the repair ``blocked``."""
    SCOPED = "scoped"
    """Always a scoped repair of exactly the wanted tags."""


class WriteClass(enum.StrEnum):
    """What one write of a whole-policy execution would do to the destination."""

    WANTED = "wanted"
    NO_OP = "no_op"
    HARMFUL = "harmful"


class Harm(enum.StrEnum):
    """Why a write is harmful."""

    UNDOES_DELETION = "undoes_deletion"
    OVERWRITES_CONFLICT = "overwrites_conflict"
    OVERWRITES_MOVED = "overwrites_moved"


@dataclass(frozen=True, slots=True)
class Write:
    """One destination tag the execution would write (identical tags are only counted)."""

    repository: str
    """Destination-side full repository name."""
    tag: str
    source_repository: str
    source_digest: str
    destination_digest: str | None
    base_digest: str | None
    write_class: WriteClass
    reason: str
    harm: Harm | None = None

    @property
    def key(self) -> TagKey:
        """``(destination repository, tag)``."""
        return (self.repository, self.tag)


@dataclass(frozen=True, slots=True)
class Radius:
    """The classified writes of one policy's whole-policy execution on its edge."""

    edge: Edge
    override: bool
    writes: tuple[Write, ...] = ()
    """Every write whose destination tag differs, sorted by key."""
    identical: int | None = 0
    """Selected tags already holding the same digest on the destination; None: not counted
    (the radius was rebuilt from drift, or covers only the repositories re-assessed)."""

    def of(self, write_class: WriteClass) -> tuple[Write, ...]:
        """Return the writes of one class."""
        return tuple(w for w in self.writes if w.write_class is write_class)

    @property
    def harmful(self) -> tuple[Write, ...]:
        """Writes a whole-policy trigger must not make."""
        return self.of(WriteClass.HARMFUL)

    @property
    def wanted(self) -> tuple[Write, ...]:
        """Writes that repair drift."""
        return self.of(WriteClass.WANTED)

    def index(self) -> dict[TagKey, Write]:
        """Return the writes by destination tag."""
        return {w.key: w for w in self.writes}

    def scopes(self, keys: Collection[TagKey] | None = None) -> tuple[RepairScope, ...]:
        """Group the wanted writes (of ``keys``, if given) by source repository."""
        grouped: dict[str, list[Write]] = {}
        for write in self.wanted:
            if keys is None or write.key in keys:
                grouped.setdefault(write.source_repository, []).append(write)
        return tuple(
            RepairScope(
                repo,
                tuple(sorted({w.tag for w in items})),
                overwrite=self.override and any(w.destination_digest for w in items),
            )
            for repo, items in sorted(grouped.items())
        )

    def summary(self) -> str:
        """One line naming the counts and a few harmful writes (the actions' reason)."""
        wanted, harmful = self.wanted, self.harmful
        noop = len(self.writes) - len(wanted) - len(harmful) + (self.identical or 0)
        if self.identical is None:  # say only what was counted
            selected = f"{len(self.writes)} selected differ"
            noop_text = f"{noop} no-op among them"
        else:
            selected = f"{len(self.writes) + self.identical} selected"
            noop_text = f"{noop} no-op"
        text = (
            f"radius {self.edge.name} policy {self.edge.policy_id}: {selected}, "
            f"{len(wanted)} wanted, {noop_text}, {len(harmful)} harmful"
        )
        if harmful:
            shown = ", ".join(f"{w.repository}:{w.tag} {w.harm}" for w in harmful[:_EXAMPLES])
            more = f" (+{len(harmful) - _EXAMPLES} more)" if len(harmful) > _EXAMPLES else ""
            text += f" ({shown}{more})"
        return text


def classify(  # noqa: PLR0911 - one return per row of the classification
    *,
    source_digest: str,
    destination_digest: str | None,
    base_digest: str | None,
    override: bool,
) -> tuple[WriteClass, Harm | None, str]:
    """Classify one write: ``(class, harm, reason)``."""
    if destination_digest == source_digest:
        return WriteClass.NO_OP, None, "same digest"
    if destination_digest is None:
        if base_digest is None:
            return WriteClass.WANTED, None, "missing"
        return WriteClass.HARMFUL, Harm.UNDOES_DELETION, "deleted on the destination since base"
    if not override:
        return WriteClass.NO_OP, None, "differs, but override is off: Harbor skips it"
    if base_digest == destination_digest:
        return WriteClass.WANTED, None, "stale: moved on the source only"
    if base_digest == source_digest:
        return WriteClass.HARMFUL, Harm.OVERWRITES_MOVED, "moved on the destination since base"
    return WriteClass.HARMFUL, Harm.OVERWRITES_CONFLICT, "conflict: differs from base on both"


def _write(
    key: TagKey, source: tuple[str, str], have: str | None, base: str | None, *, override: bool
) -> Write:
    source_repository, digest = source
    write_class, harm, reason = classify(
        source_digest=digest, destination_digest=have, base_digest=base, override=override
    )
    return Write(key[0], key[1], source_repository, digest, have, base, write_class, reason, harm)


def blast_radius(
    *,
    edge: Edge,
    expected: Mapping[TagKey, str],
    destination: Mapping[TagKey, str],
    base: Mapping[TagKey, str] | None,
    override: bool,
    source_repo_of: Mapping[str, str] | None = None,
) -> Radius:
    """Classify every tag ``expected`` (the policy's selection, mapped) would write.

    ``expected`` is ``topology.expected_on_destination``: the filters and the
    ``dest_namespace`` mapping are already applied. ``source_repo_of`` maps destination
    repository names back to source names (identity when omitted).
    """
    known = base or {}
    mapping = source_repo_of or {}
    differing = sorted(key for key, _ in expected.items() - destination.items())
    writes = tuple(
        _write(
            key,
            (mapping.get(key[0], key[0]), expected[key]),
            destination.get(key),
            known.get(key),
            override=override,
        )
        for key in differing
    )
    return Radius(edge, override, writes, identical=len(expected) - len(differing))


def radius_of_drift(edge: Edge, drift: Iterable[Drift], *, override: bool) -> Radius:
    """Rebuild an edge's radius from its drift (every differing selected tag is drift).

    The count of identical tags is unknown here (None).
    """
    writes = tuple(
        _write(
            (d.repository, d.tag),
            (d.source_repository or d.repository, d.source_digest),
            d.destination_digest,
            d.base_digest,
            override=override,
        )
        for d in sorted(drift, key=_drift_key)
        if d.edge == edge and d.source_digest is not None
    )
    return Radius(edge, override, writes, identical=None)


def _drift_key(d: Drift) -> tuple[str, ...]:
    """Order drift totally, so that duplicate keys resolve the same way in any input order."""
    digests = (d.source_digest or "", d.destination_digest or "", d.base_digest or "")
    return (d.repository, d.tag, *digests)


def tag_pattern(tags: Iterable[str]) -> str:
    """Harbor tag-filter pattern matching exactly ``tags`` (docker tags hold no glob syntax)."""
    unique = sorted(set(tags))
    return unique[0] if len(unique) == 1 else "{" + ",".join(unique) + "}"
