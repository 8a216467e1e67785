"""Who is calling: HTTP basic for users and ``robot$`` accounts; bad credentials are anonymous.

Harbor's security generators return nothing on a failed login, so the request proceeds as an
anonymous one; permission checks then give 401 where anonymous is not enough.
"""

from __future__ import annotations

import base64
import binascii
import hmac
from dataclasses import dataclass

from syncd.sim.catalog import SimError

__all__ = ["ANONYMOUS", "Principal", "authenticate", "require_login"]

ROBOT_PREFIX = "robot$"


@dataclass(frozen=True, slots=True)
class Principal:
    """The caller; every authenticated principal is treated as a system administrator."""

    name: str
    kind: str
    """``user`` | ``robot`` | ``anonymous``."""

    @property
    def authenticated(self) -> bool:
        """Whether the credentials were accepted."""
        return self.kind != "anonymous"


ANONYMOUS = Principal("anonymous", "anonymous")


def _decode(header: str | None) -> tuple[str, str] | None:
    if not header or not header.lower().startswith("basic "):
        return None
    try:
        raw = base64.b64decode(header[6:].strip(), validate=True).decode()
    except (binascii.Error, UnicodeDecodeError):
        return None
    user, sep, secret = raw.partition(":")
    return (user, secret) if sep else None


def authenticate(header: str | None, *, users: dict[str, str], robots: dict[str, str]) -> Principal:
    """Return the principal of an ``Authorization`` header (anonymous when absent or wrong)."""
    creds = _decode(header)
    if creds is None:
        return ANONYMOUS
    user, secret = creds
    if user.startswith(ROBOT_PREFIX):
        expected = robots.get(user.removeprefix(ROBOT_PREFIX))
        kind = "robot"
    else:
        expected = users.get(user)
        kind = "user"
    if expected is None or not hmac.compare_digest(expected.encode(), secret.encode()):
        return ANONYMOUS
    return Principal(user, kind)


def require_login(principal: Principal) -> None:
    """Permission-guarded endpoints: anonymous callers get 401."""
    if not principal.authenticated:
        raise SimError(401, "UNAUTHORIZED", "UnAuthorized")
