"""Credit indicators, defined as China's electricity-credit products define them, each with its evidence.

Pure: monthly and daily electricity from the analytics rollups, and the 12-month `analyze` result, in;
a JSON-ready dict out. Definitions (docs/api.md, in Chinese and English) follow 电E贷 (Zhejiang):
产能利用率 = 当月用电量 / 前推12个月月用电峰值, 产能增长率 = (近12月总电量 − 前12月总电量) / 前12月总电量,
产能指标 = (INT(近12月月均用电量 / 1000) + 1) × 10. A credit officer can recompute every figure from the
`evidence` returned with it.
"""

from __future__ import annotations

import datetime as dt
import math
import statistics
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any, Final

SHUTDOWN_SHARE: Final = 0.2
"""A day is a shutdown day when its electricity is below this share of the window's median day."""
MEASURED_DAY: Final = 0.5
"""A day counts as measured when at least this share of its hours were covered by readings."""
STABLE_DAY: Final = 0.9
"""Days entering the stability coefficient of variation need this completeness (CalTRACK's 90 %)."""
WINDOW_DAYS: Final = 90
DECIMALS: Final = 6


@dataclass(frozen=True, slots=True)
class Month:
    """One local calendar month of the enterprise's electricity total (analytics `enterprise_monthly`)."""

    start: dt.date
    kwh: float
    completeness: float


@dataclass(frozen=True, slots=True)
class Day:
    """One local day of the enterprise's electricity total (analytics `enterprise_daily`)."""

    day: dt.date
    kwh: float
    completeness: float


def _r(value: float | None) -> float | None:
    return None if value is None or not math.isfinite(value) else round(value, DECIMALS) + 0.0


