"""The scheduler's pure parts: settings from the environment, weather sources, slots; downsampling queries."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import pytest

from analytics.downsample import DAY, HOUR, LOOKBACK_S, MAX_CATCH_UP_S, downsample_query, hourly_lines, window
from core.influx import Series
from enerdiag.scheduler.jobs import (
    JobConfigError,
    SchedulerEnv,
    default_jobs,
    read_weather_sources,
)
from enerdiag.scheduler.runner import ANCHOR, slot_start


def test_defaults_switch_weather_and_broker_on_only_when_configured(tmp_path: Path) -> None:
    jobs = {j.name: j for j in default_jobs(SchedulerEnv.from_environ({}))}
    assert {n for n, j in jobs.items() if j.enabled} == {"rollup", "dashboard-feed", "webhooks", "downsample"}
    assert jobs["rollup"].every_s == 900 and jobs["webhooks"].every_s == 60
    env = SchedulerEnv.from_environ({"ENERDIAG_WEATHER_SOURCES": str(tmp_path / "w.yaml"),
                                     "ENERDIAG_BROKER_AUTH_DIR": str(tmp_path / "auth"),
                                     "ENERDIAG_JOB_ROLLUP_EVERY": "300", "ENERDIAG_JOB_WEBHOOKS_EVERY": "0"})
    jobs = {j.name: j for j in default_jobs(env)}
    assert jobs["weather"].enabled and jobs["broker-sync"].enabled
    assert jobs["rollup"].every_s == 300 and not jobs["webhooks"].enabled
    (argv,) = jobs["broker-sync"].commands()
    assert argv[-5:] == ["mqtt-acl", "--password-file", str(tmp_path / "auth/passwd"), "--acl-file",
                         str(tmp_path / "auth/acl")]
    assert not {j.name: j for j in default_jobs(SchedulerEnv.from_environ(
        {"ENERDIAG_JOB_WEATHER_EVERY": "600"}))}["weather"].enabled  # no source: stays off


@pytest.mark.parametrize("value", ["ten", "-1", "5", "1.5"])
def test_bad_periods_are_refused_with_the_variable(value: str) -> None:
    with pytest.raises(JobConfigError, match="ENERDIAG_JOB_ROLLUP_EVERY"):
        SchedulerEnv.from_environ({"ENERDIAG_JOB_ROLLUP_EVERY": value})


def test_weather_sources_become_import_commands(tmp_path: Path) -> None:
    listing = tmp_path / "sources.yaml"
    listing.write_text("- {file: 53487.csv, counties: [云冈区, 平城区], station: 53487}\n"
                       "- {file: /srv/zuoyun.csv, counties: [左云县]}\n", encoding="utf-8")
    first, second = read_weather_sources(listing)
    assert first.argv() == ["weather", "import", str(tmp_path / "53487.csv"), "--county", "云冈区", "--county",
                            "平城区", "--station", "53487"]
    assert second.argv() == ["weather", "import", "/srv/zuoyun.csv", "--county", "左云县"]


@pytest.mark.parametrize("text", ["{file: a.csv}", "- {file: a.csv}", "- {file: a.csv, counties: []}",
                                  "- {file: a.csv, counties: [x], url: y}", "- [1"])
def test_bad_weather_sources_are_refused_whole(tmp_path: Path, text: str) -> None:
    listing = tmp_path / "sources.yaml"
    listing.write_text(text, encoding="utf-8")
    with pytest.raises(JobConfigError, match=str(listing)):
        read_weather_sources(listing)


def test_slots_are_aligned_to_local_midnight_plus_offset() -> None:
    (rollup,) = [j for j in default_jobs(SchedulerEnv()) if j.name == "rollup"]
    (feed,) = [j for j in default_jobs(SchedulerEnv()) if j.name == "dashboard-feed"]
    noon = dt.datetime(2026, 12, 7, 12, 7, 30, tzinfo=ANCHOR.tzinfo).timestamp()
    assert slot_start(rollup, noon) == dt.datetime(2026, 12, 7, 12, 0, tzinfo=ANCHOR.tzinfo).timestamp()
    assert slot_start(feed, noon) == dt.datetime(2026, 12, 7, 12, 5, tzinfo=ANCHOR.tzinfo).timestamp()
    assert slot_start(feed, noon - 8 * 60) == dt.datetime(2026, 12, 7, 11, 5, tzinfo=ANCHOR.tzinfo).timestamp()


def test_downsample_query_and_lines() -> None:
    q = downsample_query('"raw"."reading"', 0, 7200, ["power_kw"])
    assert q == ('SELECT mean("power_kw") AS "power_kw_mean", min("power_kw") AS "power_kw_min", max("power_kw") '
                 'AS "power_kw_max", count("power_kw") AS "power_kw_count" FROM "raw"."reading" WHERE time >= 0s '
                 'AND time < 7200s GROUP BY time(1h), "enterprise", "gateway", "meter" fill(none)')
    series = Series("reading", ["time", "power_kw_mean", "power_kw_min", "power_kw_max", "power_kw_count",
                                "pf_mean", "pf_count"],
                    [[0, 2.5, 1.0, 4.0, 4, None, 0], [3600, None, None, None, 0, None, 0]],
                    {"enterprise": "E", "gateway": "g", "meter": "M01"})
    assert hourly_lines([series]) == [
        "reading_hourly,enterprise=E,gateway=g,meter=M01 power_kw_count=4i,power_kw_max=4,power_kw_mean=2.5,"
        "power_kw_min=1 0"]  # floats without a fraction are written as 4, not 4i


def test_downsample_window_catches_up_after_an_outage() -> None:
    now = 100 * DAY + 5 * HOUR + 17
    end = 100 * DAY + 5 * HOUR
    assert window(now, None) == (end - LOOKBACK_S, end)
    assert window(now, end - 5 * DAY + 1800) == (end - 5 * DAY, end)
    assert window(now, end - 90 * DAY) == (end - MAX_CATCH_UP_S, end)
    assert window(now, None, since_s=10 * DAY + 60) == (10 * DAY, end)
