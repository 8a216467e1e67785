"""HTTP calls from one simulator to a peer's ``/_sim/`` data plane, with endpoint credentials."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import httpx

__all__ = ["Endpoint", "PeerError", "call", "export", "ping"]

TIMEOUT = httpx.Timeout(30.0, connect=10.0)
"""Generous, as Harbor's job service is with a registry: on a loaded machine (CI runs the suite
on 2 shared cores) a 2 s connect limit failed runs that Harbor, like the simulator, never
retries, and a burst of changes then never converged."""
# One client for every peer call: building an httpx.Client costs ~30 ms of CPU (its TLS
# context), which made each replication call that expensive and, in a burst, starved the
# process. Without keep-alive every call still opens its own connection, so a peer that
# refuses connections fails the call as before.
_CLIENT = httpx.Client(timeout=TIMEOUT, limits=httpx.Limits(max_keepalive_connections=0))


class PeerError(Exception):
    """The peer could not be reached or refused the request."""


@dataclass(frozen=True, slots=True)
class Endpoint:
    """A registry endpoint's URL and basic credentials."""

    url: str
    username: str
    password: str


def _request(endpoint: Endpoint, method: str, command: str, body: Any = None) -> Any:
    url = endpoint.url.rstrip("/") + "/_sim/" + command
    try:
        resp = _CLIENT.request(method, url, json=body, auth=(endpoint.username, endpoint.password))
    except httpx.HTTPError as exc:
        raise PeerError(f"{method} {url}: {exc}") from exc
    if resp.is_error:
        raise PeerError(f"{method} {url}: HTTP {resp.status_code}")
    if resp.headers.get("content-type", "").startswith("text/"):
        return resp.text
    return resp.json() if resp.content else None


def call(endpoint: Endpoint, command: str, body: dict[str, Any]) -> Any:
    """POST a replication command (``replicate-in``/``delete-in``) to the peer."""
    return _request(endpoint, "POST", command, body)


def export(endpoint: Endpoint) -> list[dict[str, Any]]:
    """Fetch the peer's repositories as units, for pull policies."""
    result: list[dict[str, Any]] = _request(endpoint, "GET", "export")
    return result


def ping(endpoint: Endpoint) -> bool:
    """Whether the peer answers its data plane with these credentials."""
    try:
        _request(endpoint, "GET", "export?limit=0")
    except PeerError:
        return False
    return True
