"""Working days in China: public holidays and adjusted working days from `chinese_calendar`.

The library ships one table per year (2004 up to its release year). Outside that range we fall back to
plain weekends and *say so* (`CalendarCoverage`), so ground truth never silently pretends to know holidays.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from functools import lru_cache

import chinese_calendar
import numpy as np
from chinese_calendar import constants as _cc


@dataclass(frozen=True, slots=True)
class CalendarCoverage:
    """The years the holiday table covers; days outside them are weekend-only."""

    first_year: int
    last_year: int

    def covers(self, day: dt.date) -> bool:
        return self.first_year <= day.year <= self.last_year


@lru_cache(maxsize=1)
def coverage() -> CalendarCoverage:
    """Years covered by the installed `chinese_calendar` tables."""
    years = [d.year for d in _cc.holidays] + [d.year for d in _cc.workdays]
    return CalendarCoverage(min(years), max(years))


@lru_cache(maxsize=8192)
def is_workday(day: dt.date) -> bool:
    """True on a working day (adjusted working weekends included); weekend rule outside coverage."""
    if coverage().covers(day):
        return bool(chinese_calendar.is_workday(day))
    return day.weekday() < 5


def workday_mask(days: list[dt.date]) -> np.ndarray:
    """Boolean array: which of `days` are working days."""
    return np.fromiter((is_workday(d) for d in days), dtype=bool, count=len(days))


def uncovered_days(days: list[dt.date]) -> list[dt.date]:
    """The days for which holidays are unknown (outside the library's years)."""
    cov = coverage()
    return [d for d in days if not cov.covers(d)]
