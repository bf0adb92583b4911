"""Outdoor-temperature files → one mean temperature per local day (pure: parsing and checks, no I/O).

Weather is a property of a place: `enerdiag weather import` stores these days per county (docs/schema.md,
`weather`) and the diagnosis turns them into degree-days for its baselines. Layouts, recognised by the header:

- plain daily: `date,temp_c` — ISO date (YYYY-MM-DD), daily mean °C;
- plain hourly (or finer): `time,temp_c` — ISO date-time (no offset = Asia/Shanghai); averaged per local day,
  days with fewer than `MIN_HOURS_PER_DAY` distinct hours are left out;
- NOAA GSOD (NCEI Global Summary of the Day CSV): `STATION`, `DATE`, `TEMP` — °F, `9999.9` = missing;
- CMA daily (中国地面日值, data.cma.cn / CIMISS `SURF_CHN_MUL_DAY`): `Station_Id_C` or `Station_Id_d` (or
  `区站号`), `Year`/`Mon`/`Day` (or `年`/`月`/`日`), `TEM_Avg` (or `平均气温`) — °C, ≥ 999000 = missing.

Other columns are ignored. A bad row raises `WeatherFileError` naming its line; rows carrying the layout's
missing-value code are skipped and counted.
"""

from __future__ import annotations

import csv
import datetime as dt
import io
import math
from collections.abc import Sequence
from dataclasses import dataclass, field
from zoneinfo import ZoneInfo

from core.domain import DEFAULT_TIMEZONE

TEMP_MIN_C = -70.0
TEMP_MAX_C = 60.0
"""Plausible outdoor daily/hourly temperatures (China's records: −52.3 °C Mohe 1969, 52.2 °C Turpan 2023):
anything outside is a unit or column mistake, not weather."""
MIN_HOURS_PER_DAY = 18
"""An hourly file's day needs values in at least 18 of its 24 hours (75 %) to give a daily mean (enerdiag rule,
in the spirit of CalTRACK's 90 % sufficiency for meter data, looser because temperature changes smoothly)."""
GSOD_MISSING = 9999.9
CMA_MISSING_FROM = 999000.0
"""CMA codes 999999 (缺测 missing), 999998 (未观测 not observed) and other 999xxx flags: no value."""

PLAIN_DAILY, PLAIN_HOURLY, GSOD, CMA = "date,temp_c", "time,temp_c", "noaa_gsod", "cma_daily"
CMA_STATION = ("Station_Id_C", "Station_Id_d", "区站号")
CMA_YEAR, CMA_MONTH, CMA_DAY = ("Year", "年"), ("Mon", "月"), ("Day", "日")
CMA_TEMP = ("TEM_Avg", "平均气温")


class WeatherFileError(ValueError):
    """The weather file cannot be used; the message names the line and what is wrong."""


@dataclass(frozen=True, slots=True)
class WeatherDays:
    """Daily mean outdoor temperatures read from one file."""

    temps: dict[dt.date, float]  # local day → mean °C, in date order
    layout: str
    station: str | None = None
    missing_rows: int = 0  # rows with the layout's missing-value code, skipped
    partial_days: tuple[dt.date, ...] = field(default_factory=tuple)  # hourly files: days with too few hours

    @property
    def first_day(self) -> dt.date:
        return next(iter(self.temps))

    @property
    def last_day(self) -> dt.date:
        return next(reversed(self.temps))


def decode(raw: bytes, source: str = "file") -> str:
    """The file's text: UTF-8 (with or without BOM), else GB18030 (Chinese Windows exports)."""
    for encoding in ("utf-8-sig", "gb18030"):
        try:
            return raw.decode(encoding)
        except UnicodeDecodeError:
            continue
    raise WeatherFileError(f"{source}: neither UTF-8 nor GB18030 text")


