"""What a diagnosis reads about one enterprise: registry facts and its hourly rollup rows, reshaped for detectors.

`PlantFrames` holds `consumption_hourly` rows (docs/schema.md) of every meter of the enterprise, optional 15-minute
demand of the main meter(s), optional temperature readings and the county's daily outdoor temperature, plus the
registry facts the rules need. The helpers derive a local-time hourly table (main kWh, kvarh, output, calendar
flags) and carrier totals per day.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping
from dataclasses import dataclass, field
from functools import cached_property
from typing import Any

import chinese_calendar
import numpy as np
import pandas as pd

from analytics.calendar import daily_from_hourly, local_midnight_s
from analytics.enterprise import EnterpriseInfo, enterprise_daily, product_daily

HOURLY_REQUIRED = ("meter", "quantity", "hour_s", "value")


class DiagnosisInputError(ValueError):
    """The frames given to a diagnosis are not usable (says what and where)."""


@dataclass(frozen=True, slots=True)
class Shift:
    """A declared production shift: local start and end time (end ≤ start runs past midnight) on `days`:
    "workdays" (China's working days, `chinese_calendar`) or "every_day"."""

    start: dt.time
    end: dt.time
    days: str = "workdays"

    def covers(self, day: dt.date, hour: int) -> bool:
        """Is at least half of the local hour starting at `hour` on `day` inside this shift (a shift from 08:00 to
        17:30 covers 08-17)?"""
        start = self.start.hour + self.start.minute / 60
        end = self.end.hour + self.end.minute / 60
        if end > start:
            return self._on(day) and _overlap(hour, start, end) >= 0.5
        return ((self._on(day) and _overlap(hour, start, 24.0) >= 0.5)
                or (self._on(day - dt.timedelta(days=1)) and _overlap(hour, 0.0, end) >= 0.5))

    def _on(self, day: dt.date) -> bool:
        return self.days == "every_day" or workday(day)


def _overlap(hour: int, start: float, end: float) -> float:
    return max(0.0, min(hour + 1.0, end) - max(float(hour), start))


@dataclass(frozen=True, slots=True)
class DiagnosisFacts:
    """Registry facts beyond `EnterpriseInfo` that the rules need."""

    contracted_kva: float | None = None
    temp_bands: dict[str, tuple[float, float]] = field(default_factory=dict)  # meter → (min °C, max °C)
    annual_co2_budget_t: float | None = None
    name: str | None = None
    tariff: Mapping[str, Any] | None = None  # the registry's `tariff` block (analytics.billing.ElectricityTariff)
    shifts: tuple[Shift, ...] = ()  # the declared shift calendar (registry `shifts:`), empty when none is given


@dataclass
class PlantFrames:
    """One enterprise's data over the local days [first_day, end_day)."""

    enterprise: EnterpriseInfo
    first_day: dt.date
    end_day: dt.date
    hourly: pd.DataFrame
    facts: DiagnosisFacts = field(default_factory=DiagnosisFacts)
    demand_kw: pd.Series | None = None  # mean kW of the main meter(s) per 15-min window, index = window start (s)
    temperatures: pd.DataFrame | None = None  # columns meter, time_s, value (°C)
    outdoor_c: pd.Series | None = None  # the county's daily mean outdoor °C, index = local date (`weather`)

    def __post_init__(self) -> None:
        missing = [c for c in HOURLY_REQUIRED if c not in self.hourly.columns]
        if missing:
            raise DiagnosisInputError(f"hourly rows of {self.enterprise.code} lack column(s) {', '.join(missing)}")
        if self.end_day <= self.first_day:
            raise DiagnosisInputError(f"empty period {self.first_day} .. {self.end_day} for {self.enterprise.code}")
        lo = local_midnight_s(self.first_day, self.tz)
        hi = local_midnight_s(self.end_day, self.tz)
        h = self.hourly
        self.hourly = h[(h["hour_s"] >= lo) & (h["hour_s"] < hi)].reset_index(drop=True)

    @property
    def tz(self) -> str:
        return self.enterprise.timezone

    @property
    def days(self) -> int:
        return (self.end_day - self.first_day).days

    def meters_where(self, *, carrier: str | None = None, role: str | None = None) -> list[str]:
        return [m.meter_id for m in self.enterprise.meters
                if (carrier is None or m.carrier == carrier) and (role is None or m.role == role)]

    def main_electricity_meters(self) -> list[str]:
        """Main electricity meters; without one, every electricity meter that is not sub or safety."""
        mains = self.meters_where(carrier="electricity", role="main")
        if mains:
            return mains
        return [m.meter_id for m in self.enterprise.meters
                if m.carrier == "electricity" and m.role not in ("sub", "safety", "pv")]

    def series(self, meters: list[str], quantity: str) -> pd.Series:
        """Hourly sum of `quantity` over `meters`, on the full hour grid of the period (missing hours = NaN)."""
        h = self.hourly
        sel = h[h["meter"].isin(meters) & (h["quantity"] == quantity)]
        s = sel.groupby("hour_s")["value"].sum()
        return s.reindex(self.hour_grid)

    @cached_property
    def hour_grid(self) -> np.ndarray:
        lo = local_midnight_s(self.first_day, self.tz)
        hi = local_midnight_s(self.end_day, self.tz)
        return np.arange(lo, hi, 3600, dtype=np.int64)

    @cached_property
    def table(self) -> pd.DataFrame:
        """Per local hour: main kWh, kvarh, output, local time, day, hour, weekday, and the day's calendar."""
        mains = self.main_electricity_meters()
        outputs = [m.meter_id for m in self.enterprise.meters if m.carrier == "output"
                   and (self.enterprise.product is None or m.product in (None, self.enterprise.product))]
        local = pd.to_datetime(self.hour_grid, unit="s", utc=True).tz_convert(self.tz)
        frame = pd.DataFrame({
            "hour_s": self.hour_grid,
            "kwh": self.series(mains, "energy_kwh").to_numpy(),
            "kvarh": self.series(mains, "reactive_kvarh").to_numpy(),
            "output": self.series(outputs, "output_t").to_numpy() if outputs else np.nan,
            "local": local,
            "day": local.date,
            "hour": local.hour,
        })
        days = sorted(set(frame["day"]))
        flags = {d: workday(d) for d in days}
        frame["workday"] = [flags[d] for d in frame["day"]]
        return frame

    @cached_property
    def daily_totals(self) -> pd.DataFrame:
        """Per local day and carrier (`enterprise_daily` rules of analytics-I): a day × carrier table."""
        if self.hourly.empty:
            return pd.DataFrame()
        daily = daily_from_hourly(self._hourly_with_defaults(), self.tz)
        totals = enterprise_daily(daily, self.enterprise)
        if totals.empty:
            return pd.DataFrame()
        return totals.pivot_table(index="day", columns="carrier", values="value", aggfunc="sum").sort_index()

    def boundary_totals(self) -> dict[str, float]:
        """Carrier totals of the meters mapped to the enterprise's product (the quota's process boundary, as
        `enerdiag analyze` uses it); empty when the registry maps none."""
        product = self.enterprise.product
        if self.hourly.empty or not product:
            return {}
        rows = product_daily(daily_from_hourly(self._hourly_with_defaults(), self.tz), self.enterprise)
        rows = rows[rows["product"] == product]
        return {str(c): float(v) for c, v in rows.groupby("carrier")["value"].sum().items()}

    def _hourly_with_defaults(self) -> pd.DataFrame:
        hourly = self.hourly
        for column, default in (("estimated", 0.0), ("completeness", 1.0)):
            if column not in hourly:
                hourly = hourly.assign(**{column: default})
        return hourly

    def period_totals(self) -> dict[str, float]:
        """Carrier totals of the whole period."""
        t = self.daily_totals
        return {} if t.empty else {c: float(t[c].sum()) for c in t.columns}


def workday(day: dt.date) -> bool:
    """China's working day (holidays and adjusted working days from `chinese_calendar`); weekend rule outside."""
    try:
        return bool(chinese_calendar.is_workday(day))
    except NotImplementedError:
        return day.weekday() < 5
