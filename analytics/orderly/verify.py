"""Verifying an orderly-use event from the meters: actual load in the event hours against each plant's baseline.

Baseline (基线负荷) as China's demand-response rules compute it: the mean load of the same hours on the most
recent normal days of the same type before the event. Jiangsu's rules (《江苏省电力需求响应实施细则(试行)》, 2015,
as reported) take the 5 most recent normal production working days and count the reduction as (baseline energy −
measured energy in the response hours) ÷ their duration; Beijing's take the 5 highest of 10 days. enerdiag
follows Jiangsu: `BASELINE_DAYS` most recent days of the event day's type with data, leaving out earlier event
days and stop days (below half the median load). Optionally (`adjust="before"`) the baseline is scaled by the
event day's load in the hours before the event against the baseline days' (capped at ±20 %), the day-of adjustment
of US ISO practice, so a busier or quieter day is not read as compliance.

Compliance = delivered ÷ planned kW: `complied` ≥ 0.8, `partial` ≥ 0.4, else `not_followed`.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, Final

import numpy as np

from analytics.orderly.flex import MIN_HOURS_SHARE, EventWindow, LoadHistory, day_type

BASELINE_DAYS: Final = 5
MIN_BASELINE_DAYS: Final = 3
STOP_DAY_SHARE: Final = 0.5
"""A candidate day whose event-hour load is below half the candidates' median was not a normal production day."""
COMPLIED: Final = 0.8
PARTIAL: Final = 0.4
ADJUST_HOURS: Final = 3
"""Day-of adjustment from the 3 hours ending one hour before the event (the hour just before may already ramp)."""
ADJUST_CAP: Final = 0.2
SECURITY_MARGIN: Final = 0.95
STATUSES: Final = ("complied", "partial", "not_followed", "not_asked", "no_data")
BASELINE_SOURCE: Final = ("baseline: mean of the event hours on the 5 most recent normal days of the same type "
                          "(《江苏省电力需求响应实施细则(试行)》2015 as reported by chinasmartgrid.com.cn; "
                          "confidence: secondary source, rule text not read)")


def _r(value: float | None) -> float | None:
    return None if value is None or not np.isfinite(value) else round(float(value), 1) + 0.0


@dataclass(frozen=True, slots=True)
class Baseline:
    kw: float
    sd_kw: float
    days: tuple[dt.date, ...]
    factor: float = 1.0


def baseline(history: LoadHistory, window: EventWindow, *, exclude: Sequence[dt.date] = (),
             adjust: str = "before") -> tuple[Baseline | None, str | None]:
    """The baseline kW of the event hours (or None and why)."""
    if adjust not in ("none", "before"):
        raise ValueError(f"adjust must be none or before, got {adjust!r}")
    kind = day_type(window.day)
    skip = set(exclude)
    block = history.site_kw[:, window.start:window.end]
    have = np.isfinite(block).mean(axis=1) >= MIN_HOURS_SHARE
    rows = [i for i, d in enumerate(history.days)
            if d < window.day and d not in skip and have[i] and day_type(d) == kind][::-1][:2 * BASELINE_DAYS]
    if not rows:
        return None, f"no {kind.replace('_', ' ')} with data before {window.day}"
    with np.errstate(all="ignore"):
        means = np.nanmean(block[rows], axis=1)
    normal = means >= STOP_DAY_SHARE * float(np.median(means))
    chosen = [r for r, ok in zip(rows, normal, strict=True) if ok][:BASELINE_DAYS]
    if len(chosen) < MIN_BASELINE_DAYS:
        return None, (f"only {len(chosen)} normal {kind.replace('_', ' ')}(s) with data before {window.day} "
                      f"(need {MIN_BASELINE_DAYS})")
    values = means[[rows.index(r) for r in chosen]]
    factor = 1.0
    if adjust == "before" and window.start >= ADJUST_HOURS + 1:
        lo, hi = window.start - ADJUST_HOURS - 1, window.start - 1
        day = history.days.index(window.day) if window.day in history.days else None
        if day is not None:
            with np.errstate(all="ignore"):
                today = float(np.nanmean(history.site_kw[day, lo:hi]))
                then = float(np.nanmean(history.site_kw[chosen, lo:hi]))
            if np.isfinite(today) and np.isfinite(then) and then > 0:
                factor = float(np.clip(today / then, 1 - ADJUST_CAP, 1 + ADJUST_CAP))
    sd = float(np.std(values, ddof=1)) if len(values) > 1 else 0.0
    return Baseline(float(np.mean(values)) * factor, sd * factor, tuple(history.days[r] for r in chosen),
                    factor), None


