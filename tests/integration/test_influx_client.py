"""core.influx against the real InfluxDB that the test session starts."""

from __future__ import annotations

import pytest

from core.influx import InfluxError, InfluxV1, line

pytestmark = pytest.mark.integration


def test_write_query_roundtrip_and_overwrite(services, influx_db: str) -> None:
    with InfluxV1(services.influx_url, influx_db) as client:
        assert client.ping()
        lines = [
            line("reading", {"enterprise": "E1", "gateway": "gw1", "meter": "M01"}, {"energy_kwh": 100.0}, 1764547200),
            line("reading", {"enterprise": "E1", "gateway": "gw1", "meter": "M01"}, {"energy_kwh": 101.5}, 1764547260),
        ]
        client.write(lines)
        # the same series and timestamp again: overwritten, not duplicated (idempotent replays)
        client.write(lines[1], compress=True)
        series = client.query('SELECT count("energy_kwh"), last("energy_kwh") FROM "reading" WHERE "meter"=\'M01\'')
        (row,) = series[0].records()
        assert row["count"] == 2
        assert row["last"] == 101.5


def test_bad_line_is_not_retryable(services, influx_db: str) -> None:
    with InfluxV1(services.influx_url, influx_db) as client, pytest.raises(InfluxError) as err:
        client.write("reading,meter=M01 energy_kwh=not-a-number 1764547200")
    assert err.value.status == 400
    assert not err.value.retryable


def test_unreachable_server_is_retryable() -> None:
    with InfluxV1("http://127.0.0.1:9", "energy", timeout=1.0) as client:
        assert not client.ping()
        with pytest.raises(InfluxError) as err:
            client.write("reading energy_kwh=1 1764547200")
    assert err.value.retryable
