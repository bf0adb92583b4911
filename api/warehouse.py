"""Warehouse figures for the bank API: registry meters and InfluxDB rows in, `analytics.warehouse` computes.

Refrigeration load comes from the `consumption_hourly` rollup (`energy_kwh` of electricity meters with role
`warehouse`); temperatures from hourly min/max/count of the raw `temp_c` of the warehouse temperature
meters, and raw readings only in the spans around out-of-band hours (`analytics.warehouse.excursion_windows`).
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from typing import Any
from zoneinfo import ZoneInfo

import pandas as pd
from sqlalchemy import select
from sqlalchemy.orm import Session

from analytics.calendar import local_midnight_s
from analytics.warehouse import (
    NO_LOAD_SHARE,
    READING_GAP_S,
    WarehouseReport,
    excursion_windows,
    iso_local,
    warehouse_report,
)
from api.indicators import PERIOD_COMPLETE
from core.domain import Carrier, MeterRole
from core.influx import InfluxV1, quote_literal
from core.measurements import CONSUMPTION_HOURLY, READING
from core.registry.models import Meter


@dataclass(frozen=True, slots=True)
class WarehouseMeters:
    """The enterprise's warehouse meters: refrigeration (electricity) and temperature meters with their bands."""

    loads: list[dict[str, Any]]
    temperatures: list[dict[str, Any]]

    @property
    def bands(self) -> dict[str, tuple[float, float] | None]:
        return {t["meter"]: tuple(t["band_c"]) if t["band_c"] else None for t in self.temperatures}  # type: ignore[misc]


def warehouse_meters(session: Session, code: str) -> WarehouseMeters:
    """Meters with role `warehouse`: electricity ones carry refrigeration load, temperature ones the air temperature."""
    rows = session.scalars(select(Meter).where(Meter.enterprise_code == code, Meter.role == MeterRole.WAREHOUSE.value)
                           .order_by(Meter.meter_id)).all()
    loads = [{"meter": m.meter_id, "role": m.role, "carrier": m.carrier, "quantity": "energy_kwh"}
             for m in rows if m.carrier == Carrier.ELECTRICITY.value]
    temps = [{"meter": m.meter_id, "role": m.role, "carrier": m.carrier, "quantity": "temp_c",
              "band_c": [m.temp_min_c, m.temp_max_c] if m.temp_min_c is not None and m.temp_max_c is not None
              else None}
             for m in rows if m.carrier == Carrier.TEMPERATURE.value]
    return WarehouseMeters(loads, temps)


def _meters_clause(meters: list[str]) -> str:
    return "(" + " OR ".join(f'"meter" = {quote_literal(m)}' for m in meters) + ")"


def _frame(influx: InfluxV1, q: str, columns: list[str]) -> pd.DataFrame:
    rows = [r for s in influx.query(q) for r in s.records()]
    frame = pd.DataFrame.from_records(rows, columns=["meter", "time", *columns]) if rows else pd.DataFrame(
        columns=["meter", "time", *columns])
    return frame.rename(columns={"time": "time_s"})


def read_report(influx: InfluxV1, code: str, meters: WarehouseMeters, start_s: int, end_s: int) -> WarehouseReport:
    """Query the rollups and raw temperatures of [start_s, end_s) and compute the report."""
    where = f'"enterprise" = {quote_literal(code)} AND time >= {start_s}s AND time < {end_s}s'
    load_ids = [m["meter"] for m in meters.loads]
    temp_ids = [m["meter"] for m in meters.temperatures]
    hourly = pd.DataFrame()
    if load_ids:
        hourly = _frame(influx, f'SELECT "value", "completeness" FROM "{CONSUMPTION_HOURLY}" WHERE {where} '
                                f"AND \"quantity\" = 'energy_kwh' AND {_meters_clause(load_ids)} GROUP BY \"meter\"",
                        ["value", "completeness"])
    stats, raw = pd.DataFrame(), pd.DataFrame()
    if temp_ids:
        stats = _frame(influx, f'SELECT min("temp_c") AS "min", max("temp_c") AS "max", count("temp_c") AS "count" '
                               f'FROM {influx.raw_source} WHERE {where} AND {_meters_clause(temp_ids)} '
                               'GROUP BY time(1h), "meter" fill(none)', ["min", "max", "count"])
        parts = []
        for meter, band in meters.bands.items():
            if band is None or stats.empty:
                continue
            for lo, hi in excursion_windows(stats[stats["meter"] == meter], band, end_s):
                q = (f'SELECT "temp_c" AS "value" FROM {influx.raw_source} WHERE "enterprise" = {quote_literal(code)} '
                     f'AND "meter" = {quote_literal(meter)} AND time >= {lo}s AND time < {hi}s')
                parts.append(_frame(influx, q, ["value"]).assign(meter=meter))
        raw = pd.concat(parts, ignore_index=True) if parts else pd.DataFrame()
    return warehouse_report(hourly, stats, raw, load_ids, meters.bands, start_s, end_s)


