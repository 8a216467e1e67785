"""The real data plane: one Debian ``docker-registry`` subprocess behind a simulated Harbor.

Owns the process lifecycle only: a private temp directory (config, log, filesystem storage),
``127.0.0.1:0`` as the listen address with the bound port read back from the registry's own
``listening on`` log line, a bounded wait for ``GET /v2/`` to answer, and SIGKILL plus removal
of the directory on ``stop`` (the storage is throwaway, so there is nothing to shut down
gracefully). ``start`` is idempotent and thread-safe so the registry can be started lazily, on
the first ``/v2/`` request. An ``atexit`` hook stops registries a test forgot.
The ``/v2/`` proxy lives in ``dataplane_proxy``, the byte-level replication in ``dataplane_copy``.
"""

from __future__ import annotations

import atexit
import json
import re
import secrets
import shutil
import subprocess
import tempfile
import threading
import time
from pathlib import Path

import httpx

__all__ = ["REGISTRY_BINARY", "DataPlaneError", "RegistryProcess", "registry_binary"]

REGISTRY_BINARY = "docker-registry"
_LISTENING = re.compile(r"listening on (?:\[::\]|[\d.]+):(\d+)")
_START_TIMEOUT = 10.0
_LIVE: set[RegistryProcess] = set()
"""Strong references: a dropped, unstopped instance must not orphan its registry."""


class DataPlaneError(RuntimeError):
    """The registry binary is missing (when required) or the registry did not come up."""


def registry_binary(*, required: bool | None) -> str | None:
    """Resolve ``data_plane``: None = auto, True = must exist, False = off; the path or None."""
    if required is False:
        return None
    found = shutil.which(REGISTRY_BINARY)
    if found is None and required:
        raise DataPlaneError(f"data_plane=True but {REGISTRY_BINARY!r} is not on PATH")
    return found


def _config(storage: Path) -> str:
    # JSON is valid YAML; no auth on the registry: the simulator's proxy is the gatekeeper.
    config = {
        "version": 0.1,
        "log": {"level": "info", "formatter": "json", "accesslog": {"disabled": True}},
        "storage": {
            "filesystem": {"rootdirectory": str(storage)},
            "delete": {"enabled": True},
            "maintenance": {"uploadpurging": {"enabled": False}},
            "redirect": {"disable": True},
        },
        "http": {"addr": "127.0.0.1:0", "secret": secrets.token_hex(16)},
        "health": {"storagedriver": {"enabled": False}},
    }
    return json.dumps(config, indent=2)


class RegistryProcess:
    """A ``docker-registry serve`` child with filesystem storage in its own temp directory."""

    def __init__(self, *, name: str, binary: str) -> None:
        self.name = name
        self.binary = binary
        self.root: Path | None = None
        """Temp directory holding ``config.yml``, ``registry.log`` and ``storage/``."""
        self.url = ""
        """``http://127.0.0.1:PORT`` of the registry itself (internal access, no auth)."""
        self._proc: subprocess.Popen[bytes] | None = None
        self._lock = threading.Lock()

    @property
    def pid(self) -> int | None:
        """Process id while started."""
        return self._proc.pid if self._proc is not None else None

    @property
    def storage(self) -> Path:
        """The registry's ``rootdirectory``."""
        if self.root is None:
            raise DataPlaneError("registry not started")
        return self.root / "storage"

    @property
    def started(self) -> bool:
        """Whether the process was started (and not stopped)."""
        return self._proc is not None

    def start(self) -> None:
        """Start the registry (once) and wait, bounded, until ``GET /v2/`` answers 200."""
        with self._lock:
            if self._proc is not None:
                return
            self._start_locked()

    def _start_locked(self) -> None:
        self.root = Path(tempfile.mkdtemp(prefix=f"syncd-sim-{self.name}-"))
        self.storage.mkdir()
        config = self.root / "config.yml"
        config.write_text(_config(self.storage), encoding="utf-8")
        with (self.root / "registry.log").open("wb") as log:
            self._proc = subprocess.Popen(  # noqa: S603 - fixed binary, our own config
                [self.binary, "serve", str(config)],
                stdin=subprocess.DEVNULL,
                stdout=log,
                stderr=subprocess.STDOUT,
            )
        _LIVE.add(self)
        try:
            self._await_ready()
        except BaseException:
            self._stop_locked()
            raise

    def _await_ready(self) -> None:
        assert self.root is not None
        assert self._proc is not None
        deadline = time.monotonic() + _START_TIMEOUT
        while time.monotonic() < deadline:
            if self._proc.poll() is not None:
                raise DataPlaneError(f"registry of {self.name} exited: {self._log_tail()}")
            if not self.url:
                match = _LISTENING.search(self._log_tail())
                self.url = f"http://127.0.0.1:{match.group(1)}" if match else ""
            if self.url and self._answers():
                return
            time.sleep(0.01)
        raise DataPlaneError(f"registry of {self.name} did not answer GET /v2/ in time")

    def _answers(self) -> bool:
        try:
            return httpx.get(self.url + "/v2/", timeout=1.0).status_code == httpx.codes.OK
        except httpx.HTTPError:
            return False

    def _log_tail(self) -> str:
        assert self.root is not None
        try:
            return (self.root / "registry.log").read_text(encoding="utf-8", errors="replace")
        except OSError:
            return ""

    def stop(self) -> None:
        """Kill the process, reap it and remove the temp directory."""
        with self._lock:
            self._stop_locked()

    def _stop_locked(self) -> None:
        proc, self._proc = self._proc, None
        root, self.root = self.root, None
        self.url = ""
        if proc is not None:
            proc.kill()
            proc.wait()
        if root is not None:
            shutil.rmtree(root, ignore_errors=True)
        _LIVE.discard(self)


@atexit.register
def _stop_leftovers() -> None:
    for registry in list(_LIVE):
        registry.stop()
