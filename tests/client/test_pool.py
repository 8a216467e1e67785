"""SharedPool: one reused pool per instance; maps keep order, nest without deadlock, stay small."""

from __future__ import annotations

import threading

import pytest
from hypothesis import given
from hypothesis import strategies as st

from syncd.harbor.pool import SharedPool


@given(items=st.lists(st.integers(), max_size=40), workers=st.integers(1, 4))
def test_map_equals_list_comprehension(items, workers):
    """A map returns ``[fn(i) for i in items]`` in order, whatever the pool size."""
    pool = SharedPool(workers, name="t")
    try:
        assert pool.map(lambda i: i * 3, items) == [i * 3 for i in items]
    finally:
        pool.close()


def _names() -> set[str]:
    return {t.name for t in threading.enumerate() if t.name.startswith("harbor-nest")}


@pytest.mark.timeout(30)
def test_nested_maps_complete_on_a_pool_of_one():
    """Maps inside maps inside maps finish even when every worker waits on inner work."""
    pool = SharedPool(1, name="harbor-nest")

    def inner(i: int) -> int:
        return sum(pool.map(lambda j: i * j, range(5)))

    def outer(i: int) -> list[int]:
        return pool.map(inner, range(i, i + 4))

    try:
        for _ in range(10):
            assert pool.map(outer, range(6)) == [
                [sum(k * j for j in range(5)) for k in range(i, i + 4)] for i in range(6)
            ]
        assert len(_names()) == 1
    finally:
        pool.close()


def test_threads_are_reused_across_maps():
    """Many maps start at most ``workers`` threads in all."""
    started: list[str] = []
    pool = SharedPool(3, name="harbor-reuse")

    def record(i: int) -> int:
        started.append(threading.current_thread().name)
        return i

    try:
        for _ in range(50):
            pool.map(record, range(10))
    finally:
        pool.close()
    workers = {n for n in started if n.startswith("harbor-reuse")}
    assert len(workers) <= 3
    assert len(started) == 500


def test_first_failure_in_item_order_is_raised():
    """A failing item raises from the map; the earliest failing item wins."""
    pool = SharedPool(2, name="fail")

    def fn(i: int) -> int:
        if i in {3, 7}:
            raise ValueError(i)
        return i

    try:
        with pytest.raises(ValueError, match=r"^3$"):
            pool.map(fn, range(10))
        assert pool.map(fn, [0, 1]) == [0, 1]  # the pool survives a failed map
    finally:
        pool.close()


def test_closed_pool_runs_on_the_caller():
    """After close a map still completes, on the calling thread."""
    pool = SharedPool(2, name="closed")
    pool.close()
    assert (
        pool.map(lambda _: threading.current_thread().name, range(3))
        == [threading.current_thread().name] * 3
    )
