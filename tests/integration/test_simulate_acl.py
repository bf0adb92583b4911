"""Simulated gateways log in with the registry's credentials on a broker that refuses anonymous clients."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

from simulators.city import CityConfig
from simulators.gateway import BrokerAddress, GatewayClient
from simulators.registry import dump
from simulators.runner import Backfill, MqttSink, publish
from tests.integration.test_simulate_mqtt import Subscriber
from tests.support.acl_broker import registry_acl_broker
from tests.unit.test_sim_support import DAYS

pytestmark = pytest.mark.integration

COLLECTOR, COLLECTOR_PW = "collector-sim", "collector-sim-secret"


@dataclass
class City:
    run: Backfill
    broker: BrokerAddress
    services_port: int  # the collector's listener


@pytest.fixture(scope="module")
def city() -> Iterator[City]:
    """A simulated city's registry loaded, Mosquitto started with the password file and ACL it yields."""
    run = Backfill.plan(CityConfig(plants=4, seed=12, days=DAYS[:2], problem_share=0.5), 900)

    def write_registry(workdir: Path) -> Path:
        registry_file = workdir / "city.yaml"
        registry_file.write_text(dump(run.registry()), encoding="utf-8")
        return registry_file

    with registry_acl_broker("enerdiag-test-simacl-", write_registry, COLLECTOR, COLLECTOR_PW) as server:
        yield City(run, BrokerAddress(server.host, server.port), server.services_port)


def test_gateways_publish_telemetry_and_status_with_their_registry_passwords(city: City) -> None:
    sub = Subscriber(
        city.broker.host, city.services_port, ["em/v1/+/+/telemetry", "em/v1/+/+/status"],
        auth=(COLLECTOR, COLLECTOR_PW),
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
