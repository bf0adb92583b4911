"""PostgreSQL (Debian's server binaries) on loopback, data in its workdir, trust auth; probed by pg_isready.

PostgreSQL refuses to run as root: as root, initdb and the postmaster run as OS user `postgres`
(subprocess `user=`, the equivalent of `runuser -u postgres --`, so the recorded pid is the postmaster).
"""

from __future__ import annotations

import os
import signal
import subprocess
from pathlib import Path
from typing import Any

from enerdiag.localservices import procs
from enerdiag.localservices.server import LOOPBACK, Server, ServiceError, running_as_root

PG_USER = "postgres"
PG_ROOT = Path("/usr/lib/postgresql")
SOCKET_PATH_MAX = 107  # sun_path limit; PostgreSQL puts .s.PGSQL.<port> in unix_socket_directories


def pg_bin_dir() -> Path | None:
    """The newest installed `/usr/lib/postgresql/<version>/bin` with a postgres binary."""
    candidates = [d / "bin" for d in PG_ROOT.glob("*") if (d / "bin" / "postgres").is_file()]
    if not candidates:
        return None
    return max(candidates, key=lambda p: [int(x) if x.isdigit() else 0 for x in p.parent.name.split(".")])


class Postgres(Server):
    """PostgreSQL on 127.0.0.1:`port` (free one if None); cluster in `workdir/data`, socket in `workdir`.

    Stops with SIGINT (PostgreSQL's "fast" shutdown: SIGTERM would wait for every client to leave).
    """

    name = "postgres"
    program = "postgres"
    packages = ("postgresql",)
    stop_signal = signal.SIGINT

    @property
    def url(self) -> str:
        return f"postgresql+psycopg://{PG_USER}@{LOOPBACK}:{self.port}/postgres"

    @property
    def data_dir(self) -> Path:
        """The database cluster directory."""
        return self.workdir / "data"

    @property
    def marker(self) -> str:
        return str(self.data_dir)

    def binary(self) -> str | None:
        bin_dir = pg_bin_dir()
        return str(bin_dir / "postgres") if bin_dir else None

    def _popen_kwargs(self) -> dict[str, Any]:
        if running_as_root():
            return {"user": PG_USER, "group": PG_USER, "extra_groups": [], "cwd": str(self.workdir)}
        return {"cwd": str(self.workdir)}

    def _prepare(self, binary: str) -> list[str]:
        assert self.port is not None
        if len(f"{self.workdir}/.s.PGSQL.{self.port}") > SOCKET_PATH_MAX:
            raise ServiceError(f"postgres: socket path under {self.workdir} is too long (> {SOCKET_PATH_MAX})")
        if running_as_root():
            if not procs.user_exists(PG_USER):
                raise ServiceError(f"postgres: OS user {PG_USER!r} is missing (apt-get install -y postgresql)")
            procs.chown_tree(self.workdir, PG_USER)
            blocked = procs.unreachable_by(self.workdir, PG_USER)
            if blocked:
                raise ServiceError(
                    f"postgres: user {PG_USER} cannot reach {self.workdir} ({blocked} is not traversable); "
                    "use a run dir under a world-readable path"
                )
        os.chmod(self.workdir, 0o700)
        if not (self.data_dir / "PG_VERSION").exists():
            self._initdb(Path(binary).parent / "initdb")
        return [
            binary,
            "-D", str(self.data_dir),
            "-c", f"listen_addresses={LOOPBACK}",
            "-c", f"port={self.port}",
            "-c", f"unix_socket_directories={self.workdir}",
            "-c", "fsync=off",  # local dev/test cluster: speed over crash safety
            "-c", "synchronous_commit=off",
            "-c", "full_page_writes=off",
        ]  # fmt: skip

    def _initdb(self, initdb: Path) -> None:
        log = self.workdir / "initdb.log"
        with open(log, "wb") as out:
            result = subprocess.run(
                [str(initdb), "-D", str(self.data_dir), "-U", PG_USER, "-A", "trust", "-E", "UTF8",
                 "--locale=C.UTF-8", "--no-sync"],
                stdin=subprocess.DEVNULL, stdout=out, stderr=subprocess.STDOUT, check=False,
                **self._popen_kwargs(),
            )  # fmt: skip
        if result.returncode != 0:
            tail = "\n".join(log.read_text(errors="replace").splitlines()[-40:])
            raise ServiceError(f"postgres: initdb failed (exit {result.returncode})", tail)

    def ready(self) -> bool:
        assert self.port is not None
        pg_isready = Path(self.binary() or "/usr/bin/postgres").parent / "pg_isready"
        result = subprocess.run(
            [str(pg_isready), "-q", "-h", LOOPBACK, "-p", str(self.port), "-t", "2"],
            stdin=subprocess.DEVNULL, capture_output=True, check=False,
        )  # fmt: skip
        return result.returncode == 0
