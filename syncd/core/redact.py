"""Secret redaction as pure string and value functions, shared by logs, errors and settings.

Owns what counts as a secret: values of secret-looking keys (``password``, ``*_token``, any
case), ``Basic``/``Bearer`` credentials and ``user:pass@`` URL userinfo inside strings, and any
exact secret value a caller knows. The structlog processor (``syncd.service.logs``), the CLI's
one-line errors and the settings' messages all mask through here, so they cannot disagree.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from typing import Any

__all__ = ["MASK", "Scrubber", "is_secret_key", "redact_text"]

MASK = "**********"

_SECRET_KEYS = frozenset(
    {
        "password",
        "passwd",
        "secret",
        "token",
        "authorization",
        "access_secret",
        "webhook_secret",
        "api_key",
        "apikey",
        "cookie",
        "set_cookie",
        "credential",
        "credentials",
        "private_key",
    }
)
_SECRET_SUFFIXES = ("_password", "_secret", "_token", "_authorization", "_api_key", "_cookie")
_AUTH_SCHEME = re.compile(r"\b(Basic|Bearer)\s+[A-Za-z0-9._~+/=-]+", re.IGNORECASE)
_URL_USERINFO = re.compile(r"(?P<scheme>[A-Za-z][A-Za-z0-9+.-]*://)[^/\s@]+@")


def is_secret_key(key: object) -> bool:
    """Whether a mapping key names a secret (``password``, ``*_token``, ...), any case."""
    if not isinstance(key, str):
        return False
    norm = key.lower().replace("-", "_")
    return norm in _SECRET_KEYS or norm.endswith(_SECRET_SUFFIXES)


class Scrubber:
    """Masks secrets by key, by credential pattern and by exact value."""

    def __init__(self, *, secrets: Iterable[str] = ()) -> None:
        # Longest first so a secret containing another is masked whole.
        self._values = sorted({s for s in secrets if s}, key=len, reverse=True)

    def value(self, key: object, value: Any) -> Any:
        """Return ``value`` masked if ``key`` names a secret, else with its strings scrubbed."""
        if is_secret_key(key) and value is not None:
            return MASK
        if isinstance(value, str):
            return self.scrub(value)
        if isinstance(value, Mapping):
            return {k: self.value(k, v) for k, v in value.items()}
        if isinstance(value, list | tuple | set | frozenset):
            return [self.value(None, v) for v in value]
        return value

    def scrub(self, text: str) -> str:
        """Return ``text`` with known secret values, auth credentials and URL userinfo masked."""
        for secret in self._values:
            text = text.replace(secret, MASK)
        text = _AUTH_SCHEME.sub(lambda m: f"{m.group(1)} {MASK}", text)
        return _URL_USERINFO.sub(lambda m: f"{m.group('scheme')}{MASK}@", text)


def redact_text(text: str, *, secrets: Iterable[str] = ()) -> str:
    """Mask secrets in one string exactly as log events are masked (the CLI's error line)."""
    return Scrubber(secrets=secrets).scrub(text)
