"""Harbor's list mechanics: ``page``/``page_size``, ``q`` filters, ``sort``, ``Link`` headers.

Unknown ``q`` and ``sort`` keys are silently ignored, as in Harbor's ORM layer, but a clause
without ``=`` or with an empty key or value is a 400 (``src/lib/q/builder.go`` parseKeywords).
Values are parsed like ``builder.go``: time (``2006-01-02T15:04:05``, UTC), then int, then string.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from datetime import UTC, datetime
from typing import Any, TypeVar
from urllib.parse import unquote, urlencode

from syncd.sim.catalog import SimError

__all__ = ["Getters", "Page", "apply_query", "link_header", "paginate", "q_clauses"]

Getters = dict[str, Callable[[Any], Any]]
"""Filterable/sortable keys of one resource kind -> value getter."""

MAX_PAGE_SIZE = 100
T = TypeVar("T")


class Page:
    """Validated ``page`` and ``page_size`` (size 0 means unlimited, as in Harbor's ORM)."""

    def __init__(self, query: dict[str, str]) -> None:
        self.page = self._int(query, "page", 1)
        self.size = self._int(query, "page_size", 10)
        if self.size > MAX_PAGE_SIZE:
            raise SimError(
                422,
                "UNPROCESSABLE_ENTITY",
                "validation failure list:\npage_size in query should be less than or equal to 100",
            )
        self.page = max(self.page, 1)

    @staticmethod
    def _int(query: dict[str, str], name: str, default: int) -> int:
        raw = query.get(name)
        if raw is None or raw == "":
            return default
        try:
            return int(raw)
        except ValueError:
            raise SimError(
                422,
                "UNPROCESSABLE_ENTITY",
                f'validation failure list:\n{name} in query must be of type int64: "{raw}"',
            ) from None


def _value(text: str) -> Any:
    try:
        return datetime.strptime(text, "%Y-%m-%dT%H:%M:%S").replace(tzinfo=UTC)
    except ValueError:
        pass
    try:
        return int(text)
    except ValueError:
        return text.strip("\"'")


def _same(actual: Any, wanted: Any) -> bool:
    if isinstance(actual, bool):
        return str(actual).lower() == str(wanted).lower() or actual == wanted
    if isinstance(actual, datetime) and isinstance(wanted, datetime):
        return actual.replace(microsecond=0) == wanted
    return str(actual) == str(wanted)


def _compare(actual: Any, bound: Any) -> int:
    if isinstance(actual, datetime) and isinstance(bound, datetime):
        return (actual > bound) - (actual < bound)
    if isinstance(actual, int) and isinstance(bound, int):
        return (actual > bound) - (actual < bound)
    return (str(actual) > str(bound)) - (str(actual) < str(bound))


def _predicate(raw: str) -> Callable[[Any], bool]:
    if raw.startswith("~"):
        needle = raw[1:].lower()
        return lambda v: needle in str(v).lower()
    if raw.startswith("[") and raw.endswith("]") and "~" in raw:
        low_t, high_t = raw[1:-1].split("~", 1)
        low = _value(low_t) if low_t else None
        high = _value(high_t) if high_t else None
        return lambda v: (
            (low is None or _compare(v, low) >= 0) and (high is None or _compare(v, high) <= 0)
        )
    if raw[:1] in "{(" and raw[-1:] in "})":
        options = [_value(x) for x in raw[1:-1].split()]
        return lambda v: any(_same(v, o) for o in options)
    exact = _value(raw.removeprefix("\\"))
    return lambda v: _same(v, exact)


MALFORMED_Q = 'the query string must contain "=" and the key/value cannot be empty'


def q_clauses(text: str) -> list[tuple[str, str]]:
    """Split ``q`` into ``(key, raw value)`` pairs (unescaped a second time, like Harbor).

    Raises the handler's 400 for a clause without ``=`` or with an empty key or value.
    """
    if not text:
        return []
    clauses = []
    for part in unquote(text).split(","):
        key, sep, raw = part.partition("=")
        if not sep or not key or not raw:
            raise SimError(400, "BAD_REQUEST", MALFORMED_Q)
        clauses.append((key, raw))
    return clauses


def parse_q(
    text: str, getters: Getters
) -> list[tuple[Callable[[Any], Any], Callable[[Any], bool]]]:
    """Parse the ``k=v`` clauses of ``q`` whose key the resource knows (others are ignored)."""
    return [(getters[key], _predicate(raw)) for key, raw in q_clauses(text) if key in getters]


def apply_query(
    items: Sequence[Any], query: dict[str, str], getters: Getters, *, default_sort: str
) -> list[Any]:
    """Filter by ``q`` and sort by ``sort`` (or the resource's default order)."""
    clauses = parse_q(query.get("q", ""), getters)
    out = [it for it in items if all(pred(get(it)) for get, pred in clauses)]
    keys = [k.strip() for k in (query.get("sort") or default_sort).split(",") if k.strip()]
    for key in reversed(keys):
        name = key.lstrip("-")
        if name in getters:
            out.sort(key=getters[name], reverse=key.startswith("-"))
    return out


def paginate(items: Sequence[T], page: Page) -> list[T]:
    """One page of the items (all of them when ``page_size`` is 0), in O(page)."""
    if page.size <= 0:
        return list(items)
    start = (page.page - 1) * page.size
    return list(items[start : start + page.size])


def link_header(path: str, query: dict[str, str], page: Page, total: int) -> str | None:
    """Harbor's path-only, query-unescaped ``Link`` header, or None when there is no other page."""
    links = []
    if page.size > 0 and page.page > 1 and (page.page - 1) * page.size < total:
        links.append(_link(path, query, page.page - 1, page.size, "prev"))
    if page.size > 0 and page.size * page.page < total:
        links.append(_link(path, query, page.page + 1, page.size, "next"))
    return " , ".join(links) or None


def _link(path: str, query: dict[str, str], number: int, size: int, rel: str) -> str:
    params = {**query, "page": str(number), "page_size": str(size)}
    encoded = urlencode(sorted(params.items()))
    return f'<{path}?{unquote(encoded.replace("+", "%20"))}>; rel="{rel}"'
