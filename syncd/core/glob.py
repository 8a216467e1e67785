r"""The doublestar v1.3.4 glob matcher Harbor uses for replication name and tag filters.

Pure: stdlib only; no I/O, no logging. ``syncd.core.filters`` combines filters with it.

The matcher compiles a glob into one anchored regex (cached). Semantics of doublestar v1.3.4
(``Match``): ``/`` separates components; ``*`` and ``?`` never cross it; a component that is
exactly ``**`` matches one or more trailing components at the end of a pattern (so ``a/**``
does not match ``a``) and zero or more components elsewhere; ``**`` inside a component acts
like ``*``, and so does a ``**`` that a ``{}`` group produces in its own component
(``{**,x}/y``); a component ending in 3+ stars needs at least one character; ``[a-z]``
classes negate with ``^`` only (``[!x]`` is the class ``!``/``x`` in v1, unlike v2, shells
and wcmatch); ``{a,b}`` alternatives nest, may contain ``/`` and ``{a}`` is a group too;
``\`` escapes; matching is anchored and case-sensitive. Harbor's empty pattern matches all.

Known divergences, all on patterns nobody writes for registries (the first is tested):
* A malformed pattern (unclosed ``[``/``{``, empty class, dangling ``\``) never matches;
  doublestar reports the error only when its scan reaches the bad part, and Harbor then fails.
* A ``*`` directly followed by a ``{}`` group that can expand to nothing at the end of a
  component (``a*{,x}``): doublestar never matches there, we treat it as ``a*`` | ``a*x``.
Names containing ``\`` are out of scope: Harbor repository names and tags cannot hold one.
"""

from __future__ import annotations

import re
from functools import lru_cache

__all__ = ["glob_match"]

_NEVER = "(?!)"
_MAX_EXPANSIONS = 4096
_MIN_NONEMPTY_STAR_RUN = 3


class _BadPatternError(ValueError):
    """A malformed glob; Harbor's doublestar returns ErrBadPattern."""


def glob_match(pattern: str, text: str) -> bool:
    """Whether ``text`` matches the Harbor filter ``pattern`` (empty pattern matches all)."""
    if not pattern:
        return True
    compiled = _compile(pattern)
    return compiled is not None and compiled.fullmatch(text) is not None


@lru_cache(maxsize=1024)
def _compile(pattern: str) -> re.Pattern[str] | None:
    try:
        alternatives = _expand(pattern)
        regex = "|".join(f"(?:{_translate(alt)})" for alt in alternatives)
        return re.compile(regex, re.DOTALL)
    except _BadPatternError:
        return None


def _find_unescaped(text: str, char: str, start: int = 0) -> int:
    """Index of ``char`` not preceded by a backslash (doublestar's indexRuneWithEscaping)."""
    idx = text.find(char, start)
    while idx > 0 and text[idx - 1] == "\\":
        idx = text.find(char, idx + 1)
    return idx


def _last_unescaped_slash(text: str) -> int:
    idx = text.rfind("/")
    while idx > 0 and text[idx - 1] == "\\":
        idx = text.rfind("/", 0, idx - 1)
    return idx


def _split_alternatives(text: str, start: int) -> tuple[list[str], int]:
    """Split the options of the group opened just before ``start``; return them and the end."""
    options: list[str] = []
    depth, escaped, begin, idx = 1, False, start, start
    while depth:
        if idx >= len(text):
            raise _BadPatternError(text)
        char = text[idx]
        if escaped:
            escaped = False
        elif char == "\\":
            escaped = True
        elif char in "{}":
            depth += 1 if char == "{" else -1
        elif char == "," and depth == 1:
            options.append(text[begin:idx])
            begin = idx + 1
        idx += 1
    options.append(text[begin : idx - 1])
    return options, idx


def _first_brace(pattern: str) -> int:
    """Index of the first unescaped ``{`` (escape pairs consumed left to right), or -1."""
    idx = 0
    while idx < len(pattern):
        if pattern[idx] == "\\":
            idx += 2
            continue
        if pattern[idx] == "{":
            return idx
        idx += 1
    return -1


