"""Harbor's real v2.0 API spec (vendored: ``vendor/harbor/swagger.yaml``) as a test oracle.

The repository carries the spec with its licence and upstream commit (``vendor/harbor/SOURCE.md``),
so a fresh clone tests on its own. Two checks:

* ``validate_response`` - a simulator response body against the spec's response schema
  (``strict`` also rejects properties the spec does not define, so the simulator cannot invent
  fields that syncd might come to depend on);
* ``validate_request`` - a request syncd sends: path template, method, declared query
  parameters and their types/limits, and the JSON body.
"""

from __future__ import annotations

import copy
import functools
import os
import re
from pathlib import Path
from typing import Any
from urllib.parse import parse_qsl, urlsplit

import jsonschema
import yaml

SPEC_PATH = Path(
    os.environ.get(
        "SYNCD_HARBOR_SPEC",
        Path(__file__).resolve().parents[1] / "vendor" / "harbor" / "swagger.yaml",
    )
)
BASE_PATH = "/api/v2.0"


class SpecViolation(AssertionError):  # noqa: N818 - reads as an assertion in failures
    """A request or response does not conform to Harbor's spec."""


@functools.cache
def spec() -> dict[str, Any]:
    """Return the parsed spec document."""
    with SPEC_PATH.open(encoding="utf-8") as fh:
        loaded: dict[str, Any] = yaml.safe_load(fh)
    return loaded


def _nullable(node: Any, *, strict: bool) -> Any:
    """Turn Swagger's ``x-nullable`` into JSON-schema null types; optionally close objects."""
    if isinstance(node, list):
        return [_nullable(n, strict=strict) for n in node]
    if not isinstance(node, dict):
        return node
    out = {k: _nullable(v, strict=strict) for k, v in node.items()}
    if out.get("x-nullable") and "type" in out:
        out["type"] = [out["type"], "null"]
        if "enum" in out:
            out["enum"] = [*out["enum"], None]
    for prop in (out.get("properties") or {}).values():
        # go-swagger tags model slices without omitempty: a nil slice property goes out as
        # JSON null (a list response's payload is never null: the responder makes it []).
        if isinstance(prop, dict) and prop.get("type") == "array":
            prop["type"] = ["array", "null"]
    if out.get("x-nullable") and "$ref" in out:
        out = {"anyOf": [{"$ref": out["$ref"]}, {"type": "null"}]}
    if strict and out.get("type") == "object" and "properties" in out:
        out.setdefault("additionalProperties", False)
    return out


@functools.cache
def _definitions(*, strict: bool) -> dict[str, Any]:
    resolved: dict[str, Any] = _nullable(copy.deepcopy(spec()["definitions"]), strict=strict)
    return resolved


def _template_regex(template: str) -> re.Pattern[str]:
    parts = [re.escape(p) if not p.startswith("{") else "[^/]+" for p in template.split("/")]
    return re.compile("^" + "/".join(parts) + "$")


@functools.cache
def _templates() -> list[tuple[re.Pattern[str], str]]:
    # Literal segments win over parameters (``/registries/ping`` vs ``/registries/{id}``).
    items = sorted(spec()["paths"], key=lambda t: (t.count("{"), -len(t)))
    return [(_template_regex(t), t) for t in items]


def operation(method: str, path: str) -> tuple[str, dict[str, Any]]:
    """Find ``(template, operation)`` for a raw (still percent-encoded) request path."""
    rel = path.removeprefix(BASE_PATH)
    if rel == path:
        raise SpecViolation(f"{path} is not under {BASE_PATH}")
    for rx, template in _templates():
        if rx.match(rel):
            op = spec()["paths"][template].get(method.lower())
            if op is None:
                raise SpecViolation(f"{method} not allowed on {template}")
            return template, op
    raise SpecViolation(f"no path in the spec matches {rel}")


def _resolve_param(p: dict[str, Any]) -> dict[str, Any]:
    if "$ref" in p:
        param: dict[str, Any] = spec()["parameters"][p["$ref"].rsplit("/", 1)[-1]]
        return param
    return p


def _params(template: str, op: dict[str, Any]) -> list[dict[str, Any]]:
    shared = spec()["paths"][template].get("parameters", [])
    return [_resolve_param(p) for p in [*shared, *op.get("parameters", [])]]


def _check(instance: Any, schema: dict[str, Any], *, strict: bool, where: str) -> None:
    root = {**schema, "definitions": _definitions(strict=strict)}
    root = {**_nullable(root, strict=strict), "definitions": _definitions(strict=strict)}
    try:
        jsonschema.Draft4Validator(root).validate(instance)
    except jsonschema.ValidationError as exc:
        raise SpecViolation(f"{where}: {exc.message} at {list(exc.absolute_path)}") from exc


def validate_response(
    method: str, path: str, status: int, body: Any, *, strict: bool = True
) -> str:
    """Check ``body`` against the spec's schema for that status; return the template."""
    template, op = operation(method, urlsplit(path).path)
    responses = op.get("responses", {})
    resp = responses.get(str(status)) or responses.get(status) or responses.get("default")
    if resp is None:
        raise SpecViolation(f"{method} {template}: status {status} is not documented")
    if "$ref" in resp:
        resp = spec()["responses"][resp["$ref"].rsplit("/", 1)[-1]]
    schema = resp.get("schema")
    if schema is not None:
        _check(body, schema, strict=strict, where=f"{method} {template} -> {status}")
    return template


def _coerce(value: str, param: dict[str, Any], where: str) -> None:
    kind = param.get("type")
    try:
        if kind == "integer":
            number = int(value)
            if "maximum" in param and number > param["maximum"]:
                raise SpecViolation(f"{where}: {param['name']}={value} exceeds {param['maximum']}")
            if "minimum" in param and number < param["minimum"]:
                raise SpecViolation(f"{where}: {param['name']}={value} below {param['minimum']}")
        elif kind == "boolean" and value not in {"true", "false"}:
            raise SpecViolation(f"{where}: {param['name']}={value} is not a boolean")
    except ValueError as exc:
        raise SpecViolation(f"{where}: {param['name']}={value} is not an integer") from exc
    if "enum" in param and value not in [str(v) for v in param["enum"]]:
        raise SpecViolation(f"{where}: {param['name']}={value} not in {param['enum']}")


def validate_request(method: str, url: str, body: Any = None) -> str:
    """Check a request syncd sends against the spec; return the matched template."""
    parts = urlsplit(url)
    template, op = operation(method, parts.path)
    where = f"{method} {template}"
    params = _params(template, op)
    query = {p["name"]: p for p in params if p.get("in") == "query"}
    for name, value in parse_qsl(parts.query, keep_blank_values=True):
        if name not in query:
            raise SpecViolation(f"{where}: query parameter {name!r} is not in the spec")
        _coerce(value, query[name], where)
    body_params = [p for p in params if p.get("in") == "body"]
    if body is not None:
        if not body_params:
            raise SpecViolation(f"{where}: sends a body the spec does not take")
        _check(body, body_params[0]["schema"], strict=False, where=f"{where} body")
    elif any(p.get("required") for p in body_params):
        raise SpecViolation(f"{where}: required body missing")
    return template


def validate_error_body(body: Any, *, where: str) -> None:
    """Check an error body against the spec's ``Errors`` definition.

    For statuses Harbor returns but the spec does not list (404/412 on starting an execution).
    """
    _check(body, {"$ref": "#/definitions/Errors"}, strict=True, where=where)
