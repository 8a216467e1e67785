"""Harbor's replication filter semantics and destination naming, copied exactly.

Owns how a policy's filters combine (name filters on the full repository name, tag and label
filters per artifact; all ANDed) and ``replaceNamespace`` (``dest_namespace`` +
``dest_namespace_replace_count``). Patterns match with Harbor's doublestar v1 glob
(``syncd.core.glob``). Pure: stdlib and ``syncd.core.model`` only; no I/O, no logging.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from syncd.core.glob import glob_match

if TYPE_CHECKING:
    from collections.abc import Iterable, Sequence

    from syncd.core.model import Artifact, Filter

__all__ = [
    "MappingError",
    "destination_name",
    "repository_selected",
    "select_tags",
    "tag_filter_passes",
]

_MIN_DEST_COMPONENTS = 2


class MappingError(ValueError):
    """A source repository cannot be mapped to a destination name (Harbor fails with 400)."""


def _pattern(flt: Filter) -> str:
    # Harbor rejects a non-string name/tag value at validation; treat one as "no filtering".
    return flt.value if isinstance(flt.value, str) else ""


def repository_selected(policy_filters: Iterable[Filter], repo_full_name: str) -> bool:
    """Whether every ``name`` filter matches the full repository name (filters are ANDed)."""
    return all(
        glob_match(_pattern(flt), repo_full_name) for flt in policy_filters if flt.type == "name"
    )


def select_tags(filters: Iterable[Filter], artifact: Artifact) -> frozenset[str]:
    """Return the tags of ``artifact`` that a policy with ``filters`` replicates.

    Tag filters apply in order, each to every tag (``matches`` keeps matching tags, ``excludes``
    keeps the others); label filters keep or drop the whole artifact. syncd compares tags only,
    so untagged artifacts (which Harbor matches against "") yield no tags and are ignored.
    """
    tags = set(artifact.tags)
    for flt in filters:
        if flt.type == "tag":
            pattern = _pattern(flt)
            keep = flt.decoration != "excludes"
            tags = {tag for tag in tags if glob_match(pattern, tag) == keep}
        elif flt.type == "label" and not _labels_pass(flt, artifact.labels):
            return frozenset()
    return frozenset(tags)


def _labels_pass(flt: Filter, labels: frozenset[str]) -> bool:
    wanted = (flt.value,) if isinstance(flt.value, str) else flt.value
    if not wanted:
        return True
    has_all = set(wanted) <= labels
    return not has_all if flt.decoration == "excludes" else has_all


def tag_filter_passes(filters: Iterable[Filter], tag: str) -> bool:
    """Whether a single ``tag`` passes every tag filter (labels are not considered)."""
    for flt in filters:
        if flt.type == "tag" and glob_match(_pattern(flt), tag) != (flt.decoration != "excludes"):
            return False
    return True


# --------------------------------------------------------------------------- naming


def destination_name(repository: str, *, namespace: str, replace_count: int) -> str:
    """Harbor's ``replaceNamespace``: the destination repository for a source repository."""
    if not namespace:
        return repository
    components = repository.split("/")
    if replace_count < 0:
        prefix = namespace  # legacy default: flatten everything but the last component
    elif replace_count > len(components) - 1:
        raise MappingError(
            f"{repository!r} has only {len(components) - 1} path components before its name, "
            f"but the destination namespace flattening level is {replace_count}"
        )
    else:
        prefix = "/".join([namespace, *components[replace_count:-1]])
    result = _go_path_join((prefix, components[-1]))
    if len(result.split("/")) < _MIN_DEST_COMPONENTS:
        raise MappingError(f"destination repository {result!r} needs at least 2 path components")
    return result


def _go_path_join(elements: Sequence[str]) -> str:
    """Go's ``path.Join``: join non-empty elements with ``/`` and Clean the result."""
    joined = "/".join(element for element in elements if element)
    if not joined:
        return ""
    rooted = joined.startswith("/")
    parts: list[str] = []
    for part in joined.split("/"):
        if part in {"", "."}:
            continue
        if part == "..":
            if parts and parts[-1] != "..":
                parts.pop()
            elif not rooted:
                parts.append(part)
            continue
        parts.append(part)
    cleaned = "/".join(parts)
    return "/" + cleaned if rooted else cleaned or "."
