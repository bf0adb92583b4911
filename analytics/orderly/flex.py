"""Load flexibility of one enterprise from its meters (有序用电, issue 18): pure, numpy in, a frozen result out.

For the local hours [start, end) of a target day, from the hourly kW of its recent similar days (same day type):

- **expected** load: the mean of those hours over the most recent similar days, with its spread across days;
- **security** load (保安负荷), never to be cut: the largest of the declared value (registry `orderly.security_kw`),
  the cold-store refrigeration measured on `warehouse` electricity meters, and — for a plant that runs around the
  clock (kilns, coke ovens) — the measured minimum while producing;
- **idle** load: the low level of the main meter's two-level load profile (what the plant draws when it stops);
- **shiftable** load (错峰): batch loads on sub-meters (two clear on/off levels, on for at most two thirds of the
  hours) that usually run in the event hours, the part above their own idle level;
- **curtailable** load (避峰/限电): what is left above the security load.

Capacities hold in every event hour (the minimum over the hours of each hour's expectation), so a plan that sums
them meets the shortfall in each hour, not just on average. Missing is never zero: an enterprise without enough
similar days with data gets no figures, only the reason (`Flexibility.reason`).
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any, Final

import chinese_calendar
import numpy as np

from analytics.diagnosis.load import PROFILE_IDLE_MAX_RATIO, PROFILE_MIN_SEPARATION, two_level_split

DAY_TYPES: Final = ("workday", "rest_day", "holiday")
MAX_SIMILAR_DAYS: Final = 10
"""Expected load from the 10 most recent days of the same day type (two working weeks)."""
MIN_SIMILAR_DAYS: Final = 3
"""Fewer than 3 similar days with data in the event hours: no figures, the reason instead."""
MIN_HOURS_SHARE: Final = 0.9
"""A day counts when at least 90 % of its event hours have data."""
CONTINUOUS_NIGHT_SHARE: Final = 0.7
"""A plant whose night hours (00-06) sit at its operating level on ≥ 70 % of days runs around the clock."""
CONTINUOUS_FLOOR_QUANTILE: Final = 0.05
"""Its security load includes the 5th percentile of its producing hours (the minimum a kiln is held at)."""
CRITICAL_QUANTILE: Final = 0.9
"""Cold-store refrigeration kept at its 90th percentile over the similar days (warm days need more)."""
BATCH_MAX_ON_SHARE: Final = 2 / 3
"""A sub-meter on for more than two thirds of the hours is not a batch load that can move."""
DECIMALS: Final = 1


def day_type(day: dt.date) -> str:
    """`holiday` (China's public holidays), `rest_day` (weekends not worked) or `workday` (adjusted working days
    included), from `chinese_calendar`; outside its years, weekends are rest days."""
    try:
        on, name = chinese_calendar.get_holiday_detail(day)
        if on and name is not None:
            return "holiday"
        return "workday" if chinese_calendar.is_workday(day) else "rest_day"
    except NotImplementedError:
        return "workday" if day.weekday() < 5 else "rest_day"


@dataclass(frozen=True, slots=True)
class LoadHistory:
    """One enterprise's hourly mean kW per local day (rows) and hour 0-23 (columns); NaN where no data.

    `critical_kw`: its cold-store refrigeration (`warehouse` electricity meters); `batch_kw`: each electricity
    sub-meter (role sub or process) by meter id. `declared_security_kw` from the registry."""

    code: str
    days: tuple[dt.date, ...]
    site_kw: np.ndarray
    critical_kw: np.ndarray | None = None
    batch_kw: dict[str, np.ndarray] = field(default_factory=dict)
    declared_security_kw: float | None = None

    def __post_init__(self) -> None:
        shape = (len(self.days), 24)
        for name, arr in (("site_kw", self.site_kw), ("critical_kw", self.critical_kw), *self.batch_kw.items()):
            if arr is not None and arr.shape != shape:
                raise ValueError(f"{self.code}: {name} has shape {arr.shape}, expected {shape}")
        if list(self.days) != sorted(set(self.days)):
            raise ValueError(f"{self.code}: days must be distinct and in order")


@dataclass(frozen=True, slots=True)
class EventWindow:
    """Local hours [start, end) of one day (0 ≤ start < end ≤ 24)."""

    day: dt.date
    start: int
    end: int

    def __post_init__(self) -> None:
        if not 0 <= self.start < self.end <= 24:
            raise ValueError(f"hours {self.start}-{self.end} must satisfy 0 <= start < end <= 24")

    @property
    def hours(self) -> int:
        return self.end - self.start

    @property
    def label(self) -> str:
        return f"{self.start:02d}-{self.end:02d}"


@dataclass(frozen=True, slots=True)
class Flexibility:
    """What one enterprise can give in an event window, kW (None with `reason` when it cannot be assessed)."""

    code: str
    day_type: str
    expected_kw: float | None = None
    expected_sd_kw: float | None = None
    expected_min_hour_kw: float | None = None
    security_kw: float | None = None
    security_from: tuple[str, ...] = ()
    idle_kw: float | None = None
    shiftable_kw: float | None = None
    shiftable_sd_kw: float | None = None
    shiftable_meters: tuple[str, ...] = ()
    curtailable_kw: float | None = None
    similar_days: tuple[dt.date, ...] = ()
    reason: str | None = None
    warnings: tuple[str, ...] = ()

    def __post_init__(self) -> None:
        if self.day_type not in DAY_TYPES:
            raise ValueError(f"day type {self.day_type!r} is not one of {DAY_TYPES}")
        if self.reason is None:
            for name in ("expected_kw", "security_kw", "shiftable_kw", "curtailable_kw"):
                value = getattr(self, name)
                if value is None or not np.isfinite(value) or value < 0:
                    raise ValueError(f"{self.code}: {name} must be a finite kW >= 0 when assessed, got {value}")
            if self.shiftable_kw + self.curtailable_kw > self.expected_min_hour_kw - self.security_kw + 1e-6 \
                    and self.shiftable_kw + self.curtailable_kw > 0:
                raise ValueError(f"{self.code}: shiftable + curtailable exceed the load above security")

    @property
    def assessed(self) -> bool:
        return self.reason is None

    @property
    def reducible_kw(self) -> float:
        """Shiftable + curtailable (0 when not assessed)."""
        return (self.shiftable_kw or 0.0) + (self.curtailable_kw or 0.0) if self.assessed else 0.0

    def to_json(self) -> dict[str, Any]:
        def r(v: float | None) -> float | None:
            return None if v is None else round(float(v), DECIMALS) + 0.0

        return {
            "enterprise": self.code, "day_type": self.day_type, "expected_kw": r(self.expected_kw),
            "expected_sd_kw": r(self.expected_sd_kw), "security_kw": r(self.security_kw),
            "security_from": list(self.security_from), "idle_kw": r(self.idle_kw),
            "shiftable_kw": r(self.shiftable_kw), "shiftable_sd_kw": r(self.shiftable_sd_kw),
            "shiftable_meters": list(self.shiftable_meters), "curtailable_kw": r(self.curtailable_kw),
            "similar_days": [d.isoformat() for d in self.similar_days], "reason": self.reason,
            "warnings": list(self.warnings),
        }


def similar_days(history: LoadHistory, window: EventWindow, *, exclude: Sequence[dt.date] = (),
                 limit: int = MAX_SIMILAR_DAYS) -> tuple[np.ndarray, str, list[str]]:
    """Row indices of the most recent days before `window.day` of its day type with data in ≥ 90 % of the event
    hours (newest first, at most `limit`), the day type used and warnings. A holiday with too few holidays in
    the history borrows rest days (warned)."""
    wanted = day_type(window.day)
    kinds = np.array([day_type(d) for d in history.days])
    before = np.array([d < window.day and d not in set(exclude) for d in history.days], dtype=bool)
    have = np.isfinite(history.site_kw[:, window.start:window.end]).mean(axis=1) >= MIN_HOURS_SHARE
    warnings: list[str] = []

    def pick(kind: str) -> np.ndarray:
        rows = np.flatnonzero(before & have & (kinds == kind))[::-1]
        return rows[:limit]

    rows = pick(wanted)
    used = wanted
    if wanted == "holiday" and len(rows) < MIN_SIMILAR_DAYS:
        rows, used = pick("rest_day"), "rest_day"
        warnings.append("too few holidays in the history: a holiday's load is read from rest days")
    return rows, used, warnings


def _mean_hours(arr: np.ndarray, rows: np.ndarray, window: EventWindow) -> np.ndarray:
    """Per event hour: the mean over the similar days (NaN-aware)."""
    block = arr[rows, window.start:window.end]
    with np.errstate(all="ignore"):
        return np.nanmean(block, axis=0) if len(rows) else np.full(window.hours, np.nan)


def _window_means(arr: np.ndarray, rows: np.ndarray, window: EventWindow) -> np.ndarray:
    """Per similar day: the mean kW over the event hours."""
    with np.errstate(all="ignore"):
        return np.nanmean(arr[rows, window.start:window.end], axis=1)


def runs_around_the_clock(history: LoadHistory) -> tuple[bool, float | None]:
    """(around the clock, operating threshold kW): the night hours sit at the operating level of the profile on
    ≥ 70 % of days, or the profile has one level (no idle state at all)."""
    kw = history.site_kw.ravel()
    valid_kw = kw[np.isfinite(kw)]
    split = two_level_split(kw)
    if split is None:  # too few hours to tell, or one flat level (a steady process)
        return len(valid_kw) >= 48, None
    threshold, idle, operating, sep = split
    if sep < PROFILE_MIN_SEPARATION or idle > PROFILE_IDLE_MAX_RATIO * operating:
        return True, None
    night = history.site_kw[:, :6]
    valid = np.isfinite(night)
    if not valid.any():
        return False, threshold
    return float((night[valid] > threshold).mean()) >= CONTINUOUS_NIGHT_SHARE, threshold


def idle_level(site_kw: np.ndarray) -> float | None:
    """The low level of a two-level load profile (None when it has one level)."""
    split = two_level_split(site_kw.ravel())
    if split is None:
        return None
    _, idle, operating, sep = split
    return idle if sep >= PROFILE_MIN_SEPARATION and idle <= PROFILE_IDLE_MAX_RATIO * operating else None


def batch_levels(kw: np.ndarray) -> tuple[float, float] | None:
    """(idle level, threshold) of a sub-meter that is a batch load: two clear levels and on for at most two thirds
    of the hours; None otherwise."""
    flat = kw.ravel()
    split = two_level_split(flat)
    if split is None:
        return None
    threshold, idle, operating, sep = split
    valid = np.isfinite(flat)
    on_share = float((flat[valid] > threshold).mean())
    if sep < PROFILE_MIN_SEPARATION or idle > PROFILE_IDLE_MAX_RATIO * operating or on_share > BATCH_MAX_ON_SHARE:
        return None
    return idle, threshold


def assess(history: LoadHistory, window: EventWindow, *, exclude: Sequence[dt.date] = ()) -> Flexibility:
    """The enterprise's flexibility in `window` (see the module doc); `exclude`: days not to learn from (earlier
    orderly-use events, when the plant was not running normally)."""
    rows, kind, warnings = similar_days(history, window, exclude=exclude)
    if len(rows) < MIN_SIMILAR_DAYS:
        return Flexibility(history.code, day_type(window.day), reason=(
            f"only {len(rows)} {kind.replace('_', ' ')}(s) with data in hours {window.label} before "
            f"{window.day} (need {MIN_SIMILAR_DAYS}): flexibility not assessed"), warnings=tuple(warnings))
    hourly = _mean_hours(history.site_kw, rows, window)
    per_day = _window_means(history.site_kw, rows, window)
    expected = float(np.mean(hourly))
    min_hour = float(np.min(hourly))
    sd = float(np.std(per_day, ddof=1)) if len(per_day) > 1 else 0.0

    security, sources = 0.0, []
    if history.declared_security_kw is not None:
        security, sources = float(history.declared_security_kw), ["declared"]
    if history.critical_kw is not None:
        crit_days = _window_means(history.critical_kw, rows, window)
        crit_days = crit_days[np.isfinite(crit_days)]
        if len(crit_days):
            critical = float(np.quantile(crit_days, CRITICAL_QUANTILE))
            if critical > security:
                security, sources = critical, ["cold-store refrigeration (warehouse meters)"]
            elif critical > 0:
                sources.append("cold-store refrigeration (warehouse meters)")
        else:
            warnings.append("warehouse meters have no data in the event hours: refrigeration not measured")
    continuous, threshold = runs_around_the_clock(history)
    if continuous:
        block = history.site_kw[rows].ravel()
        block = block[np.isfinite(block)]
        producing = block[block > threshold] if threshold is not None else block
        if len(producing):
            floor = float(np.quantile(producing, CONTINUOUS_FLOOR_QUANTILE))
            if floor > security:
                security, sources = floor, ["continuous process: minimum while producing"]
    if security > min_hour:
        warnings.append(f"security load {security:.0f} kW is above the expected load in the event hours "
                        f"({min_hour:.0f} kW): nothing can be reduced")

    shiftable_hours = np.zeros(window.hours)
    shift_days = np.zeros(len(rows))
    movers: list[str] = []
    for meter, kw in sorted(history.batch_kw.items()):
        levels = batch_levels(kw)
        if levels is None:
            continue
        above = np.clip(kw - levels[0], 0.0, None)
        mean_h = np.nan_to_num(_mean_hours(above, rows, window))
        if float(np.min(mean_h)) <= 0:
            continue
        movers.append(meter)
        shiftable_hours += mean_h
        shift_days += np.nan_to_num(_window_means(above, rows, window))
    room = max(0.0, min_hour - security)
    shiftable = min(float(np.min(shiftable_hours)), room) if movers else 0.0
    shift_sd = float(np.std(shift_days, ddof=1)) if movers and len(rows) > 1 else (0.0 if movers else None)
    return Flexibility(
        history.code, day_type(window.day), expected_kw=expected, expected_sd_kw=sd, expected_min_hour_kw=min_hour,
        security_kw=security, security_from=tuple(sources) or ("none declared or measured",),
        idle_kw=idle_level(history.site_kw), shiftable_kw=shiftable, shiftable_sd_kw=shift_sd,
        shiftable_meters=tuple(movers), curtailable_kw=room - shiftable,
        similar_days=tuple(history.days[i] for i in rows), warnings=tuple(warnings))


def expected_profile(history: LoadHistory, kind: str, *, before: dt.date | None = None,
                     limit: int = MAX_SIMILAR_DAYS) -> tuple[np.ndarray, np.ndarray, int]:
    """Expected kW for each hour 0-23 of a day of type `kind` (mean and standard deviation over the most recent
    `limit` such days before `before`), and how many days it rests on. Season is the history's: give a history
    of recent weeks."""
    if kind not in DAY_TYPES:
        raise ValueError(f"day type {kind!r} is not one of {DAY_TYPES}")
    rows = np.array([i for i, d in enumerate(history.days)
                     if day_type(d) == kind and (before is None or d < before)], dtype=int)[::-1][:limit]
    if not len(rows):
        nan = np.full(24, np.nan)
        return nan, nan, 0
    block = history.site_kw[rows]
    with np.errstate(all="ignore"):
        return np.nanmean(block, axis=0), np.nanstd(block, axis=0, ddof=1 if len(rows) > 1 else 0), len(rows)
