"""Shared fixtures: real Mosquitto + InfluxDB (`services`), real PostgreSQL (`postgres_url`), `influx_db`.

Servers run from Debian's packages in a fresh temp run dir (see enerdiag/localservices). A missing
binary fails the test loudly with the apt-get command to run; it is never skipped.
"""

from __future__ import annotations

import contextlib
import os
import shutil
import tempfile
import uuid
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

import pytest

from core.settings import get_settings
from enerdiag.localservices import InfluxD, Mosquitto, Postgres, Server, ServiceError

APT_HINT = "apt-get install -y mosquitto mosquitto-clients influxdb postgresql (the Makefile installs them)"


@dataclass
class Services:
    """The running test services and the ENERDIAG_* settings that point at them."""

    mosquitto: Mosquitto
    influxd: InfluxD
    run_dir: Path
    env: dict[str, str] = field(default_factory=dict)

    @property
    def mqtt_url(self) -> str:
        return self.mosquitto.url

    @property
    def mqtt_host(self) -> str:
        return self.mosquitto.host

    @property
    def mqtt_port(self) -> int:
        assert self.mosquitto.port is not None
        return self.mosquitto.port

    @property
    def influx_url(self) -> str:
        return self.influxd.url


def service_tmpdir(prefix: str) -> Path:
    """A fresh dir the `mosquitto`/`postgres` users can traverse (pytest's own tmp dirs are 0700)."""
    path = Path(tempfile.mkdtemp(prefix=prefix, dir="/tmp"))
    path.chmod(0o755)
    return path


def start_or_fail(server: Server) -> Server:
    """Start `server`; on a missing binary or a failed start fail the test run with the reason and log."""
    if server.binary() is None:
        pytest.fail(f"{server.name} is not installed: run `{APT_HINT}`", pytrace=False)
    try:
        return server.start()
    except ServiceError as exc:
        pytest.fail(f"{exc}\n--- log tail ---\n{exc.log_tail}", pytrace=False)


@pytest.fixture(scope="session")
def services() -> Iterator[Services]:
    """Fresh Mosquitto + InfluxDB for the test session; ENERDIAG_* env set; stopped at the end."""
    run_dir = service_tmpdir("enerdiag-test-services-")
    data_dir = run_dir / "data"
    data_dir.mkdir()
    mosquitto = start_or_fail(Mosquitto(run_dir / "mosquitto"))
    try:
        influxd = start_or_fail(InfluxD(run_dir / "influxdb"))
    except BaseException:
        mosquitto.stop()
        raise
    assert isinstance(mosquitto, Mosquitto) and isinstance(influxd, InfluxD)
    try:
        influxd.create_database("energy")
        env = {
            "ENERDIAG_RUN_DIR": str(run_dir),
            "ENERDIAG_MQTT_URL": mosquitto.url,
            "ENERDIAG_INFLUX_URL": influxd.url,
            "ENERDIAG_INFLUX_DB": "energy",
            "ENERDIAG_DATA_DIR": str(data_dir),
        }
        with pytest.MonkeyPatch.context() as patch:
            for key, value in env.items():
                patch.setenv(key, value)
            for key in ("ENERDIAG_DB_URL", "ENERDIAG_INFLUX_TOKEN", "ENERDIAG_CONFIG"):
                patch.delenv(key, raising=False)
            get_settings.cache_clear()
            yield Services(mosquitto=mosquitto, influxd=influxd, run_dir=run_dir, env=env)
        get_settings.cache_clear()
    finally:
        mosquitto.stop()
        influxd.stop()
        shutil.rmtree(run_dir, ignore_errors=True)


@pytest.fixture(scope="session")
def postgres_server() -> Iterator[Postgres]:
    """A real PostgreSQL for the test session, in its own temp dir (the handle, for restart tests)."""
    workdir = service_tmpdir("enerdiag-test-postgres-")
    server = start_or_fail(Postgres(workdir / "postgres"))
    assert isinstance(server, Postgres)
    try:
        yield server
    finally:
        server.stop()
        shutil.rmtree(workdir, ignore_errors=True)


@pytest.fixture(scope="session")
def postgres_url(postgres_server: Postgres) -> str:
    """SQLAlchemy URL `postgresql+psycopg://postgres@127.0.0.1:PORT/postgres` of the session PostgreSQL."""
    return postgres_server.url


@pytest.fixture
def influx_db(services: Services) -> Iterator[str]:
    """A freshly created, uniquely named InfluxDB database on `services.influx_url` (dropped afterwards)."""
    name = f"test_{os.getpid()}_{uuid.uuid4().hex[:10]}"
    services.influxd.create_database(name)
    yield name
    # the server may have been stopped by the test; the session run dir is removed at the end anyway
    with contextlib.suppress(ServiceError):
        services.influxd.query(f'DROP DATABASE "{name}"')


@pytest.fixture
def service_dir(services: Services) -> Path:
    """A fresh workdir for an extra server (e.g. a second Mosquitto) that its service user can reach."""
    path = services.run_dir / f"extra-{uuid.uuid4().hex[:8]}"
    path.mkdir(mode=0o755)
    return path
