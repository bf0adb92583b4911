"""The local stack behind `enerdiag services up|down|status`: which servers, their state file, `.run/env`."""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from pydantic import ValidationError

from core.settings import ConfigFileError, Settings
from enerdiag.localservices import procs
from enerdiag.localservices.influxd import InfluxD
from enerdiag.localservices.mosquitto import Mosquitto
from enerdiag.localservices.postgres import Postgres
from enerdiag.localservices.server import READY_TIMEOUT, Server, ServiceError, running_as_root

STATE_FILE = "services.json"
ENV_FILE = "env"
INFLUX_DB = "energy"
APT_PACKAGES = ("mosquitto", "mosquitto-clients", "influxdb")
SERVER_CLASSES: dict[str, type[Server]] = {"mosquitto": Mosquitto, "influxd": InfluxD, "postgres": Postgres}
WORKDIRS = {"mosquitto": "mosquitto", "influxd": "influxdb", "postgres": "postgres"}


@dataclass(frozen=True)
class ServiceStatus:
    """One line of `enerdiag services status`."""

    name: str
    up: bool
    pid: int | None
    url: str

    def line(self) -> str:
        """`name UP|DOWN pid=… url` (fixed columns)."""
        pid = f"pid={self.pid}" if self.pid else "pid=-"
        return f"{self.name:<10} {'UP' if self.up else 'DOWN':<5} {pid:<12} {self.url}".rstrip()


def wants_postgres(explicit: bool) -> bool:
    """PostgreSQL is started when asked, or when ENERDIAG_DB_URL names a PostgreSQL database."""
    return explicit or os.environ.get("ENERDIAG_DB_URL", "").startswith("postgresql")


@dataclass(frozen=True)
class RawRetention:
    """The retention policy raw readings go to (settings `influx_raw_rp`, `influx_raw_rp_duration`)."""

    name: str
    duration: str


def raw_retention(run_dir: Path) -> RawRetention | None:
    """The raw readings' retention policy asked for by the environment, the TOML file or an earlier `up`'s
    `env` file (None: raw readings stay in the database's default policy)."""
    env_file = run_dir / ENV_FILE
    try:
        settings = Settings(_env_file=env_file if env_file.exists() else None)  # type: ignore[call-arg]
    except ValidationError as exc:
        first = exc.errors()[0]
        raise ServiceError(f"settings: {'.'.join(map(str, first['loc']))}: {first['msg']}") from exc
    except ConfigFileError as exc:
        raise ServiceError(str(exc)) from exc
    if settings.influx_raw_rp is None:
        return None
    return RawRetention(settings.influx_raw_rp, settings.influx_raw_rp_duration)


_DURATION_PART = re.compile(r"(\d+(?:\.\d+)?)(ns|us|µs|u|ms|s|m|h|d|w)")
_UNIT_SECONDS = {"ns": 1e-9, "us": 1e-6, "µs": 1e-6, "u": 1e-6, "ms": 1e-3, "s": 1, "m": 60, "h": 3600,
                 "d": 86400, "w": 604800}


def duration_seconds(text: str) -> float:
    """Seconds of an InfluxQL duration (`730d`, `INF`) or of one SHOW RETENTION POLICIES prints (`17520h0m0s`,
    `0s`); infinite is 0, as InfluxDB stores it."""
    if text.upper() == "INF":
        return 0.0
    return sum(float(n) * _UNIT_SECONDS[unit] for n, unit in _DURATION_PART.findall(text))


def ensure_retention_policy(influxd: InfluxD, db: str, policy: RawRetention) -> str:
    """Create the policy on `db`, or ALTER its duration when it exists with another one; never the database's
    default policy (raw readings need their own, or their expiry would take the rollups too). Returns what
    was done: `created`, `altered` or `kept`."""
    result = influxd.query(f'SHOW RETENTION POLICIES ON "{db}"')
    rows: dict[str, tuple[str, bool]] = {}
    for series in result["results"][0].get("series", []):
        for values in series.get("values", []):
            row = dict(zip(series["columns"], values, strict=True))
            rows[row["name"]] = (row["duration"], bool(row["default"]))
    if policy.name not in rows:
        influxd.query(f'CREATE RETENTION POLICY "{policy.name}" ON "{db}" DURATION {policy.duration} REPLICATION 1')
        return "created"
    duration, default = rows[policy.name]
    if default:
        raise ServiceError(f"ENERDIAG_INFLUX_RAW_RP={policy.name} is the default retention policy of {db}: raw "
                           "readings need a policy of their own (e.g. raw), or their expiry takes the rollups too")
    if duration_seconds(duration) != duration_seconds(policy.duration):
        influxd.query(f'ALTER RETENTION POLICY "{policy.name}" ON "{db}" DURATION {policy.duration}')
        return "altered"
    return "kept"


def env_for(run_dir: Path, servers: dict[str, Server], raw: RawRetention | None = None) -> dict[str, str]:
    """The ENERDIAG_* settings that point clients at `servers` (order = print order)."""
    env = {
        "ENERDIAG_MQTT_URL": servers["mosquitto"].url,
        "ENERDIAG_INFLUX_URL": servers["influxd"].url,
        "ENERDIAG_INFLUX_DB": INFLUX_DB,
        "ENERDIAG_DATA_DIR": str((run_dir / "data").resolve()),
    }
    if raw is not None:
        env["ENERDIAG_INFLUX_RAW_RP"] = raw.name
        env["ENERDIAG_INFLUX_RAW_RP_DURATION"] = raw.duration
    if "postgres" in servers:
        env["ENERDIAG_DB_URL"] = servers["postgres"].url
    return env


def env_text(env: dict[str, str]) -> str:
    """`KEY=value` lines, as printed by `up` and written to `.run/env`."""
    return "".join(f"{key}={value}\n" for key, value in env.items())


