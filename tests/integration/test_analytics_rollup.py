"""The rollup job against a real InfluxDB: exact sums, local days, late data, idempotence."""

from __future__ import annotations

import numpy as np
import pytest

from analytics.consumption import CounterEvent
from analytics.enterprise import EnterpriseInfo, MeterInfo
from analytics.rollup_job import run_rollup
from core.influx import InfluxV1, line
from core.measurements import CONSUMPTION_HOURLY, ENTERPRISE_DAILY, ENTERPRISE_MONTHLY

pytestmark = pytest.mark.integration

CODE = "91140200MA0H2KXX88"
DAY0 = 1_764_518_400  # 2025-12-01 00:00 Asia/Shanghai (16:00 UTC the day before)
H = 3600
NOW = DAY0 + 3 * 86400

PLANT = EnterpriseInfo(
    code=CODE,
    product="cement_clinker",
    meters=(
        MeterInfo("M01", "electricity", "main", multiplier=2.0, max_rate_per_h=1000.0),
        MeterInfo("M02", "electricity", "sub"),
        MeterInfo("G01", "natural_gas", "main",
                  events=(CounterEvent(DAY0 + 12 * H + 1, "replaced", old_reading=None, new_reading=0.0),)),
        MeterInfo("O01", "output", "process", product="cement_clinker"),
    ),
)


def raw_lines(meter: str, field: str, times: np.ndarray, values: np.ndarray) -> list[str]:
    return [line("reading", {"enterprise": CODE, "gateway": "gw1", "meter": meter}, {field: float(v)}, int(t))
            for t, v in zip(times, values, strict=True)]


def query_rows(influx: InfluxV1, q: str) -> list[dict]:
    return [r for s in influx.query(q) for r in s.records()]


def seed(influx: InfluxV1, skip_hours: tuple[int, int] | None = None) -> None:
    """Two local days: M01 0.25 kWh/min (×2 = 30 kWh/h), a reset at 30 h; M02 sub-meter; gas; output."""
    t = DAY0 + 60 * np.arange(2 * 1440 + 1)
    v = 1000.0 + 0.25 * np.arange(len(t))
    reset_at = 30 * 60  # minute index of the reset: the register restarts at 0 and keeps counting
    v[reset_at:] = 0.25 * np.arange(len(t) - reset_at)
    keep = np.ones(len(t), dtype=bool)
    if skip_hours:
        keep &= ~((t > DAY0 + skip_hours[0] * H) & (t < DAY0 + skip_hours[1] * H))
    lines = raw_lines("M01", "energy_kwh", t[keep], v[keep])
    lines += raw_lines("M02", "energy_kwh", t, 5.0 * np.arange(len(t)))
    tq = DAY0 + 900 * np.arange(2 * 96 + 1)  # gas every 15 minutes, 2.5 m3 each = 10 m3/h
    gas = 500.0 + 2.5 * np.arange(len(tq))
    gas[tq > DAY0 + 12 * H] = 2.5 * (np.arange(len(tq))[tq > DAY0 + 12 * H] - 48)  # new meter from 0 at 12:00
    lines += raw_lines("G01", "gas_m3", tq, gas)
    lines += raw_lines("O01", "output_t", tq, 0.25 * np.arange(len(tq)))  # 1 t/h
    influx.write(lines)


