"""``python -m bench.realpass``: the standing cost of a real ``reconcile --once`` pass.

Two simulated Harbors, each in a process of its own (``python -m syncd.sim``, linked as a
dual-master pair: an event-based push policy on each towards the other, see ``bench.simproc``),
get identical generated catalogs and an injected latency; syncd's state is SQLite in a
temporary directory. Each pass runs in its own child process (``bench.passproc``), so its CPU,
peak RSS and threads are syncd's alone:

1. **cold** (empty state), 2. **warm, nothing changed**, 3. **warm, 1% changed** (a new tag
pushed to half the chosen repositories, an existing tag moved onto new content in the other
half, alternating instances; the dual-master policies copy each change to the peer before the
pass), and with ``--profile`` one more unchanged warm pass, profiled, for where the CPU goes.
A cold and a warm pass at a tenth of the size show whether threads per pass grow with the
catalog; then cold, warm and 1%-changed passes at 1M tags per instance (``--no-1m`` skips
them; ``--quick``, ``--repos`` and ``--scale 1m`` do not run them separately). Prints figures
and issue 14's targets as measured / limit / PASS|MISS; exits 0 whatever the figures (a crash
is still an error).
"""

from __future__ import annotations

import argparse
import json
import math
import tempfile
import time
from dataclasses import dataclass, replace
from pathlib import Path
from typing import TYPE_CHECKING

from bench.passrun import ROOT, RealPass, run_real_pass
from bench.realtargets import (
    Sizes,
    print_fixed,
    print_passes,
    print_phases,
    print_profile,
    print_targets,
    scale_target,
    targets,
)
from bench.report import MB
from bench.simproc import SimProcess
from syncd.settings import InstanceSettings

if TYPE_CHECKING:
    from collections.abc import Sequence

__all__ = ["Config", "SizeRun", "base_config", "main", "measure_size"]

INSTANCES = ("a", "b")
SIM_USER, SIM_PASSWORD = "admin", "Harbor12345"  # the simulator's built-in admin
DEFAULT_CONCURRENCY: int = InstanceSettings.model_fields["max_concurrency"].default
SCALES = {"200k": 10_000, "1m": 50_000}
"""Repositories per instance for ``--scale`` (20 tags each)."""
QUICK_REPOS = 500
REPLICATION_TIMEOUT = 300.0
SPLIT_SIM = True
"""One simulator process per instance: the two no longer share one GIL. Cold pass at 200k tags,
three runs each: 17.0 / 17.6 / 18.3 s wall in one process, 16.2 / 15.9 / 13.9 s split."""


@dataclass(frozen=True, slots=True)
class Config:
    """The benchmark's size and environment, from the command line."""

    repos: int
    tags_per_repo: int
    repos_per_project: int
    latency: float
    concurrency: int
    changed_percent: float
    seed: int
    profile: bool
    thread_probe: bool
    million: bool
    """Also measure cold, warm and 1%-changed passes at 1M tags per instance."""

    @property
    def projects(self) -> int:
        """Projects generated per instance (the last one may be rounded up to full)."""
        return max(1, math.ceil(self.repos / self.repos_per_project))

    @property
    def sizes(self) -> Sizes:
        """What the passes run against: repositories and tags actually generated per instance."""
        repos = self.projects * self.repos_per_project
        return Sizes(
            instances=INSTANCES,
            repos=repos,
            tags=repos * self.tags_per_repo,
            latency=self.latency,
            concurrency=self.concurrency,
        )


