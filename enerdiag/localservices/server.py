"""One local server process: pick/check its port, spawn it detached, wait until it really answers, stop it.

Subclasses (Mosquitto, InfluxD, Postgres) say how to configure, launch and probe their program.
"""

from __future__ import annotations

import contextlib
import os
import shutil
import signal
import subprocess
import time
from collections.abc import Sequence
from pathlib import Path
from typing import Any, ClassVar, Self

from enerdiag.localservices import procs

LOOPBACK = "127.0.0.1"
READY_TIMEOUT = 30.0
STOP_TIMEOUT = 10.0
POLL_INTERVAL = 0.05


class ServiceError(RuntimeError):
    """A local service could not be installed, started or stopped; `log_tail` holds its last log lines."""

    def __init__(self, message: str, log_tail: str = "") -> None:
        super().__init__(message)
        self.log_tail = log_tail


class Server:
    """Base for a server process bound to 127.0.0.1:`port`, with config, data and log under `workdir`."""

    name: ClassVar[str] = ""
    program: ClassVar[str] = ""
    packages: ClassVar[tuple[str, ...]] = ()
    stop_signal: ClassVar[int] = signal.SIGTERM

    def __init__(self, workdir: Path | str, port: int | None = None) -> None:
        self.workdir = Path(workdir).resolve()
        self.port: int | None = port
        self.pid: int | None = None
        self._proc: subprocess.Popen[bytes] | None = None

    # -- what subclasses provide ------------------------------------------------------------------
    @property
    def url(self) -> str:
        """Client URL of the server (valid once a port is chosen)."""
        raise NotImplementedError

    @property
    def marker(self) -> str:
        """A path that appears in our process's argv: proves a pid is this server and not another."""
        raise NotImplementedError

    def binary(self) -> str | None:
        """Absolute path of the server program, None when not installed."""
        return find_program(self.program)

    def _prepare(self, binary: str) -> list[str]:
        """Write config/data dirs and return the argv to launch."""
        raise NotImplementedError

    def _popen_kwargs(self) -> dict[str, Any]:
        return {}

    def ready(self) -> bool:
        """True when the server answers a real request (not just an open port)."""
        raise NotImplementedError

    def _extra_ports(self) -> list[int]:
        return []

    # -- state ------------------------------------------------------------------------------------
    @property
    def log_path(self) -> Path:
        """Where the server's stdout/stderr go (appended across restarts)."""
        return self.workdir / f"{self.name}.log"

    def state(self) -> dict[str, Any]:
        """What `from_state` needs to find this server again from another process."""
        return {"pid": self.pid, "port": self.port, "workdir": str(self.workdir), "url": self.url}

    @classmethod
    def from_state(cls, entry: dict[str, Any]) -> Self:
        """A handle on a server started earlier (maybe by another process), from `state()`."""
        server = cls(Path(entry["workdir"]), port=entry.get("port"))
        server.pid = entry.get("pid")
        return server

    def running(self) -> bool:
        """True when our recorded pid is alive and still is this program with our config."""
        return procs.is_program(self.pid, self.program, self.marker)

    def log_tail(self, lines: int = 40) -> str:
        """Last `lines` lines of the server log (empty when there is none)."""
        try:
            text = self.log_path.read_text(errors="replace")
        except OSError:
            return ""
        return "\n".join(text.splitlines()[-lines:])

    # -- life cycle -------------------------------------------------------------------------------
    def start(self, timeout: float = READY_TIMEOUT) -> Self:
        """Spawn the server and wait until it answers; on failure stop it and raise ServiceError."""
        self.spawn()
        self.wait_ready(timeout)
        return self

    def spawn(self) -> None:
        """Check the ports, write the config and launch the process detached (own session)."""
        if self.running():
            raise ServiceError(f"{self.name} is already running (pid {self.pid}, {self.url})")
        binary = self.binary()
        if binary is None:
            raise ServiceError(f"{self.name} is not installed: run `apt-get install -y {' '.join(self.packages)}`")
        if self.port is None:
            self.port = procs.free_port()
        for port in [self.port, *self._extra_ports()]:
            if procs.port_in_use(port):
                raise ServiceError(f"{self.name}: port {port} on 127.0.0.1 is already in use by another listener")
        self.workdir.mkdir(parents=True, exist_ok=True)
        argv = self._prepare(binary)
        with open(self.log_path, "ab") as log:
            log.write(f"--- enerdiag: starting {' '.join(argv)}\n".encode())
            log.flush()
            self._proc = subprocess.Popen(
                argv,
                stdin=subprocess.DEVNULL,
                stdout=log,
                stderr=subprocess.STDOUT,
                start_new_session=True,  # survives the CLI exiting and Ctrl-C in its terminal
                close_fds=True,
                **self._popen_kwargs(),
            )
        self.pid = self._proc.pid

    def wait_ready(self, timeout: float = READY_TIMEOUT) -> None:
        """Poll until the server answers and the listener is its own; else stop it and raise."""
        deadline = time.monotonic() + timeout
        assert self.pid is not None and self.port is not None
        while True:
            if not procs.alive(self.pid):
                code = self._proc.poll() if self._proc else None
                self._forget()
                raise ServiceError(f"{self.name} exited during start (exit code {code})", self.log_tail())
            if procs.owns_port(self.pid, self.port) and self.ready():
                return
            if time.monotonic() >= deadline:
                tail = self.log_tail()
                self.stop()
                raise ServiceError(f"{self.name} did not answer on {self.url} within {timeout:.0f} s", tail)
            time.sleep(POLL_INTERVAL)

    def stop(self, timeout: float = STOP_TIMEOUT) -> bool:
        """Stop our process (`stop_signal`, SIGKILL after `timeout` s). False when it was not running."""
        if not self.running():
            self._forget()
            return False
        assert self.pid is not None
        procs.terminate(self.pid, self.stop_signal, timeout)
        self._forget()
        return True

    def kill(self) -> bool:
        """SIGKILL our process at once (simulates a crash). False when it was not running."""
        if not self.running():
            self._forget()
            return False
        assert self.pid is not None
        os.kill(self.pid, signal.SIGKILL)
        procs.wait_gone(self.pid, 5.0)
        self._forget()
        return True

    def restart(self, timeout: float = READY_TIMEOUT) -> Self:
        """Stop (if running) and start again on the SAME port with the same workdir and data."""
        self.stop()
        return self.start(timeout)

    def _forget(self) -> None:
        if self._proc is not None:
            with contextlib.suppress(subprocess.TimeoutExpired):
                self._proc.wait(timeout=1)
        self._proc = None
        self.pid = None

    def __repr__(self) -> str:
        return f"{type(self).__name__}(pid={self.pid}, url={self.url if self.port else None}, workdir={self.workdir})"


def find_program(program: str, extra_dirs: Sequence[str] = ("/usr/sbin", "/usr/bin")) -> str | None:
    """`program` on PATH or in the usual Debian dirs (mosquitto lives in /usr/sbin)."""
    found = shutil.which(program)
    if found:
        return found
    for directory in extra_dirs:
        candidate = Path(directory) / program
        if candidate.is_file() and os.access(candidate, os.X_OK):
            return str(candidate)
    return None


def running_as_root() -> bool:
    """True when this process may chown and switch users."""
    return os.geteuid() == 0
