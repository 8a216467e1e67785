"""Scenario controls over HTTP, bulk generation, and the ``python -m syncd.sim`` entry point."""

from __future__ import annotations

import gc
import signal
import subprocess
import sys

import httpx
import pytest

from syncd.sim import SimInstance
from tests.simkit import api, wait_for


def test_generate_large_catalog_counts() -> None:
    """generate() builds 1k repositories / 10k tags visible through the API counts."""
    with SimInstance("big") as sim, api(sim) as c:
        made = sim.generate(projects=10, repos_per_project=100, tags_per_repo=10, seed=3)
        assert made == 10_000
        assert c.get("/projects").headers["X-Total-Count"] == "10"
        repos = c.get("/repositories", params={"page_size": 100, "page": 10, "sort": "name"})
        assert repos.headers["X-Total-Count"] == "1000"
        assert len(repos.json()) == 100
        name = repos.json()[0]["name"].split("/", 1)
        arts = c.get(f"/projects/{name[0]}/repositories/{name[1]}/artifacts")
        assert arts.headers["X-Total-Count"] == "10"
        assert sim.request_log[-1] == ("GET", arts.request.url.raw_path.decode(), 200)


def test_admin_controls_over_http() -> None:
    """/_sim/ drives pushes and faults without auth, and stays reachable in 503 mode."""
    with SimInstance("h") as sim, httpx.Client(base_url=sim.url) as c:
        assert c.post("/_sim/create-project", json={"name": "p", "public": True}).status_code == 200
        digest = c.post("/_sim/push", json={"repository": "p/r", "tag": "1"}).json()["result"]
        assert sim.state.tag_map() == {("p/r", "1"): digest}
        assert c.post("/_sim/down", json={"mode": "503"}).status_code == 200
        assert c.get("/api/v2.0/ping").status_code == 503
        assert c.get("/_sim/catalog").json() == [["p/r", "1", digest]]
        missing = c.post("/_sim/push", json={"repository": "nope/r", "tag": "1"})
        assert missing.status_code == 404
        assert c.post("/_sim/down", json={"mode": "up"}).status_code == 200
        assert c.get("/api/v2.0/ping").status_code == 200
        assert [m for m, _, _ in sim.admin_log] == ["POST", "POST", "POST", "GET", "POST", "POST"]


@pytest.mark.parametrize("freeze", [True, False])
def test_generate_freeze_hides_the_catalog_from_the_collector(freeze: bool) -> None:
    """generate(freeze=True) leaves the generated store in gc's permanent generation."""
    with SimInstance("f") as sim:
        try:
            sim.generate(projects=1, repos_per_project=2, tags_per_repo=2, freeze=freeze)
            repo = next(iter(sim.state.repos.values()))
            collected = {id(obj) for obj in gc.get_objects()}
            assert (id(repo) not in collected) is freeze
        finally:
            gc.unfreeze()


def test_catalog_digest_tells_equal_catalogs() -> None:
    """/_sim/catalog-digest: equal for identical catalogs, different after one push."""
    with SimInstance("x") as x, SimInstance("y") as y:
        for inst in (x, y):
            inst.generate(projects=2, repos_per_project=3, tags_per_repo=2, seed=5)

        def digest(inst: SimInstance) -> dict[str, object]:
            body: dict[str, object] = httpx.get(inst.url + "/_sim/catalog-digest").json()
            return body

        assert digest(x) == digest(y)
        assert digest(x)["tags"] == 12
        y.push("gen5-p0000/repo-00000", "v0", content="moved")
        assert digest(x) != digest(y)
        assert digest(x)["tags"] == digest(y)["tags"]


def test_sibling_brings_refusing_instance_back() -> None:
    """A refusing instance is revived through a sibling's /_sim/instances/{name}/down."""
    with SimInstance("x") as x, SimInstance("y") as y:
        x.siblings = y.siblings = {"x": x, "y": y}
        y.set_down("refuse")
        resp = httpx.post(f"{x.url}/_sim/instances/y/down", json={"mode": "up"})
        assert resp.status_code == 200
        assert httpx.get(f"{y.url}/api/v2.0/ping").text == "Pong"


def test_module_entry_point_runs_dual_master() -> None:
    """Python -m syncd.sim prints one line per instance, replicates a->b, knows --user."""
    proc = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "syncd.sim",
            "--instance",
            "a",
            "--instance",
            "b",
            "--dual-master",
            "a,b",
            "--user",
            "dev=pw",
            "--member",
            "dev=lib",
        ],
        stdout=subprocess.PIPE,
        text=True,
    )
    try:
        assert proc.stdout is not None
        urls = dict(proc.stdout.readline().split() for _ in range(2))
        assert set(urls) == {"a", "b"}
        httpx.post(f"{urls['a']}/_sim/create-project", json={"name": "lib"})
        httpx.post(f"{urls['a']}/_sim/push", json={"repository": "lib/r", "tag": "1"})
        wait_for(lambda: httpx.get(f"{urls['b']}/_sim/catalog").json())
        dev = httpx.get(f"{urls['a']}/api/v2.0/projects/lib/repositories", auth=("dev", "pw"))
        assert [r["name"] for r in dev.json()] == ["lib/r"]
        policies = httpx.get(f"{urls['a']}/api/v2.0/replication/policies", auth=("dev", "pw"))
        assert policies.status_code == 403
    finally:
        proc.send_signal(signal.SIGTERM)
        assert proc.wait(timeout=20) == 0


def _control(command: str) -> object:
    from syncd.sim.admin import COMMANDS  # noqa: PLC0415 - only the docs check needs it
    from syncd.sim.faults import Faults  # noqa: PLC0415

    owner, _, name = COMMANDS[command].rpartition(".")
    return getattr(Faults if owner else SimInstance, name)


def test_docs_list_every_admin_command_with_its_arguments() -> None:
    """docs/simulator.md names each /_sim/ command and each of its JSON argument names."""
    import inspect  # noqa: PLC0415
    from pathlib import Path  # noqa: PLC0415

    from syncd.sim.admin import COMMANDS  # noqa: PLC0415

    docs = (Path(__file__).parents[2] / "docs" / "simulator.md").read_text(encoding="utf-8")
    rows = {line.split("|")[1].strip(" `"): line for line in docs.splitlines() if "| `" in line}
    for command in COMMANDS:
        params = inspect.signature(_control(command)).parameters  # type: ignore[arg-type]
        assert all(f"`{p}`" in rows[command] for p in params if p != "self"), command
