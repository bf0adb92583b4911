"""Simulated gateways against the real Mosquitto: every message arrives exactly, status and last will work."""

from __future__ import annotations

import threading
import time
from collections import Counter
from collections.abc import Iterator

import orjson
import paho.mqtt.client as mqtt
import pytest

from simulators.city import CityConfig
from simulators.gateway import GatewayClient, parse_mqtt_url
from simulators.runner import Backfill, FaultConfig, MqttSink, RealTime, publish
from tests.support.datasets import UCI_STEEL_2018
from tests.unit.test_sim_support import DAYS

pytestmark = pytest.mark.integration


class Subscriber:
    """A QoS 1 subscriber that records every message it receives."""

    def __init__(self, host: str, port: int, topics: list[str], auth: tuple[str, str] | None = None) -> None:
        self.received: list[tuple[str, bytes, bool]] = []
        self.lock = threading.Lock()
        self.ready = threading.Event()
        self.client = mqtt.Client(mqtt.CallbackAPIVersion.VERSION2, protocol=mqtt.MQTTv5)
        self.client.on_connect = lambda c, *a: c.subscribe([(t, 1) for t in topics])
        self.client.on_subscribe = lambda *a: self.ready.set()
        self.client.on_message = self._on_message
        if auth:
            self.client.username_pw_set(*auth)
        self.client.connect(host, port)
        self.client.loop_start()
        assert self.ready.wait(10), "subscriber did not subscribe"

    def _on_message(self, client: mqtt.Client, userdata: object, msg: mqtt.MQTTMessage) -> None:
        with self.lock:
            self.received.append((msg.topic, msg.payload, bool(msg.retain)))

    def wait_for(self, predicate, timeout: float = 30.0) -> bool:  # type: ignore[no-untyped-def]
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            with self.lock:
                if predicate(self.received):
                    return True
            time.sleep(0.05)
        with self.lock:
            return predicate(self.received)

    def close(self) -> None:
        self.client.disconnect()
        self.client.loop_stop()


@pytest.fixture
def subscriber(services) -> Iterator[Subscriber]:  # type: ignore[no-untyped-def]
    sub = Subscriber(services.mqtt_host, services.mqtt_port, ["em/v1/+/+/telemetry", "em/v1/+/+/status"])
    yield sub
    sub.close()


def test_backfill_delivers_every_message_exactly_once_in_order_per_gateway(services, subscriber) -> None:  # type: ignore[no-untyped-def]
    run = Backfill.plan(
        CityConfig(plants=6, seed=31, days=DAYS[:3], problem_share=0.5),
        300,
        FaultConfig(("duplicate", "malformed", "late"), 0.5),
        batch_readings=250,
    )
    sent = list(run.messages())
    sink = MqttSink(parse_mqtt_url(services.mqtt_url), client_prefix="itest", max_inflight=8)
    stats = publish(iter(sent), sink, run.plants)
    assert stats.messages == len(sent)

    def telemetry(received: list) -> list:
        return [(t, p) for t, p, _ in received if t.endswith("/telemetry")]

    assert subscriber.wait_for(lambda r: len(telemetry(r)) >= len(sent))
    time.sleep(0.3)  # nothing more may arrive
    got = telemetry(subscriber.received)
    assert len(got) == len(sent)
    assert Counter(got) == Counter((m.topic, m.payload) for m in sent)
    for spec in run.plants:  # MQTT keeps one client's order: each gateway's messages arrive as sent
        topic = f"em/v1/{spec.code}/gw1/telemetry"
        assert [p for t, p in got if t == topic] == [m.payload for m in sent if m.topic == topic]
    status = [(t, orjson.loads(p)) for t, p, _ in subscriber.received if t.endswith("/status")]
    for spec in run.plants:
        mine = [s["online"] for t, s in status if t == f"em/v1/{spec.code}/gw1/status"]
        assert mine == [True, False]


def test_last_will_is_published_retained_when_a_gateway_dies(services) -> None:  # type: ignore[no-untyped-def]
    broker = parse_mqtt_url(services.mqtt_url)
    gw = GatewayClient(broker, "91140214MA75QTJ143", "gw-will", "secret", client_prefix="itest")
    gw.connect()
    gw.wait_connected(10)
    topic = "em/v1/91140214MA75QTJ143/gw-will/status"
    online = Subscriber(services.mqtt_host, services.mqtt_port, [topic])
    assert online.wait_for(lambda r: any(orjson.loads(p)["online"] for _, p, _ in r), 10)
    online.close()
    gw.kill()
    later = Subscriber(services.mqtt_host, services.mqtt_port, [topic])
    try:
        assert later.wait_for(lambda r: any(not orjson.loads(p)["online"] for _, p, _ in r), 15)
        retained = [(orjson.loads(p), retain) for _, p, retain in later.received]
        assert retained[-1][0]["online"] is False and retained[-1][1] is True
    finally:
        later.close()


