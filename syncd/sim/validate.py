"""go-swagger's parameter binding, which runs before any Harbor handler (and before its auth).

What the generated ``*_parameters.go`` binders do (go-openapi ``runtime/middleware``,
``errors``, ``swag/conv``): an integer query parameter that does not parse -> 422 "must be of
type int64"; ``page_size`` over 100 -> 422; a required query parameter absent or empty -> 422
"is required"; a required body that is absent -> 422 "in body is required"; a body that does not
decode into the Go model (a string where an int64 is declared) -> 400 "parsing ... body".
A boolean query parameter never fails: ``swag.ConvertBool`` maps anything it does not know as
true (``true``, ``1``, ``yes``, ``ok``, ``y``, ``on``, ``selected``, ``checked``, ``t``,
``enabled``) to false.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from syncd.sim.catalog import SimError

if TYPE_CHECKING:
    from collections.abc import Mapping

__all__ = ["PAGED", "TRUE_WORDS", "Body", "Params", "go_bool", "validate"]

MAX_PAGE_SIZE = 100
TRUE_WORDS = frozenset({"true", "1", "yes", "ok", "y", "on", "selected", "checked", "t", "enabled"})
_JSON_NAMES = {"str": "string", "bool": "bool", "list": "array", "dict": "object"}
_GO_TYPES = {"int": "int64", "str": "string", "bool": "bool", "list": "[]", "object": "struct"}


def go_bool(raw: str) -> bool:
    """``swag.ConvertBool``: never an error, unknown words are false."""
    return raw.lower() in TRUE_WORDS


@dataclass(frozen=True, slots=True)
class Body:
    """A required JSON body: its parameter name, Go model name and typed fields."""

    name: str
    model: str
    fields: Mapping[str, str] = field(default_factory=dict)
    """JSON field -> ``int`` | ``str`` | ``bool`` | ``list`` | ``object`` (null always binds)."""


@dataclass(frozen=True, slots=True)
class Params:
    """The parameters one operation declares in Harbor's spec (only what gets validated)."""

    query: Mapping[str, str] = field(default_factory=dict)
    """Query parameter -> ``int`` | ``bool`` | ``str``."""
    required: frozenset[str] = frozenset()
    body: Body | None = None

    def __or__(self, other: Params) -> Params:
        """Combine two declarations."""
        return Params(
            {**self.query, **other.query}, self.required | other.required, other.body or self.body
        )


PAGED = Params({"page": "int", "page_size": "int", "q": "str", "sort": "str"})


def _fail(message: str) -> SimError:
    return SimError(422, "UNPROCESSABLE_ENTITY", f"validation failure list:\n{message}")


def _check_query(params: Params, query: Mapping[str, str]) -> None:
    for name in sorted(params.required):
        if not query.get(name):  # errors.Required when absent, validate.RequiredString when ""
            raise _fail(f"{name} in query is required")
    for name, kind in params.query.items():
        raw = query.get(name)
        if raw is None or raw == "" or kind != "int":
            continue
        try:
            value = int(raw)
        except ValueError:
            raise _fail(f'{name} in query must be of type int64: "{raw}"') from None
        if name == "page_size" and value > MAX_PAGE_SIZE:
            raise _fail("page_size in query should be less than or equal to 100")


def _binds(value: Any, kind: str) -> bool:
    if value is None:
        return True
    if kind == "int":
        return isinstance(value, int) and not isinstance(value, bool)
    expected = {"str": str, "bool": bool, "list": list, "object": dict}[kind]
    return isinstance(value, expected)


def _check_body(body: Body, raw: bytes) -> None:
    if not raw.strip():
        raise _fail(f"{body.name} in body is required")
    try:
        data = json.loads(raw)
    except ValueError:
        data = None
        reason = "invalid character in JSON"
    else:
        reason = (
            "" if isinstance(data, dict) else f"cannot unmarshal into Go value of type {body.model}"
        )
    for key, kind in body.fields.items() if isinstance(data, dict) else ():
        if not _binds(data.get(key), kind):
            got = _JSON_NAMES.get(type(data[key]).__name__, "number")
            reason = (
                f"json: cannot unmarshal {got} into Go struct field {body.model}.{key} "
                f"of type {_GO_TYPES[kind]}"
            )
            break
    if reason:
        message = f'parsing {body.name} body from "" failed, because {reason}'
        raise SimError(400, "BAD_REQUEST", message)


def validate(params: Params | None, *, query: Mapping[str, str], body: bytes) -> None:
    """Run go-swagger's binding for one operation; raises the 400/422 it would answer."""
    if params is None:
        return
    _check_query(params, query)
    if params.body is not None:
        _check_body(params.body, body)
