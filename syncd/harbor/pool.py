"""One bounded, reused thread pool per Harbor instance, safe for maps nested inside maps.

A pass maps over projects and each project listing maps over its pages. A fresh executor per
listing started a pool of threads per listing (1,634 threads in a cold 200k-tag pass); one
shared executor with plain futures would deadlock as soon as every worker waits on inner work
queued behind it. So a map here is *claimed* item by item: the calling thread runs items
itself alongside the pool's workers, and only ever waits for items some thread is running.
A worker that arrives after the items are gone returns at once.
"""

from __future__ import annotations

import threading
from concurrent.futures import ThreadPoolExecutor
from contextlib import suppress
from typing import TYPE_CHECKING, Generic, TypeVar, cast

if TYPE_CHECKING:
    from collections.abc import Callable, Sequence

__all__ = ["SharedPool"]

T = TypeVar("T")
R = TypeVar("R")


class _Map(Generic[T, R]):
    """One map's items, claimed in order by whichever thread asks next."""

    def __init__(self, fn: Callable[[T], R], items: Sequence[T]) -> None:
        self._fn, self._items = fn, items
        self._lock = threading.Condition()
        self._next = self._finished = 0
        self._results: list[R | None] = [None] * len(items)
        self._errors: dict[int, BaseException] = {}

    def _claim(self) -> int | None:
        with self._lock:
            # After a failure no new item starts: the map raises anyway.
            if self._next >= len(self._items) or self._errors:
                return None
            self._next += 1
            return self._next - 1

    def work(self) -> None:
        """Run unclaimed items until none is left."""
        while (index := self._claim()) is not None:
            try:
                result = self._fn(self._items[index])
            except BaseException as exc:
                with self._lock:
                    self._errors[index] = exc
                    self._finished += 1
                    self._lock.notify_all()
                continue
            with self._lock:
                self._results[index] = result
                self._finished += 1
                self._lock.notify_all()

    def results(self) -> list[R]:
        """Wait for the claimed items; raise the first failure in item order."""
        with self._lock:
            self._lock.wait_for(lambda: self._finished == self._next)
            if self._errors:
                raise self._errors[min(self._errors)]
            return cast("list[R]", self._results)  # every slot is filled when nothing failed


class SharedPool:
    """Up to ``workers`` threads named ``name``-N, started on first use, reused until closed."""

    def __init__(self, workers: int, *, name: str) -> None:
        self._workers, self._name = workers, name
        self._lock = threading.Lock()
        self._executor: ThreadPoolExecutor | None = None
        self._closed = False

    def map(self, fn: Callable[[T], R], items: Sequence[T]) -> list[R]:
        """``[fn(i) for i in items]`` on the caller and the pool's threads, order preserved."""
        job = _Map(fn, items)
        helpers = min(self._workers, len(items) - 1)
        if helpers > 0 and (executor := self._executor_for()) is not None:
            # Closed meanwhile (RuntimeError): the caller runs what the helpers would have.
            with suppress(RuntimeError):
                for _ in range(helpers):
                    executor.submit(job.work)
        job.work()
        return job.results()

    def _executor_for(self) -> ThreadPoolExecutor | None:
        with self._lock:
            if self._executor is None and not self._closed:
                self._executor = ThreadPoolExecutor(
                    max_workers=self._workers, thread_name_prefix=self._name
                )
            return self._executor

    def close(self) -> None:
        """Stop the threads once idle; a later map runs on the calling thread alone."""
        with self._lock:
            executor, self._executor, self._closed = self._executor, None, True
        if executor is not None:
            executor.shutdown(wait=False, cancel_futures=True)
