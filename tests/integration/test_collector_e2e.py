"""The collector in-process against real Mosquitto + InfluxDB: storage, dead letters, registry, status, metrics."""

from __future__ import annotations

import time
import urllib.request
from collections.abc import Iterator
from pathlib import Path

import orjson
import pytest

from collector.deadletters import DeadLetterStore
from collector.loadgen import Publisher, messages, telemetry_topic
from collector.payload import Reason
from collector.registry_view import load_snapshot
from collector.service import Collector, CollectorConfig
from core.influx import InfluxV1
from core.registry.db import init_db, session_scope
from core.registry.models import Enterprise, Gateway, Meter

pytestmark = pytest.mark.integration

ENT = "91330100MA27XL0E96"
OTHER = "91330100MA27XL0F01"  # not registered (check characters not even valid)
LOADGEN_METERS = 100


def make_registry(path: Path) -> str:
    url = f"sqlite:///{path}"
    init_db(url)
    with session_scope(url) as s:
        s.add(Enterprise(code=ENT, name="测试纺织厂", industry="1713", county="330102", timezone="Asia/Shanghai"))
        s.add(Gateway(enterprise_code=ENT, gateway_id="gw1"))
        s.add(Gateway(enterprise_code=ENT, gateway_id="gw2"))
        s.add(Meter(enterprise_code=ENT, meter_id="MAIN", gateway_id="gw1", carrier="electricity", role="main",
                    unit="kWh"))
        for meter in [f"M{i:04d}" for i in range(LOADGEN_METERS)] + ["X1", "X2", "X3", "X5"]:
            # the meters `collector.loadgen.messages` and the tests below name, on no fixed gateway
            s.add(Meter(enterprise_code=ENT, meter_id=meter, carrier="electricity", role="sub", unit="kWh"))
    return url


def count(influx: InfluxV1, where: str = "") -> int:
    series = influx.query(f'SELECT count("energy_kwh") FROM "reading" {where}')
    return int(series[0].values[0][1]) if series else 0


def wait_for(predicate, timeout: float = 20.0) -> bool:  # type: ignore[no-untyped-def]
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if predicate():
            return True
        time.sleep(0.1)
    return predicate()


@pytest.fixture
def running(services, influx_db: str, tmp_path: Path) -> Iterator[tuple[Collector, InfluxV1, Publisher]]:  # type: ignore[no-untyped-def]
    url = make_registry(tmp_path / "registry.sqlite3")
    cfg = CollectorConfig(mqtt_url=services.mqtt_url, client_id=f"c-{influx_db}", influx_url=services.influx_url,
                          influx_db=influx_db, data_dir=tmp_path / "data", batch_age=0.05)
    collector = Collector(cfg, lambda: load_snapshot(url))
    from collector.metrics import serve

    server = serve(collector.metrics, 0)
    collector.start()
    assert collector.wait_connected()
    time.sleep(0.3)  # subscriptions granted
    pub = Publisher(services.mqtt_url, f"p-{influx_db}")
    influx = InfluxV1(services.influx_url, influx_db)
    collector.metrics_url = f"http://127.0.0.1:{server.server_address[1]}/metrics"  # type: ignore[attr-defined]
    collector.registry_url = url  # type: ignore[attr-defined]
    yield collector, influx, pub
    pub.close()
    collector.stop()
    server.shutdown()
    influx.close()


def test_valid_readings_stored_bad_ones_dead_lettered(running) -> None:  # type: ignore[no-untyped-def]
    collector, influx, pub = running
    topic = telemetry_topic(ENT, "gw1")
    pub.publish_all(topic, messages(40, 25))  # 1,000 good readings
    mixed = {"ts": 1_700_000_000, "readings": [
        {"meter": "X1", "values": {"energy_kwh": 5.0}},
        {"meter": "X2", "values": {"energy_kwh": -5.0}},
        {"meter": "X3", "values": {"pf": 1.5}},
        {"meter": "X 4", "values": {"energy_kwh": 1.0}},
        {"meter": "X5", "ts": int(time.time()) + 3600, "values": {"energy_kwh": 1.0}},
        {"meter": "X9", "values": {"energy_kwh": 1.0}},  # well-formed, but not in the registry
    ]}
    pub.publish(topic, orjson.dumps(mixed))
    pub.publish(topic, b"{not json")
    pub.publish(telemetry_topic(OTHER, "gw1"), next(messages(1, 3)))
    pub.publish(telemetry_topic(ENT, "gw9"), next(messages(1, 3)))
    pub.publish(f"em/v1/{ENT}/gw1/bogus", b"{}")  # not subscribed: never reaches the collector
    assert pub.wait_acked()
    assert wait_for(lambda: count(influx) == 1001), count(influx)
    assert count(influx, "WHERE \"meter\"='X1'") == 1
    store = collector.deadletters
    assert wait_for(lambda: sum(store.count().values()) == 8)
    assert store.count() == {
        Reason.NEGATIVE_COUNTER: 1, Reason.OUT_OF_RANGE: 1, Reason.BAD_METER: 1, Reason.FUTURE_TIMESTAMP: 1,
        Reason.NOT_JSON: 1, Reason.UNKNOWN_ENTERPRISE: 1, Reason.UNKNOWN_GATEWAY: 1, Reason.UNKNOWN_METER: 1,
    }
    assert count(influx, "WHERE \"meter\"='X9'") == 0
    assert store.count(enterprise=ENT)[Reason.UNKNOWN_GATEWAY] == 1
    assert store.count(enterprise=OTHER) == {Reason.UNKNOWN_ENTERPRISE: 1}
    letter = store.list(enterprise=ENT, limit=100)
    not_json = next(d for d in letter if d.reason == Reason.NOT_JSON)
    assert not_json.payload == b"{not json" and not_json.topic == topic
    def metrics() -> str:  # counted once the batch's ingest marks are written too, just after the readings
        return urllib.request.urlopen(collector.metrics_url, timeout=5).read().decode()  # type: ignore[attr-defined]

    assert wait_for(lambda: "enerdiag_collector_readings_stored_total 1001" in metrics())
    assert 'enerdiag_collector_deadletters_total{reason="not_json"} 1' in metrics()


