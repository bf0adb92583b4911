"""Scale-out: two collector processes on one shared subscription split the stream and store it exactly once."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from collector.loadgen import Publisher, messages, telemetry_topic
from core.influx import InfluxV1
from tests.integration.test_collector_e2e import ENT
from tests.integration.test_collector_resilience import CollectorProc, env, stored, wait_stored  # noqa: F401

pytestmark = pytest.mark.integration


@pytest.fixture
def procs() -> Iterator[list[CollectorProc]]:
    """Collector processes a test starts; any still running at the end are killed."""
    started: list[CollectorProc] = []
    yield started
    for proc in started:
        if proc.proc is not None and proc.proc.poll() is None:
            proc.kill()


def test_two_collectors_split_the_stream_exactly_once(services, env: dict[str, str], tmp_path: Path,  # type: ignore[no-untyped-def]  # noqa: F811
                                                      influx_db: str, procs: list[CollectorProc]) -> None:
    group = f"g{influx_db[-8:]}"
    a = CollectorProc({**env, "ENERDIAG_DATA_DIR": str(tmp_path / "a")}, tmp_path, f"a-{influx_db}",
                      "--shared-group", group)
    b = CollectorProc({**env, "ENERDIAG_DATA_DIR": str(tmp_path / "b")}, tmp_path, f"b-{influx_db}",
                      "--shared-group", group)
    procs += [a, b]
    a.start()
    b.start()
    try:
        pub = Publisher(services.mqtt_url, f"pub-{influx_db}")
        for gateway in ("gw1", "gw2"):
            offset = 0 if gateway == "gw1" else 2000
            pub.publish_all(telemetry_topic(ENT, gateway), messages(2000, 5, offset=offset))
        assert pub.wait_acked()
        pub.close()
        influx = InfluxV1(services.influx_url, influx_db)
        assert wait_stored(influx, 20_000) == 20_000
        got_a = a.metrics()["enerdiag_collector_messages_received_total"]
        got_b = b.metrics()["enerdiag_collector_messages_received_total"]
        assert got_a + got_b == 4000  # each message went to exactly one of them
        assert got_a >= 500 and got_b >= 500  # and both took a real share
        assert a.metrics()["enerdiag_collector_readings_stored_total"] == got_a * 5
    finally:
        assert a.terminate() == 0
        assert b.terminate() == 0


def test_restart_with_a_shared_group_drops_the_old_plain_subscription(services, env: dict[str, str],  # type: ignore[no-untyped-def]  # noqa: F811
                                                                        tmp_path: Path, influx_db: str,
                                                                        procs: list[CollectorProc]) -> None:
    client_id = f"r-{influx_db}"
    plain = CollectorProc(env, tmp_path, client_id)
    shared = CollectorProc(env, tmp_path, client_id, "--shared-group", f"g{influx_db[-6:]}")
    procs += [plain, shared]
    plain.start()
    assert plain.terminate() == 0  # the broker keeps the session with its plain subscription
    shared.start()
    try:
        pub = Publisher(services.mqtt_url, f"pub-{influx_db}")
        pub.publish_all(telemetry_topic(ENT, "gw1"), messages(500, 2))
        assert pub.wait_acked()
        pub.close()
        influx = InfluxV1(services.influx_url, influx_db)
        assert wait_stored(influx, 1000) == 1000
        # a stale plain subscription would have delivered every message a second time
        assert shared.metrics()["enerdiag_collector_messages_received_total"] == 500
        assert "unsubscribed stale filters ['em/v1/+/+/telemetry']" in shared.log.read_text()
    finally:
        assert shared.terminate() == 0