@dataclass(frozen=True, slots=True)
class SizeRun:
    """The passes measured at one catalog size, and the simulator's own figures."""

    sizes: Sizes
    passes: tuple[RealPass, ...]
    profiled: RealPass | None
    changed: int
    sim_peak_rss_bytes: int
    sim_cpu_seconds: float
    daemon: RealPass | None = None
    """A second unchanged pass in one process, as the daemon's next interval (not a target)."""


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="python -m bench.realpass", description=__doc__)
    parser.add_argument("--repos", type=int, help="repositories per instance (default: --scale)")
    parser.add_argument("--tags-per-repo", type=int, default=20, help="tags (artifacts) per repo")
    parser.add_argument("--repos-per-project", type=int, default=100)
    parser.add_argument("--latency", type=float, default=0.02, help="seconds injected per request")
    parser.add_argument("--concurrency", type=int, default=DEFAULT_CONCURRENCY)
    parser.add_argument("--changed-percent", type=float, default=1.0)
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--scale", choices=sorted(SCALES), default="200k", help="tags/instance")
    parser.add_argument("--quick", action="store_true", help=f"{QUICK_REPOS} repositories")
    parser.add_argument("--profile", action="store_true", help="where a warm pass spends CPU")
    parser.add_argument(
        "--no-thread-probe", action="store_true", help="skip the passes at a tenth of the size"
    )
    parser.add_argument(
        "--no-1m", action="store_true", help="skip the passes at 1M tags per instance"
    )
    return parser


def base_config() -> Config:
    """Return the default configuration (200k tags per instance), for other benchmarks."""
    return _config([])


def _config(argv: Sequence[str] | None) -> Config:
    args = _parser().parse_args(argv)
    repos = args.repos or (QUICK_REPOS if args.quick else SCALES[args.scale])
    return Config(
        repos=repos,
        tags_per_repo=args.tags_per_repo,
        repos_per_project=min(args.repos_per_project, repos),
        latency=args.latency,
        concurrency=args.concurrency,
        changed_percent=args.changed_percent,
        seed=args.seed,
        profile=args.profile,
        thread_probe=not args.no_thread_probe,
        million=not (args.no_1m or args.quick or args.repos or args.scale == "1m"),
    )


def _write_config(sim: SimProcess, cfg: Config, workdir: Path) -> Path:
    instance = {"username": SIM_USER, "password": SIM_PASSWORD, "max_concurrency": cfg.concurrency}
    config = {
        "instances": {name: {"url": sim.urls[name], **instance} for name in INSTANCES},
        "state": {"path": str(workdir / "state.sqlite3")},
        "reconcile": {"poll_interval_seconds": 0.5},
    }
    path = workdir / "syncd.yaml"
    path.write_text(json.dumps(config), encoding="utf-8")  # JSON is YAML
    return path


