"""Local days and months: hourly rows summed into the enterprise's calendar (its time zone, not UTC).

A day in Asia/Shanghai runs from 16:00 UTC to 16:00 UTC; a month from its local first midnight. Time
zones with daylight saving give 23- and 25-hour days, which the completeness denominators follow.
"""

from __future__ import annotations

import datetime as dt
from typing import Final
from zoneinfo import ZoneInfo

import numpy as np
import pandas as pd

HOUR_S: Final = 3600
KEY_COLUMNS: Final = ("enterprise", "meter", "quantity", "product", "carrier")
"""Columns that identify a series when present; they are kept through the sums."""


def local_midnight_s(day: dt.date, tz: str) -> int:
    """Epoch seconds of the local midnight that starts `day` in `tz`."""
    return int(dt.datetime(day.year, day.month, day.day, tzinfo=ZoneInfo(tz)).timestamp())


def hours_in_day(day: dt.date, tz: str) -> int:
    """Clock hours in the local day (24, or 23/25 on a daylight-saving change)."""
    return (local_midnight_s(day + dt.timedelta(days=1), tz) - local_midnight_s(day, tz)) // HOUR_S


def local_day_of(epoch_s: np.ndarray | pd.Series, tz: str) -> pd.Series:
    """The local calendar date of each epoch-second instant."""
    stamps = pd.to_datetime(np.asarray(epoch_s, dtype=np.int64), unit="s", utc=True).tz_convert(tz)
    return pd.Series(stamps.date, dtype=object)


def month_start(day: dt.date) -> dt.date:
    """The first of `day`'s month."""
    return day.replace(day=1)


def next_month(day: dt.date) -> dt.date:
    """The first of the month after `day`'s."""
    return (day.replace(day=28) + dt.timedelta(days=4)).replace(day=1)


def daily_from_hourly(hourly: pd.DataFrame, tz: str) -> pd.DataFrame:
    """Sum hourly rows (`hour_s`, `value`, `estimated`, `completeness`, counts) into local days.

    `completeness` of a day = the sum of its hours' completeness over the hours the local day has, so a
    day with data for 12 of its 24 hours is 0.5 complete. Extra key columns (meter, quantity) are kept.
    """
    if hourly.empty:
        return pd.DataFrame(columns=["day", "value", "estimated", "completeness", "anomalies", "excluded",
                                     "n_readings"])
    keys = [c for c in KEY_COLUMNS if c in hourly.columns]
    frame = hourly.copy()
    frame["day"] = local_day_of(frame["hour_s"].to_numpy(), tz).to_numpy()
    sums = frame.groupby([*keys, "day"], sort=True)[
        [c for c in ("value", "estimated", "completeness", "anomalies", "excluded", "n_readings") if c in frame]
    ].sum().reset_index()
    sums["completeness"] = np.clip(sums["completeness"] / [hours_in_day(d, tz) for d in sums["day"]], 0.0, 1.0)
    return sums


def monthly_from_daily(daily: pd.DataFrame) -> pd.DataFrame:
    """Sum daily rows into calendar months (`month` = the month's first day).

    `completeness` = the sum of the days' completeness over the days of the month, so missing days count 0.
    """
    if daily.empty:
        return pd.DataFrame(columns=["month", "value", "estimated", "completeness"])
    keys = [c for c in KEY_COLUMNS if c in daily.columns]
    frame = daily.copy()
    frame["month"] = [month_start(d) for d in frame["day"]]
    cols = [c for c in ("value", "estimated", "completeness", "anomalies", "excluded", "n_readings") if c in frame]
    sums = frame.groupby([*keys, "month"], sort=True)[cols].sum().reset_index()
    days = [(next_month(m) - m).days for m in sums["month"]]
    sums["completeness"] = np.clip(sums["completeness"] / days, 0.0, 1.0)
    return sums
