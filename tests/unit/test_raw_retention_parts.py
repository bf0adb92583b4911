"""The pure parts of the raw retention policy setting: validation, FROM targets, batch split, durations."""

from __future__ import annotations

from pathlib import Path

import pytest
from pydantic import ValidationError

from analytics.rollup_job import differing
from api.series import gauge_query
from collector.writer import split_readings
from core.influx import InfluxV1, raw_source
from core.settings import load_settings
from enerdiag.localservices.server import ServiceError
from enerdiag.localservices.stack import RawRetention, duration_seconds, env_for, raw_retention


@pytest.fixture(autouse=True)
def clean_env(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    for key in ("ENERDIAG_INFLUX_RAW_RP", "ENERDIAG_INFLUX_RAW_RP_DURATION", "ENERDIAG_CONFIG"):
        monkeypatch.delenv(key, raising=False)
    monkeypatch.setenv("ENERDIAG_RUN_DIR", str(tmp_path / "run"))
    monkeypatch.chdir(tmp_path)


def test_the_setting_is_off_by_default_and_takes_plain_identifiers(monkeypatch: pytest.MonkeyPatch) -> None:
    s = load_settings()
    assert (s.influx_raw_rp, s.influx_raw_rp_duration) == (None, "INF")
    monkeypatch.setenv("ENERDIAG_INFLUX_RAW_RP", "raw_2y")
    monkeypatch.setenv("ENERDIAG_INFLUX_RAW_RP_DURATION", "730d")
    s = load_settings()
    assert (s.influx_raw_rp, s.influx_raw_rp_duration) == ("raw_2y", "730d")
    monkeypatch.setenv("ENERDIAG_INFLUX_RAW_RP", "")
    assert load_settings().influx_raw_rp is None


@pytest.mark.parametrize("bad", ['raw"; DROP DATABASE energy', "2y", "raw.policy", "x" * 65])
def test_a_policy_name_that_is_not_an_identifier_is_refused(monkeypatch: pytest.MonkeyPatch, bad: str) -> None:
    monkeypatch.setenv("ENERDIAG_INFLUX_RAW_RP", bad)
    with pytest.raises(ValidationError, match="influx_raw_rp"):
        load_settings()


@pytest.mark.parametrize("bad", ["730", "2 years", "0d", "inf", "730d;"])
def test_a_duration_that_influxql_would_refuse_is_refused(monkeypatch: pytest.MonkeyPatch, bad: str) -> None:
    monkeypatch.setenv("ENERDIAG_INFLUX_RAW_RP_DURATION", bad)
    with pytest.raises(ValidationError, match="influx_raw_rp_duration"):
        load_settings()


def test_raw_source_quotes_the_policy_and_defaults_to_the_plain_measurement() -> None:
    assert raw_source(None) == '"reading"'
    assert raw_source("raw") == '"raw"."reading"'
    assert InfluxV1("http://127.0.0.1:1", "energy").raw_source == '"reading"'
    assert InfluxV1("http://127.0.0.1:1", "energy", raw_rp="raw").raw_source == '"raw"."reading"'


def test_gauge_query_reads_the_given_source() -> None:
    assert 'FROM "reading" WHERE' in gauge_query("E", "power_kw", 0, 3600, 3600, 0)
    assert 'FROM "raw"."reading" WHERE' in gauge_query("E", "power_kw", 0, 3600, 3600, 0, source=raw_source("raw"))


def test_split_readings_keeps_health_points_apart_in_order() -> None:
    body = (b"reading,enterprise=E,gateway=g,meter=a energy_kwh=1 10\n"
            b"gateway_status,enterprise=E,gateway=g online=1i 10\n"
            b"reading,enterprise=E,gateway=g,meter=b energy_kwh=2 11\n"
            b"collector_stats,collector=c readings=2i 12")
    readings, others = split_readings(body)
    assert readings == (b"reading,enterprise=E,gateway=g,meter=a energy_kwh=1 10\n"
                        b"reading,enterprise=E,gateway=g,meter=b energy_kwh=2 11")
    assert others == (b"gateway_status,enterprise=E,gateway=g online=1i 10\n"
                      b"collector_stats,collector=c readings=2i 12")
    assert split_readings(b"reading_x,a=b v=1 1") == (b"", b"reading_x,a=b v=1 1")


def test_expired_buckets_are_not_dirty_only_with_a_raw_policy() -> None:
    stored = {("E", "M", "energy_kwh", 0): 4, ("E", "M", "energy_kwh", 3600): 4}
    raw = {("E", "M", "energy_kwh", 3600): 5}  # hour 0 expired, hour 1 got a late reading
    assert differing(raw, stored) == {"E": {0, 3600}}
    assert differing(raw, stored, keep_expired=True) == {"E": {3600}}
    assert differing({("E", "M", "energy_kwh", 7200): 1}, {}, keep_expired=True) == {"E": {7200}}


@pytest.mark.parametrize(("text", "seconds"), [
    ("INF", 0), ("0s", 0), ("730d", 730 * 86400), ("17520h0m0s", 730 * 86400), ("104w2d", 730 * 86400),
    ("1h30m", 5400), ("168h0m0s", 7 * 86400),
])
def test_duration_seconds_reads_influxql_and_show_output(text: str, seconds: int) -> None:
    assert duration_seconds(text) == seconds


def test_services_up_takes_the_policy_from_the_settings_and_writes_it_to_env(
        monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    run = tmp_path / "run"
    run.mkdir()
    assert raw_retention(run) is None
    monkeypatch.setenv("ENERDIAG_INFLUX_RAW_RP", "raw")
    monkeypatch.setenv("ENERDIAG_INFLUX_RAW_RP_DURATION", "730d")
    policy = raw_retention(run)
    assert policy == RawRetention("raw", "730d")

    class _Server:
        url = "http://127.0.0.1:1"

    env = env_for(run, {"mosquitto": _Server(), "influxd": _Server()}, policy)  # type: ignore[dict-item]
    assert (env["ENERDIAG_INFLUX_RAW_RP"], env["ENERDIAG_INFLUX_RAW_RP_DURATION"]) == ("raw", "730d")
    (run / "env").write_text("ENERDIAG_INFLUX_RAW_RP=raw\nENERDIAG_INFLUX_RAW_RP_DURATION=52w\n")
    monkeypatch.delenv("ENERDIAG_INFLUX_RAW_RP")
    monkeypatch.delenv("ENERDIAG_INFLUX_RAW_RP_DURATION")
    assert raw_retention(run) == RawRetention("raw", "52w")  # a later `up` keeps the earlier choice
    monkeypatch.setenv("ENERDIAG_INFLUX_RAW_RP", "not-an-identifier")
    with pytest.raises(ServiceError, match="influx_raw_rp"):
        raw_retention(run)