def _changed_repos(cfg: Config) -> list[str]:
    """Repositories to change, spread evenly over the generated names (at least one)."""
    sizes = cfg.sizes
    count = min(sizes.repos, max(1, math.ceil(sizes.repos * cfg.changed_percent / 100)))
    picks = (i * sizes.repos // count for i in range(count))
    per = cfg.repos_per_project
    return [f"gen{cfg.seed}-p{i // per:04d}/repo-{i % per:05d}" for i in picks]


def _change(sim: SimProcess, cfg: Config) -> int:
    """Change the chosen repositories on alternating instances; wait until the peer has them."""
    names = _changed_repos(cfg)
    for name in INSTANCES:
        sim.admin(name, "latency", seconds=0.0)  # the changes are setup, not measured
    for i, repo in enumerate(names):
        where = INSTANCES[i % 2]
        tag = "bench-warm" if i % 4 < 2 else "v0"  # a new tag, or an existing tag moved
        sim.admin(where, "push", repository=repo, tag=tag, content=f"{repo}:{tag}:changed")
    deadline = time.monotonic() + REPLICATION_TIMEOUT
    while sim.catalog_digest(INSTANCES[0]) != sim.catalog_digest(INSTANCES[1]):
        if time.monotonic() > deadline:
            raise RuntimeError("the dual-master policies did not copy the changes in time")
        time.sleep(0.5)
    for name in INSTANCES:
        sim.admin(name, "latency", seconds=cfg.latency)
    return len(names)


def _setup(sim: SimProcess, cfg: Config) -> None:
    for name in INSTANCES:
        start = time.perf_counter()
        made = sim.admin(
            name,
            "generate",
            projects=cfg.projects,
            repos_per_project=cfg.repos_per_project,
            tags_per_repo=cfg.tags_per_repo,
            seed=cfg.seed,  # the same seed: identical catalogs
            freeze=True,  # the catalog is long-lived: out of the simulator's cyclic collector
        )
        print(f"sim {name}: generated {made:,} tags in {time.perf_counter() - start:.1f} s")
        sim.admin(name, "latency", seconds=cfg.latency)


def measure_size(cfg: Config, *, changes: bool, daemon: bool = True) -> SizeRun:
    """Cold, warm and (with ``changes``) warm-after-changes passes at one catalog size."""
    with (
        tempfile.TemporaryDirectory(prefix="syncd-realpass-") as tmp,
        SimProcess(instances=INSTANCES, cwd=ROOT, dual_master=INSTANCES, split=SPLIT_SIM) as sim,
    ):
        _setup(sim, cfg)
        config = _write_config(sim, cfg, Path(tmp))
        cpu0 = sim.cpu_seconds()
        passes = [
            run_real_pass(config, name="cold", sim=sim),
            run_real_pass(config, name="warm, nothing changed", sim=sim),
        ]
        changed = _change(sim, cfg) if changes else 0
        if changes:
            label = f"warm, {cfg.changed_percent:g}% changed"
            passes.append(run_real_pass(config, name=label, sim=sim))
        second = None
        if changes and daemon:
            label = "daemon: 2nd pass, 1 process"
            second = run_real_pass(config, name=label, sim=sim, daemon=True)
        profiled = None
        if cfg.profile and changes:
            label = "warm, nothing changed, profiled"
            profiled = run_real_pass(config, name=label, sim=sim, profile=True)
        return SizeRun(
            sizes=cfg.sizes,
            passes=tuple(passes),
            profiled=profiled,
            daemon=second,
            changed=changed,
            sim_peak_rss_bytes=sim.peak_rss_bytes(),
            sim_cpu_seconds=sim.cpu_seconds() - cpu0,
        )


def _print_run(run: SizeRun) -> None:
    print(f"\nPasses at {run.sizes.tags:,} tags per instance ({run.changed} repositories changed):")
    shown = (*run.passes, run.daemon) if run.daemon is not None else run.passes
    print_passes(shown, run.sizes)
    print()
    print_phases(shown)
    print_fixed(run.passes[1], run.sizes)
    print(
        f"simulator (separate process, for information): peak RSS "
        f"{run.sim_peak_rss_bytes / MB:.1f} MB, CPU during the passes {run.sim_cpu_seconds:.2f} s"
    )
    if run.profiled is not None:
        print_profile(run.profiled)


def _print_setup(cfg: Config) -> None:
    sizes = cfg.sizes
    print(
        f"setup: 2 instances (dual-master push policies) x {sizes.repos:,} repositories "
        f"({cfg.projects} projects) x {cfg.tags_per_repo} tags = {sizes.tags:,} tags per "
        f"instance; latency {cfg.latency * 1000:g} ms; max_concurrency {cfg.concurrency}; "
        "state: SQLite in a temporary directory; one child process per pass"
    )


def _threads(run: SizeRun) -> int:
    return max(p.threads_started for p in run.passes)


def main(argv: Sequence[str] | None = None) -> int:
    """Run the benchmark and print its figures; always returns 0 (a crash raises)."""
    cfg = _config(argv)
    _print_setup(cfg)
    main_run = measure_size(cfg, changes=True)
    _print_run(main_run)
    threads = {main_run.sizes.tags: _threads(main_run)}
    if cfg.thread_probe and cfg.repos >= 10:
        # Fewer projects of the same size: listings are per project, so pools would be too.
        repos = cfg.repos // 10
        small = replace(cfg, repos=repos, repos_per_project=min(cfg.repos_per_project, repos))
        probe = measure_size(small, changes=False)
        print(f"\nThread probe at {probe.sizes.tags:,} tags per instance (cold, warm):")
        print_passes(probe.passes, probe.sizes)
        threads[probe.sizes.tags] = _threads(probe)
    scale = None
    if cfg.million:
        big = replace(cfg, repos=SCALES["1m"], profile=False)
        scale = measure_size(big, changes=True, daemon=False)
        _print_run(scale)
    print(f"\nTargets (issue 14) at {main_run.sizes.tags:,} tags per instance, 2 instances:")
    rows = targets(main_run.passes, sizes=main_run.sizes, threads=threads)
    if scale is not None:
        rows[-1] = scale_target(scale.passes, scale.sizes)
    print_targets(rows)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
