"""Hypothesis strategies for Harbor JSON, derived from the wire models in ``syncd.harbor.models``.

A model becomes a JSON object holding its required fields, any subset of its optional ones
(omitted like go-swagger's ``omitempty``) and unknown extra fields; a time is Harbor's rendering
(milliseconds and ``Z``), Go's zero time, a zone-less time, ``""`` or ``null``.
"""

from __future__ import annotations

import types
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any, Literal, Union, cast, get_args, get_origin

from hypothesis import strategies as st
from pydantic.dataclasses import is_pydantic_dataclass

from syncd.harbor.models import Timestamp

if TYPE_CHECKING:
    from pydantic.fields import FieldInfo

_TIMESTAMP_ARGS = set(get_args(get_args(Timestamp)[0]))
_JSON_SCALARS = st.none() | st.booleans() | st.integers() | st.text(max_size=8)
JSON = st.recursive(
    _JSON_SCALARS,
    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=5), inner),
    max_leaves=6,
)
"""Any JSON value (for fields no model declares)."""

_EPOCH = datetime(1970, 1, 1, tzinfo=UTC).replace(tzinfo=None)
_INT64 = st.integers(min_value=-(2**63), max_value=2**63 - 1)


def harbor_time() -> st.SearchStrategy[str | None]:
    """Return date-times as Harbor renders them, and its spellings of 'never'."""
    when = st.datetimes(min_value=_EPOCH, max_value=_EPOCH.replace(year=2100))
    return st.one_of(
        when.map(lambda t: t.replace(tzinfo=UTC).isoformat(timespec="milliseconds")),
        when.map(lambda t: t.isoformat(timespec="milliseconds") + "Z"),
        when.map(lambda t: t.isoformat(timespec="seconds")),
        st.sampled_from(["0001-01-01T00:00:00.000Z", "0001-01-01T00:00:00Z", ""]),
        st.none(),
    )


def _is_name(field: Any) -> bool:
    return any(getattr(m, "min_length", None) == 1 for m in field.metadata)


def for_type(annotation: Any, *, name: bool = False) -> st.SearchStrategy[Any]:
    """Values of one field's type (``name``: a non-empty string)."""
    args = set(get_args(annotation))
    if args and args == _TIMESTAMP_ARGS:
        return harbor_time()
    origin = get_origin(annotation)
    if origin in (Union, types.UnionType):
        return st.one_of([for_type(a) for a in get_args(annotation)])
    if origin is list:
        return st.lists(for_type(get_args(annotation)[0]), max_size=3)
    if origin is Literal:
        return st.sampled_from(get_args(annotation))
    if is_pydantic_dataclass(annotation):
        return for_model(annotation)
    simple: dict[Any, st.SearchStrategy[Any]] = {
        str: st.text(min_size=1 if name else 0, max_size=12),
        int: _INT64,
        bool: st.booleans(),
        type(None): st.none(),
    }
    return simple[annotation]


def for_model(model: type) -> st.SearchStrategy[dict[str, Any]]:
    """JSON objects the model must accept: required fields, optional ones maybe, extras."""
    fields = cast("dict[str, FieldInfo]", vars(model)["__pydantic_fields__"])
    required: dict[str, st.SearchStrategy[Any]] = {}
    optional: dict[str, st.SearchStrategy[Any]] = {}
    for key, field in fields.items():
        strategy = for_type(field.annotation, name=_is_name(field))
        (required if field.is_required() else optional)[key] = strategy
    known = set(fields)
    extras = st.dictionaries(st.text(max_size=6).filter(lambda k: k not in known), JSON, max_size=2)
    body = st.fixed_dictionaries(required, optional=optional)
    return st.tuples(body, extras).map(lambda pair: {**pair[1], **pair[0]})
