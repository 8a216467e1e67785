"""Watching one replication execution until it ends or its deadline passes (executor and repairer).

A failed poll is logged and the watch goes on: one lost GET must not make syncd give up on an
execution it started (and then start another). The deadline is the caller's execution timeout;
what happens to an execution still running then (stop, report as hung) is the caller's call.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import structlog

from syncd.errors import HarborError

if TYPE_CHECKING:
    from collections.abc import Callable

    from syncd.core.model import Execution
    from syncd.harbor.client import HarborClient

__all__ = ["watch_execution"]

log = structlog.get_logger("syncd.engine.watch")


def watch_execution(
    client: HarborClient,
    execution_id: int,
    *,
    timeout: float,
    poll_interval: float,
    monotonic: Callable[[], float],
    wait: Callable[[float], None],
    event: str,
) -> Execution | None:
    """Poll until the execution is terminal or ``timeout`` passed; return its last state seen."""
    deadline = monotonic() + timeout
    last: Execution | None = None
    while True:
        try:
            last = client.get_execution(execution_id)
        except HarborError as exc:
            log.warning(event, instance=client.name, execution_id=execution_id, error=str(exc))
        if (last is not None and last.status.terminal) or monotonic() >= deadline:
            return last
        wait(poll_interval)
