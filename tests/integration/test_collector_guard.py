"""One gateway must not exhaust InfluxDB, the dead-letter disk or the write path for everyone (issue 15, D4).

Replayed on the real collector, Mosquitto and InfluxDB 1.6: random meter ids from one gateway, a gateway
over its message rate, and a batch InfluxDB refuses (its `max-values-per-tag` reached) while another
enterprise publishes.
"""

from __future__ import annotations

import time
import uuid
from collections.abc import Iterator
from pathlib import Path

import orjson
import pytest

from collector.deadletters import DeadLetterStore
from collector.guard import GuardLimits
from collector.loadgen import Publisher, telemetry_topic
from collector.payload import Reason
from collector.registry_view import RegistrySnapshot, load_snapshot
from collector.service import Collector, CollectorConfig
from core.influx import InfluxV1
from core.registry.db import init_db, session_scope
from core.registry.models import Enterprise, Gateway, Meter
from enerdiag.localservices import InfluxD
from tests.conftest import service_tmpdir, start_or_fail

pytestmark = pytest.mark.integration

ENT, OTHER = "91140226MA02U9AL2Q", "91140214MA0FE1KM73"  # no other test publishes as these
START = 1_764_547_200  # 2025-12-01 00:00 UTC


def reading(meter: str, ts: int, value: float = 1.0) -> dict[str, object]:
    return {"meter": meter, "ts": ts, "values": {"energy_kwh": value}}


def message(readings: list[dict[str, object]]) -> bytes:
    return orjson.dumps({"readings": readings})


def wait_for(predicate, timeout: float = 30.0) -> bool:  # type: ignore[no-untyped-def]
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if predicate():
            return True
        time.sleep(0.05)
    return predicate()


def stored(influx: InfluxV1, where: str = "") -> int:
    series = influx.query(f'SELECT count("energy_kwh") FROM "reading" {where}')
    return int(series[0].values[0][1]) if series else 0


def make_registry(path: Path) -> str:
    url = f"sqlite:///{path}"
    init_db(url)
    with session_scope(url) as s:
        for code in (ENT, OTHER):
            s.add(Enterprise(code=code, name="测试厂", industry="1713", county="330102", timezone="Asia/Shanghai"))
            s.add(Gateway(enterprise_code=code, gateway_id="gw1"))
            s.add(Meter(enterprise_code=code, meter_id="MAIN", gateway_id="gw1", carrier="electricity", role="main",
                        unit="kWh"))
        s.add(Gateway(enterprise_code=ENT, gateway_id="gw2"))
        s.add(Meter(enterprise_code=ENT, meter_id="SPARE", carrier="electricity", role="sub", unit="kWh"))
    return url


def running_collector(mqtt_url: str, influx_url: str, db: str, data_dir: Path, registry,  # type: ignore[no-untyped-def]
                      guard: GuardLimits | None = None) -> Collector:
    config = CollectorConfig(mqtt_url=mqtt_url, client_id=f"c-{uuid.uuid4().hex[:8]}", influx_url=influx_url,
                             influx_db=db, data_dir=data_dir, batch_age=0.05, stats_every=0,
                             guard=guard or GuardLimits())
    collector = Collector(config, registry)
    collector.start()
    assert collector.wait_connected()
    time.sleep(0.3)  # subscriptions granted
    return collector


@pytest.fixture
def registry_url(tmp_path: Path) -> str:
    return make_registry(tmp_path / "registry.sqlite3")


def test_random_meter_ids_create_no_series_and_cost_a_bounded_number_of_dead_letters(  # type: ignore[no-untyped-def]
    services, influx_db: str, tmp_path: Path, registry_url: str
) -> None:
    collector = running_collector(services.mqtt_url, services.influx_url, influx_db, tmp_path / "data",
                                  lambda: load_snapshot(registry_url), GuardLimits(letters_per_minute=500))
    attacker, neighbour = Publisher(services.mqtt_url, "p-attack"), Publisher(services.mqtt_url, "p-neighbour")
    influx = InfluxV1(services.influx_url, influx_db)
    try:
        ids = [uuid.uuid4().hex[:12] for _ in range(10_000)]
        for start in range(0, len(ids), 1000):  # 10 messages of 1,000 unregistered meters
            attacker.publish(telemetry_topic(ENT, "gw2"),
                             message([reading(m, START) for m in ids[start:start + 1000]]))
        attacker.publish(telemetry_topic(ENT, "gw2"), message([reading("SPARE", START), reading("MAIN", START)]))
        neighbour.publish(telemetry_topic(OTHER, "gw1"), message([reading("MAIN", START)]))
        assert wait_for(lambda: stored(influx) == 3)
        assert wait_for(lambda: collector.metrics.deadletters[Reason.UNKNOWN_METER] == 10_000)
        time.sleep(0.5)
        tags = influx.query('SHOW TAG VALUES FROM "reading" WITH KEY = "meter"')
        assert sorted(v[1] for v in tags[0].values) == ["MAIN", "SPARE"]  # no series for any unregistered id
        letters = DeadLetterStore.in_dir(tmp_path / "data")
        assert letters.count() == {Reason.UNKNOWN_METER: 500, Reason.DEADLETTERS_SUPPRESSED: 1}
        first = letters.list(limit=1000)[-1]
        assert (first.reason, first.enterprise, first.gateway) == (Reason.UNKNOWN_METER, ENT, "gw2")
        assert dict(collector.metrics.deadletters) == {Reason.UNKNOWN_METER: 10_000}  # every one counted
        assert stored(influx, f"WHERE enterprise = '{OTHER}'") == 1
    finally:
        attacker.close()
        neighbour.close()
        collector.stop()
        influx.close()


