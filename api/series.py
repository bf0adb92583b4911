"""Pure series logic: local-time periods → InfluxQL bounds, and raw buckets → hourly/daily/monthly means.

Gauges are averaged sample-weighted: InfluxDB returns a sum and a count per base bucket (an hour, or a
local day when the zone's offset is constant), and every coarser local interval's mean is
Σsum / Σcount, so a day with half its samples missing is not biased by it.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass
from enum import StrEnum
from typing import Final
from zoneinfo import ZoneInfo

from core.influx import quote_ident, quote_literal
from core.measurements import READING

HOUR: Final = 3600
DAY: Final = 86400


class Interval(StrEnum):
    """Bucket widths of the series endpoint, in the enterprise's local time."""

    HOUR = "1h"
    DAY = "1d"
    MONTH = "1mo"


@dataclass(frozen=True, slots=True)
class Bucket:
    """One local interval of a series: its start (local, aware), sample-weighted mean, and sample count."""

    start: dt.datetime
    mean: float | None
    samples: int


def local_midnight_utc_s(day: dt.date, tz: ZoneInfo) -> int:
    """Epoch seconds of local midnight starting `day` in `tz`."""
    return int(dt.datetime.combine(day, dt.time(), tzinfo=tz).timestamp())


def constant_offset(tz: ZoneInfo, start: dt.date, end: dt.date) -> dt.timedelta | None:
    """The zone's UTC offset when it is the same all through [start, end) (checked twice a year), else None."""
    offsets = set()
    year = start.year
    while year <= end.year:
        for month in (1, 7):
            offsets.add(dt.datetime(year, month, 1, 12, tzinfo=tz).utcoffset())
        year += 1
    offsets.add(dt.datetime.combine(start, dt.time(12), tzinfo=tz).utcoffset())
    offsets.add(dt.datetime.combine(end, dt.time(12), tzinfo=tz).utcoffset())
    return offsets.pop() if len(offsets) == 1 else None


def base_grouping(interval: Interval, tz: ZoneInfo, start: dt.date, end: dt.date) -> tuple[int, int]:
    """The InfluxDB GROUP BY time(width, offset) in seconds whose buckets nest in the local intervals."""
    offset = constant_offset(tz, start, end)
    if interval is not Interval.HOUR and offset is not None:
        return DAY, int(-offset.total_seconds()) % DAY
    reference = offset or dt.datetime.combine(start, dt.time(), tzinfo=tz).utcoffset() or dt.timedelta()
    return HOUR, int(-reference.total_seconds()) % HOUR


def gauge_query(code: str, quantity: str, start_s: int, end_s: int, width_s: int, offset_s: int,
                meter: str | None = None, source: str = quote_ident(READING)) -> str:
    """InfluxQL for per-meter sum and count of a gauge per base bucket of the raw `reading` measurement
    (`source`: its FROM target, `core.influx.raw_source` of the raw retention policy)."""
    field = quote_ident(quantity)
    where = f'"enterprise" = {quote_literal(code)} AND time >= {start_s}s AND time < {end_s}s'
    if meter is not None:
        where += f' AND "meter" = {quote_literal(meter)}'
    return (
        f'SELECT sum({field}) AS "sum", count({field}) AS "count" FROM {source} WHERE {where} '
        f'GROUP BY time({width_s}s, {offset_s}s), "meter" fill(none)'
    )


def bucket_start(moment: dt.datetime, interval: Interval) -> dt.datetime:
    """Start of the local interval containing `moment` (an aware local datetime)."""
    if interval is Interval.HOUR:
        return moment.replace(minute=0, second=0, microsecond=0)
    if interval is Interval.DAY:
        return moment.replace(hour=0, minute=0, second=0, microsecond=0)
    return moment.replace(day=1, hour=0, minute=0, second=0, microsecond=0)


def bucket_starts(interval: Interval, tz: ZoneInfo, start: dt.date, end: dt.date) -> Iterator[dt.datetime]:
    """Every local interval start in [start, end), in order (hours follow the UTC clock across DST)."""
    if interval is Interval.HOUR:
        t = local_midnight_utc_s(start, tz)
        stop = local_midnight_utc_s(end, tz)
        seen: set[dt.datetime] = set()
        while t < stop:
            local = bucket_start(dt.datetime.fromtimestamp(t, tz), interval)
            if local not in seen:
                seen.add(local)
                yield local
            t += HOUR
    elif interval is Interval.DAY:
        day = start
        while day < end:
            yield dt.datetime.combine(day, dt.time(), tzinfo=tz)
            day += dt.timedelta(days=1)
    else:
        day = start.replace(day=1)
        while day < end:
            yield dt.datetime.combine(day, dt.time(), tzinfo=tz)
            day = dt.date(day.year + (day.month == 12), day.month % 12 + 1, 1)


def aggregate(
    rows: Iterable[tuple[int, float | None, int | None]],
    interval: Interval,
    tz: ZoneInfo,
    start: dt.date,
    end: dt.date,
) -> list[Bucket]:
    """Fold (base bucket start epoch s, sum, count) rows into every local interval of [start, end)."""
    sums: dict[dt.datetime, float] = {}
    counts: dict[dt.datetime, int] = {}
    for t, total, count in rows:
        if not count or total is None:
            continue
        key = bucket_start(dt.datetime.fromtimestamp(t, tz), interval)
        sums[key] = sums.get(key, 0.0) + float(total)
        counts[key] = counts.get(key, 0) + int(count)
    out = []
    for key in bucket_starts(interval, tz, start, end):
        n = counts.get(key, 0)
        out.append(Bucket(key, sums[key] / n if n else None, n))
    return out


def rows_of(values: Sequence[Sequence[object]], columns: Sequence[str]) -> list[tuple[int, float | None, int | None]]:
    """(time, sum, count) tuples from an InfluxQL series' columns and values."""
    i_t, i_s, i_c = columns.index("time"), columns.index("sum"), columns.index("count")
    out: list[tuple[int, float | None, int | None]] = []
    for row in values:
        total, count = row[i_s], row[i_c]
        out.append((int(row[i_t]), None if total is None else float(total), None if count is None else int(count)))  # type: ignore[arg-type]
    return out
