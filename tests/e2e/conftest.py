"""Fixtures of the end-to-end tests: a dual-master pair of simulated Harbors, configs, CLI runs.

Every simulator a test starts is checked at teardown: no handler crashed, every request syncd
sent conforms to Harbor's spec (method, path template, query parameters), no DELETE was ever
sent (tests requesting ``allow_tag_deletes``: only tag deletions by digest), and every PUT only
toggled a policy or stopped an execution.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import pytest

from syncd.cli import main
from syncd.sim import SimCluster
from tests.e2e.e2ekit import (
    CliRun,
    MakePair,
    Pair,
    RunCli,
    WriteConfig,
    assert_never_destructive,
    assert_spec_conformant,
    quiesce,
    write_config,
)

if TYPE_CHECKING:
    from collections.abc import Iterator, Mapping
    from pathlib import Path


@pytest.fixture
def allow_tag_deletes() -> None:
    """Opt-in for tests that enable deletions: the teardown then accepts tag DELETEs by digest."""


@pytest.fixture
def cluster(request: pytest.FixtureRequest) -> Iterator[SimCluster]:
    """Provide an empty cluster; at teardown no handler crashed and every request met the spec."""
    tag_deletes = "allow_tag_deletes" in request.fixturenames
    with SimCluster() as c:
        yield c
        for inst in c.instances.values():
            assert inst.errors == []
            assert_spec_conformant(inst)
            assert_never_destructive(inst, tag_deletes=tag_deletes)


@pytest.fixture
def make_pair(cluster: SimCluster) -> MakePair:
    """Return a builder of the dual-master pair (policy options as keyword arguments)."""

    def build(**policy_kw: Any) -> Pair:
        a, b = cluster.add("a"), cluster.add("b")
        for inst in (a, b):
            inst.create_project("library")
        a_to_b, b_to_a = cluster.dual_master("a", "b", **policy_kw)
        return Pair(cluster, a, b, a_to_b, b_to_a)

    return build


@pytest.fixture
def pair(make_pair: MakePair) -> Pair:
    """Event-based dual master between ``a`` and ``b``, with default policy options."""
    return make_pair()


@pytest.fixture
def synced(pair: Pair) -> Pair:
    """Push ``library/app:v1`` to ``a`` and let replication copy it to ``b``."""
    pair.a.push("library/app", "v1")
    quiesce(*pair.both)
    assert pair.a.state.tag_map() == pair.b.state.tag_map() != {}
    return pair


@pytest.fixture
def state_path(tmp_path: Path) -> Path:
    """Return the state database of the test's syncd runs."""
    return tmp_path / "state.sqlite3"


@pytest.fixture
def syncd_config(tmp_path: Path, state_path: Path) -> WriteConfig:
    """Return a writer of ``<tmp>/syncd.yaml`` for a pair."""

    def write(
        pair: Pair,
        *,
        reconcile: Mapping[str, Any] | None = None,
        passwords: Mapping[str, str] | None = None,
        extra: Mapping[str, Any] | None = None,
    ) -> Path:
        return write_config(
            tmp_path / "syncd.yaml",
            pair.both,
            state=state_path,
            reconcile=reconcile,
            passwords=passwords,
            extra=extra,
        )

    return write


@pytest.fixture
def cli(capsys: pytest.CaptureFixture[str]) -> RunCli:
    """Return a runner of the syncd CLI in this process."""

    def run(config: Path, *args: str) -> CliRun:
        capsys.readouterr()
        code = main(["--config", str(config), *args])
        out, err = capsys.readouterr()
        return CliRun(code, out, err)

    return run