@dataclass(frozen=True, slots=True)
class Compliance:
    """One enterprise's record for one event."""

    code: str
    status: str
    planned_kw: float
    action: str
    baseline_kw: float | None = None
    baseline_sd_kw: float | None = None
    baseline_days: tuple[dt.date, ...] = ()
    adjustment: float | None = None
    actual_kw: float | None = None
    delivered_kw: float | None = None
    ratio: float | None = None
    security_kw: float | None = None
    reason: str | None = None
    warnings: tuple[str, ...] = field(default=())

    def __post_init__(self) -> None:
        if self.status not in STATUSES:
            raise ValueError(f"status {self.status!r} is not one of {STATUSES}")
        if self.status == "no_data" and not self.reason:
            raise ValueError("no_data needs a reason")

    def to_json(self) -> dict[str, Any]:
        return {"enterprise": self.code, "status": self.status, "action": self.action,
                "planned_kw": _r(self.planned_kw), "baseline_kw": _r(self.baseline_kw),
                "baseline_sd_kw": _r(self.baseline_sd_kw),
                "baseline_days": [d.isoformat() for d in self.baseline_days],
                "adjustment": None if self.adjustment is None else round(self.adjustment, 3),
                "actual_kw": _r(self.actual_kw), "delivered_kw": _r(self.delivered_kw),
                "ratio": None if self.ratio is None else round(self.ratio, 3), "security_kw": _r(self.security_kw),
                "reason": self.reason, "warnings": list(self.warnings)}


def verify_one(history: LoadHistory, window: EventWindow, planned_kw: float, action: str, *,
               security_kw: float | None = None, exclude: Sequence[dt.date] = (),
               adjust: str = "before") -> Compliance:
    """Compare the enterprise's actual load in the event hours with its baseline."""
    if window.day not in history.days:
        return Compliance(history.code, "no_data", planned_kw, action, reason=f"no data on {window.day}")
    row = history.site_kw[history.days.index(window.day), window.start:window.end]
    if np.isfinite(row).mean() < MIN_HOURS_SHARE:
        return Compliance(history.code, "no_data", planned_kw, action, security_kw=security_kw,
                          reason=f"data in {int(np.isfinite(row).sum())} of {window.hours} event hours")
    base, why = baseline(history, window, exclude=exclude, adjust=adjust)
    if base is None:
        return Compliance(history.code, "no_data", planned_kw, action, security_kw=security_kw,
                          reason=f"no baseline: {why}")
    actual = float(np.nanmean(row))
    delivered = base.kw - actual
    warnings = []
    if security_kw is not None and float(np.nanmin(row)) < SECURITY_MARGIN * security_kw:
        warnings.append(f"load fell to {float(np.nanmin(row)):.0f} kW, below the security load {security_kw:.0f} kW")
    if planned_kw <= 0:
        status, ratio = "not_asked", None
    else:
        ratio = delivered / planned_kw
        status = "complied" if ratio >= COMPLIED else "partial" if ratio >= PARTIAL else "not_followed"
    return Compliance(history.code, status, planned_kw, action, base.kw, base.sd_kw, base.days, base.factor, actual,
                      delivered, ratio, security_kw, None, tuple(warnings))


@dataclass(frozen=True, slots=True)
class Verification:
    """Every enterprise's compliance with one event, and the total delivered by the enterprises asked."""

    window: EventWindow
    results: tuple[Compliance, ...]
    adjust: str = "before"

    @property
    def asked(self) -> tuple[Compliance, ...]:
        return tuple(r for r in self.results if r.planned_kw > 0)

    def to_json(self) -> dict[str, Any]:
        asked = self.asked
        measured = [r for r in asked if r.delivered_kw is not None]
        counts = {s: sum(1 for r in self.results if r.status == s) for s in STATUSES}
        return {
            "date": self.window.day.isoformat(), "hours": self.window.label, "adjust": self.adjust,
            "baseline_method": BASELINE_SOURCE,
            "planned_kw": _r(sum(r.planned_kw for r in asked)),
            "delivered_kw": _r(sum(r.delivered_kw or 0.0 for r in measured)) if measured else None,
            "delivered_from": f"{len(measured)} of {len(asked)} enterprise(s) asked (the others have no data)",
            "counts": counts,
            "enterprises": [r.to_json() for r in self.results],
        }


def verify(histories: Mapping[str, LoadHistory], window: EventWindow, planned: Mapping[str, tuple[float, str]], *,
           security: Mapping[str, float | None] | None = None, exclude: Sequence[dt.date] = (),
           adjust: str = "before") -> Verification:
    """Verify every enterprise in `planned` (code → (planned kW, action)); one without history is `no_data`."""
    security = security or {}
    out = []
    for code in sorted(planned):
        kw, action = planned[code]
        h = histories.get(code)
        if h is None:
            out.append(Compliance(code, "no_data", kw, action, reason="no hourly data"))
            continue
        out.append(verify_one(h, window, kw, action, security_kw=security.get(code), exclude=exclude,
                              adjust=adjust))
    return Verification(window, tuple(out), adjust)
