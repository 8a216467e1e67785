"""A throwaway PostgreSQL server for tests, from the Debian ``postgresql`` package.

``PgServer`` runs ``initdb`` in a temporary directory and ``pg_ctl`` on 127.0.0.1 with a free
port (plus a unix socket in the same directory for the admin connection). PostgreSQL refuses
to run as root, so under root every server command runs as the ``postgres`` user (``runuser``).
Tests get a fresh database per test from ``database()``; syncd connects as the role ``syncd``
with a password (scram over TCP), like a real deployment.
"""

from __future__ import annotations

import os
import pwd
import shutil
import socket
import subprocess
import tempfile
import uuid
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Self

import pytest

if TYPE_CHECKING:
    from syncd.store.postgres import PostgresStore

ROLE = "syncd"
PASSWORD = "pg-test-5ecret"


def _bindir() -> Path | None:
    override = os.environ.get("SYNCD_TEST_PG_BINDIR")
    candidates = [Path(override)] if override else []
    candidates += sorted(Path("/usr/lib/postgresql").glob("*/bin"), reverse=True)
    found = next((d for d in candidates if (d / "initdb").is_file()), None)
    if found is None and shutil.which("initdb"):
        found = Path(str(shutil.which("initdb"))).parent
    return found


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@dataclass(frozen=True)
class PgDatabase:
    """One database on the test server that syncd may use."""

    url: str
    """``postgresql://syncd@127.0.0.1:<port>/<name>``: no password in it, as syncd requires."""
    name: str
    password: str = PASSWORD


class PgServer:
    """A PostgreSQL server in a temporary directory, started and stopped by the tests."""

    def __init__(self, bindir: Path) -> None:
        self._bin = bindir
        self.root = Path(tempfile.mkdtemp(prefix="syncd-pg-"))
        self.data = self.root / "data"
        self.port = _free_port()
        self._as_postgres = os.geteuid() == 0
        if self._as_postgres:
            user = pwd.getpwnam("postgres")
            os.chown(self.root, user.pw_uid, user.pw_gid)

    @classmethod
    def start_new(cls, *, with_role: bool = True) -> Self:
        """Create, configure and start a server; skip the test if PostgreSQL is not installed."""
        bindir = _bindir()
        if bindir is None:
            pytest.skip("PostgreSQL server binaries not installed (Debian package postgresql)")
        server = cls(bindir)
        server._initdb()
        server.start()
        if with_role:
            server.admin(f"CREATE ROLE {ROLE} LOGIN PASSWORD '{PASSWORD}'")
        return server

    def psql(self, script: Path, **variables: str) -> None:
        """Run a psql script as the superuser (over the unix socket) with ``-v`` variables."""
        args = [f"--set={k}={v}" for k, v in variables.items()]
        cmd = [str(self._bin / "psql"), "-X", "-q", "-h", str(self.root), "-p", str(self.port)]
        subprocess.run(
            [*cmd, "-U", "postgres", "-f", str(script), *args],
            check=True, capture_output=True, timeout=60,
        )  # fmt: skip

    def _run(self, *args: str) -> None:
        prefix = ["runuser", "-u", "postgres", "--"] if self._as_postgres else []
        cmd = [*prefix, str(self._bin / args[0]), *args[1:]]
        done = subprocess.run(cmd, capture_output=True, text=True, check=False, timeout=60)
        if done.returncode != 0:
            log = self.root / "server.log"
            tail = log.read_text()[-2000:] if log.exists() else ""
            pytest.fail(f"{' '.join(args[:2])} failed: {done.stderr}{done.stdout}\n{tail}")

    def _initdb(self) -> None:
        self._run(
            "initdb", "-D", str(self.data), "-U", "postgres", "-E", "UTF8", "--no-sync",
            "--auth-local=trust", "--auth-host=scram-sha-256",
        )  # fmt: skip
        with (self.data / "postgresql.conf").open("a", encoding="utf-8") as conf:
            conf.write(
                f"listen_addresses = '127.0.0.1'\nport = {self.port}\n"
                f"unix_socket_directories = '{self.root}'\n"
                # Throwaway data: durability costs time and buys nothing here.
                "fsync = off\nsynchronous_commit = off\nfull_page_writes = off\n"
            )

    def start(self) -> None:
        """Start the server and wait until it accepts connections."""
        self._run(
            "pg_ctl", "-D", str(self.data), "-l", str(self.root / "server.log"), "-w", "start"
        )

    def stop(self, *, mode: str = "fast") -> None:
        """Stop the server (``fast`` disconnects every client; ``immediate`` is a crash)."""
        self._run("pg_ctl", "-D", str(self.data), "-m", mode, "-w", "stop")

    def close(self) -> None:
        """Stop the server if it runs and delete its directory."""
        if (self.data / "postmaster.pid").exists():
            self.stop(mode="immediate")
        shutil.rmtree(self.root, ignore_errors=True)

    def admin(self, sql: str, *, dbname: str = "postgres") -> list[tuple[object, ...]]:
        """Run one statement as the superuser over the unix socket; return its rows."""
        import psycopg  # noqa: PLC0415 - libpq is loaded only where a server runs

        with psycopg.connect(
            host=str(self.root), port=self.port, user="postgres", dbname=dbname, autocommit=True
        ) as conn:
            cur = conn.execute(sql.encode())
            return cur.fetchall() if cur.description else []

    def database(self) -> PgDatabase:
        """Create a fresh database owned by the ``syncd`` role."""
        name = f"t_{uuid.uuid4().hex[:12]}"
        self.admin(f"CREATE DATABASE {name} OWNER {ROLE}")
        return PgDatabase(url=f"postgresql://{ROLE}@127.0.0.1:{self.port}/{name}", name=name)


def lead(store: PostgresStore) -> int:
    """Take a new leader epoch for ``store`` as the leader would (tests of the store alone)."""
    from syncd.store.postgres import claim_epoch  # noqa: PLC0415 - as in admin()

    with store.connect_dedicated() as conn:
        return claim_epoch(conn)
