"""Warehouse monitoring for warehouse-receipt financing (仓单融资): refrigeration continuity, outages, excursions.

Pure: hourly refrigeration load (`consumption_hourly` rows of the warehouse electricity meters) and raw
`temp_c` readings of the warehouse temperature meters in, dataclasses out. The stop rule is the analytics'
cold-store rule (`analytics.diagnosis.cold.REFRIGERATION_STOP_SHARE`), so the bank sees the same stops as
the diagnosis report. Definitions in docs/api.md.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from typing import Any, Final
from zoneinfo import ZoneInfo

import numpy as np
import pandas as pd

from analytics.diagnosis.cold import REFRIGERATION_STOP_SHARE

HOUR_S: Final = 3600
NO_LOAD_SHARE: Final = REFRIGERATION_STOP_SHARE
"""A measured hour whose kWh is below this share of the meter's median measured hour has no load (stopped)."""
READING_GAP_S: Final = 3600
"""An excursion whose readings stop for more than an hour ends at its last reading (no guessing across gaps)."""
DECIMALS: Final = 6


def _r(value: float) -> float:
    return round(float(value), DECIMALS) + 0.0


def iso_local(epoch_s: int, tz: ZoneInfo) -> str:
    """`epoch_s` as an ISO 8601 time in zone `tz` (how the API writes times)."""
    return dt.datetime.fromtimestamp(epoch_s, tz).isoformat()


@dataclass(frozen=True, slots=True)
class Outage:
    """A run of consecutive hours of one refrigeration meter without load or without data, [start_s, end_s)."""

    meter: str
    start_s: int
    end_s: int
    hours: int
    no_data_hours: int
    no_load_hours: int

    @property
    def kind(self) -> str:
        """`no_data`, `no_load`, or `mixed` when the run has both kinds of hours."""
        if self.no_load_hours == 0:
            return "no_data"
        return "no_load" if self.no_data_hours == 0 else "mixed"

    def to_json(self, tz: ZoneInfo) -> dict[str, Any]:
        """As the API shows it (times in the enterprise's zone): `/warehouse` and the cold-store webhook."""
        return {"meter": self.meter, "start": iso_local(self.start_s, tz), "end": iso_local(self.end_s, tz),
                "hours": self.hours, "kind": self.kind, "no_data_hours": self.no_data_hours,
                "no_load_hours": self.no_load_hours}


@dataclass(frozen=True, slots=True)
class LoadContinuity:
    """One refrigeration meter over the period: how many hours it ran, was stopped, or sent nothing."""

    meter: str
    hours: int
    running_hours: int
    no_load_hours: int
    no_data_hours: int
    median_hour_kwh: float
    energy_kwh: float
    completeness: float  # mean hourly completeness of the rollup over every hour of the period (missing = 0)
    outages: tuple[Outage, ...] = field(default_factory=tuple)

    @property
    def continuity(self) -> float:
        """Share of the period's hours in which the meter was measured and drew load."""
        return _r(self.running_hours / self.hours) if self.hours else 0.0


@dataclass(frozen=True, slots=True)
class Excursion:
    """Consecutive readings of one temperature meter outside its band, on one side of it.

    `end_s` is the next reading (back inside the band: `ended`; or straight across to the other side); when
    there is none within an hour (data stops, or the period ends outside), it is the last reading outside.
    """

    meter: str
    side: str  # "above" | "below"
    start_s: int
    end_s: int
    ended: bool
    readings: int
    peak_c: float  # warmest reading above the band, coldest below it
    deviation_c: float  # |peak − the band's limit it crossed|

    @property
    def minutes(self) -> float:
        return _r((self.end_s - self.start_s) / 60.0)

    def to_json(self, tz: ZoneInfo) -> dict[str, Any]:
        """As the API shows it (times in the enterprise's zone): `/warehouse` and the cold-store webhook."""
        return {"meter": self.meter, "side": self.side, "start": iso_local(self.start_s, tz),
                "end": iso_local(self.end_s, tz), "ended": self.ended, "minutes": self.minutes,
                "readings": self.readings, "peak_c": self.peak_c, "deviation_c": self.deviation_c}


