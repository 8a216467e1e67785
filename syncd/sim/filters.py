"""Harbor's replication filters and destination naming, modelled independently of syncd.

Patterns use ``wcmatch`` globbing (GLOBSTAR|BRACE|DOTGLOB) as an oracle for doublestar v1:
``*`` stays within one path component, ``**`` as a whole component spans components, and
``foo**`` acts like ``foo*``. syncd has its own matcher on purpose, so the two can disagree loudly.
"""

from __future__ import annotations

import re
from typing import Any

from wcmatch import glob

__all__ = [
    "apply_filters",
    "filter_error",
    "glob_match",
    "namespace_error",
    "replace_namespace",
]

_FLAGS = glob.GLOBSTAR | glob.BRACE | glob.DOTGLOB
_REPO_NAME = re.compile(r"^[a-z0-9]+(?:[._-][a-z0-9]+)*(?:/[a-z0-9]+(?:[._-][a-z0-9]+)*)*$")


def glob_match(pattern: str, value: str) -> bool:
    """Harbor's ``util.Match``: an empty pattern matches everything."""
    if not pattern:
        return True
    if not value:
        # wcmatch never matches an empty path, while doublestar's `*` matches "": anchor both.
        return bool(glob.globmatch("x", "x" + pattern, flags=_FLAGS))
    return bool(glob.globmatch(value, pattern, flags=_FLAGS))


def filter_error(filters: list[Any]) -> str | None:  # noqa: PLR0911 - one per Harbor message
    """Harbor's ``Filter.Validate``: the 400 message for the first invalid filter, or None."""
    for item in filters:
        if not isinstance(item, dict):
            return "invalid filter"
        kind, value, decoration = item.get("type"), item.get("value"), item.get("decoration", "")
        if kind not in {"name", "tag", "label", "resource"}:
            return "invalid filter type"
        if decoration not in {"", None, "matches", "excludes"}:
            return f"invalid filter decoration, :{decoration}"
        if kind in {"name", "resource"} and decoration:
            return "only tag and label filter support decoration"
        if kind == "label":
            if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
                return f"{value} is not a valid string array"
        elif not isinstance(value, str):
            return f"{value} is not a valid string"
        elif kind == "resource" and value not in {"artifact", "image"}:
            return f"invalid resource filter: {value}"
    return None


def _keep_tags(unit: dict[str, Any], pattern: str, *, excludes: bool) -> dict[str, Any] | None:
    tags: list[str] = unit["tags"]
    if not tags:
        return unit if glob_match(pattern, "") != excludes else None
    kept = [t for t in tags if glob_match(pattern, t) != excludes]
    return {**unit, "tags": kept} if kept else None


def _labels_ok(unit: dict[str, Any], wanted: list[str], *, excludes: bool) -> bool:
    has_all = set(wanted) <= set(unit.get("labels", ()))
    return has_all != excludes


def apply_filters(
    repository: str, units: list[dict[str, Any]], filters: list[dict[str, Any]]
) -> list[dict[str, Any]]:
    """Name filters on the full source name, then tag and label filters per artifact, in order."""
    for f in filters:
        if f.get("type") == "name" and not glob_match(str(f.get("value") or ""), repository):
            return []
    out: list[dict[str, Any]] = []
    for unit in units:
        kept: dict[str, Any] | None = unit
        for f in filters:
            excludes = f.get("decoration") == "excludes"
            if kept is None:
                break
            if f.get("type") == "tag":
                kept = _keep_tags(kept, str(f.get("value") or ""), excludes=excludes)
            elif f.get("type") == "label" and f.get("value"):
                labels = [str(v) for v in f.get("value") or ()]
                kept = kept if _labels_ok(kept, labels, excludes=excludes) else None
        if kept is not None:
            out.append(kept)
    return out


def namespace_error(namespace: str) -> str | None:
    """Harbor validates ``dest_namespace`` against its repository-name regex."""
    if namespace and not _REPO_NAME.match(namespace):
        return f"invalid destination namespace: {namespace}"
    return None


def replace_namespace(repository: str, namespace: str, replace_count: int) -> str:
    """``flow/stage.go`` replaceNamespace; raises ValueError where Harbor fails the execution."""
    if not namespace:
        return repository
    components = repository.split("/")
    if replace_count < 0:
        result = f"{namespace}/{components[-1]}"
    elif replace_count > len(components) - 1:
        raise ValueError(
            f"the repository {repository} contains only {len(components) - 1} path components "
            f"except the last one, but the destination namespace flattening level is "
            f"{replace_count}"
        )
    else:
        result = "/".join([namespace, *components[replace_count:]])
    if result.count("/") < 1:
        raise ValueError(f"the destination repository {result} needs at least 2 path components")
    return result
