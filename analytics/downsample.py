"""Downsampling before retention: hourly mean, min, max and count of every gauge, per meter, kept for good.

Raw readings may expire (their own retention policy, docs/operations.md "Retention"); the counters survive as
rollups (`consumption_hourly` …), and this job keeps the gauges (power, power factor, temperature, current,
voltage, leakage) as `reading_hourly` in the default policy. InfluxDB 2.x's InfluxQL has no `SELECT … INTO`
and continuous queries are 1.x only, so the job reads through the v1 API and writes the points back; rewriting
an hour overwrites it (same series and timestamp), so runs are idempotent and late readings are picked up by
the next run inside the lookback.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from typing import Final

from core.domain import GAUGE_KEYS
from core.influx import InfluxV1, Series, line, quote_ident
from core.measurements import READING_HOURLY

STATS: Final = ("mean", "min", "max", "count")
TAGS: Final = ("enterprise", "gateway", "meter")
HOUR: Final = 3600
DAY: Final = 86400
LOOKBACK_S: Final = 2 * DAY
"""Every run redoes at least the last two days (late readings)."""
MAX_CATCH_UP_S: Final = 35 * DAY
"""After an outage a run goes back to the last downsampled hour, at most this far (older: `--since`)."""


def gauge_fields() -> tuple[str, ...]:
    return tuple(sorted(GAUGE_KEYS))


def downsample_query(source: str, start_s: int, end_s: int, fields: Iterable[str] | None = None) -> str:
    """InfluxQL: per meter and clock hour in [start_s, end_s), mean/min/max/count of each gauge field."""
    names = tuple(fields or gauge_fields())
    selected = ", ".join(f"{stat}({quote_ident(f)}) AS {quote_ident(f'{f}_{stat}')}" for f in names for stat in STATS)
    tags = ", ".join(quote_ident(t) for t in TAGS)
    return (f"SELECT {selected} FROM {source} WHERE time >= {start_s}s AND time < {end_s}s "
            f"GROUP BY time(1h), {tags} fill(none)")


def hourly_lines(series: Iterable[Series]) -> list[str]:
    """Line protocol of the query's rows: float statistics, integer counts; hours without any gauge dropped."""
    out = []
    for s in series:
        tags = {t: s.tags[t] for t in TAGS if s.tags.get(t)}
        for record in s.records():
            fields: dict[str, float | int] = {}
            for key, value in record.items():
                if key == "time" or key in TAGS or value is None:
                    continue
                fields[key] = int(value) if key.endswith("_count") else float(value)
            if any(k.endswith("_count") and v for k, v in fields.items()):
                out.append(line(READING_HOURLY, tags, {k: v for k, v in fields.items() if not (
                    k.endswith("_count") and not v)}, int(record["time"])))
    return out


@dataclass(frozen=True)
class DownsampleReport:
    """What one run covered and wrote."""

    start_s: int
    end_s: int
    points: int


def last_downsampled_hour(influx: InfluxV1) -> int | None:
    """Timestamp of the newest `reading_hourly` point (None before the first run)."""
    for s in influx.query(f"SELECT * FROM {quote_ident(READING_HOURLY)} ORDER BY time DESC LIMIT 1"):
        for record in s.records():
            return int(record["time"])
    return None


def window(now_s: int, last_s: int | None, since_s: int | None = None) -> tuple[int, int]:
    """[start, end) of a run at `now_s`: closed hours only, the lookback, back to the last downsampled hour."""
    end = now_s - now_s % HOUR
    start = end - LOOKBACK_S
    if last_s is not None:
        start = min(start, last_s - last_s % HOUR)
    start = max(start, end - MAX_CATCH_UP_S)
    if since_s is not None:
        start = min(start, since_s - since_s % HOUR)
    return start, end


def downsample(influx: InfluxV1, start_s: int, end_s: int, chunk_s: int = DAY) -> DownsampleReport:
    """Write `reading_hourly` for [start_s, end_s), one query per `chunk_s` (bounded memory)."""
    points = 0
    for lo in range(start_s, end_s, chunk_s):
        lines = hourly_lines(influx.query(downsample_query(influx.raw_source, lo, min(end_s, lo + chunk_s))))
        for i in range(0, len(lines), 5000):
            influx.write(lines[i:i + 5000])
        points += len(lines)
    return DownsampleReport(start_s, end_s, points)
