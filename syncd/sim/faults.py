"""Scenario knobs of one instance: outages, latency, random 5xx, proxy 429s, hangs, health.

Owns only the switches and the decision "does this request fail, and how"; the HTTP layer asks.
"""

from __future__ import annotations

import random
import threading
from dataclasses import dataclass, field

__all__ = ["COMPONENTS", "DOWN_MODES", "Faults", "Injected"]

COMPONENTS = ("core", "database", "jobservice", "portal", "redis", "registry", "registryctl")
DOWN_MODES = ("up", "refuse", "503")


@dataclass(frozen=True, slots=True)
class Injected:
    """An injected failure: status, Harbor error code, message and extra headers."""

    status: int
    code: str
    message: str
    headers: tuple[tuple[str, str], ...] = ()


@dataclass
class Faults:
    """Mutable fault switches, safe to flip from any thread."""

    down: str = "up"
    latency: float = 0.0
    failure_rate: float = 0.0
    rate_limit_left: int = 0
    retry_after: int = 1
    hangs: dict[int | None, bool] = field(default_factory=dict)
    """policy id (None = every policy) -> stop_ignored."""
    unhealthy: set[str] = field(default_factory=set)
    storage_lost: bool = False
    rng: random.Random = field(default_factory=random.Random)
    lock: threading.Lock = field(default_factory=threading.Lock)

    def for_api(self) -> Injected | None:
        """Pick the failure an ``/api/v2.0`` request gets, if any (429 first, like a proxy)."""
        with self.lock:
            if self.rate_limit_left > 0:
                self.rate_limit_left -= 1
                return Injected(
                    429,
                    "TOO_MANY_REQUEST",
                    "too many requests",
                    (("Retry-After", str(self.retry_after)),),
                )
            if self.down == "503":
                return Injected(503, "SERVICE_UNAVAILABLE", "internal server error")
            if self.failure_rate and self.rng.random() < self.failure_rate:
                return Injected(500, "UNKNOWN", "internal server error")
        return None

    def for_data_plane(self) -> Injected | None:
        """Replication traffic into this instance fails while it answers 503."""
        if self.down == "503":
            return Injected(503, "SERVICE_UNAVAILABLE", "internal server error")
        return None

    def hang_for(self, policy_id: int) -> bool | None:
        """None if executions of the policy run normally, else whether stop is ignored."""
        with self.lock:
            if policy_id in self.hangs:
                return self.hangs[policy_id]
            return self.hangs.get(None)

    def set_hang(self, policy_id: int | None, *, on: bool, stop_ignored: bool) -> None:
        """Make new executions of one policy (or all) hang, or stop doing so."""
        with self.lock:
            if on:
                self.hangs[policy_id] = stop_ignored
            else:
                self.hangs.pop(policy_id, None)
