"""The periodic jobs of `enerdiag scheduler`: what each runs, how often, and when it is switched on.

Each job runs existing `enerdiag` commands (the documented ones, with their own error handling and exit codes)
as child processes: a job's crash, memory or hang (killed at its timeout) never takes the scheduler or another
job down, and the scheduler holds the job's lease (core/registry/jobs.py) for exactly the child's lifetime.

Periods are aligned to Asia/Shanghai midnight plus an offset, so every replica computes the same slots.
Environment (all optional): `ENERDIAG_JOB_<NAME>_EVERY` seconds (0 switches a job off; NAME in upper case with
`_` for `-`), `ENERDIAG_WEATHER_SOURCES` (YAML list of weather files, below), `ENERDIAG_BROKER_AUTH_DIR`
(where the broker's `passwd` and `acl` are kept in sync with the registry).
"""

from __future__ import annotations

import os
import sys
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Final

import yaml

Argv = list[str]


class JobConfigError(ValueError):
    """A scheduler setting that cannot be used; the message names the variable or file."""


@dataclass(frozen=True)
class JobSpec:
    """One periodic job: name, period, offset of the slots from local midnight, timeout, commands."""

    name: str
    every_s: int
    timeout_s: int
    commands: Callable[[], list[Argv]]
    """The command lines to run in order this time (empty: nothing to do, the run succeeds)."""
    offset_s: int = 0
    description: str = ""

    @property
    def enabled(self) -> bool:
        return self.every_s > 0


@dataclass(frozen=True)
class SchedulerEnv:
    """The scheduler's settings from the environment."""

    every: Mapping[str, int] = field(default_factory=dict)
    weather_sources: Path | None = None
    broker_auth_dir: Path | None = None

    @classmethod
    def from_environ(cls, environ: Mapping[str, str] | None = None) -> SchedulerEnv:
        env = os.environ if environ is None else environ
        every: dict[str, int] = {}
        for name in JOB_NAMES:
            key = every_variable(name)
            if key in env:
                try:
                    value = int(env[key])
                except ValueError:
                    raise JobConfigError(f"{key}={env[key]!r}: give whole seconds (0 = off)") from None
                if value < 0 or (0 < value < 10):
                    raise JobConfigError(f"{key}={value}: 0 (off) or at least 10 seconds")
                every[name] = value
        weather = env.get("ENERDIAG_WEATHER_SOURCES") or None
        auth = env.get("ENERDIAG_BROKER_AUTH_DIR") or None
        return cls(every, Path(weather) if weather else None, Path(auth) if auth else None)


def every_variable(name: str) -> str:
    return f"ENERDIAG_JOB_{name.upper().replace('-', '_')}_EVERY"


@dataclass(frozen=True)
class WeatherSource:
    """One weather file and the registry counties it is for (`enerdiag weather import` options)."""

    file: Path
    counties: tuple[str, ...]
    station: str | None = None

    def argv(self) -> Argv:
        out = ["weather", "import", str(self.file)]
        for county in self.counties:
            out += ["--county", county]
        if self.station:
            out += ["--station", self.station]
        return out


def read_weather_sources(path: Path) -> list[WeatherSource]:
    """`ENERDIAG_WEATHER_SOURCES`: a YAML list of `{file, counties: [..], station?}`; relative files are read
    from the list's directory. A bad list is refused whole, naming the entry."""
    try:
        data = yaml.safe_load(path.read_text(encoding="utf-8"))
    except OSError as exc:
        raise JobConfigError(f"{path}: cannot read the weather sources: {exc.strerror}") from exc
    except yaml.YAMLError as exc:
        raise JobConfigError(f"{path}: not YAML: {exc}") from exc
    if data is None:
        return []
    if not isinstance(data, list):
        raise JobConfigError(f"{path}: a list of {{file, counties, station}} entries is expected")
    out = []
    for n, entry in enumerate(data, 1):
        if not isinstance(entry, dict) or set(entry) - {"file", "counties", "station"}:
            raise JobConfigError(f"{path}: entry {n}: keys are file, counties and (optionally) station")
        file, counties, station = entry.get("file"), entry.get("counties"), entry.get("station")
        if not isinstance(file, str) or not file.strip():
            raise JobConfigError(f"{path}: entry {n}: `file` must name a CSV file")
        if (not isinstance(counties, list) or not counties
                or not all(isinstance(c, str) and c.strip() for c in counties)):
            raise JobConfigError(f"{path}: entry {n}: `counties` must list the registry counties it is for")
        if station is not None and not isinstance(station, str | int):
            raise JobConfigError(f"{path}: entry {n}: `station` must be a station id")
        target = Path(file)
        out.append(WeatherSource(target if target.is_absolute() else path.parent / target,
                                 tuple(c.strip() for c in counties), None if station is None else str(station)))
    return out


ROLLUP: Final = "rollup"
FEED: Final = "dashboard-feed"
WEBHOOKS: Final = "webhooks"
WEATHER: Final = "weather"
RETENTION: Final = "downsample"
BROKER: Final = "broker-sync"
JOB_NAMES: Final = (ROLLUP, FEED, WEBHOOKS, WEATHER, RETENTION, BROKER)


def default_jobs(env: SchedulerEnv) -> list[JobSpec]:
    """Every job with its default period, overridden by `env`; weather and broker sync only when configured."""

    def run(*argv: str) -> Callable[[], list[Argv]]:
        return lambda: [command_line(list(argv))]

    def weather() -> list[Argv]:
        assert env.weather_sources is not None
        return [command_line(source.argv()) for source in read_weather_sources(env.weather_sources)]

    def broker() -> list[Argv]:
        assert env.broker_auth_dir is not None
        return [command_line(["registry", "mqtt-acl", "--password-file", str(env.broker_auth_dir / "passwd"),
                              "--acl-file", str(env.broker_auth_dir / "acl")])]

    jobs = [
        JobSpec(ROLLUP, 900, 3600, run("rollup"),
                description="rollups of changed hours, the dashboard feed of the days they touched, and today's "
                            "credit indicators for the bank API (`enerdiag rollup`)"),
        JobSpec(FEED, 3600, 1800, run("dashboards", "feed"), offset_s=300,
                description="registry facts and analysis of yesterday and today for the dashboards, also when no "
                            "reading changed (`enerdiag dashboards feed`)"),
        JobSpec(WEBHOOKS, 60, 600, run("webhooks", "run", "--once"),
                description="post-loan events detected and due deliveries sent (`enerdiag webhooks run --once`)"),
        JobSpec(WEATHER, 21600 if env.weather_sources else 0, 1800, weather, offset_s=1800,
                description="outdoor temperature files of ENERDIAG_WEATHER_SOURCES (`enerdiag weather import`)"),
        JobSpec(RETENTION, 3600, 1800, run("downsample"), offset_s=600,
                description="hourly mean/min/max of the gauges, kept when raw readings expire "
                            "(`enerdiag downsample`)"),
        JobSpec(BROKER, 60 if env.broker_auth_dir else 0, 120, broker,
                description="the broker's password file and ACL regenerated from the registry into "
                            "ENERDIAG_BROKER_AUTH_DIR (`enerdiag registry mqtt-acl`)"),
    ]
    configured = {WEATHER: env.weather_sources is not None, BROKER: env.broker_auth_dir is not None}
    return [replace(job, every_s=env.every.get(job.name, job.every_s) if configured.get(job.name, True) else 0)
            for job in jobs]


def command_line(argv: Argv) -> list[str]:
    """The child process for one `enerdiag` command: this interpreter, so the same installation runs it."""
    return [sys.executable, "-m", "enerdiag", *argv]
