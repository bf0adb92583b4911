"""Data for API tests that need a consented enterprise with real figures: readings in InfluxDB, then rollups.

`seed_enterprise_data` writes two years of main-meter electricity (daily readings, every 15 minutes for
the last 30 days) and warehouse temperatures for the last 7 days, and runs the analytics rollups, so that
every figure endpoint (series, profile, credit indicators, warehouse, order verification) has something to
compute. Pure I/O helper: no assertions.
"""

from __future__ import annotations

import datetime as dt
from zoneinfo import ZoneInfo

from analytics.registry_view import load_enterprises
from analytics.rollup_job import run_rollup
from core.influx import InfluxV1, line
from core.registry.db import session_scope

SHANGHAI = ZoneInfo("Asia/Shanghai")
FIRST_DAY = dt.date(2024, 11, 1)
"""First local day with readings; the data end at local midnight of `END_DAY`."""
END_DAY = dt.date(2026, 11, 26)
DENSE_DAYS = 30
"""Days before `END_DAY` read every 15 minutes (the rest once a day): enough for hourly series and the 90-day rules."""
TEMP_DAYS = 7


def local_s(day: dt.date, seconds: int = 0) -> int:
    """Unix seconds of local (Asia/Shanghai) midnight of `day`, plus `seconds`."""
    return int(dt.datetime(day.year, day.month, day.day, tzinfo=SHANGHAI).timestamp()) + seconds


def daily_kwh(day: dt.date) -> float:
    """kWh of a local day: 100 the first year, 120 the second, with a three-day stop in October 2026."""
    if dt.date(2026, 10, 12) <= day <= dt.date(2026, 10, 14):
        return 0.0
    return 100.0 if day < dt.date(2025, 11, 1) else 120.0


def electricity_lines(code: str, meter: str = "M01") -> list[str]:
    """Cumulative `energy_kwh` readings of the main meter from FIRST_DAY to END_DAY (line protocol)."""
    tags = {"enterprise": code, "gateway": "gw1", "meter": meter}
    dense = END_DAY - dt.timedelta(days=DENSE_DAYS)
    out, value, day = [], 10_000.0, FIRST_DAY
    while day < END_DAY:
        steps = 96 if day >= dense else 1
        for k in range(steps):
            out.append(line("reading", tags, {"energy_kwh": round(value, 6)}, local_s(day, k * 86400 // steps)))
            value += daily_kwh(day) / steps
        day += dt.timedelta(days=1)
    out.append(line("reading", tags, {"energy_kwh": round(value, 6)}, local_s(END_DAY)))
    return out


def temperature_lines(code: str, meter: str = "T01") -> list[str]:
    """Cold-store `temp_c` every 15 minutes over the last TEMP_DAYS days: about −18 °C, one warm hour."""
    tags = {"enterprise": code, "gateway": "gw1", "meter": meter}
    first = END_DAY - dt.timedelta(days=TEMP_DAYS)
    start, out = local_s(first), []
    for q in range(TEMP_DAYS * 96):
        warm = 4 * 24 * 3 + 40 <= q < 4 * 24 * 3 + 44  # one hour on the fourth day
        out.append(line("reading", tags, {"temp_c": -5.0 if warm else -18.0 + 0.1 * (q % 4)}, start + q * 900))
    return out


def seed_enterprise_data(influx: InfluxV1, registry_url: str, code: str) -> None:
    """Write `code`'s readings and roll them up (hourly and daily consumption, enterprise daily and monthly)."""
    influx.write(electricity_lines(code), compress=True)
    influx.write(temperature_lines(code), compress=True)
    with session_scope(registry_url) as session:
        enterprises = load_enterprises(session, [code])
    run_rollup(influx, enterprises, now_s=local_s(END_DAY, 3600),
               since_s=local_s(FIRST_DAY - dt.timedelta(days=2)))
