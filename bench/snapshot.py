"""``python -m bench.snapshot``: cold and warm catalog snapshots against the simulator, plus diff.

Starts the simulator in a separate process (so this process's peak RSS is syncd's alone),
generates the catalog, injects latency, then measures a cold pass, changes a fraction of the
repositories, measures a warm (incremental) pass and checks it re-listed exactly those, and
finally times the pure diff over a large tag map. Prints figures and PASS/MISS per target; the
exit code is 0 whatever the figures (a crash is still an error).
"""

from __future__ import annotations

import argparse
import math
import time
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

from pydantic import SecretStr

from bench.diffbench import run_diff_bench
from bench.measure import (
    PAGE,
    RequestRecorder,
    listing_floor,
    peak_rss_bytes,
    run_pass,
    wall_target,
)
from bench.report import MB, checks, print_checks, print_diff, print_kinds, print_table
from bench.simproc import SimProcess
from syncd.harbor.client import HarborClient
from syncd.settings import InstanceSettings

if TYPE_CHECKING:
    from collections.abc import Mapping, Sequence

    from bench.diffbench import DiffFigures
    from bench.measure import PassFigures
    from syncd.core.model import Catalog

__all__ = ["main"]

ROOT = Path(__file__).resolve().parent.parent
SIM_USER, SIM_PASSWORD = "admin", "Harbor12345"  # the simulator's built-in admin
WARM_TAG = "bench-warm"
DEFAULT_CONCURRENCY: int = InstanceSettings.model_fields["max_concurrency"].default


@dataclass(frozen=True, slots=True)
class Config:
    """The benchmark's size and environment, from the command line."""

    repos: int
    tags_per_repo: int
    repos_per_project: int
    latency: float
    concurrency: int
    changed_percent: float
    instances: int
    diff_tags: int
    seed: int
    sim_module: str

    @property
    def projects(self) -> int:
        """Projects generated per instance (the last one may be rounded up to full)."""
        return max(1, math.ceil(self.repos / self.repos_per_project))

    @property
    def total_repos(self) -> int:
        """Repositories actually generated per instance."""
        return self.projects * self.repos_per_project

    @property
    def names(self) -> tuple[str, ...]:
        """Instance names: ``a``, ``b``, ..."""
        return tuple(chr(ord("a") + i) for i in range(self.instances))


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="python -m bench.snapshot", description=__doc__)
    parser.add_argument("--repos", type=int, default=10_000, help="repositories per instance")
    parser.add_argument("--tags-per-repo", type=int, default=20, help="tags (artifacts) per repo")
    parser.add_argument("--repos-per-project", type=int, default=100)
    parser.add_argument("--latency", type=float, default=0.02, help="seconds injected per request")
    parser.add_argument("--concurrency", type=int, default=DEFAULT_CONCURRENCY)
    parser.add_argument("--changed-percent", type=float, default=1.0)
    parser.add_argument("--instances", type=int, default=1, choices=range(1, 27), metavar="N")
    parser.add_argument("--diff-tags", type=int, default=1_000_000, help="0 skips the diff bench")
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--quick", action="store_true", help="smoke run: 500 repos, 100k diff")
    return parser


def _config(argv: Sequence[str] | None) -> Config:
    args = _parser().parse_args(argv)
    repos, diff_tags = args.repos, args.diff_tags
    if args.quick:  # a smoke run: small sizes, explicit smaller values still win
        repos, diff_tags = min(repos, 500), min(diff_tags, 100_000)
    return Config(
        repos=repos,
        tags_per_repo=args.tags_per_repo,
        repos_per_project=min(args.repos_per_project, repos),
        latency=args.latency,
        concurrency=args.concurrency,
        changed_percent=args.changed_percent,
        instances=args.instances,
        diff_tags=diff_tags,
        seed=args.seed,
        sim_module="syncd.sim",
    )


def _generate(sim: SimProcess, cfg: Config) -> None:
    for name in cfg.names:
        start = time.perf_counter()
        made = sim.admin(
            name,
            "generate",
            projects=cfg.projects,
            repos_per_project=cfg.repos_per_project,
            tags_per_repo=cfg.tags_per_repo,
            seed=cfg.seed,
        )
        print(f"sim {name}: generated {made:,} tags in {time.perf_counter() - start:.1f} s")


def _clients(sim: SimProcess, cfg: Config, recorder: RequestRecorder) -> dict[str, HarborClient]:
    return {
        name: HarborClient(
            name=name,
            settings=InstanceSettings(
                url=sim.urls[name],
                username=SIM_USER,
                password=SecretStr(SIM_PASSWORD),
                max_concurrency=cfg.concurrency,
            ),
            on_request=recorder,
        )
        for name in cfg.names
    }