@dataclass(frozen=True, slots=True)
class TemperatureSummary:
    """One temperature meter over the period: its band, how its hours sat in it, its excursions."""

    meter: str
    band_c: tuple[float, float] | None
    readings: int
    hours: int
    hours_with_readings: int
    hours_in_band: int  # hours with readings, every one of them inside the band
    min_c: float | None
    max_c: float | None
    excursions: tuple[Excursion, ...] = field(default_factory=tuple)

    @property
    def completeness(self) -> float:
        """Share of the period's hours with at least one reading."""
        return _r(self.hours_with_readings / self.hours) if self.hours else 0.0

    @property
    def in_band_share(self) -> float | None:
        """Share of the hours with readings whose readings all lay inside the band (None without band or data)."""
        if self.band_c is None or self.hours_with_readings == 0:
            return None
        return _r(self.hours_in_band / self.hours_with_readings)


def _hour_starts(start_s: int, end_s: int) -> np.ndarray:
    first = -(-start_s // HOUR_S) * HOUR_S
    return np.arange(first, end_s, HOUR_S, dtype=np.int64)


def _runs(flags: np.ndarray) -> list[tuple[int, int]]:
    """[i, j) index runs where `flags` is True."""
    if not flags.any():
        return []
    padded = np.concatenate(([False], flags, [False])).astype(np.int8)
    edges = np.flatnonzero(np.diff(padded))
    return [(int(a), int(b)) for a, b in zip(edges[::2], edges[1::2], strict=True)]


def load_continuity(meter: str, hourly: pd.DataFrame, start_s: int, end_s: int) -> LoadContinuity:
    """Continuity and outages of one refrigeration meter in [start_s, end_s) from its hourly rollup rows.

    `hourly` has columns `time_s` (hour start, epoch s), `value` (kWh) and `completeness` (0..1). An hour
    without a row or with completeness 0 has no data; a measured hour below `NO_LOAD_SHARE` × the median
    measured hour has no load; both are outage hours, and consecutive outage hours make one outage.
    """
    hours = _hour_starts(start_s, end_s)
    rows = hourly[(hourly["time_s"] >= start_s) & (hourly["time_s"] < end_s)]
    rows = rows.drop_duplicates("time_s", keep="last").set_index("time_s")
    value = rows["value"].reindex(hours).to_numpy(dtype=float)
    completeness = rows["completeness"].reindex(hours).fillna(0.0).to_numpy(dtype=float)
    measured = (completeness > 0) & ~np.isnan(value)
    median = float(np.median(value[measured])) if measured.any() else 0.0
    no_load = measured & (value < NO_LOAD_SHARE * median) if median > 0 else measured & (value <= 0)
    no_data = ~measured
    outages = tuple(
        Outage(meter, int(hours[a]), int(hours[b - 1]) + HOUR_S, b - a, int(no_data[a:b].sum()),
               int(no_load[a:b].sum()))
        for a, b in _runs(no_data | no_load)
    )
    return LoadContinuity(
        meter=meter,
        hours=len(hours),
        running_hours=int((measured & ~no_load).sum()),
        no_load_hours=int(no_load.sum()),
        no_data_hours=int(no_data.sum()),
        median_hour_kwh=_r(median),
        energy_kwh=_r(np.nansum(value)),
        completeness=_r(completeness.mean()) if len(hours) else 0.0,
        outages=outages,
    )


def excursions(meter: str, readings: pd.DataFrame, band: tuple[float, float]) -> list[Excursion]:
    """Runs of readings outside [band low, band high] (`readings`: columns `time_s`, `value` in °C).

    A run ends at the first reading back in the band, at a reading on the other side of the band, or when
    readings stop for more than `READING_GAP_S`.
    """
    lo, hi = band
    data = readings.dropna(subset=["value"]).sort_values("time_s")
    times = data["time_s"].to_numpy(dtype=np.int64)
    values = data["value"].to_numpy(dtype=float)
    side = np.where(values > hi, 1, np.where(values < lo, -1, 0))
    out: list[Excursion] = []
    i, n = 0, len(values)
    while i < n:
        if side[i] == 0:
            i += 1
            continue
        j = i + 1
        while j < n and side[j] == side[i] and times[j] - times[j - 1] <= READING_GAP_S:
            j += 1
        run = values[i:j]
        above = side[i] > 0
        follows = j < n and times[j] - times[j - 1] <= READING_GAP_S
        ended = follows and side[j] == 0
        peak = float(run.max() if above else run.min())
        out.append(Excursion(
            meter=meter, side="above" if above else "below", start_s=int(times[i]),
            end_s=int(times[j]) if follows else int(times[j - 1]), ended=bool(ended), readings=j - i,
            peak_c=_r(peak), deviation_c=_r(peak - hi if above else lo - peak),
        ))
        i = j
    return out


def _in_period(frame: pd.DataFrame, start_s: int, end_s: int) -> pd.DataFrame:
    return frame[(frame["time_s"] >= start_s) & (frame["time_s"] < end_s)]


def excursion_windows(stats: pd.DataFrame, band: tuple[float, float], end_s: int,
                      join_s: int = 24 * HOUR_S) -> list[tuple[int, int]]:
    """[start, end) spans of raw readings that hold every excursion, from hourly `stats` (`time_s`, `min`, `max`).

    Each span runs from an hour with a reading outside the band to two hours after the last such hour (to see
    the reading back in band), spans less than `join_s` apart are joined: only these are read raw.
    """
    out = stats[(stats["min"] < band[0]) | (stats["max"] > band[1])]
    spans: list[list[int]] = []
    for h in sorted(int(t) for t in out["time_s"]):
        end = min(h + 2 * HOUR_S, end_s)
        if spans and h - spans[-1][1] <= join_s:
            spans[-1][1] = max(spans[-1][1], end)
        else:
            spans.append([h, end])
    return [(a, b) for a, b in spans]


def temperature_summary(meter: str, stats: pd.DataFrame, readings: pd.DataFrame, band: tuple[float, float] | None,
                        start_s: int, end_s: int) -> TemperatureSummary:
    """Band, hours in band, hourly coverage and excursions of one temperature meter in [start_s, end_s).

    `stats`: per hour with readings, `time_s` (hour start), `min`, `max`, `count` of the raw `temp_c`;
    `readings`: raw readings (`time_s`, `value`) covering at least the `excursion_windows`.
    """
    hourly = _in_period(stats, start_s, end_s)
    hourly = hourly[hourly["count"] > 0]
    in_band = ((hourly["min"] >= band[0]) & (hourly["max"] <= band[1])) if band is not None else None
    raw = _in_period(readings, start_s, end_s).dropna(subset=["value"])
    return TemperatureSummary(
        meter=meter,
        band_c=band,
        readings=int(hourly["count"].sum()),
        hours=len(_hour_starts(start_s, end_s)),
        hours_with_readings=len(hourly),
        hours_in_band=int(in_band.sum()) if in_band is not None else 0,
        min_c=_r(hourly["min"].min()) if len(hourly) else None,
        max_c=_r(hourly["max"].max()) if len(hourly) else None,
        excursions=tuple(excursions(meter, raw, band)) if band is not None else (),
    )


@dataclass(frozen=True, slots=True)
class WarehouseReport:
    """Every warehouse meter of an enterprise over a period, and the period's headline figures."""

    start_s: int
    end_s: int
    loads: tuple[LoadContinuity, ...]
    temperatures: tuple[TemperatureSummary, ...]

    @property
    def continuity(self) -> float | None:
        """The lowest continuity of the refrigeration meters (the weakest circuit bounds the warehouse)."""
        return min((m.continuity for m in self.loads), default=None)

    @property
    def completeness(self) -> float:
        """The lowest completeness of every warehouse meter (refrigeration and temperature); 0 without meters."""
        values = [m.completeness for m in self.loads] + [t.completeness for t in self.temperatures]
        return min(values, default=0.0)

    @property
    def outages(self) -> list[Outage]:
        return sorted((o for m in self.loads for o in m.outages), key=lambda o: (o.start_s, o.meter))

    @property
    def excursions(self) -> list[Excursion]:
        return sorted((e for t in self.temperatures for e in t.excursions), key=lambda e: (e.start_s, e.meter))


def warehouse_report(hourly: pd.DataFrame, stats: pd.DataFrame, temps: pd.DataFrame, load_meters: list[str],
                     bands: dict[str, tuple[float, float] | None], start_s: int, end_s: int) -> WarehouseReport:
    """The report for [start_s, end_s): `hourly` rows (column `meter` plus those of `load_continuity`) of the
    refrigeration meters `load_meters`; hourly `stats` and raw `temps` (column `meter` plus those of
    `temperature_summary`) of the temperature meters in `bands` (meter → (low, high) °C, or None)."""
    def of(frame: pd.DataFrame, meter: str, columns: tuple[str, ...]) -> pd.DataFrame:
        if not len(frame):
            return pd.DataFrame({c: pd.Series(dtype=float) for c in columns})
        return frame[frame["meter"] == meter]

    loads = tuple(load_continuity(m, of(hourly, m, ("time_s", "value", "completeness")), start_s, end_s)
                  for m in sorted(load_meters))
    temperatures = tuple(temperature_summary(m, of(stats, m, ("time_s", "min", "max", "count")),
                                             of(temps, m, ("time_s", "value")), bands[m], start_s, end_s)
                         for m in sorted(bands))
    return WarehouseReport(start_s, end_s, loads, temperatures)