def _expand(pattern: str) -> list[str]:
    """Expand brace groups textually, as doublestar substitutes each option into the rest."""
    brace = _first_brace(pattern)
    if brace < 0:
        return [pattern]
    options, end = _split_alternatives(pattern, brace + 1)
    head, tail = pattern[:brace], pattern[end:]
    component_start = _last_unescaped_slash(head) + 1
    results: list[str] = []
    for option in options:
        expanded = head + option + tail
        # The component holding the brace is matched by matchComponent: ``**`` there is a star.
        stop = _find_unescaped(expanded, "/", component_start)
        stop = len(expanded) if stop < 0 else stop
        if expanded[component_start:stop] == "**":
            expanded = expanded[:component_start] + "*" + expanded[stop:]
        results.extend(_expand(expanded))
        if len(results) > _MAX_EXPANSIONS:
            raise _BadPatternError(pattern)
    return results


def _split_components(pattern: str) -> list[str]:
    components: list[str] = []
    start = 0
    while (idx := _find_unescaped(pattern, "/", start)) >= 0:
        components.append(pattern[start:idx])
        start = idx + 1
    components.append(pattern[start:])
    return components


def _translate(pattern: str) -> str:
    """Regex for one brace-free pattern, component by component."""
    components = _split_components(pattern)
    out: list[str] = []
    after_globstar = False
    for idx, component in enumerate(components):
        last = idx == len(components) - 1
        separator = "/" if idx > 0 and not after_globstar else ""
        if component == "**":
            # Trailing ``**`` needs at least one more component; a leading/middle one may be empty.
            out.append(separator + ".*" if last else separator + "(?:[^/]*/)*")
            after_globstar = not last
            continue
        out.append(separator + _translate_component(component))
        after_globstar = False
    return "".join(out)


def _translate_component(component: str) -> str:
    out: list[str] = []
    idx = 0
    while idx < len(component):
        char = component[idx]
        if char == "*":
            run_end = idx
            while run_end < len(component) and component[run_end] == "*":
                run_end += 1
            # doublestar: a final run of 3+ stars cannot match empty (isZeroLengthPattern).
            out.append(
                "[^/]+"
                if run_end == len(component) and run_end - idx >= _MIN_NONEMPTY_STAR_RUN
                else "[^/]*"
            )
            idx = run_end
        elif char == "?":
            out.append("[^/]")
            idx += 1
        elif char == "[":
            fragment, idx = _translate_class(component, idx + 1)
            out.append(fragment)
        elif char == "\\":
            if idx + 1 >= len(component):
                raise _BadPatternError(component)
            out.append(_literal(component[idx + 1]))
            idx += 2
        else:
            out.append(_literal(char))
            idx += 1
    return "".join(out)


def _literal(char: str) -> str:
    # An escaped '/' stays inside one component, where no name component can contain it.
    return _NEVER if char == "/" else re.escape(char)


def _translate_class(component: str, start: int) -> tuple[str, int]:
    end = _find_unescaped(component, "]", start)
    if end < 0 or end == start:
        raise _BadPatternError(component)
    body = component[start:end]
    negated = body.startswith("^")
    ranges = _class_ranges(body[1:] if negated else body)
    items = "".join(f"\\U{ord(lo):08x}-\\U{ord(hi):08x}" for lo, hi in ranges if lo <= hi)
    if negated:
        return f"[^/{items}]", end + 1
    return (f"(?!/)[{items}]" if items else _NEVER), end + 1


def _class_ranges(body: str) -> list[tuple[str, str]]:
    """Parse ``lo`` / ``lo-hi`` items with escapes, rejecting what doublestar rejects."""
    ranges: list[tuple[str, str]] = []
    idx = 0
    while idx < len(body):
        low, idx = _class_char(body, idx)
        high = low
        if idx < len(body) and body[idx] == "-":
            high, idx = _class_char(body, idx + 1)
        ranges.append((low, high))
    return ranges


def _class_char(body: str, idx: int) -> tuple[str, int]:
    if idx >= len(body) or body[idx] == "-":
        raise _BadPatternError(body)
    if body[idx] != "\\":
        return body[idx], idx + 1
    if idx + 1 >= len(body):
        raise _BadPatternError(body)
    return body[idx + 1], idx + 2
