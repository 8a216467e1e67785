"""Peak RSS per phase of one pass, from inside the pass process (Linux ``clear_refs``).

Owns marking where a pass moves on (its first cached-catalog load, the listing, the first base
load = assessing, the first catalog save = persisting) through wrappers on the store object and
``syncd.engine.observe.observe_all``, and the resident-set high-water mark of each phase: at
each mark ``VmHWM`` is read and then reset to the current RSS by writing ``5`` to
``/proc/self/clear_refs``. Where that file is missing (not Linux) no phase is reported.
"""

from __future__ import annotations

import functools
from pathlib import Path
from typing import TYPE_CHECKING, Any

from syncd.engine import observe

if TYPE_CHECKING:
    from collections.abc import Callable

    from syncd.store import Store

__all__ = ["PhaseProbe"]

_STATUS = Path("/proc/self/status")
_CLEAR_REFS = Path("/proc/self/clear_refs")
_MARKS = (
    ("load_catalog", "load cache"),
    ("load_base", "assess"),
    ("save_catalog", "persist"),
)
"""Store methods whose first call starts a phase (the listing starts at ``observe_all``)."""


def _hwm() -> int:
    for line in _STATUS.read_text(encoding="ascii").splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1]) * 1024
    return 0


class PhaseProbe:
    """Records ``{phase: peak RSS bytes}`` in the order the phases began."""

    def __init__(self) -> None:
        self.peaks: dict[str, int] = {}
        self._phase = "start"
        self._seen: set[str] = set()
        self._enabled = _CLEAR_REFS.exists()
        self._observe_all: Callable[..., Any] | None = None

    def mark(self, phase: str) -> None:
        """End the current phase (its peak) and start ``phase`` from the current RSS."""
        if not self._enabled or phase in self._seen:
            return
        self._seen.add(phase)
        self.peaks[self._phase] = max(self.peaks.get(self._phase, 0), _hwm())
        _CLEAR_REFS.write_text("5", encoding="ascii")
        self._phase = phase

    def restart(self) -> None:
        """Forget the phases so far and reset the high-water mark (a second pass follows)."""
        self.peaks, self._phase, self._seen = {}, "start", set()
        if self._enabled:
            _CLEAR_REFS.write_text("5", encoding="ascii")

    def finish(self) -> dict[str, int]:
        """Close the last phase; return the peaks."""
        self.mark("end")
        self.peaks.pop("end", None)
        return self.peaks

    def wrap_store(self, store: Store) -> None:
        """Mark phases at the store's first catalog load, base load and catalog save."""
        for method, phase in _MARKS:
            setattr(store, method, self._marking(getattr(store, method), phase))

    def install(self) -> None:
        """Mark the listing phase at ``observe_all`` (the bench process only)."""
        self._observe_all = observe.observe_all
        observe.observe_all = self._marking(observe.observe_all, "list")

    def uninstall(self) -> None:
        """Restore ``observe_all``."""
        if self._observe_all is not None:
            observe.observe_all = self._observe_all

    def _marking(self, fn: Callable[..., Any], phase: str) -> Callable[..., Any]:
        @functools.wraps(fn)
        def marked(*args: Any, **kwargs: Any) -> Any:
            self.mark(phase)
            return fn(*args, **kwargs)

        return marked
