"""`enerdiag safety watch` as a real process: alarms appear, SIGTERM exits 0, and a restarted watcher takes
back the alarm left open and closes it when the fault clears."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import orjson
import pytest

from analytics.safety.store import AlarmStore
from tests.integration.test_safety_watch import make_registry, publish, publisher, wait_for

pytestmark = pytest.mark.integration

APP = ("import typer; from enerdiag.commands import safety; app = typer.Typer(); "
       "safety.register(app); app()")  # the lead wires `safety.register` into enerdiag/cli.py


def start_watch(env: dict[str, str], client: str, log: Path) -> subprocess.Popen[bytes]:
    """Start the watcher with its log in `log`; return once it has subscribed."""
    with log.open("ab") as err:
        proc = subprocess.Popen([sys.executable, "-c", APP, "safety", "watch", "--client-id", client,
                                 "--shared-group", client], env=env, stderr=err)
    start = log.stat().st_size if log.exists() else 0
    assert wait_for(lambda: "subscribed" in log.read_bytes()[start:].decode(errors="replace"), 30.0), log.read_text()
    return proc


def open_alarms(data_dir: Path) -> list:
    if not (data_dir / "safety_alarms.sqlite3").exists():
        return []
    store = AlarmStore.in_dir(data_dir)
    try:
        return store.list()
    finally:
        store.close()


def stop(proc: subprocess.Popen[bytes]) -> int:
    proc.send_signal(signal.SIGTERM)
    try:
        return proc.wait(timeout=15)
    except subprocess.TimeoutExpired:
        proc.kill()
        return proc.wait()


def test_watch_process_survives_a_restart(services, influx_db: str, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    registry = make_registry(tmp_path / "registry.sqlite3")
    data_dir = tmp_path / "data"
    env = {**os.environ, "ENERDIAG_MQTT_URL": services.mqtt_url, "ENERDIAG_INFLUX_URL": services.influx_url,
           "ENERDIAG_INFLUX_DB": influx_db, "ENERDIAG_DATA_DIR": str(data_dir), "ENERDIAG_DB_URL": registry,
           "ENERDIAG_RUN_DIR": str(tmp_path / "run")}
    client = f"watch-{influx_db}"
    log = tmp_path / "watch.log"
    proc = start_watch(env, client, log)
    pub = publisher(services.mqtt_url, f"pub-{influx_db}")
    try:
        now = int(time.time())
        normal = {"leakage_ma": 40.0, "temp_c": 35.0, "current_a": 50.0, "voltage_v": 221.0}
        for i in range(3):  # a hot joint: 95 degC is critical, it opens at once
            publish(pub, [{"meter": "S02", "ts": now - 100 + 10 * i, "values": {**normal, "temp_c": 95.0 + i}}])
        assert wait_for(lambda: len(open_alarms(data_dir)) > 0, 60.0)
        assert stop(proc) == 0, log.read_text()
        alarms = open_alarms(data_dir)
        assert [(a.meter, a.rule, a.severity.label, a.end) for a in alarms if a.rule == "over_temp"] == [
            ("S02", "over_temp", "critical", None)]

        proc = start_watch(env, client, log)
        for i in range(3):
            publish(pub, [{"meter": "S02", "ts": now - 50 + 10 * i, "values": normal}])
        assert wait_for(lambda: all(a.end is not None for a in open_alarms(data_dir)), 60.0)
        over = [a for a in open_alarms(data_dir) if a.rule == "over_temp"]
        assert len(over) == 1 and int(over[0].end.timestamp()) == now - 50
    finally:
        pub.loop_stop()
        pub.disconnect()
        if proc.poll() is None:
            assert stop(proc) == 0, log.read_text()
    assert "resumed 1 alarms left open" in log.read_text()
    assert orjson.loads(orjson.dumps(over[0].to_json()))["end"] is not None