def test_a_gateway_over_its_message_rate_is_refused_alone(  # type: ignore[no-untyped-def]
    services, influx_db: str, tmp_path: Path, registry_url: str
) -> None:
    collector = running_collector(services.mqtt_url, services.influx_url, influx_db, tmp_path / "data",
                                  lambda: load_snapshot(registry_url), GuardLimits(rate=0.5, burst=5))
    fast, other = Publisher(services.mqtt_url, "p-fast"), Publisher(services.mqtt_url, "p-other")
    influx = InfluxV1(services.influx_url, influx_db)
    try:
        for i in range(20):
            fast.publish(telemetry_topic(ENT, "gw1"), message([reading("MAIN", START + 60 * i)]))
        for i in range(5):
            other.publish(telemetry_topic(OTHER, "gw1"), message([reading("MAIN", START + 60 * i)]))
        letters = DeadLetterStore.in_dir(tmp_path / "data")
        assert wait_for(lambda: stored(influx) + letters.count().get(Reason.RATE_LIMITED, 0) == 25)
        kept = stored(influx, f"WHERE enterprise = '{ENT}'")
        assert 5 <= kept <= 7  # the burst, and what refilled at 0.5 messages/s meanwhile
        assert letters.count() == {Reason.RATE_LIMITED: 20 - kept}
        assert stored(influx, f"WHERE enterprise = '{OTHER}'") == 5
    finally:
        fast.close()
        other.close()
        collector.stop()
        influx.close()


@pytest.fixture(scope="module")
def small_influx() -> Iterator[InfluxD]:
    """An InfluxDB 1.6 whose `max-values-per-tag` is 20: once a tag has more values, writes that add one are
    refused (400 "partial write"), as they were at the default 100,000 in the attack."""
    mp = pytest.MonkeyPatch()
    mp.setenv("INFLUXDB_DATA_MAX_VALUES_PER_TAG", "20")
    try:
        server = start_or_fail(InfluxD(service_tmpdir("enerdiag-test-small-influx-")))
    finally:
        mp.undo()
    yield server  # type: ignore[misc]
    server.stop()


def test_a_refused_batch_delays_other_gateways_by_seconds_only(  # type: ignore[no-untyped-def]
    services, small_influx: InfluxD, tmp_path: Path
) -> None:
    """InfluxDB refuses 1,500 new meter series at once; another enterprise's reading published just after
    is stored within seconds (the bad lines were once isolated one write at a time: ~3,000 writes)."""
    meters = [f"N{i:04d}" for i in range(1500)]
    snapshot = RegistrySnapshot(
        {ENT: "Asia/Shanghai", OTHER: "Asia/Shanghai"}, frozenset({(ENT, "gw1"), (OTHER, "gw1")}),
        {**{(ENT, m): "gw1" for m in meters}, (OTHER, "MAIN"): "gw1"},
    )
    db = f"t_{uuid.uuid4().hex[:8]}"
    collector = running_collector(services.mqtt_url, small_influx.url, db, tmp_path / "data", lambda: snapshot)
    big, other = Publisher(services.mqtt_url, "p-big"), Publisher(services.mqtt_url, "p-other")
    influx = InfluxV1(small_influx.url, db)
    try:
        other.publish(telemetry_topic(OTHER, "gw1"), message([reading("MAIN", START)]))
        assert wait_for(lambda: stored(influx) == 1)
        filler = "\n".join(f"reading,enterprise={OTHER},gateway=gw1,meter=F{i} energy_kwh=1 {START}" for i in range(25))
        influx.write(filler.encode(), precision="s")  # the `meter` tag is now past its limit of 20 values
        for start in range(0, len(meters), 500):
            big.publish(telemetry_topic(ENT, "gw1"), message([reading(m, START) for m in meters[start:start + 500]]))
        time.sleep(1.0)  # the big batches are being written and refused
        published = time.monotonic()
        other.publish(telemetry_topic(OTHER, "gw1"), message([reading("MAIN", START + 60)]))
        assert wait_for(lambda: stored(influx, f"WHERE enterprise = '{OTHER}' AND meter = 'MAIN'") == 2, timeout=60)
        delay = time.monotonic() - published
        assert delay < 8.0, f"the other enterprise's reading waited {delay:.1f} s"
        letters = DeadLetterStore.in_dir(tmp_path / "data")
        assert wait_for(lambda: letters.count().get(Reason.STORAGE_REJECTED, 0) > 0)
        assert "max-values-per-tag" in letters.list(limit=1)[0].detail
    finally:
        big.close()
        other.close()
        collector.stop()
        influx.close()
