"""Hourly rollup rows of one enterprise → the measurement boundary's days (pure).

A meter's day counts when its hourly rollups cover ≥ `DAY_MIN_COMPLETENESS` of the day; a carrier's day is the sum
of its boundary meters and is missing (NaN) when any of them is missing; the boundary's energy is kWh for an
electricity-only boundary and tce (GB/T 2589 equivalent value) otherwise, missing when any carrier is.
Production is the enterprise's output counters (its product), missing on days they do not cover.
"""

from __future__ import annotations

import datetime as dt

import numpy as np
import pandas as pd

from analytics.calendar import daily_from_hourly
from analytics.enterprise import EnterpriseInfo, total_carrier
from analytics.savings.project import RetrofitProject
from analytics.savings.verify import BoundaryDays
from core.domain import CARRIER_COUNTER, Carrier

DAY_MIN_COMPLETENESS = 0.9
"""A meter's day is metered when ≥ 90 % of its hours are covered by readings (CalTRACK 2.2.1.2's 90 % sufficiency,
applied to one day; enerdiag rule)."""


def _meter_days(daily: pd.DataFrame, meter: str, quantity: str, days: list[dt.date]) -> pd.Series:
    rows = daily[(daily["meter"] == meter) & (daily["quantity"] == quantity)]
    ok = rows[rows["completeness"] >= DAY_MIN_COMPLETENESS]
    return pd.Series(ok["value"].to_numpy(dtype=float), index=list(ok["day"]), dtype=float).reindex(days)


def boundary_days(hourly: pd.DataFrame, enterprise: EnterpriseInfo, project: RetrofitProject, first_day: dt.date,
                  end_day: dt.date, kgce_per_unit: dict[str, float], outdoor_c: pd.Series | None = None
                  ) -> BoundaryDays:
    """The boundary's days in [first_day, end_day) from `consumption_hourly` rows (meter, quantity, hour_s, value,
    completeness); `kgce_per_unit` converts each carrier to tce for a mixed boundary."""
    days = list(pd.date_range(first_day, end_day - dt.timedelta(days=1), freq="D").date)
    need = hourly.assign(completeness=hourly.get("completeness", 1.0)) if len(hourly) else hourly
    daily = daily_from_hourly(need, enterprise.timezone) if len(need) else pd.DataFrame(
        columns=["meter", "quantity", "day", "value", "completeness"])
    carriers: dict[str, pd.Series] = {}
    for mid in project.meters:
        info = enterprise.meter(mid)
        if info is None:
            carriers.setdefault("unknown", pd.Series(np.nan, index=days))
            continue
        series = _meter_days(daily, mid, CARRIER_COUNTER[Carrier(info.carrier)], days)
        carriers[info.carrier] = carriers[info.carrier] + series if info.carrier in carriers else series
    frame = pd.DataFrame(carriers, index=days)
    if project.unit == "kWh":
        energy = frame.get("electricity", pd.Series(np.nan, index=days))
    else:
        parts = [frame[c] * kgce_per_unit[c] / 1000 for c in frame.columns if c in kgce_per_unit]
        energy = pd.concat(parts, axis=1).sum(axis=1, min_count=len(frame.columns)) if parts else \
            pd.Series(np.nan, index=days)
    outputs = [m.meter_id for m in enterprise.meters
               if m.carrier == Carrier.OUTPUT.value and total_carrier(enterprise, m.meter_id, "output_t") == "output"]
    output = pd.Series(np.nan, index=days)
    if outputs:
        output = pd.concat([_meter_days(daily, m, "output_t", days) for m in outputs], axis=1).sum(
            axis=1, min_count=len(outputs))
    return BoundaryDays(energy.astype(float), frame, output.astype(float), outdoor_c, enterprise.county)
