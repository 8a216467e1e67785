"""The live objects of one configuration (clients, store, pass dependencies) and the wall clock.

``syncd.wiring`` builds a ``Runtime`` from ``Settings``; the daemon receives that builder as a
``RuntimeFactory`` so that it can rebuild on SIGHUP without depending on the composition root.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Protocol

if TYPE_CHECKING:
    from collections.abc import Callable

    from syncd.engine.leader import Leadership
    from syncd.engine.reconcile import Deps
    from syncd.harbor.client import HarborClient, RequestRecord
    from syncd.settings import Settings
    from syncd.store import Store

__all__ = ["Runtime", "RuntimeFactory", "utcnow"]


def utcnow() -> datetime:
    """Read the one wall clock syncd uses; everything else receives it injected."""
    return datetime.now(UTC)


@dataclass
class Runtime:
    """Live objects for one configuration; ``close()`` releases them."""

    settings: Settings
    clients: dict[str, HarborClient]
    store: Store
    deps: Deps
    leader: Leadership
    """The election (PostgreSQL state) or ``Solo`` (SQLite: this process always leads)."""

    def close(self) -> None:
        """Give up the leader lock, close every client and the state store."""
        self.leader.close()
        for client in self.clients.values():
            client.close()
        self.store.close()


class RuntimeFactory(Protocol):
    """Builds a ``Runtime`` for a configuration (``syncd.wiring.build_runtime``)."""

    def __call__(
        self,
        settings: Settings,
        *,
        on_request: Callable[[RequestRecord], None] | None = None,
        now: Callable[[], datetime] = ...,
    ) -> Runtime:
        """Return the live objects for ``settings``."""
        ...