def test_rollup_exact_local_days_late_data_and_idempotence(services, influx_db) -> None:
    influx = InfluxV1(services.influx_url, influx_db)
    seed(influx, skip_hours=(3, 6))  # a 3-hour hole in M01: 03:00..06:00 local on day 1
    first = run_rollup(influx, [PLANT], now_s=NOW, since_s=DAY0 - 86400)
    assert first.dirty and CODE in first.dirty
    hourly = query_rows(influx, f"SELECT * FROM {CONSUMPTION_HOURLY} WHERE meter='M01' AND time >= {DAY0}s "
                                f"AND time < {DAY0 + 6 * H}s")
    # the hole is spread: 3 h × 30 kWh = 90 kWh over three hours, estimated, completeness 0
    assert [r["value"] for r in hourly] == pytest.approx([30.0] * 6)
    assert [r["completeness"] for r in hourly] == pytest.approx([1.0, 1.0, 1.0, 0.0, 0.0, 0.0])
    assert [r["estimated"] for r in hourly[3:]] == pytest.approx([30.0] * 3)

    daily = {(r["carrier"], r["time"]): r for r in query_rows(influx, f"SELECT * FROM {ENTERPRISE_DAILY}")}
    # day 1: 24 h × 30 kWh (the sub-meter is not added); the day starts at 16:00 UTC
    assert daily[("electricity", DAY0)]["value"] == pytest.approx(720.0)
    assert daily[("electricity", DAY0)]["completeness"] == pytest.approx(21 / 24)
    # day 2 holds the reset at 30 h (06:00 local): the register reads 0 there, so the interval across it counts
    # the new value, 0 (the minute before the reset, 0.25 × 2 = 0.5 kWh, is unknowable): 720 − 0.5
    assert daily[("electricity", DAY0 + 86400)]["value"] == pytest.approx(719.5)
    # gas: 12 h at 10 m3/h, the replacement interval (old reading unknown) counts only the new meter's 2.5,
    # then 11.75 h more at 10 m3/h
    assert daily[("natural_gas", DAY0)]["value"] == pytest.approx(120.0 + 2.5 + 117.5)
    assert daily[("output", DAY0)]["value"] == pytest.approx(24.0)
    monthly = query_rows(influx, f"SELECT * FROM {ENTERPRISE_MONTHLY} WHERE carrier='electricity'")
    assert [r["time"] for r in monthly] == [DAY0]  # 2025-12-01 00:00 local
    assert monthly[0]["value"] == pytest.approx(1439.5)

    # a second run finds nothing to do and changes nothing
    snapshot = query_rows(influx, f"SELECT * FROM {CONSUMPTION_HOURLY}")
    again = run_rollup(influx, [PLANT], now_s=NOW, since_s=DAY0 - 86400)
    assert again.dirty == {}
    assert query_rows(influx, f"SELECT * FROM {CONSUMPTION_HOURLY}") == snapshot

    # the late readings arrive: their hours are recomputed, now measured
    seed(influx)
    late = run_rollup(influx, [PLANT], now_s=NOW, since_s=DAY0 - 86400)
    # only the hours that changed (3..6 h), widened to the neighbouring readings' hours (2 h and 6 h)
    assert late.dirty[CODE] == (DAY0 + 2 * H, DAY0 + 7 * H)
    hourly = query_rows(influx, f"SELECT * FROM {CONSUMPTION_HOURLY} WHERE meter='M01' AND time >= {DAY0}s "
                                f"AND time < {DAY0 + 6 * H}s")
    assert [r["completeness"] for r in hourly] == pytest.approx([1.0] * 6)
    assert [r["estimated"] for r in hourly] == pytest.approx([0.0] * 6)
    daily = {(r["carrier"], r["time"]): r for r in query_rows(influx, f"SELECT * FROM {ENTERPRISE_DAILY}")}
    assert daily[("electricity", DAY0)]["completeness"] == pytest.approx(1.0)
    assert daily[("electricity", DAY0)]["value"] == pytest.approx(720.0)


def test_a_long_silent_meter_widens_only_its_own_enterprise(services, influx_db) -> None:
    influx = InfluxV1(services.influx_url, influx_db)
    quiet = EnterpriseInfo(code="91140200MA0H2KXX88", meters=(MeterInfo("M01", "electricity", "main"),))
    busy = EnterpriseInfo(code="91140200MA0H2KYY2C", meters=(MeterInfo("M01", "electricity", "main"),))
    day = DAY0 + 10 * 86400
    lines = []
    # quiet: one reading 10 days before, then an hour of readings; busy: the same hour only
    for code, first in ((quiet.code, [(DAY0, 0.0)]), (busy.code, [])):
        points = [*first, *((day + 60 * k, 240.0 + k) for k in range(61))]
        lines += [line("reading", {"enterprise": code, "gateway": "gw1", "meter": "M01"}, {"energy_kwh": v}, t)
                  for t, v in points]
    influx.write(lines)
    first_run = run_rollup(influx, [quiet, busy], now_s=day + 2 * H, since_s=DAY0 - 86400)
    # the quiet meter's 10-day gap (240 kWh over 240 hours) is spread, 1 kWh an hour, estimated
    assert first_run.dirty[quiet.code] == (DAY0, day + 2 * H)
    assert first_run.dirty[busy.code] == (day, day + 2 * H)
    gap = query_rows(influx, f"SELECT value, estimated FROM {CONSUMPTION_HOURLY} WHERE enterprise='{quiet.code}' "
                             f"AND time >= {DAY0}s AND time < {day}s")
    assert len(gap) == 240
    assert {round(r["value"], 9) for r in gap} == {1.0}
    assert {round(r["estimated"], 9) for r in gap} == {1.0}
    daily = {(r["enterprise"], r["time"]): r["value"] for r in query_rows(
        influx, f"SELECT value FROM {ENTERPRISE_DAILY} WHERE carrier='electricity' GROUP BY enterprise")}
    assert daily[(quiet.code, DAY0)] == pytest.approx(24.0)
    assert daily[(quiet.code, day)] == pytest.approx(60.0)
    assert daily[(busy.code, day)] == pytest.approx(60.0)


def test_rollup_survives_every_raw_reading_being_deleted(services, influx_db) -> None:
    """Readings deleted by hand (or expired with the default policy) while their rollups remain: the next
    run finds no counter field at all and must neither send a malformed query nor fail."""
    influx = InfluxV1(services.influx_url, influx_db)
    seed(influx)
    assert run_rollup(influx, [PLANT], now_s=NOW, since_s=DAY0 - 86400).dirty
    influx.execute('DROP MEASUREMENT "reading"')
    again = run_rollup(influx, [PLANT], now_s=NOW, since_s=DAY0 - 86400)
    assert again.hours == 0  # nothing to recompute from
    assert query_rows(influx, f"SELECT count(\"value\") FROM {ENTERPRISE_DAILY}")[0]["count"] > 0
