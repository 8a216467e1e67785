"""The simulator in its own process (or one per instance), so syncd's peak RSS is measured alone.

Owns starting ``python -m syncd.sim``, reading the instance URLs it prints, driving its
``/_sim/`` admin controls over HTTP, reading its memory high-water mark and CPU, and stopping it.
With ``split`` every instance runs in a process of its own (its own GIL); a dual-master pair is
then wired over the admin API (an endpoint and an event-based push policy on each side), which
replicates over HTTP exactly as ``--dual-master`` inside one process does.
"""

from __future__ import annotations

import os
import selectors
import signal
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import TYPE_CHECKING, Any, Self

import httpx
import psutil

from syncd.sim.cluster import ADMIN_PASSWORD, ADMIN_USER, policy_body

if TYPE_CHECKING:
    from types import TracebackType

__all__ = ["SimProcess"]

STARTUP_TIMEOUT = 30.0
STOP_TIMEOUT = 10.0


class _Child:
    """One ``python -m MODULE`` process and the file its stderr goes to."""

    def __init__(self, args: list[str], cwd: Path) -> None:
        # stderr goes to a file: an unread pipe could fill up and stall the simulator.
        self.stderr = tempfile.TemporaryFile(mode="w+", encoding="utf-8")  # noqa: SIM115
        self.proc = subprocess.Popen(args, cwd=cwd, stdout=subprocess.PIPE, stderr=self.stderr)

    def read_urls(self, count: int) -> dict[str, str]:
        """Wait (bounded) until the process printed ``count`` ``<name> <url>`` lines."""
        assert self.proc.stdout is not None
        # Raw reads: a buffered readline could keep a second line where select() cannot see it.
        raw = b""
        deadline = time.monotonic() + STARTUP_TIMEOUT
        with selectors.DefaultSelector() as sel:
            sel.register(self.proc.stdout, selectors.EVENT_READ)
            while raw.count(b"\n") < count:
                if not sel.select(timeout=max(0.0, deadline - time.monotonic())):
                    raise RuntimeError(f"simulator printed no URLs in {STARTUP_TIMEOUT} s")
                chunk = os.read(self.proc.stdout.fileno(), 4096)
                if not chunk:
                    raise RuntimeError(f"simulator exited early: {self.stderr_text()}")
                raw += chunk
        return dict(line.split(maxsplit=1) for line in raw.decode().splitlines() if line)

    def stderr_text(self) -> str:
        """Return what the process wrote to stderr so far (the last 2000 characters)."""
        self.stderr.seek(0)
        return self.stderr.read()[-2000:]

    def peak_rss_bytes(self) -> int:
        """Return the resident-set high-water mark (VmHWM), else the current RSS."""
        status = Path(f"/proc/{self.proc.pid}/status")
        if status.exists():
            for line in status.read_text(encoding="ascii").splitlines():
                if line.startswith("VmHWM:"):
                    return int(line.split()[1]) * 1024
        return int(psutil.Process(self.proc.pid).memory_info().rss)

    def cpu_seconds(self) -> float:
        """Return the user + system CPU seconds used so far."""
        times = psutil.Process(self.proc.pid).cpu_times()
        return float(times.user + times.system)

    def stop(self) -> None:
        """SIGTERM the process (the one we started) and wait, bounded, for it to exit."""
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(timeout=STOP_TIMEOUT)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        if self.proc.stdout is not None:
            self.proc.stdout.close()
        self.stderr.close()


class SimProcess:
    """``python -m MODULE --instance NAME ...`` as child process(es) (a context manager).

    ``MODULE`` is ``syncd.sim`` or a wrapper that takes the same arguments; ``extra_args`` are
    passed after the instances. ``dual_master`` links two instances both ways; ``split`` runs
    one process per instance.
    """

    def __init__(
        self,
        *,
        instances: tuple[str, ...],
        cwd: Path,
        module: str = "syncd.sim",
        extra_args: tuple[str, ...] = (),
        dual_master: tuple[str, str] | None = None,
        split: bool = False,
    ) -> None:
        self._instances = instances
        self._extra_args = extra_args
        self._module = module
        self._cwd = cwd
        self._dual_master = dual_master
        self._split = split
        self._children: list[_Child] = []
        self.urls: dict[str, str] = {}
        self._http = httpx.Client(timeout=httpx.Timeout(None, connect=5.0))

    def __enter__(self) -> Self:
        self.start()
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.stop()

    @property
    def pid(self) -> int:
        """Process id of the (first) simulator process."""
        assert self._children, "simulator not started"
        return self._children[0].proc.pid

    def start(self) -> None:
        """Start the simulator(s) and wait (bounded) until each printed its instances' URLs."""
        groups = [(name,) for name in self._instances] if self._split else [self._instances]
        try:
            for group in groups:
                self._children.append(_Child(self._args(group), self._cwd))
                self.urls |= self._children[-1].read_urls(len(group))
            if self._split and self._dual_master is not None:
                a, b = self._dual_master
                self._link(a, b)
                self._link(b, a)
        except BaseException:
            self.stop()  # __exit__ does not run when __enter__ fails: leave no orphan behind
            raise

    def _args(self, group: tuple[str, ...]) -> list[str]:
        args = [sys.executable, "-m", self._module]
        for name in group:
            args += ["--instance", name]
        if self._dual_master is not None and not self._split:
            args += ["--dual-master", ",".join(self._dual_master)]
        return args + list(self._extra_args)

    def _link(self, src: str, dst: str) -> None:
        """On ``src``: an endpoint for ``dst`` and an event-based push policy to it."""
        rid = self.admin(
            src,
            "add-registry",
            name=dst,
            url=self.urls[dst],
            username=ADMIN_USER,
            password=ADMIN_PASSWORD,
        )
        body = policy_body(f"{src}-to-{dst}", trigger="event_based")
        body |= {"src_registry": {"id": 0}, "dest_registry": {"id": rid}}
        self.admin(src, "add-policy", body=body)

    def stderr_text(self) -> str:
        """Return what the simulator(s) wrote to stderr so far (the last 2000 characters each)."""
        return "\n".join(child.stderr_text() for child in self._children)

    def admin(self, instance: str, command: str, **kwargs: Any) -> Any:
        """Run ``POST /_sim/<command>`` with ``kwargs`` as JSON; returns its ``result``."""
        response = self._http.post(f"{self.urls[instance]}/_sim/{command}", json=kwargs)
        response.raise_for_status()
        return response.json().get("result")

    def catalog(self, instance: str) -> dict[tuple[str, str], str]:
        """Return the simulator's own ``(repository, tag) -> digest`` map (``/_sim/catalog``)."""
        response = self._http.get(f"{self.urls[instance]}/_sim/catalog")
        response.raise_for_status()
        return {(repo, tag): digest for repo, tag, digest in response.json()}

    def catalog_digest(self, instance: str) -> tuple[int, str]:
        """Return ``(tags, sha256)`` of the simulator's catalog (``/_sim/catalog-digest``)."""
        response = self._http.get(f"{self.urls[instance]}/_sim/catalog-digest")
        response.raise_for_status()
        body = response.json()
        return int(body["tags"]), str(body["sha256"])

    def peak_rss_bytes(self) -> int:
        """Return the simulators' resident-set high-water marks (VmHWM), added up."""
        return sum(child.peak_rss_bytes() for child in self._children)

    def cpu_seconds(self) -> float:
        """Return the user + system CPU seconds the simulator(s) used so far."""
        return sum(child.cpu_seconds() for child in self._children)

    def stop(self) -> None:
        """Stop every simulator process we started, bounded."""
        self._http.close()
        for child in self._children:
            child.stop()
