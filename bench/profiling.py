"""Where a pass spends its CPU: cProfile on every thread, summarised by module and by function.

Owns the per-thread profilers (cProfile sees only the thread it was enabled in, and a pass lists
in pool threads) and the summary: self time by module (top 10) and cumulative time by function
(top 15, syncd's own functions). Each profiler clocks its thread's CPU (``time.thread_time``), so
a thread waiting on the network or on a future costs nothing. Profiling slows the pass down, so
a profiled pass is never the measured one.
"""

from __future__ import annotations

import cProfile
import pstats
import re
import sys
import threading
import time
from collections import Counter
from pathlib import Path
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from collections.abc import Callable

__all__ = ["ThreadProfiler", "module_of"]

TOP_MODULES = 10
TOP_FUNCTIONS = 15
_C_METHOD = re.compile(r"of '([\w.]+)' objects")
_C_FUNCTION = re.compile(r"built-in method ([\w.]+)")


def module_of(filename: str, funcname: str) -> str:
    """Name the module a profiled function belongs to (C functions by their type or module)."""
    if filename == "~":
        method = _C_METHOD.search(funcname)
        if method:
            return f"{method[1]} (C)"
        function = _C_FUNCTION.search(funcname)
        if function and "." in function[1]:
            return f"{function[1].rsplit('.', 1)[0]} (C)"
        return "builtins (C)"
    path = Path(filename)
    for root in sorted((Path(p) for p in sys.path if p), key=lambda p: -len(p.parts)):
        if path.is_relative_to(root):
            parts = list(path.relative_to(root).with_suffix("").parts)
            if parts and parts[-1] == "__init__":
                parts.pop()
            return ".".join(parts) or filename
    return filename


class ThreadProfiler:
    """One ``cProfile.Profile`` per thread (the main one and each started during the pass)."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._done: list[cProfile.Profile] = []
        self._main = cProfile.Profile(time.thread_time)
        self._original: Callable[[threading.Thread], None] | None = None

    def install(self) -> None:
        """Profile the calling thread and every thread whose ``run`` starts from now on."""
        original = threading.Thread.run
        self._original = original
        profiler = self

        def run(self: threading.Thread) -> None:
            prof = cProfile.Profile(time.thread_time)
            prof.enable()
            try:
                original(self)
            finally:
                prof.disable()
                with profiler._lock:
                    profiler._done.append(prof)

        threading.Thread.run = run  # type: ignore[method-assign]
        self._main.enable()

    def uninstall(self) -> None:
        """Stop profiling the calling thread and stop wrapping new threads."""
        self._main.disable()
        if self._original is not None:
            threading.Thread.run = self._original  # type: ignore[method-assign,assignment]

    def _stats(self) -> pstats.Stats:
        stats = pstats.Stats(self._main)
        with self._lock:
            for prof in self._done:
                stats.add(prof)
        return stats

    def summary(self) -> dict[str, Any]:
        """Return ``{"total": s, "modules": [[module, self s]], "functions": [[name, cum s]]}``."""
        raw: dict[tuple[str, int, str], tuple[Any, ...]] = self._stats().stats  # type: ignore[attr-defined]
        by_module: Counter[str] = Counter()
        functions: list[tuple[float, str]] = []
        for (filename, line, name), (_cc, _nc, tottime, cumtime, _callers) in raw.items():
            module = module_of(filename, name)
            by_module[module] += tottime
            if module.startswith("syncd."):
                functions.append((cumtime, f"{module}:{line}({name})"))
        functions.sort(reverse=True)
        return {
            "total": sum(by_module.values()),
            "modules": [[m, s] for m, s in by_module.most_common(TOP_MODULES)],
            "functions": [[label, s] for s, label in functions[:TOP_FUNCTIONS]],
        }
