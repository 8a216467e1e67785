"""Helpers of the scenario suite: OCI images, skopeo pushes, outages, syncd runs, end states.

Scenarios run simulated Harbors with real ``docker-registry`` data planes in the test process
and syncd as a real subprocess (``reconcile --once`` here, ``syncd run`` through
``daemonkit``). End states are read two ways: the simulator's database (``tag_map``) and the
registry itself (``HEAD /v2/<repo>/manifests/<tag>`` -> ``Docker-Content-Digest``).
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from tests import ocikit
from tests.daemonkit import daemon_config, poll_until, write_config
from tests.registrykit import head, skopeo_push

if TYPE_CHECKING:
    from collections.abc import Iterable, Mapping

    from syncd.sim import SimInstance
    from syncd.sim.state import SimExecution

REPO_ROOT = Path(__file__).resolve().parents[2]
SOURCE_TAG = "src"
"""The tag every image carries inside its OCI layout (pushes choose the destination tag)."""

RECONCILE_ONCE = ("reconcile", "--once", "--output", "json")

TagMap = dict[tuple[str, str], str]


@dataclass(frozen=True)
class Image:
    """A one-layer image in its own OCI layout, with its manifest digest."""

    layout: Path
    digest: str


def build_images(root: Path, names: Iterable[str]) -> dict[str, Image]:
    """Build one image per name under ``root``; random layers make every digest different."""
    images = {}
    for name in names:
        layout = root / name
        images[name] = Image(layout, ocikit.build_image(layout, tag=SOURCE_TAG))
    return images


def push(inst: SimInstance, image: Image, *, target: str) -> str:
    """``skopeo copy`` ``image`` to ``inst`` as ``target`` (``project/repo:tag``); its digest."""
    digest = skopeo_push(image.layout, SOURCE_TAG, inst, target)
    assert digest == image.digest
    return digest


# --------------------------------------------------------------------------- replication


def executions(inst: SimInstance, *, trigger: str | None = None) -> list[SimExecution]:
    """List the executions on ``inst`` (of one trigger type, if given), oldest first."""
    with inst.state.lock:
        found = list(inst.state.executions.values())
    return sorted((e for e in found if trigger in {None, e.trigger}), key=lambda e: e.id)


def statuses(inst: SimInstance, *, trigger: str | None = None) -> dict[int, str]:
    """Map execution id -> fresh status of the executions on ``inst``."""
    return {e.id: inst.execution_status(e.id) for e in executions(inst, trigger=trigger)}


def quiesce(*instances: SimInstance) -> None:
    """Wait until no execution on the instances is pending or running."""

    def idle() -> bool:
        return all(
            not {"Pending", "InProgress"} & set(statuses(inst).values()) for inst in instances
        )

    poll_until(idle, what="replication to settle")


def manual_policies(inst: SimInstance) -> list[int]:
    """Policy ids of the manual executions ``inst`` ran (what syncd triggered), in order."""
    return [e.policy_id for e in executions(inst, trigger="manual")]


def push_while_down(
    *, source: SimInstance, down: Iterable[SimInstance], pushes: Mapping[str, Image]
) -> TagMap:
    """Refuse connections on ``down``, push ``target -> image`` to ``source``, bring them up.

    Every push's event replication towards ``down`` fails, and Harbor never retries a failed
    event-based execution: the pushes stay lost for ``down`` once it is back, the drift syncd
    exists to repair. Returns ``(repository, tag) -> digest`` of the pushes.
    """
    down = list(down)
    before = set(statuses(source))
    for inst in down:
        inst.set_down("refuse")
    try:
        pushed = {
            _ref(target): push(source, image, target=target) for target, image in pushes.items()
        }
        quiesce(source)
        fired = statuses(source, trigger="event_based")
        lost = [s for i, s in fired.items() if i not in before]
        assert lost, "the pushes fired no event replication"
        assert "Failed" in lost, lost
    finally:
        for inst in down:
            inst.set_down("up")
    return pushed


def _ref(target: str) -> tuple[str, str]:
    repository, tag = target.rsplit(":", 1)
    return repository, tag


# --------------------------------------------------------------------------- end states


def v2_digests(inst: SimInstance, refs: Iterable[tuple[str, str]]) -> TagMap:
    """``(repo, tag) -> Docker-Content-Digest`` from HEADs on ``inst``'s ``/v2/`` (200 only)."""
    found = {}
    for repo, tag in refs:
        resp = head(inst, repo, tag)
        if resp.status_code == 200:
            found[repo, tag] = resp.headers["Docker-Content-Digest"]
    return found


def assert_same_everywhere(instances: Iterable[SimInstance], expected: Mapping[Any, str]) -> None:
    """Every instance lists exactly ``expected`` and its registry serves the same digests."""
    for inst in instances:
        assert inst.state.tag_map() == expected, inst.name
        assert v2_digests(inst, expected) == expected, inst.name


def assert_nothing_deleted(*instances: SimInstance) -> None:
    """No DELETE reached the instances, neither through the API nor through ``/v2/``."""
    for inst in instances:
        sent = [*inst.request_log, *inst.v2_log]
        assert [path for method, path, _ in sent if method == "DELETE"] == [], inst.name


# --------------------------------------------------------------------------- syncd


@dataclass(frozen=True)
class SyncdRun:
    """Exit code, the ``--output json`` document and the JSON log events of one run."""

    code: int
    doc: dict[str, Any]
    events: list[dict[str, Any]]
    stderr: str

    @property
    def actions(self) -> list[tuple[str, str, int, str]]:
        """``(kind, instance, policy_id, result)`` of every action the pass took, in order."""
        return [
            (a["kind"], a["instance"], a["policy_id"], a["result"]) for a in self.doc["actions"]
        ]

    def index(self, name: str, **match: Any) -> int:
        """Position of the first log event ``name`` whose fields equal ``match``."""
        for i, event in enumerate(self.events):
            if event.get("event") == name and all(event.get(k) == v for k, v in match.items()):
                return i
        raise AssertionError(f"{name} {match} not logged:\n{self.stderr}")


def syncd_config(instances: Mapping[str, SimInstance], *, tmp: Path) -> Path:
    """Write a trigger-mode config for ``instances`` (fast polling, JSON logs) under ``tmp``."""
    config = daemon_config(instances=instances, state=tmp / "state.sqlite3")
    return write_config(tmp / "syncd.yaml", config)


def reconcile_once(config: Path) -> SyncdRun:
    """Run ``python -m syncd --config <config> reconcile --once --output json`` to its end."""
    proc = subprocess.run(
        [sys.executable, "-m", "syncd", "--config", str(config), *RECONCILE_ONCE],
        cwd=REPO_ROOT,
        env={k: v for k, v in os.environ.items() if not k.startswith("SYNCD_")},
        capture_output=True,
        text=True,
        timeout=50,
        check=False,
    )
    assert proc.stdout.startswith("{"), proc.stdout + proc.stderr
    events = [json.loads(line) for line in proc.stderr.splitlines() if line.startswith("{")]
    return SyncdRun(proc.returncode, json.loads(proc.stdout), events, proc.stderr)