def parse_weather_csv(text: str, station: str | None = None, source: str = "file",
                      tz: str = DEFAULT_TIMEZONE) -> WeatherDays:
    """Daily mean temperatures of `text` (one of the layouts above); `station` picks one station of a
    multi-station GSOD/CMA file (and labels a plain file)."""
    delimiter = "\t" if "\t" in text.split("\n", 1)[0] and "," not in text.split("\n", 1)[0] else ","
    reader = csv.reader(io.StringIO(text), delimiter=delimiter)
    header: list[str] | None = None
    header_line = 0
    rows: list[tuple[int, list[str]]] = []
    for row in reader:
        if not any(cell.strip() for cell in row):
            continue
        if header is None:
            header, header_line = [c.strip() for c in row], reader.line_num
            continue
        rows.append((reader.line_num, [c.strip() for c in row]))
    if header is None:
        raise WeatherFileError(f"{source}: empty file (expected a header such as `date,temp_c`)")
    layout, cols = _layout(header, source, header_line)
    if not rows:
        raise WeatherFileError(f"{source}: no data rows after the header on line {header_line}")
    for lineno, row in rows:
        if len(row) != len(header):
            raise WeatherFileError(f"{source} line {lineno}: {len(row)} columns, the header on line "
                                   f"{header_line} has {len(header)}")
    if layout in (GSOD, CMA):
        rows, station = _one_station(rows, cols["station"], station, source)
    if layout == PLAIN_HOURLY:
        return _hourly(rows, cols, source, tz, station)
    temps: dict[dt.date, float] = {}
    seen: dict[dt.date, int] = {}
    missing = 0
    for lineno, row in rows:
        day = _day(row, cols, layout, source, lineno)
        value = _temperature(row[cols["temp"]], layout, source, lineno)
        if value is None:
            missing += 1
            continue
        if day in seen:
            raise WeatherFileError(f"{source} line {lineno}: {day} is already on line {seen[day]}")
        seen[day] = lineno
        temps[day] = value
    if not temps:
        raise WeatherFileError(f"{source}: every row has the missing-value code; no temperature to import")
    return WeatherDays(dict(sorted(temps.items())), layout, station, missing)


def _layout(header: Sequence[str], source: str, line: int) -> tuple[str, dict[str, int]]:
    """Which layout the header is, and the positions of the columns used."""
    pos = {name: i for i, name in enumerate(header)}
    lower = {name.lower(): i for i, name in enumerate(header)}

    def first(names: Sequence[str]) -> int | None:
        return next((pos[n] for n in names if n in pos), None)

    if "STATION" in pos and "DATE" in pos and "TEMP" in pos:
        return GSOD, {"station": pos["STATION"], "date": pos["DATE"], "temp": pos["TEMP"]}
    cma = {"station": first(CMA_STATION), "year": first(CMA_YEAR), "month": first(CMA_MONTH),
           "day": first(CMA_DAY), "temp": first(CMA_TEMP)}
    if all(v is not None for v in cma.values()):
        return CMA, {k: int(v) for k, v in cma.items() if v is not None}
    if "temp_c" in lower and "date" in lower:
        return PLAIN_DAILY, {"date": lower["date"], "temp": lower["temp_c"]}
    if "temp_c" in lower and "time" in lower:
        return PLAIN_HOURLY, {"time": lower["time"], "temp": lower["temp_c"]}
    raise WeatherFileError(
        f"{source} line {line}: header {','.join(header)!r} is not a known layout: expected `date,temp_c` "
        "(daily mean °C), `time,temp_c` (hourly °C), a NOAA GSOD CSV (STATION, DATE, TEMP in °F) or a CMA daily "
        "file (Station_Id_C, Year, Mon, Day, TEM_Avg in °C)")


