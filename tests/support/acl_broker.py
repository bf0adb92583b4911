"""A real Mosquitto that uses the files `enerdiag registry mqtt-acl` writes from a registry, on the two listeners
of the production configuration (deploy/mosquitto/mosquitto.conf): gateways on `port` (client id = user name),
the collector and the safety watcher on `services_port`.

Shared by the registry's ACL tests, the broker session tests and the simulators' login tests: load a registry
file into a fresh SQLite registry, run the command, start the broker with its files (anonymous clients refused).
"""

from __future__ import annotations

import shutil
import tempfile
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import pytest
import typer
from typer.testing import CliRunner

from core.registry.db import dispose_engines, session_scope
from core.registry.loader import load_registry_file
from core.registry.mosquitto import (
    SERVICES_ACL_FILE,
    SERVICES_PASSWORD_FILE,
    gateway_listener_settings,
    services_listener_settings,
)
from core.settings import get_settings
from enerdiag.commands import registry as registry_commands
from enerdiag.localservices import Mosquitto, ServiceError
from enerdiag.localservices.procs import free_port


@dataclass
class AclBroker:
    host: str
    port: int  # the gateway listener
    services_port: int  # the collector's and the safety watcher's listener
    password_file: Path
    acl_file: Path
    services_password_file: Path
    services_acl_file: Path
    command_output: str  # what `registry mqtt-acl` printed
    workdir: Path

    @property
    def services_url(self) -> str:
        return f"mqtt://{self.host}:{self.services_port}"


@contextmanager
def registry_acl_broker(
    prefix: str, write_registry: Callable[[Path], Path], collector: str, collector_password: str,
    safety: tuple[str, str] | None = None,
) -> Iterator[AclBroker]:
    """`write_registry(workdir)` returns the registry YAML to load; yields the running broker.

    `safety`: (user, password) of the safety watcher's account, written too."""
    workdir = Path(tempfile.mkdtemp(prefix=prefix, dir="/tmp"))
    workdir.chmod(0o755)  # the broker drops to user mosquitto and must reach its files
    mp = pytest.MonkeyPatch()
    mp.setenv("ENERDIAG_DATA_DIR", str(workdir / "data"))
    mp.setenv("ENERDIAG_RUN_DIR", str(workdir / "run"))
    mp.setenv("ENERDIAG_MQTT_URL", "mqtt://127.0.0.1:1883")
    mp.delenv("ENERDIAG_DB_URL", raising=False)
    get_settings.cache_clear()
    server = None
    try:
        registry_file = write_registry(workdir)
        with session_scope() as session:
            load_registry_file(session, registry_file)
        app = typer.Typer()
        registry_commands.register(app)
        pw, acl = workdir / "mosquitto" / "passwd", workdir / "mosquitto" / "acl"
        spw, sacl = workdir / "mosquitto" / SERVICES_PASSWORD_FILE, workdir / "mosquitto" / SERVICES_ACL_FILE
        args = ["registry", "mqtt-acl", "--password-file", str(pw), "--acl-file", str(acl),
                "--collector-user", collector, "--collector-password", collector_password]
        if safety is not None:
            args += ["--safety-user", safety[0], "--safety-password", safety[1]]
        result = CliRunner().invoke(app, args)
        assert result.exit_code == 0, result.output
        services_port = free_port()
        server = Mosquitto(
            workdir / "broker",
            extra_config=(gateway_listener_settings(pw, acl) + f"listener {services_port} 127.0.0.1\n"
                          + services_listener_settings(spw, sacl)),
            allow_anonymous=False,  # readiness: any CONNACK (the tests log in for real)
            per_listener_settings=True,
        )
        try:
            server.start()
        except ServiceError as exc:
            pytest.fail(f"{exc}\n{exc.log_tail}", pytrace=False)
        assert server.port is not None
        yield AclBroker("127.0.0.1", server.port, services_port, pw, acl, spw, sacl, result.stdout, workdir)
    finally:
        if server is not None:
            server.stop()
        mp.undo()
        get_settings.cache_clear()
        dispose_engines()
        shutil.rmtree(workdir, ignore_errors=True)
