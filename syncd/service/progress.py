"""A one-line progress display for long listings, shown only when stderr is a terminal.

Logs get one summary event per snapshot instead (``observe.snapshot_taken``); this is the
human's view while a cold pass lists tens of thousands of repositories.
"""

from __future__ import annotations

import sys
import threading
import time
from typing import TYPE_CHECKING, TextIO

if TYPE_CHECKING:
    from collections.abc import Callable

__all__ = ["TtyProgress"]


class TtyProgress:
    """Callable ``(instance, done, total)``: redraws ``listing <instance>: done/total``."""

    def __init__(
        self,
        *,
        stream: TextIO | None = None,
        min_interval: float = 0.1,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self._stream = stream or sys.stderr
        self._min_interval = min_interval
        self._clock = clock
        # None, not 0.0: the monotonic clock counts from an arbitrary origin (boot on Linux), so
        # "never drawn" must not be a number it could be close to.
        self._last: float | None = None
        self._lock = threading.Lock()

    @classmethod
    def for_terminal(cls, stream: TextIO | None = None) -> TtyProgress | None:
        """Return a display if ``stream`` (default stderr) is a terminal, else None."""
        target = stream or sys.stderr
        return cls(stream=target) if target.isatty() else None

    def __call__(self, instance: str, done: int, total: int) -> None:
        """Redraw at most every ``min_interval`` seconds, and always at the end."""
        with self._lock:
            now = self._clock()
            final = done >= total
            if not final and self._last is not None and now - self._last < self._min_interval:
                return
            self._last = now
            end = "\n" if final else ""
            self._stream.write(f"\r  listing {instance}: {done}/{total} listings{end}")
            self._stream.flush()
