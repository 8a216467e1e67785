"""``python -m bench.simbench``: the simulator's own cost per listing page, for information.

One simulated instance in its own process (``python -m syncd.sim``) gets a generated catalog;
client threads then read a fixed number of the pages syncd's cold pass reads (project-wide
artifact listings with tags, labels and accessories, and repositories by name), with no injected
latency. Prints the generation time, the simulator's RSS, and per kind of page its CPU per page
and pages per second: what ``bench.realpass`` charges to the simulator, not to syncd.
"""

from __future__ import annotations

import argparse
import itertools
import threading
import time
from typing import TYPE_CHECKING

import httpx

from bench.passrun import ROOT
from bench.report import MB
from bench.simproc import SimProcess

if TYPE_CHECKING:
    from collections.abc import Callable, Sequence

__all__ = ["main"]

SCALES = {"200k": 10_000, "1m": 50_000}
"""Repositories for ``--scale`` (20 tags each, 100 per project)."""
PER_PROJECT = 100
FLAGS = {"with_tag": "true", "with_label": "true", "with_accessory": "true", "page_size": "100"}
AUTH = ("admin", "Harbor12345")
SEED = 1
"""Generated projects are ``gen1-pNNNN``."""


def _artifact_page(projects: int) -> Callable[[httpx.Client, int], httpx.Response]:
    def get(client: httpx.Client, n: int) -> httpx.Response:
        project = f"gen{SEED}-p{n // 20 % projects:04d}"  # every page of a project, as a pass
        params = {**FLAGS, "page": str(n % 20 + 1)}
        return client.get(f"/projects/{project}/artifacts", params=params)

    return get


def _repository_page(repos: int) -> Callable[[httpx.Client, int], httpx.Response]:
    def get(client: httpx.Client, n: int) -> httpx.Response:
        page = n % max(1, repos // 100) + 1
        return client.get("/repositories", params={"sort": "name", "page": page, "page_size": 100})

    return get


def _drive(
    sim: SimProcess, get: Callable[[httpx.Client, int], httpx.Response], *, pages: int, threads: int
) -> tuple[float, float]:
    """Read ``pages`` pages with ``threads`` clients; returns (wall seconds, simulator CPU)."""
    counter = itertools.count()
    headers = {"X-Is-Resource-Name": "true"}
    failures: list[BaseException] = []

    def worker() -> None:
        url = sim.urls["a"] + "/api/v2.0"
        with httpx.Client(base_url=url, auth=AUTH, headers=headers, timeout=60) as client:
            while not failures and (n := next(counter)) < pages:
                try:
                    get(client, n).raise_for_status()
                except httpx.HTTPError as exc:
                    failures.append(exc)

    cpu0, start = sim.cpu_seconds(), time.perf_counter()
    workers = [threading.Thread(target=worker) for _ in range(threads)]
    for w in workers:
        w.start()
    for w in workers:
        w.join()
    if failures:
        raise failures[0]
    return time.perf_counter() - start, sim.cpu_seconds() - cpu0


def main(argv: Sequence[str] | None = None) -> int:
    """Generate, read pages, print the simulator's figures; returns 0."""
    parser = argparse.ArgumentParser(prog="python -m bench.simbench", description=__doc__)
    parser.add_argument("--scale", choices=sorted(SCALES), default="200k", help="tags/instance")
    parser.add_argument("--pages", type=int, default=2000, help="pages of each kind")
    parser.add_argument("--threads", type=int, default=8, help="client threads (syncd: 8)")
    args = parser.parse_args(argv)
    repos = SCALES[args.scale]
    projects = repos // PER_PROJECT
    with SimProcess(instances=("a",), cwd=ROOT) as sim:
        start = time.perf_counter()
        made = sim.admin(
            "a",
            "generate",
            projects=projects,
            repos_per_project=PER_PROJECT,
            tags_per_repo=20,
            seed=SEED,
            freeze=True,  # the catalog is long-lived: out of the cyclic collector's sight
        )
        print(
            f"simulator: generated {made:,} tags in {time.perf_counter() - start:.1f} s, "
            f"RSS {sim.peak_rss_bytes() / MB:.0f} MB"
        )
        kinds = {
            "GET /projects/{p}/artifacts (100 rows)": _artifact_page(projects),
            "GET /repositories?sort=name (100 rows)": _repository_page(repos),
        }
        for label, get in kinds.items():
            wall, cpu = _drive(sim, get, pages=args.pages, threads=args.threads)
            print(
                f"{label}: {cpu / args.pages * 1000:.2f} ms simulator CPU per page, "
                f"{args.pages / wall:.0f} pages/s ({args.pages} pages, {args.threads} threads)"
            )
        print(f"simulator peak RSS {sim.peak_rss_bytes() / MB:.0f} MB")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