def warehouse_figures(influx: InfluxV1, code: str, timezone: str, meters: WarehouseMeters, start: dt.date,
                      end: dt.date) -> dict[str, Any]:
    """The warehouse body for the local days [start, end): headline figures, per-meter detail, evidence."""
    tz = ZoneInfo(timezone)
    start_s, end_s = local_midnight_s(start, timezone), local_midnight_s(end, timezone)
    report = read_report(influx, code, meters, start_s, end_s)
    loads = [{"meter": m.meter, "continuity": m.continuity, "completeness": m.completeness, "hours": m.hours,
              "running_hours": m.running_hours, "no_load_hours": m.no_load_hours, "no_data_hours": m.no_data_hours,
              "energy_kwh": m.energy_kwh, "median_hour_kwh": m.median_hour_kwh} for m in report.loads]
    temps = [{"meter": t.meter, "band_c": list(t.band_c) if t.band_c else None, "completeness": t.completeness,
              "readings": t.readings, "hours_with_readings": t.hours_with_readings, "hours_in_band": t.hours_in_band,
              "in_band_share": t.in_band_share, "min_c": t.min_c, "max_c": t.max_c,
              "excursions": len(t.excursions)} for t in report.temperatures]
    outages, excursions = report.outages, report.excursions
    warnings = [f"temperature meter {t['meter']} has no band (temp_min_c/temp_max_c) in the registry: "
                "no excursions can be judged" for t in meters.temperatures if t["band_c"] is None]
    if not meters.loads and not meters.temperatures:
        warnings.append("the registry lists no meter with role warehouse for this enterprise")
    continuity, insufficient = report.continuity, {}
    load_completeness = min((m.completeness for m in report.loads), default=None)
    if continuity is not None and load_completeness is not None and load_completeness < PERIOD_COMPLETE:
        continuity = None  # hours without data would read as hours without refrigeration
        insufficient["continuity"] = {
            "period": {"from": start.isoformat(), "to": end.isoformat()}, "completeness": load_completeness,
            "coverage": {m.meter: {"completeness": m.completeness, "no_data_hours": m.no_data_hours,
                                   "hours": m.hours} for m in report.loads},
            "needs": f"every refrigeration meter ≥ {PERIOD_COMPLETE:.0%} complete over the period"}
    return {
        "from": start.isoformat(),
        "to": end.isoformat(),
        "continuity": continuity,
        "insufficient": insufficient,
        "completeness": report.completeness,
        "outage_hours": sum(o.hours for o in outages),
        "outages": [o.to_json(tz) for o in outages],
        "excursion_minutes": round(sum(e.minutes for e in excursions), 6),
        "excursions": [e.to_json(tz) for e in excursions],
        "refrigeration": loads,
        "temperature": temps,
        "evidence": {
            "period": {"from": iso_local(start_s, tz), "to": iso_local(end_s, tz),
                       "hours": len(range(start_s, end_s, 3600))},
            "meters": meters.loads + meters.temperatures,
            "completeness": report.completeness,
            "sources": {"refrigeration": f"{CONSUMPTION_HOURLY} (energy_kwh, multiplier applied)",
                        "temperature": f"{READING}.temp_c (raw readings)"},
            "rules": {
                "no_data_hour": "no rollup row for the hour, or completeness 0",
                "no_load_hour": f"measured hour below {NO_LOAD_SHARE:.0%} of the meter's median measured hour",
                "outage": "consecutive no-data or no-load hours of one refrigeration meter",
                "continuity": "hours measured with load / hours of the period; the lowest refrigeration meter",
                "excursion": "consecutive readings outside [temp_min_c, temp_max_c] on one side, ended by the next "
                             f"reading; readings more than {READING_GAP_S // 60} min apart end it",
            },
        },
        "warnings": warnings,
    }