def add_months(month: dt.date, n: int) -> dt.date:
    """The first day of the month `n` months after `month`'s (n may be negative)."""
    index = month.year * 12 + month.month - 1 + n
    return dt.date(index // 12, index % 12 + 1, 1)


def reference_month(as_of: dt.date) -> dt.date:
    """The last complete local month on `as_of`: the month before `as_of`'s month."""
    return add_months(as_of.replace(day=1), -1)


def days_in(month: dt.date) -> int:
    return (add_months(month, 1) - month).days


def month_series(months: Mapping[dt.date, Month], first: dt.date, count: int) -> list[Month]:
    """`count` consecutive months from `first`; a month the rollups do not have is 0 kWh, completeness 0."""
    out = []
    for i in range(count):
        start = add_months(first, i)
        out.append(months.get(start, Month(start, 0.0, 0.0)))
    return out


def _month_evidence(rows: Sequence[Month]) -> list[dict[str, Any]]:
    return [{"month": m.start.strftime("%Y-%m"), "electricity_kwh": _r(m.kwh), "completeness": _r(m.completeness)}
            for m in rows]


def _period(first: dt.date, end: dt.date) -> dict[str, str]:
    return {"from": first.isoformat(), "to": end.isoformat()}


def _mean_completeness(rows: Sequence[Month] | Sequence[Day]) -> float:
    return _r(sum(r.completeness for r in rows) / len(rows)) or 0.0 if rows else 0.0


def monthly_indicators(months: Mapping[dt.date, Month], as_of: dt.date,
                       meters: list[dict[str, str]]) -> tuple[dict[str, Any], dict[str, Any]]:
    """activity_index, utilisation, trend_mom, trend_yoy and their evidence, from 24 months of electricity."""
    m = reference_month(as_of)
    last24 = month_series(months, add_months(m, -23), 24)
    previous12, last12 = last24[:12], last24[12:]
    current, before = last12[-1], last12[-2]
    prior12_for_peak = last24[11:23]  # the twelve months before the reference month
    peak = max(prior12_for_peak, key=lambda x: x.kwh)
    mean12 = sum(x.kwh for x in last12) / 12
    sum_last, sum_prev = sum(x.kwh for x in last12), sum(x.kwh for x in previous12)
    per_day_now, per_day_before = current.kwh / days_in(current.start), before.kwh / days_in(before.start)
    figures = {
        "activity_index": int((math.floor(mean12 / 1000) + 1) * 10),
        "utilisation": _r(current.kwh / peak.kwh) if peak.kwh > 0 else None,
        "trend_mom": _r(per_day_now / per_day_before - 1) if per_day_before > 0 else None,
        "trend_yoy": _r((sum_last - sum_prev) / sum_prev) if sum_prev > 0 else None,
    }
    end = add_months(m, 1)
    evidence = {
        "activity_index": {
            "formula": "(floor(mean monthly electricity of the last 12 months / 1000 kWh) + 1) × 10",
            "period": _period(add_months(m, -11), end), "meters": meters,
            "completeness": _mean_completeness(last12), "inputs": {"mean_monthly_kwh": _r(mean12)},
        },
        "utilisation": {
            "formula": "electricity of the reference month / the highest month of the 12 months before it",
            "period": _period(add_months(m, -12), end), "meters": meters,
            "completeness": _mean_completeness([*prior12_for_peak, current]),
            "inputs": {"reference_month": _month_evidence([current])[0],
                       "peak_month": _month_evidence([peak])[0]},
        },
        "trend_mom": {
            "formula": "daily mean electricity of the reference month / that of the month before − 1",
            "period": _period(before.start, end), "meters": meters,
            "completeness": _mean_completeness([before, current]),
            "inputs": {"months": _month_evidence([before, current])},
        },
        "trend_yoy": {
            "formula": "(electricity of the last 12 months − the 12 before) / the 12 before",
            "period": _period(add_months(m, -23), end), "meters": meters,
            "completeness": _mean_completeness(last24),
            "inputs": {"last_12_kwh": _r(sum_last), "previous_12_kwh": _r(sum_prev),
                       "months": _month_evidence(last24)},
        },
    }
    return figures, evidence


def daily_indicators(days: Sequence[Day], as_of: dt.date,
                     meters: list[dict[str, str]]) -> tuple[dict[str, Any], dict[str, Any], list[dict[str, Any]]]:
    """stability_cv and shutdown_days_90d over the 90 local days before `as_of`, and the anomalies found."""
    first = as_of - dt.timedelta(days=WINDOW_DAYS)
    by_day = {d.day: d for d in days if first <= d.day < as_of}
    window = [by_day.get(first + dt.timedelta(days=i), Day(first + dt.timedelta(days=i), 0.0, 0.0))
              for i in range(WINDOW_DAYS)]
    measured = [d for d in window if d.completeness >= MEASURED_DAY]
    stable = [d.kwh for d in window if d.completeness >= STABLE_DAY]
    median = statistics.median(d.kwh for d in measured) if measured else 0.0
    shutdown = [d for d in measured if d.kwh < SHUTDOWN_SHARE * median] if median > 0 else []
    gaps = [d for d in window if d.completeness < MEASURED_DAY]
    mean = statistics.fmean(stable) if stable else 0.0
    cv = statistics.pstdev(stable) / mean if len(stable) >= 2 and mean > 0 else None
    figures = {"stability_cv": _r(cv), "shutdown_days_90d": len(shutdown)}
    period = _period(first, as_of)
    evidence = {
        "stability_cv": {
            "formula": "population standard deviation / mean of daily electricity, days with completeness ≥ 0.9",
            "period": period, "meters": meters, "completeness": _mean_completeness(window),
            "inputs": {"days_used": len(stable), "mean_daily_kwh": _r(mean)},
        },
        "shutdown_days_90d": {
            "formula": f"measured days (completeness ≥ {MEASURED_DAY}) with electricity below "
                       f"{SHUTDOWN_SHARE:.0%} of the median measured day",
            "period": period, "meters": meters, "completeness": _mean_completeness(window),
            "inputs": {"median_daily_kwh": _r(median), "measured_days": len(measured),
                       "days_without_data": len(gaps)},
        },
    }
    anomalies = [{"kind": "shutdown_day", "day": d.day.isoformat(), "electricity_kwh": _r(d.kwh)} for d in shutdown]
    anomalies += [{"kind": "data_gap", "day": d.day.isoformat(), "completeness": _r(d.completeness)} for d in gaps]
    return figures, evidence, anomalies


def period_indicators(result: Mapping[str, Any], meters: list[dict[str, str]]) -> tuple[dict[str, Any], dict[str, Any]]:
    """quota_status, carbon_intensity_t_per_t, green_share, completeness from `analyze` over the last 12 months."""
    by_carrier = result.get("completeness") or {}
    electricity = by_carrier.get("electricity")
    figures = {
        "quota_status": result["quota"]["status"],
        "carbon_intensity_t_per_t": result["co2"]["intensity_t_per_t"],
        "green_share": result["co2"]["green_share"],
        "completeness": _r(float(electricity)) if electricity is not None else 0.0,
    }
    period = {"from": result["from"], "to": result["to"]}
    evidence = {
        "quota_status": {"source": "enerdiag analyze (quota)", "period": period, "meters": meters,
                         "completeness": figures["completeness"], "inputs": result["quota"]},
        "carbon_intensity_t_per_t": {"source": "enerdiag analyze (co2)", "period": period, "meters": meters,
                                     "completeness": figures["completeness"],
                                     "inputs": {"co2_t": result["co2_t"], "output_t": result["output_t"],
                                                "co2": result["co2"]}},
        "green_share": {"source": "enerdiag analyze (co2)", "period": period, "meters": meters,
                        "completeness": figures["completeness"],
                        "inputs": {"co2": result["co2"], "electricity_balance": result.get("electricity_balance")}},
        "completeness": {"formula": "share of the period's hours covered by readings of the electricity meters",
                         "period": period, "meters": meters, "completeness": figures["completeness"],
                         "inputs": {"by_carrier": by_carrier}},
    }
    return figures, evidence
