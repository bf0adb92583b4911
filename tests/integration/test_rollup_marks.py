"""Rollups follow the data, whatever its age: the collector's ingest marks drive a plain `enerdiag rollup`.

Real Mosquitto, InfluxDB and the collector in-process; the UCI steel 2018 file replayed over MQTT by
`enerdiag simulate replay`; a gateway emptying a 40-day buffer after an outage.
"""

from __future__ import annotations

import datetime as dt
import re
import time
from collections.abc import Iterator
from pathlib import Path

import orjson
import pandas as pd
import pytest
import typer
from typer.testing import CliRunner

from analytics.analyze_job import read_periods
from analytics.enterprise import EnterpriseInfo, MeterInfo
from analytics.marks import read_cursor
from analytics.registry_view import load_enterprises
from analytics.rollup_job import run_rollup
from collector.loadgen import Publisher, telemetry_topic
from collector.registry_view import load_snapshot
from collector.service import Collector, CollectorConfig
from core.influx import InfluxV1
from core.measurements import CONSUMPTION_HOURLY, ENTERPRISE_DAILY, INGEST_MARK, ROLLUP_CURSOR
from core.registry.db import dispose_engines, session_scope
from core.registry.loader import load_registry_file
from core.settings import get_settings
from enerdiag.commands import analyze as analyze_commands
from enerdiag.commands import simulate as simulate_commands
from tests.support.datasets import UCI_STEEL_2018

pytestmark = pytest.mark.integration

CODE = "91140214MA75QTJ143"
H = 3600


def count_readings(influx: InfluxV1) -> int:
    series = influx.query('SELECT count("energy_kwh") FROM "reading"')
    return int(series[0].values[0][1]) if series else 0


def wait_for(predicate, timeout: float) -> bool:  # type: ignore[no-untyped-def]
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if predicate():
            return True
        time.sleep(0.2)
    return predicate()


def cli_app() -> typer.Typer:
    root = typer.Typer()
    analyze_commands.register(root)
    simulate_commands.register(root)
    return root


@pytest.fixture
def plant(services, influx_db: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Collector]:
    """The replayed plant in a fresh registry, and a collector storing its gateway's messages into `influx_db`."""
    url = f"sqlite:///{tmp_path / 'registry.sqlite3'}"
    monkeypatch.setenv("ENERDIAG_INFLUX_DB", influx_db)
    monkeypatch.setenv("ENERDIAG_DB_URL", url)
    get_settings.cache_clear()
    registry = tmp_path / "registry.yaml"
    out = CliRunner().invoke(cli_app(), ["simulate", "replay", str(UCI_STEEL_2018), "--enterprise", CODE,
                                         "--meter", "M01", "--gateway", "steel", "--out", str(tmp_path / "m.jsonl"),
                                         "--registry-out", str(registry)])
    assert out.exit_code == 0, out.output
    with session_scope() as session:
        load_registry_file(session, registry)
    cfg = CollectorConfig(mqtt_url=services.mqtt_url, client_id=f"c-{influx_db}", influx_url=services.influx_url,
                          influx_db=influx_db, data_dir=tmp_path / "data", batch_age=0.05, stats_every=0)
    collector = Collector(cfg, lambda: load_snapshot(url))
    collector.start()
    assert collector.wait_connected()
    time.sleep(0.3)  # subscriptions granted
    yield collector
    collector.stop()
    cleaner = Publisher(services.mqtt_url, f"clean-{influx_db}")  # the replay's retained gateway status: gone,
    cleaner.publish(f"em/v1/{CODE}/steel/status", b"", retain=True)  # so no later test's collector receives it
    assert cleaner.wait_acked()
    cleaner.close()
    dispose_engines()
    get_settings.cache_clear()


def test_a_2018_replay_is_rolled_up_by_a_plain_rollup_to_the_files_total(services, influx_db, plant) -> None:
    runner = CliRunner()
    replay = runner.invoke(cli_app(), ["simulate", "replay", str(UCI_STEEL_2018), "--enterprise", CODE,
                                       "--meter", "M01", "--gateway", "steel"])
    assert replay.exit_code == 0, replay.output
    influx = InfluxV1(services.influx_url, influx_db)
    assert wait_for(lambda: count_readings(influx) == 35_041, 120), count_readings(influx)
    # the collector marked what it stored: one enterprise, every hour of 2018 (local), in a few marks
    marks = [r for s in influx.query(f'SELECT * FROM "{INGEST_MARK}"') for r in s.records()]
    assert marks and {m["enterprise"] for m in marks} == {CODE}
    assert sum(m["readings"] for m in marks) == 35_041

    with session_scope() as session:
        enterprises = load_enterprises(session)
    done = run_rollup(influx, enterprises)  # plain, as `enerdiag rollup`: no --since, nothing about 2018
    assert set(done.dirty) == {CODE} and done.marks == len(marks)
    period = read_periods(influx, enterprises, dt.date(2018, 1, 1), dt.date(2019, 1, 1))[CODE]
    assert period.totals["electricity"] == pytest.approx(959_636.71, abs=0.01)  # the file's own total
    assert period.completeness["electricity"] == pytest.approx(1.0)

    # the cursor moved past the marks: a second plain run reads nothing and recomputes nothing
    newest = max(r["time"] for s in influx.query(f'SELECT * FROM "{INGEST_MARK}"', epoch="ns")
                 for r in s.records())
    assert read_cursor(influx) == {f"c-{influx_db}": newest}
    again = run_rollup(influx, enterprises)
    assert (again.marks, again.hours, again.dirty) == (0, 0, {})