def test_redelivered_and_replayed_readings_are_stored_once(running) -> None:  # type: ignore[no-untyped-def]
    collector, influx, pub = running
    payloads = list(messages(20, 50))
    for _ in range(3):  # every message three times, as at-least-once delivery may do
        pub.publish_all(telemetry_topic(ENT, "gw1"), payloads)
    assert pub.wait_acked()
    assert wait_for(lambda: collector.metrics.readings_stored == 3000)
    assert count(influx) == 1000


def test_registered_meter_keeps_one_series_through_any_gateway(running) -> None:  # type: ignore[no-untyped-def]
    collector, influx, pub = running
    doc = orjson.dumps({"ts": 1_700_000_000, "readings": [{"meter": "MAIN", "values": {"energy_kwh": 7.0}}]})
    pub.publish(telemetry_topic(ENT, "gw1"), doc)
    pub.publish(telemetry_topic(ENT, "gw2"), doc)  # failover gateway carries the same reading
    assert pub.wait_acked()
    assert wait_for(lambda: collector.metrics.readings_stored == 2)
    series = influx.query('SELECT count("energy_kwh") FROM "reading" GROUP BY "gateway"')
    assert [(s.tags["gateway"], s.values[0][1]) for s in series] == [("gw1", 1)]


def test_gateway_online_state_from_status_topic(running) -> None:  # type: ignore[no-untyped-def]
    collector, _influx, pub = running
    pub.publish(f"em/v1/{ENT}/gw1/status", b'{"online": true, "ts": 1700000000}', retain=True)
    pub.publish(f"em/v1/{ENT}/gw2/status", b'{"online": false}', retain=True)
    assert pub.wait_acked()
    assert wait_for(lambda: len(collector.metrics.gateways) == 2)
    assert {k: v[0] for k, v in collector.metrics.gateways.items()} == {(ENT, "gw1"): True, (ENT, "gw2"): False}
    for gw in ("gw1", "gw2"):  # clear the retained messages for other tests
        pub.publish(f"em/v1/{ENT}/{gw}/status", b"", retain=True)
    assert pub.wait_acked()


def test_deadletter_store_survives_reopen(tmp_path: Path) -> None:
    from collector.deadletters import DeadLetter

    store = DeadLetterStore.in_dir(tmp_path)
    store.add_many([DeadLetter(100.0, "t", "not_json", "d", b"x" * 10_000, ENT, "gw1")])
    store.close()
    again = DeadLetterStore.in_dir(tmp_path)
    [letter] = again.list()
    assert len(letter.payload) == 4096 and letter.payload_size == 10_000


def test_gateway_added_to_the_registry_is_accepted_after_reload(running) -> None:  # type: ignore[no-untyped-def]
    collector, influx, pub = running
    payload = orjson.dumps({"ts": 1_700_000_000, "readings": [{"meter": "N1", "values": {"energy_kwh": 1.0}}]})
    pub.publish(telemetry_topic(ENT, "gw3"), payload)
    assert pub.wait_acked()
    assert wait_for(lambda: collector.deadletters.count().get(Reason.UNKNOWN_GATEWAY) == 1)
    with session_scope(collector.registry_url) as s:  # type: ignore[attr-defined]
        s.add(Gateway(enterprise_code=ENT, gateway_id="gw3"))
        s.add(Meter(enterprise_code=ENT, meter_id="N1", gateway_id="gw3", carrier="electricity", role="sub",
                    unit="kWh"))
    collector.reload_registry_now()
    assert wait_for(lambda: (ENT, "gw3") in collector.snapshot.gateways)
    pub.publish(telemetry_topic(ENT, "gw3"), payload)
    assert pub.wait_acked()
    assert wait_for(lambda: count(influx) == 1)
