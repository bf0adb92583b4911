"""No loss, exactly once: the collector as a real process (`enerdiag collect`) through crashes and outages.

Each test publishes a stream of distinct readings at QoS 1, breaks something in the middle, and
then counts with InfluxQL that every reading is in InfluxDB exactly once.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import threading
import time
import urllib.request
from collections.abc import Iterator
from pathlib import Path

import pytest

from collector.loadgen import Publisher, messages, telemetry_topic
from core.influx import InfluxV1
from enerdiag.localservices.procs import free_port
from tests.integration.test_collector_e2e import ENT, make_registry

pytestmark = pytest.mark.integration

# the CLI entry with just this area's commands (works before and after the lead wires cli.py)
RUNNER = "import typer; from enerdiag.commands import collect; app = typer.Typer(); collect.register(app); app()"


class CollectorProc:
    """`enerdiag collect` in a subprocess with its own data dir, registry and metrics port."""

    def __init__(self, env: dict[str, str], workdir: Path, client_id: str, *args: str) -> None:
        self.env = env
        self.workdir = workdir
        self.client_id = client_id
        self.args = args
        self.metrics_port = free_port()
        self.proc: subprocess.Popen[bytes] | None = None
        self.log = workdir / f"{client_id}.log"

    def start(self) -> CollectorProc:
        argv = [sys.executable, "-c", RUNNER, "collect", "--client-id", self.client_id,
                "--metrics-port", str(self.metrics_port), "--log-every", "2", *self.args]
        with open(self.log, "ab") as log:
            self.proc = subprocess.Popen(argv, env=self.env, stdout=log, stderr=subprocess.STDOUT)
        deadline = time.monotonic() + 20
        while time.monotonic() < deadline:
            assert self.proc.poll() is None, self.log.read_text()
            try:
                if self.metrics() is not None and "MQTT connected" in self.log.read_text():
                    time.sleep(0.3)  # subscriptions granted
                    return self
            except OSError:
                pass
            time.sleep(0.1)
        raise AssertionError(f"collector did not start:\n{self.log.read_text()}")

    def metrics(self) -> dict[str, float]:
        text = urllib.request.urlopen(f"http://127.0.0.1:{self.metrics_port}/metrics", timeout=2).read().decode()
        out: dict[str, float] = {}
        for line in text.splitlines():
            if line and not line.startswith("#"):
                name, value = line.rsplit(" ", 1)
                out[name] = float(value)
        return out

    def kill(self) -> None:
        assert self.proc is not None
        self.proc.send_signal(signal.SIGKILL)
        self.proc.wait(10)

    def terminate(self, timeout: float = 60) -> int:
        assert self.proc is not None
        self.proc.send_signal(signal.SIGTERM)
        return self.proc.wait(timeout)


@pytest.fixture
def env(services, influx_db: str, tmp_path: Path) -> dict[str, str]:  # type: ignore[no-untyped-def]
    return {
        **os.environ,
        **services.env,
        "ENERDIAG_INFLUX_DB": influx_db,
        "ENERDIAG_DATA_DIR": str(tmp_path / "data"),
        "ENERDIAG_DB_URL": make_registry(tmp_path / "registry.sqlite3"),
    }


@pytest.fixture
def collector(env: dict[str, str], tmp_path: Path, influx_db: str) -> Iterator[CollectorProc]:
    proc = CollectorProc(env, tmp_path, f"col-{influx_db}")
    yield proc
    if proc.proc is not None and proc.proc.poll() is None:
        proc.kill()


def stored(influx: InfluxV1) -> int:
    series = influx.query('SELECT count("energy_kwh") FROM "reading"')
    return int(series[0].values[0][1]) if series else 0


def wait_stored(influx: InfluxV1, expected: int, timeout: float = 60.0) -> int:
    deadline = time.monotonic() + timeout
    n = stored(influx)
    while n < expected and time.monotonic() < deadline:
        time.sleep(0.2)
        n = stored(influx)
    time.sleep(0.5)  # anything beyond expected would show up now
    return stored(influx)


class Stream(threading.Thread):
    """Publish `count` messages of `per` readings at about `rate` messages/s in the background."""

    def __init__(self, mqtt_url: str, name: str, count: int, per: int, rate: float) -> None:
        super().__init__(daemon=True)
        self.pub = Publisher(mqtt_url, name)
        self.count, self.per, self.rate = count, per, rate
        self.published = 0

    def run(self) -> None:
        topic = telemetry_topic(ENT, "gw1")
        started = time.monotonic()
        for i, payload in enumerate(messages(self.count, self.per)):
            self.pub.publish(topic, payload)
            self.published += 1
            ahead = started + i / self.rate - time.monotonic()
            if ahead > 0:
                time.sleep(ahead)

    def finish(self, timeout: float = 120) -> None:
        self.join(timeout)
        assert not self.is_alive()
        assert self.pub.wait_acked(timeout)
        self.pub.close()


def test_kill_9_mid_stream_and_restart(services, collector: CollectorProc, influx_db: str) -> None:  # type: ignore[no-untyped-def]
    influx = InfluxV1(services.influx_url, influx_db)
    collector.start()
    stream = Stream(services.mqtt_url, f"pub-{influx_db}", 3000, 10, rate=1000)
    stream.start()
    while stream.published < 1000:
        time.sleep(0.05)
    collector.kill()
    killed_at = stored(influx)
    time.sleep(0.5)
    collector.start()
    stream.finish()
    assert 0 < killed_at < 30_000
    assert wait_stored(influx, 30_000) == 30_000
    assert collector.terminate() == 0


def test_influxdb_down_30s_spools_and_replays(services, collector: CollectorProc, influx_db: str) -> None:  # type: ignore[no-untyped-def]
    influx = InfluxV1(services.influx_url, influx_db)
    collector.start()
    stream = Stream(services.mqtt_url, f"pub-{influx_db}", 3500, 10, rate=100)  # 35 s of stream
    stream.start()
    time.sleep(2)
    services.influxd.stop()
    try:
        time.sleep(30)
        during = collector.metrics()
    finally:
        services.influxd.start()
    stream.finish()
    assert during["enerdiag_collector_readings_spooled_total"] > 20_000
    assert wait_stored(influx, 35_000) == 35_000
    after = collector.metrics()
    assert after["enerdiag_collector_readings_replayed_total"] == after["enerdiag_collector_readings_spooled_total"]
    assert after["enerdiag_collector_spool_batches"] == 0
    assert collector.terminate() == 0


def test_mosquitto_restart_mid_stream(services, collector: CollectorProc, influx_db: str) -> None:  # type: ignore[no-untyped-def]
    influx = InfluxV1(services.influx_url, influx_db)
    collector.start()
    stream = Stream(services.mqtt_url, f"pub-{influx_db}", 3000, 10, rate=500)
    stream.start()
    while stream.published < 1000:
        time.sleep(0.05)
    services.mosquitto.restart()
    stream.finish()
    assert wait_stored(influx, 30_000) == 30_000
    assert "MQTT connected" in collector.log.read_text().split("disconnected")[-1]
    assert collector.terminate() == 0


def test_collector_down_while_5000_messages_are_published(services, collector: CollectorProc, influx_db: str) -> None:  # type: ignore[no-untyped-def]
    influx = InfluxV1(services.influx_url, influx_db)
    collector.start()
    assert collector.terminate() == 0  # the persistent session stays on the broker
    pub = Publisher(services.mqtt_url, f"pub-{influx_db}")
    pub.publish_all(telemetry_topic(ENT, "gw1"), messages(5000, 2))
    assert pub.wait_acked()
    pub.close()
    assert stored(influx) == 0
    collector.start()
    assert wait_stored(influx, 10_000) == 10_000
    assert collector.terminate() == 0


def test_full_spool_stops_acknowledging_then_recovers(services, env: dict[str, str], tmp_path: Path,  # type: ignore[no-untyped-def]
                                                      influx_db: str) -> None:
    influx = InfluxV1(services.influx_url, influx_db)
    proc = CollectorProc(env, tmp_path, f"bp-{influx_db}", "--spool-max-mb", "1", "--receive-maximum", "100")
    proc.start()
    try:
        backpressure_then_recovery(services, proc, influx, influx_db)
    finally:
        if proc.proc is not None and proc.proc.poll() is None:
            proc.kill()


def backpressure_then_recovery(services, proc: CollectorProc, influx: InfluxV1, influx_db: str) -> None:  # type: ignore[no-untyped-def]
    services.influxd.stop()
    try:
        pub = Publisher(services.mqtt_url, f"pub-{influx_db}")
        pub.publish_all(telemetry_topic(ENT, "gw1"), messages(4000, 5))  # ~2.3 MB of line protocol
        assert pub.wait_acked()  # the broker holds what the collector does not acknowledge
        deadline = time.monotonic() + 20
        while proc.metrics()["enerdiag_collector_backpressure"] != 1 and time.monotonic() < deadline:
            time.sleep(0.2)
        m = proc.metrics()
        assert m["enerdiag_collector_backpressure"] == 1
        assert m["enerdiag_collector_spool_bytes"] <= 1 << 20
        assert m["enerdiag_collector_messages_received_total"] < 4000  # memory bounded: the broker holds the rest
    finally:
        services.influxd.start()
    assert wait_stored(influx, 20_000) == 20_000
    assert proc.metrics()["enerdiag_collector_backpressure"] == 0
    assert proc.terminate() == 0
    pub.close()


def test_sigterm_mid_stream_drains_exits_0_and_loses_nothing(services, collector: CollectorProc,  # type: ignore[no-untyped-def]
                                                              influx_db: str) -> None:
    influx = InfluxV1(services.influx_url, influx_db)
    collector.start()
    stream = Stream(services.mqtt_url, f"pub-{influx_db}", 3000, 10, rate=1000)
    stream.start()
    while stream.published < 1000:
        time.sleep(0.05)
    assert collector.terminate() == 0
    assert 0 < stored(influx) < 30_000
    collector.start()
    stream.finish()
    assert wait_stored(influx, 30_000) == 30_000
    assert collector.terminate() == 0


def test_spool_survives_kill_9_and_is_replayed_by_the_next_process(services, collector: CollectorProc,  # type: ignore[no-untyped-def]
                                                                     influx_db: str) -> None:
    influx = InfluxV1(services.influx_url, influx_db)
    collector.start()
    services.influxd.stop()
    try:
        pub = Publisher(services.mqtt_url, f"pub-{influx_db}")
        pub.publish_all(telemetry_topic(ENT, "gw1"), messages(1000, 10))
        assert pub.wait_acked()
        pub.close()
        deadline = time.monotonic() + 20
        while collector.metrics()["enerdiag_collector_readings_spooled_total"] < 10_000:
            assert time.monotonic() < deadline, collector.metrics()
            time.sleep(0.1)
        collector.kill()  # every message acknowledged: the readings now exist only in the spool
    finally:
        services.influxd.start()
    assert stored(influx) == 0
    collector.start()
    assert wait_stored(influx, 10_000) == 10_000
    assert collector.metrics()["enerdiag_collector_readings_replayed_total"] == 10_000
    assert collector.terminate() == 0
