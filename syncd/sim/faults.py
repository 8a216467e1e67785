"""Scenario knobs of one instance: outages, latency, random 5xx, proxy 429s, hangs, health.

Owns only the switches and the decision "does this request fail, and how"; the HTTP layer asks.
Held policy re-enables let a test kill a client between a toggle's disable and its enable.
"""

from __future__ import annotations

import random
import threading
from dataclasses import dataclass, field

__all__ = ["COMPONENTS", "DOWN_MODES", "HOLD_SECONDS", "Faults", "Injected"]

COMPONENTS = ("core", "database", "jobservice", "portal", "redis", "registry", "registryctl")
DOWN_MODES = ("up", "refuse", "503")
HOLD_SECONDS = 30.0
"""Longest a held policy PUT waits for its release before failing anyway."""


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
    copy_failures_left: int = 0
    """How many more copies into this instance fail mid-transfer (after the flow prepared)."""
    enable_release: threading.Event | None = None
    """Set while PUTs that enable a policy are held; set() releases the held ones."""
    enables_held: int = 0
    """How many enabling policy PUTs are waiting right now."""
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

    def for_data_plane(self, *, copy: bool = False) -> Injected | None:
        """Replication traffic into this instance fails while it answers 503 (or a copy fault)."""
        if self.down == "503":
            return Injected(503, "SERVICE_UNAVAILABLE", "internal server error")
        with self.lock:
            if copy and self.copy_failures_left > 0:
                self.copy_failures_left -= 1
                return Injected(500, "UNKNOWN", "copy failed mid-transfer")
        return None

    def fail_copies(self, count: int) -> None:
        """Make the next ``count`` copies into this instance fail (a task's attempt each)."""
        with self.lock:
            self.copy_failures_left = int(count)

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

    def hold_policy_enable(self, on: bool) -> None:  # noqa: FBT001 - like hang_executions
        """Hold every policy PUT whose body has ``enabled: true`` (on), or release them (off)."""
        with self.lock:
            if on and self.enable_release is None:
                self.enable_release = threading.Event()
            elif not on and self.enable_release is not None:
                self.enable_release.set()
                self.enable_release = None

    def held_policy_update(self, body: object) -> Injected | None:
        """Block an enabling policy PUT while held; it then fails, WITHOUT being applied."""
        enabling = isinstance(body, dict) and body.get("enabled") is True
        with self.lock:
            release = self.enable_release if enabling else None
            if release is None:
                return None
            self.enables_held += 1
        release.wait(HOLD_SECONDS)
        with self.lock:
            self.enables_held -= 1
        return Injected(503, "SERVICE_UNAVAILABLE", "policy update held by the simulator")
