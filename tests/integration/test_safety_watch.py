"""End to end on real Mosquitto + InfluxDB: telemetry with a leakage fault becomes an alarm within 60 s,
in `safety_alarm` and in `enerdiag alarms --json`; normal readings raise none; the collector still stores
every reading (its own shared group gets its own copy)."""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator
from pathlib import Path
from urllib.parse import urlsplit

import orjson
import paho.mqtt.client as mqtt
import pytest
import typer
from paho.mqtt.enums import CallbackAPIVersion, MQTTProtocolVersion
from typer.testing import CliRunner

from analytics.safety.context import load_context
from analytics.safety.thresholds import RuleSet
from analytics.safety.watch import WatchConfig, Watcher
from collector.registry_view import load_snapshot
from collector.service import Collector, CollectorConfig
from core.influx import InfluxV1
from core.measurements import SAFETY_ALARM
from core.registry.db import init_db, session_scope
from core.registry.models import Enterprise, Gateway, Meter
from core.settings import get_settings
from enerdiag.commands import safety

pytestmark = pytest.mark.integration

ENT = "91330100MA27XL0E96"
LATENCY_BOUND_S = 60.0


def make_registry(path: Path) -> str:
    url = f"sqlite:///{path}"
    init_db(url)
    with session_scope(url) as s:
        s.add(Enterprise(code=ENT, name="测试五金厂", industry="3311", county="330102", timezone="Asia/Shanghai"))
        s.add(Gateway(enterprise_code=ENT, gateway_id="gw1"))
        for meter in ("S01", "S02"):
            s.add(Meter(enterprise_code=ENT, meter_id=meter, gateway_id="gw1", carrier="electricity", role="safety",
                        unit="kWh", rated_current_a=100.0))
        s.add(Meter(enterprise_code=ENT, meter_id="COLD", gateway_id="gw1", carrier="temperature", role="warehouse",
                    unit="degC"))
    return url


def publisher(mqtt_url: str, client_id: str) -> mqtt.Client:
    url = urlsplit(mqtt_url)
    client = mqtt.Client(callback_api_version=CallbackAPIVersion.VERSION2, client_id=client_id,
                         protocol=MQTTProtocolVersion.MQTTv5)
    client.connect(url.hostname or "127.0.0.1", url.port or 1883)
    client.loop_start()
    return client


def publish(client: mqtt.Client, readings: list[dict]) -> float:
    info = client.publish(f"em/v1/{ENT}/gw1/telemetry", orjson.dumps({"readings": readings}), qos=1)
    info.wait_for_publish(5)
    return time.monotonic()


def wait_for(predicate: Callable[[], bool], timeout: float) -> bool:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if predicate():
            return True
        time.sleep(0.1)
    return predicate()


def alarm_points(influx: InfluxV1, where: str = "") -> list[dict]:
    return [r for s in influx.query(f'SELECT * FROM "{SAFETY_ALARM}" {where}') for r in s.records()]


@pytest.fixture
def stack(services, influx_db: str, tmp_path: Path,  # type: ignore[no-untyped-def]
          monkeypatch: pytest.MonkeyPatch) -> Iterator[tuple[Watcher, InfluxV1, mqtt.Client, typer.Typer]]:
    registry = make_registry(tmp_path / "registry.sqlite3")
    data_dir = tmp_path / "data"
    watcher = Watcher(
        WatchConfig(mqtt_url=services.mqtt_url, influx_url=services.influx_url, influx_db=influx_db,
                    data_dir=data_dir, client_id=f"safety-{influx_db}", shared_group=f"safety-{influx_db}"),
        lambda: load_context(RuleSet(), registry),
    )
    collector = Collector(
        CollectorConfig(mqtt_url=services.mqtt_url, client_id=f"coll-{influx_db}", influx_url=services.influx_url,
                        influx_db=influx_db, data_dir=tmp_path / "collector", shared_group=f"coll-{influx_db}",
                        batch_age=0.05),
        lambda: load_snapshot(registry),
    )
    watcher.start()
    collector.start()
    assert watcher.wait_connected() and collector.wait_connected()
    time.sleep(0.5)  # subscriptions granted
    pub = publisher(services.mqtt_url, f"pub-{influx_db}")
    influx = InfluxV1(services.influx_url, influx_db)
    monkeypatch.setenv("ENERDIAG_DATA_DIR", str(data_dir))
    get_settings.cache_clear()
    app = typer.Typer()
    safety.register(app)
    yield watcher, influx, pub, app
    pub.loop_stop()
    pub.disconnect()
    collector.stop()
    watcher.stop()
    influx.close()
    get_settings.cache_clear()


