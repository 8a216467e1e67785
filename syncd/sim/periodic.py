"""What one simulated Harbor does on its own clock: cron schedules and registry health checks.

Scheduled policies fire on their UTC 6-field cron. Registry endpoints are pinged every
``SimTiming.registry_refresh`` seconds and their ``status`` set to ``healthy``/``unhealthy``,
like core's regular health check (``src/controller/registry/controller.go``, every 5 minutes).
"""

from __future__ import annotations

import threading
from datetime import UTC, datetime
from typing import TYPE_CHECKING

from syncd.sim import peer
from syncd.sim.policy import cron_matches

if TYPE_CHECKING:
    from syncd.sim.engine import Engine
    from syncd.sim.state import SimState

__all__ = ["Periodic", "refresh_registries"]


def refresh_registries(state: SimState) -> None:
    """Ping every registry endpoint now and record ``healthy`` or ``unhealthy``."""
    with state.lock:
        registries = list(state.registries.values())
    for reg in registries:
        up = peer.ping(peer.Endpoint(reg.url, reg.access_key, reg.access_secret))
        with state.lock:
            reg.status = "healthy" if up else "unhealthy"


class Periodic:
    """Two daemon threads, stopped by the engine's ``closing`` event."""

    def __init__(self, engine: Engine, *, closing: threading.Event) -> None:
        self._engine, self._closing = engine, closing
        self._threads = [
            threading.Thread(target=self._cron_loop, daemon=True, name="sim-cron"),
            threading.Thread(target=self._health_loop, daemon=True, name="sim-health"),
        ]
        for thread in self._threads:
            thread.start()

    def join(self) -> None:
        """Wait for both loops to notice ``closing``."""
        for thread in self._threads:
            thread.join()

    def _cron_loop(self) -> None:
        last = int(datetime.now(UTC).timestamp())
        while not self._closing.wait(1 - datetime.now(UTC).timestamp() % 1):
            now = int(datetime.now(UTC).timestamp())
            for second in range(last + 1, now + 1):
                self.tick(datetime.fromtimestamp(second, UTC))
            last = max(last, now)

    def _health_loop(self) -> None:
        while not self._closing.wait(self._engine.timing.registry_refresh):
            refresh_registries(self._engine.state)

    def tick(self, when: datetime) -> None:
        """Start the scheduled policies whose cron fires at second ``when``."""
        state = self._engine.state
        with state.lock:
            due = [
                p
                for p in state.policies.values()
                if p.enabled and p.trigger == "scheduled" and cron_matches(p.cron, when)
            ]
        for policy in due:
            self._engine.start(policy, "scheduled")
