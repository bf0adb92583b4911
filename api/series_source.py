"""Series for the API, read from InfluxDB: gauges from the raw `reading` layer, counters from the analytics rollups.

Counter consumption is never recomputed here: hours come from `consumption_hourly`, days from
`consumption_daily`, months from those days through `analytics.calendar.monthly_from_daily`, all written
and defined by the rollup job (docs/schema.md), so the API shows the same kWh as `enerdiag analyze`.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from typing import Any
from zoneinfo import ZoneInfo

import pandas as pd

from analytics.calendar import monthly_from_daily
from api.series import Interval, aggregate, base_grouping, bucket_starts, gauge_query, local_midnight_utc_s, rows_of
from core.influx import InfluxV1, quote_ident, quote_literal
from core.measurements import CONSUMPTION_DAILY, CONSUMPTION_HOURLY

ROLLUP_FIELDS = ("value", "estimated", "completeness", "n_readings")


@dataclass(frozen=True, slots=True)
class Request:
    """What one series request asks for."""

    code: str
    quantity: str
    interval: Interval
    start: dt.date
    end: dt.date
    timezone: str
    meter: str | None = None


def gauge_series(influx: InfluxV1, req: Request) -> dict[str, list[dict[str, Any]]]:
    """meter → points {start, value (sample-weighted mean), samples} for every local interval of the period."""
    tz = ZoneInfo(req.timezone)
    width, offset = base_grouping(req.interval, tz, req.start, req.end)
    q = gauge_query(req.code, req.quantity, local_midnight_utc_s(req.start, tz), local_midnight_utc_s(req.end, tz),
                    width, offset, req.meter, influx.raw_source)
    out: dict[str, list[dict[str, Any]]] = {}
    for s in influx.query(q):
        buckets = aggregate(rows_of(s.values, s.columns), req.interval, tz, req.start, req.end)
        out[s.tags.get("meter", "")] = [
            {"start": b.start.isoformat(), "value": b.mean, "samples": b.samples} for b in buckets
        ]
    return out


def _rollup_query(measurement: str, req: Request, start_s: int, end_s: int) -> str:
    where = (f'"enterprise" = {quote_literal(req.code)} AND "quantity" = {quote_literal(req.quantity)} '
             f"AND time >= {start_s}s AND time < {end_s}s")
    if req.meter is not None:
        where += f' AND "meter" = {quote_literal(req.meter)}'
    fields = ", ".join(quote_ident(f) for f in ROLLUP_FIELDS)
    return f'SELECT {fields} FROM {quote_ident(measurement)} WHERE {where} GROUP BY "meter"'


def _point(start: dt.datetime, row: dict[str, Any] | None) -> dict[str, Any]:
    if row is None:
        return {"start": start.isoformat(), "value": None, "samples": 0, "completeness": 0.0, "estimated": None}
    return {
        "start": start.isoformat(),
        "value": float(row.get("value") or 0.0),
        "samples": int(row.get("n_readings") or 0),
        "completeness": float(row.get("completeness") or 0.0),
        "estimated": float(row.get("estimated") or 0.0),
    }


def counter_series(influx: InfluxV1, req: Request) -> dict[str, list[dict[str, Any]]]:
    """meter → points {start, value (consumption), samples, completeness, estimated} from the rollups."""
    tz = ZoneInfo(req.timezone)
    start_s, end_s = local_midnight_utc_s(req.start, tz), local_midnight_utc_s(req.end, tz)
    measurement = CONSUMPTION_HOURLY if req.interval is Interval.HOUR else CONSUMPTION_DAILY
    starts = list(bucket_starts(req.interval, tz, req.start, req.end))
    out: dict[str, list[dict[str, Any]]] = {}
    for s in influx.query(_rollup_query(measurement, req, start_s, end_s)):
        meter = s.tags.get("meter", "")
        records = s.records()
        if req.interval is Interval.MONTH:
            daily = pd.DataFrame.from_records(records).fillna(0)
            daily["day"] = [dt.datetime.fromtimestamp(int(t), tz).date() for t in daily["time"]]
            monthly = monthly_from_daily(daily[["day", *ROLLUP_FIELDS]])
            by_start = {
                dt.datetime.combine(m, dt.time(), tzinfo=tz): row
                for m, row in zip(monthly["month"], monthly.to_dict("records"), strict=True)
            }
        else:
            by_start = {dt.datetime.fromtimestamp(int(r["time"]), tz): r for r in records}
        out[meter] = [_point(start, by_start.get(start)) for start in starts]
    return out
