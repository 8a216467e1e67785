"""The command line: the only place that builds ``Settings``; ``syncd.wiring`` does the rest.

Subcommands: ``config``, ``diff``, ``reconcile --once``, ``run``, ``sim``, ``demo``, ``version``.
Exit codes (cron-friendly): 0 converged / in sync, 1 drift remains, 2 runtime error or an
incomplete pass (some instance or edge was not observed), 3 configuration error, 4 another
syncd process leads on the same PostgreSQL state (nothing done). Every failure
goes through one path: one redacted line on stderr naming what failed and the remedy (and
``{"error": {...}}`` on stdout with ``--output json``); the traceback only at log level debug.
Exit 1 is never a failure: it means drift remains.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING

import structlog
import yaml

from syncd import __version__
from syncd.core.model import PassOutcome
from syncd.errors import ConfigError, describe_failure
from syncd.service.logs import configure_logging, redact_text
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


@dataclass(slots=True)
class _Run:
    """What the error path needs to know about a command that got as far as it did."""

    output: str = "table"
    secrets: list[str] = field(default_factory=list)
    logging_ready: bool = False


def _load(path: Path | None) -> Settings:
    if path is None and DEFAULT_CONFIG.exists():
        path = DEFAULT_CONFIG
    if path is not None:
        return load_settings(path)
    try:
        return load_settings(None)
    except ConfigError as exc:
        raise ConfigError(
            f"no configuration file was loaded (looked at: --config, $SYNCD_CONFIG, "
            f"{DEFAULT_CONFIG}); pass --config FILE or set SYNCD_CONFIG. {exc}"
        ) from None


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
    exits = {PassOutcome.CONVERGED: EXIT_OK, PassOutcome.DRIFT: EXIT_DRIFT}
    return exits.get(PassOutcome(result.outcome), EXIT_RUNTIME)


def _dispatch(args: argparse.Namespace, run: _Run) -> int:
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
    run.secrets = _secrets(settings)
    configure_logging(
        level=settings.logging.level, fmt=settings.logging.format, secrets=run.secrets
    )
    run.logging_ready = True
    if args.command == "config":
        sys.stdout.write(yaml.safe_dump(redacted_dump(settings), sort_keys=False))
        return EXIT_OK
    if args.command == "run":
        from syncd.service.process import run_daemon  # noqa: PLC0415 - scheduler only when needed
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
    run = _Run(output=getattr(args, "output", "table"))
    try:
        return _dispatch(args, run)
    except KeyboardInterrupt:
        return EXIT_RUNTIME
    except Exception as exc:
        return _fail(exc, run)


def _fail(exc: Exception, run: _Run) -> int:
    """Report ``exc`` on the one error path: a redacted stderr line (+ JSON), exit 2 or 3."""
    failure = describe_failure(exc)
    line = redact_text(" ".join(failure.message.split()), secrets=run.secrets)
    if run.logging_ready:
        # The traceback is for developers: rendered only when logging.level is debug.
        log.debug("cli.failed", kind=failure.kind.value, exc_info=exc)
    if run.output == "json":
        error = {"kind": failure.kind.value, "message": line}
        sys.stdout.write(json.dumps({"error": error}, sort_keys=True) + "\n")
    sys.stderr.write(f"syncd: {line}\n")
    return failure.exit_code


def _secrets(settings: Settings) -> list[str]:
    """Exact secret values the log redactor masks wherever they appear."""
    values = [inst.secret() for inst in settings.instances.values()]
    if settings.http.webhook_secret is not None:
        values.append(settings.http.webhook_secret.get_secret_value())
    values.append(settings.state.password() or "")
    return [v for v in values if v]
