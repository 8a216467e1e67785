"""``python -m syncd.sim``: run simulated Harbors in one process until SIGINT/SIGTERM.

Prints ``<name> <url>`` per instance, then flushes, so a parent process can read the ports.
Every instance knows ``admin``/``Harbor12345`` (system administrator) plus the ``--user``,
``--robot`` and ``--member`` accounts (see docs/simulator.md, "Credentials and roles").
"""

from __future__ import annotations

import argparse
import signal
import sys
from typing import Any

from syncd.sim.cluster import SimCluster

__all__ = ["main"]


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="syncd sim", description=__doc__)
    parser.add_argument("--instance", action="append", default=[], help="instance name")
    parser.add_argument("--port", action="append", default=[], help="NAME=PORT (default: free)")
    parser.add_argument(
        "--dual-master", action="append", default=[], help="A,B: event-based push both ways"
    )
    parser.add_argument("--harbor-version", default="v2.15.2-sim")
    parser.add_argument("--host", default="127.0.0.1")
    for flag, text in (
        ("--user", "NAME=PASSWORD: a plain (non-admin) user"),
        ("--robot", "NAME=SECRET: robot$NAME, a system robot"),
        ("--member", "NAME=PROJECT: a member of PROJECT (a robot then has project access only)"),
    ):
        parser.add_argument(flag, action="append", default=[], type=_pair, help=text)
    return parser


def _pair(text: str) -> tuple[str, str]:
    """Parse ``NAME=VALUE`` (argparse turns the error into one line and exit 2)."""
    name, sep, value = text.partition("=")
    if not (name and sep and value):
        msg = f"expected NAME=VALUE, got {text!r}"
        raise argparse.ArgumentTypeError(msg)
    return name, value


def _accounts(args: argparse.Namespace) -> dict[str, Any]:
    members: dict[str, list[str]] = {}
    for name, project in args.member:
        members.setdefault(name, []).append(project)
    return {
        "users": {"admin": "Harbor12345", **dict(args.user)},
        "robots": dict(args.robot),
        "members": members,
    }


def main(argv: list[str] | None = None) -> int:
    """Run the instances; returns the exit code."""
    args = _parser().parse_args(argv)
    names: list[str] = args.instance or ["a"]
    ports = dict(item.split("=", 1) for item in args.port)
    # Block the signals before any thread starts (threads inherit the mask) and wait for them
    # synchronously: no Python-level handler can then interrupt a thread holding a lock.
    signals = {signal.SIGINT, signal.SIGTERM}
    signal.pthread_sigmask(signal.SIG_BLOCK, signals)
    try:
        with SimCluster() as cluster:
            for name in names:
                cluster.add(
                    name,
                    host=args.host,
                    port=int(ports.get(name, 0)),
                    harbor_version=args.harbor_version,
                    **_accounts(args),
                )
            for pair in args.dual_master:
                a, b = pair.split(",", 1)
                cluster.dual_master(a, b)
            for name in names:
                sys.stdout.write(f"{name} {cluster[name].url}\n")
            sys.stdout.flush()
            signal.sigwait(signals)
    finally:
        signal.pthread_sigmask(signal.SIG_UNBLOCK, signals)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