def read_state(run_dir: Path) -> dict[str, Server]:
    """Handles for the servers recorded in the state file (alive or not); empty when there is none."""
    path = run_dir / STATE_FILE
    try:
        data: dict[str, Any] = json.loads(path.read_text())
    except FileNotFoundError:
        return {}
    except (OSError, ValueError) as exc:
        raise ServiceError(f"{path}: unreadable state file ({exc}); remove it and stop stray servers by hand") from exc
    return {name: SERVER_CLASSES[name].from_state(entry) for name, entry in data.items() if name in SERVER_CLASSES}


def write_state(run_dir: Path, servers: dict[str, Server]) -> None:
    """Record pid/port/workdir of each server (atomically)."""
    path = run_dir / STATE_FILE
    tmp = path.with_suffix(".tmp")
    tmp.write_text(json.dumps({name: s.state() for name, s in servers.items()}, indent=2) + "\n")
    tmp.replace(path)


def ensure_installed(classes: list[type[Server]]) -> None:
    """Install missing server packages with apt-get when root; otherwise say which command to run."""
    missing = [cls for cls in classes if cls(Path("/nonexistent")).binary() is None]
    if not missing:
        return
    packages = sorted({p for cls in missing for p in cls.packages} | set(APT_PACKAGES))
    command = f"apt-get install -y {' '.join(packages)}"
    if not running_as_root():
        names = ", ".join(cls.name for cls in missing)
        raise ServiceError(f"{names} not installed: run `sudo apt-get update && sudo {command}`")
    env = {**os.environ, "DEBIAN_FRONTEND": "noninteractive"}
    for argv in (["apt-get", "update"], ["apt-get", "install", "-y", *packages]):
        print(f"enerdiag services: running {' '.join(argv)}", file=sys.stderr)
        result = subprocess.run(argv, stdout=sys.stderr, stderr=sys.stderr, env=env, check=False)
        if result.returncode != 0:
            raise ServiceError(f"`{' '.join(argv)}` failed with exit code {result.returncode}")
    still = [cls.name for cls in missing if cls(Path("/nonexistent")).binary() is None]
    if still:
        raise ServiceError(f"{', '.join(still)} still missing after `{command}`")


def up(run_dir: Path, postgres: bool = False, timeout: float = READY_TIMEOUT) -> dict[str, str]:
    """Start (or keep) Mosquitto, InfluxDB and optionally PostgreSQL; write state and `env`; return the env.

    Healthy servers from an earlier `up` are kept as they are; dead or hung ones are cleaned up and
    started again (on their old port when it is still free). Processes running with this run dir's
    config but missing from the state file (lost state) are stopped first, never shared. On failure
    everything started by this call is stopped again and ServiceError (with the log tail) is raised.
    """
    run_dir = run_dir.resolve()
    run_dir.mkdir(parents=True, exist_ok=True)
    (run_dir / "data").mkdir(exist_ok=True)
    previous = read_state(run_dir)
    raw = raw_retention(run_dir)
    names = ["mosquitto", "influxd"]
    if wants_postgres(postgres) or "postgres" in previous:
        names.append("postgres")
    servers: dict[str, Server] = {}
    to_start: list[Server] = []
    for name in names:
        old = previous.get(name)
        if old is not None and old.running() and old.ready():
            servers[name] = old
            continue
        if old is not None:
            old.stop()  # alive but not answering: stop it (only if it still is our program)
        server = SERVER_CLASSES[name](run_dir / WORKDIRS[name])
        for orphan in procs.find_programs(server.program, server.marker):
            procs.terminate(orphan, server.stop_signal)  # ours (our config path) but lost from the state file
        if old is not None and old.port and not procs.port_in_use(old.port):
            server.port = old.port
        servers[name] = server
        to_start.append(server)
    ensure_installed([type(s) for s in to_start])
    started: list[Server] = []
    try:
        for server in to_start:
            server.spawn()
            started.append(server)
        for server in started:
            server.wait_ready(timeout)
        influxd = servers["influxd"]
        assert isinstance(influxd, InfluxD)
        influxd.create_database(INFLUX_DB)
        if raw is not None:
            ensure_retention_policy(influxd, INFLUX_DB, raw)
    except BaseException:
        for server in started:
            server.stop()
        kept = {n: s for n, s in servers.items() if s not in to_start}
        if kept:
            write_state(run_dir, kept)
        else:
            (run_dir / STATE_FILE).unlink(missing_ok=True)
        raise
    write_state(run_dir, servers)
    env = env_for(run_dir, servers, raw)
    (run_dir / ENV_FILE).write_text(env_text(env))
    return env


def down(run_dir: Path) -> list[str]:
    """Stop exactly the servers recorded in the state file (checked by /proc cmdline); remove state and env."""
    run_dir = run_dir.resolve()
    messages = []
    for name, server in read_state(run_dir).items():
        pid = server.pid
        if server.stop():
            messages.append(f"{name}: stopped pid {pid}")
        else:
            messages.append(f"{name}: was not running (pid {pid} is gone or another program)")
    (run_dir / STATE_FILE).unlink(missing_ok=True)
    (run_dir / ENV_FILE).unlink(missing_ok=True)
    return messages


def status(run_dir: Path) -> list[ServiceStatus]:
    """UP/DOWN for each recorded server (Mosquitto and InfluxDB always listed); UP means it answers."""
    servers = read_state(run_dir.resolve())
    result = []
    for name in SERVER_CLASSES:
        server = servers.get(name)
        if server is None:
            if name != "postgres":
                result.append(ServiceStatus(name, False, None, "(not started)"))
            continue
        up_now = server.running() and server.ready()
        result.append(ServiceStatus(name, up_now, server.pid, server.url))
    return result
