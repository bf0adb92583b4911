"""The collector writes its own health to InfluxDB: collector_stats, deadletter_count, gateway_status."""

from __future__ import annotations

import time
from collections.abc import Iterator
from pathlib import Path

import orjson
import pytest

from collector.health import UNREGISTERED
from collector.loadgen import Publisher, messages, telemetry_topic
from collector.payload import Reason
from collector.registry_view import load_snapshot
from collector.service import Collector, CollectorConfig
from core.influx import InfluxV1
from core.measurements import COLLECTOR_STATS, DEADLETTER_COUNT, GATEWAY_STATUS
from tests.integration.test_collector_e2e import ENT, OTHER, make_registry, wait_for

pytestmark = pytest.mark.integration


@pytest.fixture
def running(services, influx_db: str, tmp_path: Path) -> Iterator[tuple[Collector, InfluxV1, Publisher]]:  # type: ignore[no-untyped-def]
    url = make_registry(tmp_path / "registry.sqlite3")
    cfg = CollectorConfig(mqtt_url=services.mqtt_url, client_id=f"h-{influx_db}", influx_url=services.influx_url,
                          influx_db=influx_db, data_dir=tmp_path / "data", batch_age=0.05, stats_every=0.3)
    collector = Collector(cfg, lambda: load_snapshot(url))
    collector.start()
    assert collector.wait_connected()
    time.sleep(0.3)
    pub = Publisher(services.mqtt_url, f"ph-{influx_db}")
    influx = InfluxV1(services.influx_url, influx_db)
    yield collector, influx, pub
    pub.close()
    collector.stop()
    influx.close()


def _last_stats(influx: InfluxV1, collector: str) -> dict[str, float]:
    series = influx.query(f'SELECT last("stored") AS "stored", last("received") AS "received", '
                          f'last("deadlettered") AS "deadlettered", last("spool_depth") AS "spool_depth" '
                          f"FROM \"{COLLECTOR_STATS}\" WHERE \"collector\" = '{collector}'")
    if not series:
        return {}
    return dict(zip(series[0].columns, series[0].values[0], strict=True))


def test_stats_deadletters_and_gateway_status_reach_influxdb(running) -> None:  # type: ignore[no-untyped-def]
    collector, influx, pub = running
    client = collector.config.client_id
    topic = telemetry_topic(ENT, "gw1")
    pub.publish_all(topic, messages(10, 20))  # 200 good readings
    bad = {"ts": 1_700_000_000, "readings": [{"meter": "X1", "values": {"energy_kwh": -1.0}},
                                              {"meter": "X2", "values": {"pf": 2.0}}]}
    pub.publish(topic, orjson.dumps(bad))
    pub.publish(topic, b"{oops")
    pub.publish(telemetry_topic(OTHER, "gw1"), next(messages(1, 2)))
    pub.publish(f"em/v1/{ENT}/gw1/status", b'{"online": true, "ts": 1700000000}', retain=True)
    pub.publish(f"em/v1/{ENT}/gw2/status", b'{"online": false, "ts": 1700000100}', retain=True)
    assert pub.wait_acked()
    assert wait_for(lambda: _last_stats(influx, client).get("received") == 15), _last_stats(influx, client)
    stats = _last_stats(influx, client)
    assert stats["stored"] == 200 and stats["deadlettered"] == 4 and stats["spool_depth"] == 0
    assert collector.metrics.readings_stored == 200  # health points are not counted as readings

    def dead() -> dict[tuple[str, str], int]:
        series = influx.query(f'SELECT sum("count") FROM "{DEADLETTER_COUNT}" GROUP BY "reason", "enterprise"')
        return {(s.tags["reason"], s.tags["enterprise"]): s.values[0][1] for s in series}

    assert wait_for(lambda: sum(dead().values()) == 4), dead()
    assert dead() == {(Reason.NEGATIVE_COUNTER, ENT): 1, (Reason.OUT_OF_RANGE, ENT): 1, (Reason.NOT_JSON, ENT): 1,
                      (Reason.UNKNOWN_ENTERPRISE, UNREGISTERED): 1}  # OTHER is not registered: no tag value

    series = influx.query(f'SELECT "online" FROM "{GATEWAY_STATUS}" GROUP BY "enterprise", "gateway"')
    status = {(s.tags["enterprise"], s.tags["gateway"]): (s.values[0][0], s.values[0][1]) for s in series}
    assert status == {(ENT, "gw1"): (1_700_000_000, 1), (ENT, "gw2"): (1_700_000_100, 0)}
    for gw in ("gw1", "gw2"):
        pub.publish(f"em/v1/{ENT}/{gw}/status", b"", retain=True)
    assert pub.wait_acked()


def test_stats_are_spooled_while_influxdb_refuses_and_replayed(running) -> None:  # type: ignore[no-untyped-def]
    collector, influx, _pub = running
    client = collector.config.client_id
    assert wait_for(lambda: _last_stats(influx, client) != {})
    healthy = collector.sink.influx
    collector.sink.influx = InfluxV1("http://127.0.0.1:9", influx.db)  # nothing listens: retryable failure
    try:
        assert wait_for(lambda: collector.metrics.spool_batches >= 2, timeout=10)
    finally:
        collector.sink.influx = healthy
    assert wait_for(lambda: collector.metrics.spool_batches == 0, timeout=10)
    series = influx.query(f'SELECT max("spool_depth") FROM "{COLLECTOR_STATS}" WHERE "collector" = \'{client}\'')
    assert series[0].values[0][1] >= 1  # points taken while spooling were replayed, spool depth included
    assert collector.metrics.readings_replayed == 0 == collector.metrics.readings_spooled