def test_real_time_accelerated_publishes_one_message_per_plant_and_step(services, subscriber) -> None:  # type: ignore[no-untyped-def]
    config = CityConfig(plants=5, seed=3, days=DAYS[:2], problem_share=0.4)
    realtime = RealTime(config, 60)
    start = time.time() - 3600  # an hour in the past, at 600x: catches up in ~6 s
    sink = MqttSink(parse_mqtt_url(services.mqtt_url), client_prefix="itest-rt")
    stats = realtime.run(sink, start, speed=1200.0, duration_s=4.0)
    steps = stats.messages // 5
    assert stats.messages == steps * 5 and steps >= 55
    assert subscriber.wait_for(lambda r: sum(t.endswith("/telemetry") for t, _, _ in r) >= stats.messages)
    readings = [r for t, p, _ in subscriber.received if t.endswith("/telemetry") for r in orjson.loads(p)["readings"]]
    newest = max(r["ts"] for r in readings)
    assert newest <= time.time() + 1  # never ahead of the wall clock
    per_meter = Counter((r["meter"]) for r in readings)
    assert per_meter["M01"] == stats.messages


def test_cli_publishes_to_the_configured_broker_and_replays_the_uci_file(services, subscriber) -> None:  # type: ignore[no-untyped-def]
    import json

    import typer
    from typer.testing import CliRunner

    from enerdiag.commands import simulate

    app = typer.Typer()

    @app.callback()
    def _root() -> None:
        """Test root."""

    simulate.register(app)
    result = CliRunner().invoke(app, ["simulate", "city", "--plants", "4", "--days", "2", "--seed", "77"])
    assert result.exit_code == 0, result.output
    summary = json.loads(result.stdout)
    assert summary["published"] is True
    assert subscriber.wait_for(lambda r: sum(t.endswith("/telemetry") for t, _, _ in r) >= summary["messages"])
    uci = UCI_STEEL_2018
    subscriber.received.clear()
    code = "91140214MA75QTJ143"
    result = CliRunner().invoke(
        app, ["simulate", "replay", str(uci), "--enterprise", code, "--meter", "M09", "--gateway", "steel"]
    )
    assert result.exit_code == 0, result.output
    replay = json.loads(result.stdout)
    topic = f"em/v1/{code}/steel/telemetry"
    assert subscriber.wait_for(lambda r: sum(t == topic for t, _, _ in r) >= replay["messages"])
    energy = sorted(
        (r["ts"], r["values"]["energy_kwh"])
        for t, p, _ in list(subscriber.received)
        if t == topic
        for r in orjson.loads(p)["readings"]
    )
    assert len(energy) == 35_041
    assert energy[-1][1] - energy[0][1] == pytest.approx(959_636.71, abs=0.01)


def test_many_gateways_share_one_network_thread(services, subscriber) -> None:  # type: ignore[no-untyped-def]
    realtime = RealTime(CityConfig(plants=300, seed=8, days=DAYS[:1], problem_share=0.3), 60)
    peak = [threading.active_count()]
    done = threading.Event()

    def sample() -> None:
        while not done.wait(0.05):
            peak.append(threading.active_count())

    sampler = threading.Thread(target=sample)
    sampler.start()
    try:
        sink = MqttSink(parse_mqtt_url(services.mqtt_url), client_prefix="itest-many")
        stats = realtime.run(sink, time.time() - 600, speed=1e6, duration_s=3.0)
    finally:
        done.set()
        sampler.join()
    assert stats.messages == 300 * realtime.steps and realtime.steps >= 10
    assert max(peak) - peak[0] <= 3  # 300 MQTT clients, one network thread (plus the subscriber's and ours)
    assert subscriber.wait_for(lambda r: sum(t.endswith("/telemetry") for t, _, _ in r) >= stats.messages)
    time.sleep(0.2)
    assert sum(t.endswith("/telemetry") for t, _, _ in subscriber.received) == stats.messages