def cli_alarms(app: typer.Typer, *args: str) -> list[dict]:
    result = CliRunner().invoke(app, ["alarms", "--json", *args])
    assert result.exit_code == 0, result.output
    return orjson.loads(result.output)


def test_leakage_fault_becomes_an_alarm_within_60_s_and_normal_readings_do_not(stack) -> None:  # type: ignore[no-untyped-def]
    watcher, influx, pub, app = stack
    now = int(time.time())
    normal = {"leakage_ma": 45.0, "temp_c": 38.0, "current_a": 55.0, "voltage_v": 223.0}
    # normal readings on both meters, and a cold store at -18 degC / a warm one at 75 degC that is not a safety meter
    for i in range(4):
        ts = now - 300 + 20 * i
        publish(pub, [{"meter": "S01", "ts": ts, "values": normal}, {"meter": "S02", "ts": ts, "values": normal},
                      {"meter": "COLD", "ts": ts, "values": {"temp_c": 75.0}}])
    # a leakage fault on S01: three readings at 450-520 mA (alarm level 300 mA), S02 stays normal
    sent = 0.0
    for i, leak in enumerate((450.0, 520.0, 480.0)):
        ts = now - 60 + 20 * i
        sent = publish(pub, [{"meter": "S01", "ts": ts, "values": {**normal, "leakage_ma": leak}},
                             {"meter": "S02", "ts": ts, "values": normal}])
    where = "WHERE \"meter\"='S01' AND \"rule\"='leakage'"
    assert wait_for(lambda: len(alarm_points(influx, where)) > 0, LATENCY_BOUND_S)
    latency = time.monotonic() - sent
    assert latency < LATENCY_BOUND_S
    print(f"safety alarm latency: {latency:.3f} s from publish to the point in InfluxDB")  # shown with -s
    [point] = alarm_points(influx, where)
    assert (point["state"], point["open"], point["severity"], point["peak"]) == ("open", 1, "alarm", 520.0)
    assert point["start_s"] == now - 60 and point["time"] == now - 20
    listed = cli_alarms(app, "--open")
    assert [(a["meter"], a["rule"], a["severity"], a["peak"], a["end"]) for a in listed] == [
        ("S01", "leakage", "alarm", 520.0, None)]
    assert alarm_points(influx, "WHERE \"meter\"<>'S01'") == []  # S02 normal, COLD not a safety meter

    # the fault clears: three normal readings close the alarm; its end is the first clear reading
    for i in range(3):
        publish(pub, [{"meter": "S01", "ts": now + 20 * i, "values": normal}])
    assert wait_for(lambda: any(p["state"] == "closed" for p in alarm_points(influx, where)), LATENCY_BOUND_S)
    closed = [a for a in cli_alarms(app) if a["meter"] == "S01"]
    assert len(closed) == 1 and closed[0]["open"] is False
    assert closed[0]["end"].startswith(time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(now)))
    assert cli_alarms(app, "--open") == []
    # the collector, in its own shared group, stored every reading the watcher evaluated
    def stored() -> int:
        series = influx.query('SELECT count("leakage_ma") FROM "reading" WHERE "meter"=\'S01\'')
        return int(series[0].values[0][1]) if series else 0

    assert wait_for(lambda: stored() == 10, 20.0)
    assert watcher.messages == 10
