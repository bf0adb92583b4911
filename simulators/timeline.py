"""The shared time axis of a simulation: whole local days at a fixed step, with calendar and weather.

Built once per run and shared by every plant, so a 1,000-plant city computes its calendar once.
Timestamps are interval *ends* (a meter reads its counter at the end of the interval).
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from zoneinfo import ZoneInfo

import numpy as np
import pandas as pd

from core.domain import DEFAULT_TIMEZONE
from simulators import calendar, tou, weather

TZ = ZoneInfo(DEFAULT_TIMEZONE)


@dataclass(frozen=True, slots=True)
class Timeline:
    """Interval ends (UTC epoch seconds) of whole local days, and what each interval's local time is."""

    days: tuple[dt.date, ...]
    step_s: int
    epoch_s: np.ndarray  # int64, interval ends
    day_index: np.ndarray  # which of `days` the interval belongs to
    slot: np.ndarray  # position of the interval within its day
    hour: np.ndarray  # local hour of the interval's start
    minute_of_day: np.ndarray  # local minutes since midnight at the interval's middle
    month: np.ndarray
    workday: np.ndarray  # per interval: a working day (holidays, adjusted days)
    peak: np.ndarray  # per interval: a time-of-use peak hour
    outdoor_c: np.ndarray
    uncovered_days: tuple[dt.date, ...]  # days outside the holiday table (weekend rule used)

    @property
    def steps_per_day(self) -> int:
        return 86400 // self.step_s

    @property
    def dt_h(self) -> float:
        return self.step_s / 3600.0

    def __len__(self) -> int:
        return len(self.epoch_s)


def build(first_day: dt.date, n_days: int, step_s: int, seed: int) -> Timeline:
    """Timeline of `n_days` local days from `first_day` at `step_s` (must divide a day)."""
    if step_s <= 0 or 86400 % step_s:
        raise ValueError(f"step of {step_s} s does not divide a day")
    if n_days <= 0:
        raise ValueError(f"need at least one day, got {n_days}")
    days = tuple(first_day + dt.timedelta(days=i) for i in range(n_days))
    spd = 86400 // step_s
    start = pd.Timestamp(first_day, tz=TZ)
    starts = pd.date_range(start, periods=n_days * spd, freq=f"{step_s}s")
    mids = starts + pd.Timedelta(seconds=step_s / 2)
    ends_epoch = int(start.timestamp()) + step_s * np.arange(1, n_days * spd + 1, dtype=np.int64)
    day_index = np.repeat(np.arange(n_days), spd)
    workdays = calendar.workday_mask(list(days))
    local_days = np.array(days, dtype=object)[day_index]
    hour = starts.hour.to_numpy()
    return Timeline(
        days=days,
        step_s=step_s,
        epoch_s=ends_epoch.astype(np.int64),
        day_index=day_index,
        slot=np.tile(np.arange(spd), n_days),
        hour=hour,
        minute_of_day=(mids.hour.to_numpy() * 60 + mids.minute.to_numpy()),
        month=starts.month.to_numpy(),
        workday=workdays[day_index],
        peak=tou.peak_mask(local_days, hour),
        outdoor_c=weather.temperature(mids, seed),
        uncovered_days=tuple(calendar.uncovered_days(list(days))),
    )