def pick_changed(catalog: Catalog, *, percent: float) -> list[str]:
    """Repositories to change, spread evenly over the sorted names (at least one)."""
    names = sorted(catalog.repositories)
    count = min(len(names), max(1, math.ceil(len(names) * percent / 100)))
    return [names[i * len(names) // count] for i in range(count)]


def _change(sim: SimProcess, instance: str, catalog: Catalog, names: Sequence[str]) -> None:
    """Push a new tag to every other repository, move a tag onto an old digest in the rest."""
    for i, name in enumerate(names):
        if i % 2 == 0:
            sim.admin(instance, "push", repository=name, tag=WARM_TAG)
        else:
            digest = catalog.repositories[name].artifacts[0].digest
            sim.admin(instance, "retag", repository=name, tag=WARM_TAG, digest=digest)


def _warm_floor(cfg: Config, catalog: Catalog, names: Sequence[str]) -> int:
    """Repository listing plus at least one artifact page per changed repository."""
    pages = sum(
        max(1, math.ceil((catalog.repositories[n].artifact_count + 1) / PAGE)) for n in names
    )
    return math.ceil(cfg.total_repos / PAGE) + pages


def _cold(
    cfg: Config, sim: SimProcess, clients: Mapping[str, HarborClient], recorder: RequestRecorder
) -> tuple[dict[str, Catalog], PassFigures]:
    floor = cfg.instances * listing_floor(
        repositories=cfg.total_repos, artifacts=cfg.total_repos * cfg.tags_per_repo
    )
    per_instance = floor // cfg.instances
    target = wall_target(floor=per_instance, rtt=cfg.latency, concurrency=cfg.concurrency)
    return run_pass(
        clients,
        scenario="cold",
        previous=None,
        floor=floor,
        target=target,
        recorder=recorder,
        sim_cpu=sim.cpu_seconds,
    )


def _warm(
    cfg: Config,
    sim: SimProcess,
    clients: Mapping[str, HarborClient],
    recorder: RequestRecorder,
    cold: Mapping[str, Catalog],
) -> tuple[dict[str, Catalog], PassFigures]:
    changed = {name: pick_changed(cold[name], percent=cfg.changed_percent) for name in cfg.names}
    for name in cfg.names:
        sim.admin(name, "latency", seconds=0.0)  # the changes are setup, not measured
        _change(sim, name, cold[name], changed[name])
        sim.admin(name, "latency", seconds=cfg.latency)
    floors = {name: _warm_floor(cfg, cold[name], changed[name]) for name in cfg.names}
    target = wall_target(floor=max(floors.values()), rtt=cfg.latency, concurrency=cfg.concurrency)
    return run_pass(
        clients,
        scenario=f"warm ({cfg.changed_percent:g}% changed)",
        previous=cold,
        floor=sum(floors.values()),
        target=target,
        recorder=recorder,
        changed=sum(len(v) for v in changed.values()),
        sim_cpu=sim.cpu_seconds,
    )


def _matches_sim(sim: SimProcess, catalogs: Mapping[str, Catalog]) -> bool:
    """Whether every warm catalog equals the simulator's own tag map."""
    return all(sim.catalog(name) == cat.tag_map() for name, cat in catalogs.items())


def _print_setup(cfg: Config) -> None:
    print(
        f"setup: {cfg.instances} instance(s) x {cfg.total_repos:,} repositories "
        f"({cfg.projects} projects) x {cfg.tags_per_repo} tags = "
        f"{cfg.total_repos * cfg.tags_per_repo:,} tags per instance; latency "
        f"{cfg.latency * 1000:g} ms; max_concurrency {cfg.concurrency}; page size {PAGE}"
    )


def _print_results(
    figures: Sequence[PassFigures], diff: DiffFigures | None, *, warm_correct: bool
) -> None:
    print()
    print_table(figures)
    print("\nAPI calls by endpoint:")
    print_kinds(figures)
    if diff is not None:
        print()
        print_diff(diff)
    print()
    print_checks(checks(cold=figures[0], warm=figures[1], diff=diff, warm_correct=warm_correct))


def main(argv: Sequence[str] | None = None) -> int:
    """Run the benchmark and print its figures; always returns 0."""
    cfg = _config(argv)
    _print_setup(cfg)
    recorder = RequestRecorder()
    with SimProcess(instances=cfg.names, cwd=ROOT, module=cfg.sim_module) as sim:
        _generate(sim, cfg)
        for name in cfg.names:
            sim.admin(name, "latency", seconds=cfg.latency)
        clients = _clients(sim, cfg, recorder)
        print(f"bench process RSS before the cold pass: {peak_rss_bytes() / MB:.1f} MB")
        cold, cold_fig = _cold(cfg, sim, clients, recorder)
        warm, warm_fig = _warm(cfg, sim, clients, recorder, cold)
        for client in clients.values():
            client.close()
        warm_correct = _matches_sim(sim, warm)
        print(f"simulator peak RSS (separate process): {sim.peak_rss_bytes() / MB:.1f} MB")
    diff = run_diff_bench(tags=cfg.diff_tags) if cfg.diff_tags > 0 else None
    _print_results([cold_fig, warm_fig], diff, warm_correct=warm_correct)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
