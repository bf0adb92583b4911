"""Replay of real interval data: a CSV of consumption per interval → the cumulative counters a meter sends.

The column mapping is configurable (`ReplayColumns`); `UCI_STEEL` maps the UCI "Steel Industry Energy
Consumption" data set (CC BY 4.0), whose rows at 00:00 carry the date of the day that just ended.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from pathlib import Path
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

import numpy as np
import pandas as pd

from core.domain import DEFAULT_TIMEZONE, ID_PATTERN
from simulators.messages import Reading


class ReplayError(ValueError):
    """A file or mapping that cannot be replayed; the message names the file, row or column."""


@dataclass(frozen=True, slots=True)
class ReplayColumns:
    """Which columns hold what, and how to read the time column."""

    time: str = "date"
    kwh: str = "Usage_kWh"
    kvarh: str | None = "Lagging_Current_Reactive.Power_kVarh"
    time_format: str | None = "%d/%m/%Y %H:%M"
    label: str = "end"  # does the time label the interval's end or its start?
    midnight: str = "auto"  # auto | previous_day | none: a 00:00 row labelled with the day that ended
    timezone: str = DEFAULT_TIMEZONE


UCI_STEEL = ReplayColumns()
"""The mapping of /work/shared/datasets/uci-steel-industry-2018.csv (also the default)."""


@dataclass(frozen=True, slots=True)
class ReplaySeries:
    """Interval ends (epoch s) and per-interval energy; `first_epoch` is the start of the first interval."""

    epoch_s: np.ndarray
    kwh: np.ndarray
    kvarh: np.ndarray | None
    step_s: int
    first_epoch: int

    @property
    def total_kwh(self) -> float:
        return float(self.kwh.sum())


def read_series(path: Path, cols: ReplayColumns = UCI_STEEL, shift_to: dt.date | None = None) -> ReplaySeries:
    """Read and check the CSV; optionally shift it so its first interval starts on `shift_to` (local)."""
    try:
        tz = ZoneInfo(cols.timezone)
    except (ZoneInfoNotFoundError, ValueError) as exc:
        raise ReplayError(f"unknown time zone {cols.timezone!r}") from exc
    try:
        frame = pd.read_csv(path)
    except (OSError, pd.errors.ParserError, UnicodeDecodeError) as exc:
        raise ReplayError(f"{path}: cannot read CSV: {exc}") from exc
    needed = [c for c in (cols.time, cols.kwh, cols.kvarh) if c]
    missing = [c for c in needed if c not in frame.columns]
    if missing:
        raise ReplayError(f"{path}: no column(s) {', '.join(map(repr, missing))}; columns are {list(frame.columns)}")
    if frame.empty:
        raise ReplayError(f"{path}: no data rows")
    try:
        local = pd.to_datetime(frame[cols.time], format=cols.time_format)
    except (ValueError, TypeError) as exc:
        raise ReplayError(f"{path}: column {cols.time!r}: {exc}") from exc
    local = _fix_midnight(local, cols.midnight)
    kwh = _numbers(frame, cols.kwh, path)
    kvarh = _numbers(frame, cols.kvarh, path) if cols.kvarh else None
    naive = local.to_numpy(dtype="datetime64[s]").astype(np.int64)
    order = np.argsort(naive, kind="stable")
    naive, kwh = naive[order], kwh[order]
    kvarh = kvarh[order] if kvarh is not None else None
    diffs = np.diff(naive)
    if len(diffs) and (diffs <= 0).any():
        row = int(order[1:][diffs <= 0][0]) + 2
        raise ReplayError(f"{path}: row {row}: time {frame[cols.time].iloc[row - 2]!r} repeats an earlier one")
    step = int(np.median(diffs)) if len(diffs) else 900
    if cols.label == "start":
        naive = naive + step
    elif cols.label != "end":
        raise ReplayError(f"label must be 'end' or 'start', got {cols.label!r}")
    if shift_to is not None:
        first_start = naive[0] - step
        target = int(pd.Timestamp(shift_to).value // 10**9)
        naive = naive + (target - first_start)
    offsets = np.array([_offset(int(t), tz) for t in naive[[0, -1]]])
    if offsets[0] != offsets[1]:  # a zone with DST: convert each row
        epoch = np.array([int(t) - _offset(int(t), tz) for t in naive], dtype=np.int64)
    else:
        epoch = naive - offsets[0]
    return ReplaySeries(epoch_s=epoch, kwh=kwh, kvarh=kvarh, step_s=step, first_epoch=int(epoch[0] - step))


def _offset(naive_epoch: int, tz: ZoneInfo) -> int:
    wall = dt.datetime.fromtimestamp(naive_epoch, dt.UTC).replace(tzinfo=None)
    off = tz.utcoffset(wall)
    return int(off.total_seconds()) if off else 0


def _fix_midnight(local: pd.Series, rule: str) -> pd.Series:
    """Move 00:00 rows labelled with the day that just ended to the next day (UCI's quirk)."""
    if rule == "none":
        return local
    at_midnight = (local.dt.hour == 0) & (local.dt.minute == 0) & (local.dt.second == 0)
    if rule == "previous_day":
        return local + pd.to_timedelta(at_midnight.astype(int), unit="D")
    if rule != "auto":
        raise ReplayError(f"midnight rule must be auto, previous_day or none, got {rule!r}")
    previous = local.shift(1)
    misplaced = at_midnight & (local <= previous)
    return local + pd.to_timedelta(misplaced.astype(int), unit="D")


def _numbers(frame: pd.DataFrame, column: str, path: Path) -> np.ndarray:
    values = pd.to_numeric(frame[column], errors="coerce").to_numpy(dtype=float)
    bad = ~np.isfinite(values) | (values < 0)
    if bad.any():
        row = int(np.argmax(bad)) + 2
        raise ReplayError(
            f"{path}: row {row}: column {column!r} has {frame[column].iloc[row - 2]!r}, not a non-negative number"
        )
    return values


def counter_readings(
    series: ReplaySeries, meter: str, start_kwh: float = 0.0, start_kvarh: float = 0.0
) -> list[Reading]:
    """A first reading at the start of the first interval, then one per interval end with the counters.

    So the last `energy_kwh` minus the first equals the file's total.
    """
    if not ID_PATTERN.match(meter):
        raise ReplayError(f"meter id {meter!r} must match {ID_PATTERN.pattern}")
    energy = np.round(start_kwh + np.cumsum(series.kwh), 3).tolist()
    dt_h = series.step_s / 3600
    power = np.round(series.kwh / dt_h, 3).tolist()
    first: dict[str, float] = {"energy_kwh": round(start_kwh, 3)}
    if series.kvarh is not None:
        first["reactive_kvarh"] = round(start_kvarh, 3)
        reactive = np.round(start_kvarh + np.cumsum(series.kvarh), 3).tolist()
        apparent = np.hypot(series.kwh, series.kvarh)
        pf = np.round(np.divide(series.kwh, apparent, out=np.ones_like(apparent), where=apparent > 0), 4).tolist()
        rows = zip(series.epoch_s.tolist(), energy, power, reactive, pf, strict=True)
        body = [
            {"meter": meter, "ts": t, "values": {"energy_kwh": e, "power_kw": p, "reactive_kvarh": r, "pf": f}}
            for t, e, p, r, f in rows
        ]
    else:
        rows2 = zip(series.epoch_s.tolist(), energy, power, strict=True)
        body = [{"meter": meter, "ts": t, "values": {"energy_kwh": e, "power_kw": p}} for t, e, p in rows2]
    return [{"meter": meter, "ts": series.first_epoch, "values": first}, *body]
