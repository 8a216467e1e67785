"""Fixtures of the fault suite: a rig of two simulators behind fault-injecting proxies.

At teardown no simulator handler crashed, and no DELETE ever reached a simulator.
"""

from __future__ import annotations

import contextlib
from typing import TYPE_CHECKING, Any

import pytest

from syncd.sim import SimCluster
from tests.faults.faultkit import Rig, link
from tests.faults.faultproxy import FaultProxy

if TYPE_CHECKING:
    import ssl
    from collections.abc import Callable, Iterator
    from pathlib import Path


@pytest.fixture
def make_rig(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> Iterator[Callable[..., Rig]]:
    """Return a builder of the rig; ``tls_a`` puts TLS (that context) on ``a``'s proxy."""
    stack = contextlib.ExitStack()
    built: list[Rig] = []

    def build(*, tls_a: ssl.SSLContext | None = None, with_c: bool = False, **config: Any) -> Rig:
        cluster = stack.enter_context(SimCluster())
        a, b = cluster.add("a"), cluster.add("b")
        pa = stack.enter_context(FaultProxy(a.url, tls=tls_a))
        pb = stack.enter_context(FaultProxy(b.url))
        for inst in (a, b):
            inst.create_project("library")
        rig = Rig(
            a=a,
            b=b,
            pa=pa,
            pb=pb,
            a_to_b=link(a, pb, "b"),
            b_to_a=link(b, pa, "a"),
            config=tmp_path / "syncd.yaml",
            state=tmp_path / "state.sqlite3",
            capsys=capsys,
        )
        if with_c:
            rig.c = cluster.add("c")
            rig.c.create_project("library")
            rig.pc = stack.enter_context(FaultProxy(rig.c.url))
            link(b, rig.pc, "c")
        rig.write_config(**config)
        built.append(rig)
        return rig

    with stack:
        yield build
    for rig in built:
        for inst in rig.sims.values():
            assert inst.errors == []
            assert all(method != "DELETE" for method, _path, _status in inst.request_log)


@pytest.fixture
def rig(make_rig: Callable[..., Rig]) -> Rig:
    """Build a rig with default settings (trigger mode, no deletions)."""
    return make_rig()
