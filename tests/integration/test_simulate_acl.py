"""Simulated gateways log in with the registry's credentials on a broker that refuses anonymous clients."""

from __future__ import annotations

import shutil
import tempfile
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
import typer
from typer.testing import CliRunner

from core.registry.db import dispose_engines, session_scope
from core.registry.loader import load_registry_file
from core.settings import get_settings
from enerdiag.commands import registry as registry_commands
from enerdiag.localservices import Mosquitto, ServiceError
from simulators.city import CityConfig
from simulators.gateway import BrokerAddress, GatewayClient
from simulators.registry import dump
from simulators.runner import Backfill, MqttSink, publish
from tests.integration.test_simulate_mqtt import Subscriber
from tests.unit.test_sim_support import DAYS

pytestmark = pytest.mark.integration

COLLECTOR, COLLECTOR_PW = "collector-sim", "collector-sim-secret"


@dataclass
class City:
    run: Backfill
    broker: BrokerAddress


@pytest.fixture(scope="module")
def city() -> Iterator[City]:
    """A simulated city's registry loaded, Mosquitto started with the password file and ACL it yields."""
    workdir = Path(tempfile.mkdtemp(prefix="enerdiag-test-simacl-", dir="/tmp"))
    workdir.chmod(0o755)
    mp = pytest.MonkeyPatch()
    mp.setenv("ENERDIAG_DATA_DIR", str(workdir / "data"))
    mp.setenv("ENERDIAG_RUN_DIR", str(workdir / "run"))
    mp.delenv("ENERDIAG_DB_URL", raising=False)
    get_settings.cache_clear()
    server = None
    try:
        run = Backfill.plan(CityConfig(plants=4, seed=12, days=DAYS[:2], problem_share=0.5), 900)
        registry_file = workdir / "city.yaml"
        registry_file.write_text(dump(run.registry()), encoding="utf-8")
        with session_scope() as session:
            load_registry_file(session, registry_file)
        app = typer.Typer()
        registry_commands.register(app)
        pw, acl = workdir / "mosquitto" / "passwd", workdir / "mosquitto" / "acl"
        result = CliRunner().invoke(
            app,
            [
                "registry",
                "mqtt-acl",
                "--password-file",
                str(pw),
                "--acl-file",
                str(acl),
                "--collector-user",
                COLLECTOR,
                "--collector-password",
                COLLECTOR_PW,
            ],
        )
        assert result.exit_code == 0, result.output
        server = Mosquitto(
            workdir / "broker", extra_config=f"password_file {pw}\nacl_file {acl}\n", allow_anonymous=False
        )
        try:
            server.start()
        except ServiceError as exc:
            pytest.fail(f"{exc}\n{exc.log_tail}", pytrace=False)
        assert server.port is not None
        yield City(run, BrokerAddress("127.0.0.1", server.port))
    finally:
        if server is not None:
            server.stop()
        mp.undo()
        get_settings.cache_clear()
        dispose_engines()
        shutil.rmtree(workdir, ignore_errors=True)


def test_gateways_publish_telemetry_and_status_with_their_registry_passwords(city: City) -> None:
    sub = Subscriber(
        city.broker.host, city.broker.port, ["em/v1/+/+/telemetry", "em/v1/+/+/status"], auth=(COLLECTOR, COLLECTOR_PW)
    )
    try:
        sent = list(city.run.messages())
        stats = publish(iter(sent), MqttSink(city.broker, client_prefix="acl"), city.run.plants)
        assert stats.messages == len(sent)
        assert sub.wait_for(lambda r: sum(t.endswith("/telemetry") for t, _, _ in r) >= len(sent))
        got = [(t, p) for t, p, _ in sub.received if t.endswith("/telemetry")]
        assert sorted(got) == sorted((m.topic, m.payload) for m in sent)
        assert sub.wait_for(lambda r: sum(t.endswith("/status") for t, _, _ in r) >= 2 * len(city.run.plants))
    finally:
        sub.close()


def test_a_wrong_password_is_refused_with_the_brokers_reason(city: City) -> None:
    spec = city.run.plants[0]
    gw = GatewayClient(city.broker, spec.code, spec.gateway, "not-the-password", client_prefix="acl-bad")
    gw.connect()
    with pytest.raises(ConnectionError, match="broker refused"):
        gw.wait_connected(10)
    gw.kill()
