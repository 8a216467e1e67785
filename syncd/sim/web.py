"""Request/response values and a tiny path router shared by the API and the admin surface."""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from syncd.sim.auth import ANONYMOUS, Principal
from syncd.sim.catalog import SimError
from syncd.sim.validate import Params, go_bool, validate

if TYPE_CHECKING:
    from email.message import Message

    from syncd.sim.instance import SimInstance

__all__ = ["Request", "Response", "Router"]


@dataclass
class Request:
    """One decoded request: path segments are percent-decoded once, as Go's router sees them."""

    inst: SimInstance
    method: str
    path: str
    segments: list[str]
    query: dict[str, str]
    headers: Message
    body: bytes = b""
    principal: Principal = ANONYMOUS
    params: dict[str, str] = field(default_factory=dict)

    def json(self) -> Any:
        """Parse the JSON body (400 when it is not JSON)."""
        if not self.body:
            return None
        try:
            return json.loads(self.body)
        except ValueError:
            raise SimError(400, "BAD_REQUEST", "invalid JSON body") from None

    def flag(self, name: str, *, default: bool) -> bool:
        """Read a boolean query parameter the way go-swagger binds it (never an error)."""
        raw = self.query.get(name)
        return default if raw is None else go_bool(raw)


@dataclass
class Response:
    """A response: JSON body (``None`` = empty), ``text`` for text/plain, or ``json_text``."""

    status: int = 200
    body: Any = None
    text: str | None = None
    json_text: str | None = None
    """A body already encoded as JSON (a listing page rendered by ``render``)."""
    headers: dict[str, str] = field(default_factory=dict)
    cookies: list[str] = field(default_factory=list)
    """``Set-Cookie`` values (one header each)."""


Handler = Callable[[Request], Response]


class Router:
    """Routes ``(method, /a/{b}/c)`` patterns over decoded segments."""

    def __init__(self) -> None:
        self._routes: list[tuple[str, list[str], Handler]] = []
        self._params: dict[Handler, Params] = {}

    def include(self, other: Router) -> None:
        """Add every route of another router (after this one's)."""
        self._routes.extend(other._routes)
        self._params.update(other._params)

    def route(
        self, method: str, pattern: str, *, params: Params | None = None
    ) -> Callable[[Handler], Handler]:
        """Register a handler for a method and pattern, with the parameters go-swagger binds."""

        def register(fn: Handler) -> Handler:
            self._routes.append((method, pattern.strip("/").split("/"), fn))
            if params is not None:
                self._params[fn] = params
            return fn

        return register

    @staticmethod
    def _match(pattern: list[str], segments: list[str]) -> dict[str, str] | None:
        if len(pattern) != len(segments):
            return None
        params = {}
        for want, got in zip(pattern, segments, strict=True):
            if want.startswith("{"):
                if not got:
                    return None
                params[want[1:-1]] = got
            elif want != got:
                return None
        return params

    def dispatch(self, req: Request) -> Response:
        """Run the matching handler; 404 for unknown paths, 405 for wrong methods."""
        matches = [
            (method, fn, params)
            for method, pattern, fn in self._routes
            if (params := self._match(pattern, req.segments)) is not None
        ]
        for wanted in (req.method, "GET" if req.method == "HEAD" else ""):
            for method, fn, params in matches:
                if method == wanted:
                    req.params = params
                    validate(self._params.get(fn), query=req.query, body=req.body)
                    return fn(req)
        if matches:
            raise SimError(405, "METHOD_NOT_ALLOWED", f"method {req.method} is not allowed")
        raise SimError(404, "NOT_FOUND", f"path /{'/'.join(req.segments)} was not found")
