"""The simulator in its own process, so syncd's peak RSS is measured alone.

Owns starting ``python -m syncd.sim``, reading the instance URLs it prints, driving its
``/_sim/`` admin controls over HTTP, reading its memory high-water mark, and stopping it.
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
from typing import IO, TYPE_CHECKING, Any, Self

import httpx
import psutil

if TYPE_CHECKING:
    from types import TracebackType

__all__ = ["SimProcess"]

STARTUP_TIMEOUT = 30.0
STOP_TIMEOUT = 10.0


class SimProcess:
    """``python -m MODULE --instance NAME ...`` as a child process (a context manager).

    ``MODULE`` is ``syncd.sim`` or a wrapper that takes the same arguments; ``extra_args`` are
    passed after the instances.
    """

    def __init__(
        self,
        *,
        instances: tuple[str, ...],
        cwd: Path,
        module: str = "syncd.sim",
        extra_args: tuple[str, ...] = (),
    ) -> None:
        self._instances = instances
        self._extra_args = extra_args
        self._module = module
        self._cwd = cwd
        self._proc: subprocess.Popen[bytes] | None = None
        self._stderr: IO[str] | None = None
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
        """Process id of the simulator."""
        assert self._proc is not None, "simulator not started"
        return self._proc.pid

    def start(self) -> None:
        """Start the simulator and wait (bounded) until it prints one URL per instance."""
        args = [sys.executable, "-m", self._module]
        for name in self._instances:
            args += ["--instance", name]
        args += self._extra_args  # e.g. ``--dual-master a,b``
        # stderr goes to a file: an unread pipe could fill up and stall the simulator.
        self._stderr = tempfile.TemporaryFile(mode="w+", encoding="utf-8")  # noqa: SIM115
        self._proc = subprocess.Popen(
            args, cwd=self._cwd, stdout=subprocess.PIPE, stderr=self._stderr
        )
        assert self._proc.stdout is not None
        try:
            self.urls = self._read_urls(self._proc.stdout)
        except BaseException:
            self.stop()  # __exit__ does not run when __enter__ fails: leave no orphan behind
            raise

    def _read_urls(self, stdout: IO[bytes]) -> dict[str, str]:
        # Raw reads: a buffered readline could keep a second line where select() cannot see it.
        raw = b""
        deadline = time.monotonic() + STARTUP_TIMEOUT
        with selectors.DefaultSelector() as sel:
            sel.register(stdout, selectors.EVENT_READ)
            while raw.count(b"\n") < len(self._instances):
                if not sel.select(timeout=max(0.0, deadline - time.monotonic())):
                    raise RuntimeError(f"simulator printed no URLs in {STARTUP_TIMEOUT} s")
                chunk = os.read(stdout.fileno(), 4096)
                if not chunk:
                    raise RuntimeError(f"simulator exited early: {self.stderr_text()}")
                raw += chunk
        return dict(line.split(maxsplit=1) for line in raw.decode().splitlines() if line)

    def stderr_text(self) -> str:
        """Return what the simulator wrote to stderr so far (the last 2000 characters)."""
        if self._stderr is None:
            return ""
        self._stderr.seek(0)
        return self._stderr.read()[-2000:]

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
        """Return the simulator's resident-set high-water mark (VmHWM), else its current RSS."""
        status = Path(f"/proc/{self.pid}/status")
        if status.exists():
            for line in status.read_text(encoding="ascii").splitlines():
                if line.startswith("VmHWM:"):
                    return int(line.split()[1]) * 1024
        return int(psutil.Process(self.pid).memory_info().rss)

    def cpu_seconds(self) -> float:
        """Return the user + system CPU seconds the simulator has used so far."""
        times = psutil.Process(self.pid).cpu_times()
        return float(times.user + times.system)

    def stop(self) -> None:
        """SIGTERM the simulator (the one we started) and wait, bounded, for it to exit."""
        self._http.close()
        if self._proc is not None and self._proc.poll() is None:
            self._proc.send_signal(signal.SIGTERM)
            try:
                self._proc.wait(timeout=STOP_TIMEOUT)
            except subprocess.TimeoutExpired:
                self._proc.kill()
                self._proc.wait()
        if self._proc is not None and self._proc.stdout is not None:
            self._proc.stdout.close()
        if self._stderr is not None:
            self._stderr.close()