def _one_station(rows: list[tuple[int, list[str]]], col: int, wanted: str | None,
                 source: str) -> tuple[list[tuple[int, list[str]]], str]:
    """The rows of one station: the only one in the file, or `wanted`."""
    stations = sorted({row[col] for _, row in rows})
    if wanted is None:
        if len(stations) > 1:
            raise WeatherFileError(f"{source}: {len(stations)} stations ({', '.join(stations[:5])}"
                                   f"{', …' if len(stations) > 5 else ''}): choose one with --station")
        return rows, stations[0]
    picked = [(n, row) for n, row in rows if row[col] == wanted]
    if not picked:
        raise WeatherFileError(f"{source}: station {wanted} is not in the file (it has {', '.join(stations[:5])})")
    return picked, wanted


def _day(row: list[str], cols: dict[str, int], layout: str, source: str, lineno: int) -> dt.date:
    if layout == CMA:
        parts = (row[cols["year"]], row[cols["month"]], row[cols["day"]])
        try:
            return dt.date(*(int(float(p)) for p in parts))
        except ValueError:
            raise WeatherFileError(f"{source} line {lineno}: year/month/day {'-'.join(parts)!r} "
                                   "is not a date") from None
    value = row[cols["date"]]
    try:
        if len(value) != 10:
            raise ValueError(value)
        return dt.date.fromisoformat(value)
    except ValueError:
        raise WeatherFileError(f"{source} line {lineno}: date {value!r} is not YYYY-MM-DD") from None


def _temperature(value: str, layout: str, source: str, lineno: int) -> float | None:
    """°C, or None for the layout's missing-value code."""
    try:
        number = float(value)
    except ValueError:
        raise WeatherFileError(f"{source} line {lineno}: temperature {value!r} is not a number") from None
    if not math.isfinite(number):
        raise WeatherFileError(f"{source} line {lineno}: temperature {value!r} is not a number")
    if layout == GSOD:
        if number == GSOD_MISSING:
            return None
        number = (number - 32.0) * 5.0 / 9.0
    elif layout == CMA and number >= CMA_MISSING_FROM:
        return None
    if not TEMP_MIN_C <= number <= TEMP_MAX_C:
        unit = " (converted from °F)" if layout == GSOD else ""
        raise WeatherFileError(f"{source} line {lineno}: temperature {number:.1f} °C{unit} is outside "
                               f"{TEMP_MIN_C:.0f}..{TEMP_MAX_C:.0f} °C")
    return round(number, 2)


def _hourly(rows: list[tuple[int, list[str]]], cols: dict[str, int], source: str, tz: str,
            station: str | None) -> WeatherDays:
    """Daily means of a `time,temp_c` file (days with too few distinct hours left out)."""
    zone = ZoneInfo(tz)
    seen: dict[dt.datetime, int] = {}
    by_day: dict[dt.date, list[float]] = {}
    hours: dict[dt.date, set[int]] = {}
    for lineno, row in rows:
        value = row[cols["time"]]
        try:
            when = dt.datetime.fromisoformat(value)
        except ValueError:
            raise WeatherFileError(f"{source} line {lineno}: time {value!r} is not an ISO date-time "
                                   "(YYYY-MM-DDTHH:MM[:SS][+08:00])") from None
        local = when.replace(tzinfo=zone) if when.tzinfo is None else when.astimezone(zone)
        if local in seen:
            raise WeatherFileError(f"{source} line {lineno}: {value} is already on line {seen[local]}")
        seen[local] = lineno
        temp = _temperature(row[cols["temp"]], PLAIN_HOURLY, source, lineno)
        assert temp is not None  # the plain layout has no missing-value code
        by_day.setdefault(local.date(), []).append(temp)
        hours.setdefault(local.date(), set()).add(local.hour)
    temps = {d: round(sum(v) / len(v), 2) for d, v in sorted(by_day.items()) if len(hours[d]) >= MIN_HOURS_PER_DAY}
    partial = tuple(d for d in sorted(by_day) if d not in temps)
    if not temps:
        raise WeatherFileError(f"{source}: no local day has values in {MIN_HOURS_PER_DAY} or more hours")
    return WeatherDays(temps, PLAIN_HOURLY, station, 0, partial)
