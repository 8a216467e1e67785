"""How ``SYNCD_*`` variables map onto settings, cross-field checks, and how errors are told.

Helpers for :mod:`syncd.settings` (which reads the environment; only ``file_instances`` reads a
file, the configuration file, for its instance names):

- A variable with the nested delimiter (``SYNCD_<SECTION>__<FIELD>``) must name a known section;
  a misspelt one (``SYNCD_RECONCIL__MODE``) is an error instead of being silently ignored.
  Variables without ``__`` that name no setting (``SYNCD_CONFIG``) are not settings.
- Instance names: a variable spells the name upper-cased with ``-`` written as ``_`` (shells
  allow no ``-`` in names), so ``SYNCD_INSTANCES__HARBOR_A__URL`` sets instance ``harbor-a``
  when the file defines ``harbor-a``. A name that matches no file instance is taken lower-cased
  as written (``SYNCD_INSTANCES__HQ__URL`` defines ``hq``).
- Validation errors become one line per field naming the field and the offending value
  (never a secret's), with "did you mean" for a misspelt key close to a real one.
"""

from __future__ import annotations

import difflib
import ipaddress
import types
from collections.abc import Collection, Mapping
from typing import TYPE_CHECKING, Any, Union, get_args, get_origin
from urllib.parse import urlsplit

import yaml
from pydantic import BaseModel

from syncd.core.redact import MASK, is_secret_key

if TYPE_CHECKING:
    from pathlib import Path

    from pydantic import ValidationError

__all__ = [
    "describe_errors",
    "file_instances",
    "map_environment",
    "own_listener_problem",
    "unknown_sections",
]

PREFIX = "SYNCD_"
DELIMITER = "__"
_VALUE_LIMIT = 80


def _env_name(instance: str) -> str:
    return instance.upper().replace("-", "_")


def unknown_sections(env: Mapping[str, str], *, sections: Collection[str]) -> list[str]:
    """Problems for ``SYNCD_X__...`` variables whose section ``x`` is not a setting."""
    problems = []
    for key in sorted(env):
        upper = key.upper()
        if not upper.startswith(PREFIX) or DELIMITER not in upper:
            continue
        section = upper.removeprefix(PREFIX).split(DELIMITER, 1)[0].lower()
        if section not in sections:
            hint = _did_you_mean(section, sections)
            problems.append(f"{key}: unknown settings section {section!r}{hint}")
    return problems


def map_environment(env: Mapping[str, str], *, instances: Collection[str]) -> dict[str, str]:
    """Return ``env`` with ``SYNCD_INSTANCES__<NAME>__`` rewritten to the file's instance names."""
    by_env_name = {_env_name(name): name for name in instances}
    head = f"{PREFIX}INSTANCES{DELIMITER}"
    return {_mapped_key(key, head=head, names=by_env_name): value for key, value in env.items()}


def _mapped_key(key: str, *, head: str, names: Mapping[str, str]) -> str:
    upper = key.upper()
    if not upper.startswith(head) or DELIMITER not in upper[len(head) :]:
        return key
    name, rest = upper[len(head) :].split(DELIMITER, 1)
    return f"{head}{names[name]}{DELIMITER}{rest}" if name in names else key


def describe_errors(exc: ValidationError, *, root: type[BaseModel]) -> list[str]:
    """One ``field: problem (got value)`` text per error, with "did you mean" hints."""
    lines = []
    for err in exc.errors(include_url=False):
        loc = tuple(err["loc"])
        path = ".".join(str(part) for part in loc)
        msg = err["msg"].removeprefix("Value error, ")
        msg = msg[:1].lower() + msg[1:]
        if err["type"] == "extra_forbidden":
            msg += _did_you_mean(str(loc[-1]), _known_keys(root, loc[:-1]))
        elif err["type"] not in {"value_error", "missing"}:
            msg += _shown(loc, err.get("input"))
        lines.append(f"{path}: {msg}" if path else msg)
    return lines


def _shown(loc: tuple[Any, ...], value: object) -> str:
    if isinstance(value, Mapping | list | tuple) or value is None:
        return ""
    if loc and is_secret_key(loc[-1]):
        return f" (got {MASK})"
    text = repr(value)
    return f" (got {text[:_VALUE_LIMIT]}{'...' if len(text) > _VALUE_LIMIT else ''})"


def _did_you_mean(word: str, choices: Collection[str]) -> str:
    close = difflib.get_close_matches(word, list(choices), n=1, cutoff=0.75)
    return f"; did you mean {close[0]!r}?" if close else ""


def _known_keys(root: type[BaseModel], parent: tuple[Any, ...]) -> list[str]:
    """Field names of the model at ``parent`` (a path through models and dicts of models)."""
    model: type[BaseModel] | None = root
    parts = list(parent)
    while parts and model is not None:
        field = model.model_fields.get(str(parts.pop(0)))
        if field is None:
            return []
        model, keyed = _model_of(field.annotation)
        if keyed:
            if not parts:
                return []
            parts.pop(0)  # the dict key, e.g. an instance name
    return list(model.model_fields) if model is not None else []


def _model_of(annotation: Any) -> tuple[type[BaseModel] | None, bool]:
    if isinstance(annotation, type) and issubclass(annotation, BaseModel):
        return annotation, False
    origin = get_origin(annotation)
    if origin is dict:
        inner, _ = _model_of(get_args(annotation)[1])
        return inner, True
    if origin in {Union, types.UnionType}:
        for arg in get_args(annotation):
            found = _model_of(arg)
            if found[0] is not None:
                return found
    return None, False


def file_instances(path: Path | None) -> list[str]:
    """Instance names the file defines (for the environment's name mapping); [] if none."""
    if path is None:
        return []
    try:
        data = yaml.safe_load(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, yaml.YAMLError):
        return []  # the YAML source reports the problem itself
    instances = data.get("instances") if isinstance(data, Mapping) else None
    return [str(name) for name in instances] if isinstance(instances, Mapping) else []


def _default_port(scheme: str) -> int:
    return 443 if scheme == "https" else 80


def _is_loopback(host: str) -> bool:
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def own_listener_problem(urls: Mapping[str, str], *, bind: str, port: int) -> str | None:
    """Name the instance whose URL is syncd's own listener (``bind:port``), if one is."""
    wildcard = bind in {"0.0.0.0", "::"}  # noqa: S104 - compared, not bound
    for name, url in urls.items():
        parts = urlsplit(url)
        host = parts.hostname or ""
        if (parts.port or _default_port(parts.scheme)) != port:
            continue
        if host == bind or (_is_loopback(host) and (wildcard or _is_loopback(bind))):
            return (
                f"instances.{name}.url: {url!r} is syncd's own listener "
                f"(http.bind {bind}, http.port {port}); point it at Harbor"
            )
    return None