def test_a_gateway_backlog_40_days_old(services, influx_db, plant) -> None:
    """A gateway back after a 40-day outage sends its buffer: a plain rollup recomputes those 40-day-old hours
    (and only them), the readings in between were rolled up already."""
    influx = InfluxV1(services.influx_url, influx_db)
    info = EnterpriseInfo(code=CODE, meters=(MeterInfo("M01", "electricity", "main"),))
    now = int(time.time()) // H * H
    old = now - 40 * 86400
    pub = Publisher(services.mqtt_url, f"p-{influx_db}")
    topic = telemetry_topic(CODE, "steel")

    def send(start: int, hours: int, first_kwh: float) -> None:
        """15-minute counter readings of 100 kWh each (400 kWh/h) from `start`, `hours` long, inclusive."""
        readings = [{"meter": "M01", "ts": start + 900 * k, "values": {"energy_kwh": first_kwh + 100.0 * k}}
                    for k in range(4 * hours + 1)]
        for i in range(0, len(readings), 40):
            chunk = readings[i:i + 40]
            pub.publish(topic, orjson.dumps({"ts": chunk[-1]["ts"], "readings": chunk}))

    try:
        # the day before the outage and the last 2 hours: rolled up as they arrived
        send(old - 86400, 24, 0.0)
        send(now - 2 * H, 2, 1_000_000.0)
        assert wait_for(lambda: count_readings(influx) == 97 + 9, 30), count_readings(influx)
        first = run_rollup(influx, [info])
        assert first.spans[CODE] == [(old - 86400, old + H), (now - 2 * H, now + H)]
        assert read_cursor(influx)
        # the buffer: 24 hours starting 40 days ago, after the outage began
        send(old, 24, 9_600.0)
        assert wait_for(lambda: count_readings(influx) == 97 + 9 + 96, 30), count_readings(influx)
    finally:
        pub.close()
    backlog = CliRunner().invoke(cli_app(), ["rollup", "--no-indicators"])  # plain, as the scheduler runs it
    assert backlog.exit_code == 0, backlog.output
    summary = next(ln for ln in backlog.stderr.splitlines() if ln.startswith("rollup:"))
    # the buffer's hours only (its last reading at +24 h): one span
    assert re.search(r"1 of 1 enterprise\(s\) recomputed from [1-9]\d* ingest mark\(s\), 1 span\(s\)", summary), summary
    day = pd.Timestamp(old, unit="s", tz="UTC").tz_convert("Asia/Shanghai").normalize()
    # the dashboard feed of the buffer's local days was written too (only for this enterprise), and the
    # operation index of those days is named as not refreshed
    fed = [r for s in influx.query(f'SELECT "tce" FROM "enterprise_analysis" WHERE "period" = \'day\' '
                                   f'AND time = {int(day.timestamp())}s') for r in s.records()]
    assert len(fed) == 1 and fed[0]["tce"] > 0
    assert "operation index of" in backlog.stderr
    rows = [r for s in influx.query(f'SELECT sum("value") AS kwh FROM "{CONSUMPTION_HOURLY}" WHERE time >= {old}s '
                                    f'AND time < {old + 24 * H}s') for r in s.records()]
    assert rows[0]["kwh"] == pytest.approx(24 * 400.0)
    daily = {r["time"]: r["value"] for s in influx.query(
        f'SELECT "value" FROM "{ENTERPRISE_DAILY}" WHERE carrier = \'electricity\'') for r in s.records()}
    assert int(day.timestamp()) in daily
    # nothing new: a third run reads no marks and recomputes nothing
    idle = run_rollup(influx, [info])
    assert (idle.marks, idle.hours, idle.spans) == (0, 0, {})
    assert influx.query(f'SELECT * FROM "{ROLLUP_CURSOR}"')
