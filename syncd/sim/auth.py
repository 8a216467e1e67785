"""Who is calling and what they may do: users, ``robot$`` accounts, Harbor's RBAC outcomes.

Harbor's security generators return nothing on a failed login, so the request proceeds as an
anonymous one; permission checks then give 401 where anonymous is not enough
(``src/server/v2.0/handler/base.go`` RequireProjectAccess / RequireSystemAccess).

Roles modelled: a system administrator (a user in ``admins``), a robot with system and
all-project permissions (any robot not listed in ``members``), a plain user or a project-only
robot (member of the projects ``members`` lists for it), and anonymous.
"""

from __future__ import annotations

import base64
import binascii
import hmac
from dataclasses import dataclass
from typing import TYPE_CHECKING

from syncd.sim.catalog import SimError

if TYPE_CHECKING:
    from collections.abc import Iterable, Mapping

__all__ = ["ANONYMOUS", "Principal", "authenticate", "require_login", "require_system"]

ROBOT_PREFIX = "robot$"


@dataclass(frozen=True, slots=True)
class Principal:
    """The caller and its permissions."""

    name: str
    kind: str
    """``user`` | ``robot`` | ``anonymous``."""
    system: bool = False
    """System administrator or system robot: every project and every system resource."""
    projects: frozenset[str] = frozenset()
    """Projects the caller is a member of (beyond public ones, which anyone may read)."""

    @property
    def authenticated(self) -> bool:
        """Whether the credentials were accepted."""
        return self.kind != "anonymous"

    def can(self, project: str | None, *, public: bool, write: bool) -> bool:
        """Harbor's project permission; a missing project (None) is project id 0.

        Only a system administrator passes there: a robot's project evaluator looks the
        project up first (``src/common/security/robot/context.go``) and denies on the miss.
        """
        if project is None:
            return self.system and self.kind == "user"
        return self.system or project in self.projects or (public and not write)


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


def authenticate(
    header: str | None,
    *,
    users: Mapping[str, str],
    robots: Mapping[str, str],
    admins: Iterable[str] = ("admin",),
    members: Mapping[str, Iterable[str]] | None = None,
) -> Principal:
    """Return the principal of an ``Authorization`` header (anonymous when absent or wrong)."""
    creds = _decode(header)
    if creds is None:
        return ANONYMOUS
    user, secret = creds
    member_of = members or {}
    if user.startswith(ROBOT_PREFIX):
        short = user.removeprefix(ROBOT_PREFIX)
        expected, kind, system = robots.get(short), "robot", short not in member_of
        projects = frozenset(member_of.get(short, ()))
    else:
        expected, kind, system = users.get(user), "user", user in set(admins)
        projects = frozenset(member_of.get(user, ()))
    if expected is None or not hmac.compare_digest(expected.encode(), secret.encode()):
        return ANONYMOUS
    return Principal(user, kind, system=system, projects=projects)


def require_login(principal: Principal) -> None:
    """Permission-guarded endpoints: anonymous callers get 401."""
    if not principal.authenticated:
        raise SimError(401, "UNAUTHORIZED", "UnAuthorized")


def require_system(principal: Principal) -> None:
    """System resources (policies, registries, executions): 401 anonymous, 403 non-admins."""
    require_login(principal)
    if not principal.system:
        raise SimError(403, "FORBIDDEN", principal.name)
