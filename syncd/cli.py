"""Command line and composition root: the only place that builds ``Settings``.

Subcommands: ``config``, ``diff``, ``reconcile --once``, ``run``, ``sim``, ``demo``, ``version``.
Exit codes (cron-friendly): 0 converged / in sync, 1 drift remains, 2 runtime error,
3 configuration error, 4 another syncd process leads on the same PostgreSQL state (nothing done).
"""

from __future__ import annotations

import argparse
import os
import sys
from pathlib import Path
from typing import TYPE_CHECKING

import structlog
import yaml

from syncd import __version__
from syncd.core.model import PassOutcome
from syncd.errors import ConfigError, HarborAuthError, SyncdError
from syncd.service.logs import configure_logging
from syncd.settings import Settings, load_settings, redacted_dump

if TYPE_CHECKING:
    from collections.abc import Sequence

__all__ = ["main"]

EXIT_OK, EXIT_DRIFT, EXIT_RUNTIME, EXIT_CONFIG, EXIT_NOT_LEADER = 0, 1, 2, 3, 4
DEFAULT_CONFIG = Path("/etc/syncd/syncd.yaml")

log = structlog.get_logger("syncd.cli")


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="syncd",
        description="Keep replicating Harbor registries consistent: observe every instance, "
        "diff each replication edge against its last converged state, repair through Harbor's "
        "own replication executions.",
        epilog="exit codes: 0 converged/in sync, 1 drift remains, 2 runtime error, "
        "3 configuration error, 4 another process leads (PostgreSQL state). Docs: README.md.",
    )
    parser.add_argument(
        "--config",
        type=Path,
        default=os.environ.get("SYNCD_CONFIG"),
        help=f"YAML config file (default: $SYNCD_CONFIG, else {DEFAULT_CONFIG} if present)",
    )
    # --config is accepted before or after the subcommand (``syncd run --config f``).
    common = argparse.ArgumentParser(add_help=False)
    common.add_argument("--config", type=Path, default=argparse.SUPPRESS, help=argparse.SUPPRESS)
    sub = parser.add_subparsers(dest="command", required=True)
    sub.add_parser("config", parents=[common], help="print the resolved configuration, redacted")
    diff = sub.add_parser("diff", parents=[common], help="observe and diff every edge")
    diff.add_argument("--output", choices=["table", "json"], default="table")
    diff.add_argument("--no-store", action="store_true", help="do not advance the base snapshot")
    rec = sub.add_parser("reconcile", parents=[common], help="observe, diff, plan, act, verify")
    rec.add_argument("--once", action="store_true", required=True, help="one pass, then exit")
    rec.add_argument("--dry-run", action="store_true", help="plan and report; send no writes")
    rec.add_argument("--output", choices=["table", "json"], default="table")
    sub.add_parser("run", parents=[common], help="the daemon (scheduler, metrics, webhook)")
    # Everything after ``sim`` is the simulator's own command line (python -m syncd.sim --help).
    sub.add_parser("sim", add_help=False, help="run Harbor simulator instances on loopback")
    sub.add_parser("demo", help="replay the dual-master outage story against the simulator")
    sub.add_parser("version", help="print the version")
    return parser


def _load(path: Path | None) -> Settings:
    if path is None and DEFAULT_CONFIG.exists():
        path = DEFAULT_CONFIG
    return load_settings(path)


def _pass_command(args: argparse.Namespace, settings: Settings) -> int:
    from syncd.core.report import render_json, render_table  # noqa: PLC0415 - keeps --help fast
    from syncd.engine.leader import Role  # noqa: PLC0415
    from syncd.engine.runtime import utcnow  # noqa: PLC0415
    from syncd.service.progress import TtyProgress  # noqa: PLC0415
    from syncd.wiring import build_runtime  # noqa: PLC0415

    acting = args.command == "reconcile"
    persist = not getattr(args, "no_store", False)
    runtime = build_runtime(
        settings,
        dry_run=True if getattr(args, "dry_run", False) else None,
        persist=persist,
        progress=TtyProgress.for_terminal(),
    )
    try:
        from syncd.engine.reconcile import run_pass  # noqa: PLC0415

        # PostgreSQL state: the daemons' leader lock, tried once (SQLite: always granted).
        if runtime.leader.poll() is not Role.LEADER:
            sys.stderr.write(
                f"syncd: another syncd process leads on {runtime.store.path}; "
                "this run did nothing\n"
            )
            return EXIT_NOT_LEADER
        result = run_pass(runtime.deps, act=acting)
    finally:
        runtime.close()
    render = render_json if args.output == "json" else render_table
    sys.stdout.write(render(result, now=utcnow()) + "\n")
    return EXIT_OK if result.outcome == PassOutcome.CONVERGED else EXIT_DRIFT


def _dispatch(args: argparse.Namespace) -> int:
    if args.command == "version":
        sys.stdout.write(f"syncd {__version__}\n")
        return EXIT_OK
    if args.command == "sim":
        from syncd.sim.__main__ import main as sim_main  # noqa: PLC0415 - test double, on demand

        return sim_main(args.sim_args)
    if args.command == "demo":
        from syncd.demo import main as demo_main  # noqa: PLC0415 - pulls in the simulator

        return demo_main()
    settings = _load(args.config)
    configure_logging(
        level=settings.logging.level, fmt=settings.logging.format, secrets=_secrets(settings)
    )
    if args.command == "config":
        sys.stdout.write(yaml.safe_dump(redacted_dump(settings), sort_keys=False))
        return EXIT_OK
    if args.command == "run":
        from syncd.service.daemon import run_daemon  # noqa: PLC0415 - scheduler only when needed
        from syncd.wiring import build_runtime  # noqa: PLC0415

        return run_daemon(settings, config_path=args.config, reload=_load, build=build_runtime)
    return _pass_command(args, settings)


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point of the ``syncd`` console script."""
    parser = _parser()
    args, rest = parser.parse_known_args(argv)
    if args.command == "sim":
        args.sim_args = rest
    elif rest:
        parser.error(f"unrecognized arguments: {' '.join(rest)}")
    try:
        return _dispatch(args)
    except ConfigError as exc:
        sys.stderr.write(f"syncd: configuration error: {exc}\n")
        return EXIT_CONFIG
    except HarborAuthError as exc:
        sys.stderr.write(f"syncd: authentication failed: {exc}\n")
        return EXIT_RUNTIME
    except SyncdError as exc:
        sys.stderr.write(f"syncd: {exc}\n")
        return EXIT_RUNTIME
    except KeyboardInterrupt:
        return EXIT_RUNTIME


def _secrets(settings: Settings) -> list[str]:
    """Exact secret values the log redactor masks wherever they appear."""
    values = [inst.secret() for inst in settings.instances.values()]
    if settings.http.webhook_secret is not None:
        values.append(settings.http.webhook_secret.get_secret_value())
    values.append(settings.state.password() or "")
    return [v for v in values if v]
