"""I/O edge of the outdoor-temperature feed: the InfluxDB measurement `weather` (docs/schema.md).

One point per county and local day (Asia/Shanghai midnight), field `temp_c`; rewriting a day overwrites it.
`read_weather` reads any number of counties over a period in one query.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable

import pandas as pd

from analytics.calendar import local_midnight_s
from analytics.weather import WeatherDays
from core.domain import DEFAULT_TIMEZONE
from core.influx import InfluxV1, line, quote_ident, quote_literal
from core.measurements import WEATHER

WEATHER_TZ = DEFAULT_TIMEZONE
"""Weather days are local days of Asia/Shanghai (the project's time zone); a point sits at their midnight."""
BATCH = 5000


def weather_lines(county: str, days: WeatherDays, tz: str = WEATHER_TZ) -> list[str]:
    """Line protocol of a county's days: tag `county`, fields `temp_c` (and `station`, a string, when known)."""
    extra: dict[str, str] = {"station": days.station} if days.station else {}
    return [line(WEATHER, {"county": county}, {"temp_c": float(temp), **extra}, local_midnight_s(day, tz))
            for day, temp in days.temps.items()]


def write_weather(influx: InfluxV1, counties: Iterable[str], days: WeatherDays) -> int:
    """Write the days for every county; returns the points written."""
    lines = [text for county in counties for text in weather_lines(county, days)]
    for i in range(0, len(lines), BATCH):
        influx.write(lines[i:i + BATCH])
    return len(lines)


def read_weather(influx: InfluxV1, counties: Iterable[str], first_day: dt.date,
                 end_day: dt.date) -> dict[str, pd.Series]:
    """Daily mean °C per county over the local days [first_day, end_day): county → Series indexed by date.

    Counties without any point in the period are absent. One query for all counties.
    """
    wanted = sorted({c for c in counties if c})
    if not wanted or end_day <= first_day:
        return {}
    cond = " OR ".join(f"\"county\" = {quote_literal(c)}" for c in wanted)
    q = (f"SELECT \"temp_c\" FROM {quote_ident(WEATHER)} WHERE ({cond}) "
         f"AND time >= {local_midnight_s(first_day, WEATHER_TZ)}s AND time < {local_midnight_s(end_day, WEATHER_TZ)}s "
         f"GROUP BY \"county\"")
    out: dict[str, pd.Series] = {}
    for series in influx.query(q):
        values = {pd.Timestamp(int(r["time"]), unit="s", tz="UTC").tz_convert(WEATHER_TZ).date(): float(r["temp_c"])
                  for r in series.records() if r.get("temp_c") is not None}
        if values:
            out[series.tags.get("county", "")] = pd.Series(values, dtype=float).sort_index()
    return out
