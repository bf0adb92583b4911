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

from analytics.result import AnalysisResult, quota_json

SHUTDOWN_SHARE: Final = 0.2
"""A day is a shutdown day when its electricity is below this share of the window's median day."""
MEASURED_DAY: Final = 0.5
"""A day counts as measured when at least this share of its hours were covered by readings (CalTRACK's rule
for a day built from interval data: at most 50 % of its values missing)."""
STABLE_DAY: Final = 0.9
"""Days entering the stability coefficient of variation need this completeness (CalTRACK's 90 %)."""
WINDOW_DAYS: Final = 90
DECIMALS: Final = 6

# Data-sufficiency rules (docs/api.md, "Data sufficiency"). The electricity-credit products read 24 months
# of the utility's billing data, which is complete by construction: 电E贷 (Zhejiang) scores 近12月/前12月
# from 24 months; 电e贷 (Ningxia, 国网电商 + 建设银行, 2019) admits enterprises founded ≥ 2 years with ≥ 2 years
# of electricity bills. Meter data have gaps, so a figure must say how much of its window it rests on.
MONTH_COMPLETE: Final = 0.8
"""A month counts (enters a mean, a peak or a trend) when its electricity rollup is at least 80 % complete;
the rollup spreads a gap's consumption over the gap (estimated, not lost), so 80 % measured coverage still
gives the month's total, while a month with less is left out rather than read as a low month."""
MIN_MONTHS: Final = 10
"""Of the 12 months a 12-month figure covers, at least 10 must count: the 近12个月 of 电E贷 then rests on
≥ 83 % of the year (CalTRACK allows ≤ 10 % missing days in a 365-day baseline; two months absorb one long
gateway outage), and never on a few days presented as a year."""
MIN_DAYS: Final = 60
"""`shutdown_days_90d` needs ≥ 60 measured days of the 90 and `stability_cv` ≥ 60 complete days: two thirds of
the quarter; a sample SD from n days has a relative standard error of about 1/√(2(n−1)), 9 % at 60 days."""
PERIOD_COMPLETE: Final = 0.8
"""Figures taken from the 12-month `analyze` result need each carrier they use ≥ 80 % complete over the window
(the monthly rule applied to the whole window)."""


@dataclass(frozen=True, slots=True)
class Month:
    """One local calendar month of the enterprise's electricity total (analytics `enterprise_monthly`).

    `kwh` is None for a month the rollups do not have (no data: left out, never 0 kWh)."""

    start: dt.date
    kwh: float | None
    completeness: float

    @property
    def counts(self) -> bool:
        """True when the month is complete enough to enter a figure (`MONTH_COMPLETE`)."""
        return self.kwh is not None and self.completeness >= MONTH_COMPLETE


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
    """`count` consecutive months from `first`; a month the rollups do not have has no kWh (None), completeness 0."""
    out = []
    for i in range(count):
        start = add_months(first, i)
        out.append(months.get(start, Month(start, None, 0.0)))
    return out


def _month_evidence(rows: Sequence[Month]) -> list[dict[str, Any]]:
    return [{"month": m.start.strftime("%Y-%m"), "electricity_kwh": _r(m.kwh), "completeness": _r(m.completeness),
             "counts": m.counts} for m in rows]


def _period(first: dt.date, end: dt.date) -> dict[str, str]:
    return {"from": first.isoformat(), "to": end.isoformat()}


def _months_window(first: dt.date, last: dt.date) -> str:
    count = (last.year - first.year) * 12 + last.month - first.month + 1
    return f"{count} months {first:%Y-%m} to {last:%Y-%m}"


def _mean_completeness(rows: Sequence[Month] | Sequence[Day]) -> float:
    return _r(sum(r.completeness for r in rows) / len(rows)) or 0.0 if rows else 0.0


def sufficiency(sufficient: bool, needs: str, coverage: Mapping[str, Any]) -> dict[str, Any]:
    """The `sufficiency` entry of a figure's evidence: the rule it needs and the coverage it had."""
    return {"sufficient": sufficient, "needs": needs, "coverage": dict(coverage)}


def insufficient_of(evidence: Mapping[str, Mapping[str, Any]]) -> dict[str, Any]:
    """The `insufficient` object: per figure left null for lack of data, its window, coverage and what it needs."""
    out = {}
    for name, entry in evidence.items():
        rule = entry.get("sufficiency")
        if rule is not None and not rule["sufficient"]:
            out[name] = {"period": entry["period"], "window": entry.get("window"),
                         "completeness": entry.get("completeness"), "coverage": rule["coverage"],
                         "needs": rule["needs"]}
    return out


def monthly_indicators(months: Mapping[dt.date, Month], as_of: dt.date,
                       meters: list[dict[str, str]]) -> tuple[dict[str, Any], dict[str, Any]]:
    """activity_index, utilisation, trend_mom, trend_yoy and their evidence, from 24 months of electricity.

    Only months that count (`Month.counts`) enter a figure; a figure whose window has too few is None and its
    evidence's `sufficiency` says why (`insufficient_of`)."""
    m = reference_month(as_of)
    last24 = month_series(months, add_months(m, -23), 24)
    previous12, last12 = last24[:12], last24[12:]
    current, before = last12[-1], last12[-2]
    prior12_for_peak = last24[11:23]  # the twelve months before the reference month
    used12 = [x for x in last12 if x.counts]
    prior_used = [x for x in prior12_for_peak if x.counts]
    pairs = [(now, then) for now, then in zip(last12, previous12, strict=True) if now.counts and then.counts]
    activity_ok = len(used12) >= MIN_MONTHS
    utilisation_ok = current.counts and len(prior_used) >= MIN_MONTHS
    mom_ok = current.counts and before.counts
    yoy_ok = len(pairs) >= MIN_MONTHS
    mean12 = sum(x.kwh or 0.0 for x in used12) / len(used12) if used12 else None
    peak = max(prior_used, key=lambda x: x.kwh or 0.0) if prior_used else None
    sum_last = sum(now.kwh or 0.0 for now, _ in pairs)
    sum_prev = sum(then.kwh or 0.0 for _, then in pairs)
    figures: dict[str, Any] = {
        "activity_index": int((math.floor((mean12 or 0.0) / 1000) + 1) * 10) if activity_ok else None,
        "utilisation": _r((current.kwh or 0.0) / peak.kwh) if utilisation_ok and peak and peak.kwh else None,
        "trend_mom": None,
        "trend_yoy": _r((sum_last - sum_prev) / sum_prev) if yoy_ok and sum_prev > 0 else None,
    }
    if mom_ok:
        per_day_now = (current.kwh or 0.0) / days_in(current.start)
        per_day_before = (before.kwh or 0.0) / days_in(before.start)
        figures["trend_mom"] = _r(per_day_now / per_day_before - 1) if per_day_before > 0 else None
    end = add_months(m, 1)
    month_rule = f"months count when ≥ {MONTH_COMPLETE:.0%} complete"
    evidence = {
        "activity_index": {
            "formula": "(floor(mean monthly electricity of the counted months of the last 12 / 1000 kWh) + 1) × 10",
            "period": _period(add_months(m, -11), end), "window": _months_window(add_months(m, -11), m),
            "meters": meters, "completeness": _mean_completeness(last12),
            "inputs": {"mean_monthly_kwh": _r(mean12), "months_counted": len(used12),
                       "months": _month_evidence(last12)},
            "sufficiency": sufficiency(activity_ok, f"≥ {MIN_MONTHS} of the 12 months counted ({month_rule})",
                                       {"months_counted": len(used12), "months": 12}),
        },
        "utilisation": {
            "formula": "electricity of the reference month / the highest counted month of the 12 months before it",
            "period": _period(add_months(m, -12), end), "window": _months_window(add_months(m, -12), m),
            "meters": meters, "completeness": _mean_completeness([*prior12_for_peak, current]),
            "inputs": {"reference_month": _month_evidence([current])[0],
                       "peak_month": _month_evidence([peak])[0] if peak else None},
            "sufficiency": sufficiency(bool(utilisation_ok), f"the reference month counted and ≥ {MIN_MONTHS} of "
                                       f"the 12 before it ({month_rule})",
                                       {"reference_month_counted": current.counts, "months_counted": len(prior_used),
                                        "months": 12}),
        },
        "trend_mom": {
            "formula": "daily mean electricity of the reference month / that of the month before − 1",
            "period": _period(before.start, end), "window": _months_window(before.start, m), "meters": meters,
            "completeness": _mean_completeness([before, current]),
            "inputs": {"months": _month_evidence([before, current])},
            "sufficiency": sufficiency(bool(mom_ok), f"both months counted ({month_rule})",
                                       {"months_counted": int(current.counts) + int(before.counts), "months": 2}),
        },
        "trend_yoy": {
            "formula": "(Σ electricity of the last 12 months − Σ of the same months a year before) / the latter, "
                       "over the months counted in both years",
            "period": _period(add_months(m, -23), end), "window": _months_window(add_months(m, -23), m),
            "meters": meters, "completeness": _mean_completeness(last24),
            "inputs": {"last_12_kwh": _r(sum_last), "previous_12_kwh": _r(sum_prev), "month_pairs": len(pairs),
                       "months": _month_evidence(last24)},
            "sufficiency": sufficiency(yoy_ok, f"≥ {MIN_MONTHS} of the 12 months counted both in the last year "
                                       f"and a year before ({month_rule})", {"month_pairs": len(pairs), "months": 12}),
        },
    }
    return figures, evidence


def daily_indicators(days: Sequence[Day], as_of: dt.date,
                     meters: list[dict[str, str]]) -> tuple[dict[str, Any], dict[str, Any], list[dict[str, Any]]]:
    """stability_cv, shutdown_days_90d and no_data_days_90d over the 90 local days before `as_of`, and the
    anomalies found (shutdown days and days without data)."""
    first = as_of - dt.timedelta(days=WINDOW_DAYS)
    by_day = {d.day: d for d in days if first <= d.day < as_of}
    window = [by_day.get(first + dt.timedelta(days=i), Day(first + dt.timedelta(days=i), 0.0, 0.0))
              for i in range(WINDOW_DAYS)]
    measured = [d for d in window if d.completeness >= MEASURED_DAY]
    stable = [d.kwh for d in window if d.completeness >= STABLE_DAY]
    gaps = [d for d in window if d.completeness < MEASURED_DAY]
    shutdown_ok, stable_ok = len(measured) >= MIN_DAYS, len(stable) >= MIN_DAYS
    median = statistics.median(d.kwh for d in measured) if measured else 0.0
    shutdown = [d for d in measured if d.kwh < SHUTDOWN_SHARE * median] if median > 0 and shutdown_ok else []
    mean = statistics.fmean(stable) if stable else 0.0
    cv = statistics.stdev(stable) / mean if stable_ok and mean > 0 else None
    figures = {"stability_cv": _r(cv), "shutdown_days_90d": len(shutdown) if shutdown_ok else None,
               "no_data_days_90d": len(gaps)}
    period = _period(first, as_of)
    window_text = f"{WINDOW_DAYS} days {first} to {as_of - dt.timedelta(days=1)}"
    completeness = _mean_completeness(window)
    evidence = {
        "stability_cv": {
            "formula": f"sample standard deviation / mean of daily electricity, days with completeness ≥ {STABLE_DAY}",
            "period": period, "window": window_text, "meters": meters, "completeness": completeness,
            "inputs": {"days_used": len(stable), "mean_daily_kwh": _r(mean)},
            "sufficiency": sufficiency(stable_ok, f"≥ {MIN_DAYS} of the {WINDOW_DAYS} days with completeness "
                                       f"≥ {STABLE_DAY}", {"days_used": len(stable), "days": WINDOW_DAYS}),
        },
        "shutdown_days_90d": {
            "formula": f"measured days (completeness ≥ {MEASURED_DAY}) with electricity below "
                       f"{SHUTDOWN_SHARE:.0%} of the median measured day; days without data are not counted "
                       "(no_data_days_90d)",
            "period": period, "window": window_text, "meters": meters, "completeness": completeness,
            "inputs": {"median_daily_kwh": _r(median), "measured_days": len(measured),
                       "days_without_data": len(gaps)},
            "sufficiency": sufficiency(shutdown_ok, f"≥ {MIN_DAYS} of the {WINDOW_DAYS} days measured "
                                       f"(completeness ≥ {MEASURED_DAY})",
                                       {"measured_days": len(measured), "days": WINDOW_DAYS}),
        },
        "no_data_days_90d": {
            "formula": f"days with completeness below {MEASURED_DAY} (the meters sent too little to tell a stop "
                       "from a gap)",
            "period": period, "window": window_text, "meters": meters, "completeness": completeness,
            "inputs": {"days": [d.day.isoformat() for d in gaps]},
        },
    }
    anomalies = [{"kind": "shutdown_day", "day": d.day.isoformat(), "electricity_kwh": _r(d.kwh)} for d in shutdown]
    anomalies += [{"kind": "data_gap", "day": d.day.isoformat(), "completeness": _r(d.completeness)} for d in gaps]
    return figures, evidence, anomalies


def _carrier_coverage(by_carrier: Mapping[str, float | None], carriers: Sequence[str]) -> dict[str, float | None]:
    return {c: _r(by_carrier.get(c)) if by_carrier.get(c) is not None else 0.0 for c in carriers}


def period_indicators(result: AnalysisResult, meters: list[dict[str, str]],
                      carriers: Sequence[str] = ("electricity",)) -> tuple[dict[str, Any], dict[str, Any]]:
    """quota_status, carbon_intensity_t_per_t, green_share, completeness from `analyze` over the last 12 months.

    `carriers`: the carriers of the enterprise's total meters (energy and output); carbon intensity and the
    quota need each of them ≥ `PERIOD_COMPLETE`, the green share needs electricity."""
    by_carrier = dict(result.completeness)
    electricity = by_carrier.get("electricity")
    coverage = _carrier_coverage(by_carrier, sorted(set(carriers) | {"electricity"}))
    all_ok = all((v or 0.0) >= PERIOD_COMPLETE for v in coverage.values())
    electricity_ok = (electricity or 0.0) >= PERIOD_COMPLETE
    figures = {
        "quota_status": result.quota.status if all_ok else None,
        "carbon_intensity_t_per_t": result.co2.intensity_t_per_t if all_ok else None,
        "green_share": result.co2.green_share if electricity_ok else None,
        "completeness": _r(float(electricity)) if electricity is not None else 0.0,
    }
    period = {"from": result.period_from.isoformat(), "to": result.period_to.isoformat()}
    window = _months_window(result.period_from, result.period_to - dt.timedelta(days=1))
    all_rule = sufficiency(all_ok, f"every carrier of the total meters ≥ {PERIOD_COMPLETE:.0%} complete over the "
                           "window", {"completeness_by_carrier": coverage})
    electricity_rule = sufficiency(electricity_ok, f"electricity ≥ {PERIOD_COMPLETE:.0%} complete over the window",
                                   {"completeness_by_carrier": {"electricity": coverage["electricity"]}})
    evidence = {
        "quota_status": {"source": "enerdiag analyze (quota)", "period": period, "window": window, "meters": meters,
                         "completeness": figures["completeness"], "inputs": quota_json(result.quota),
                         "sufficiency": all_rule},
        "carbon_intensity_t_per_t": {"source": "enerdiag analyze (co2)", "period": period, "window": window,
                                     "meters": meters, "completeness": figures["completeness"],
                                     "inputs": {"co2_t": result.co2_t, "output_t": result.output_t,
                                                "co2": result.co2.to_json()},
                                     "sufficiency": all_rule},
        "green_share": {"source": "enerdiag analyze (co2)", "period": period, "window": window, "meters": meters,
                        "completeness": figures["completeness"],
                        "inputs": {"co2": result.co2.to_json(),
                                   "electricity_balance": result.electricity_balance.to_json()},
                        "sufficiency": electricity_rule},
        "completeness": {"formula": "share of the period's hours covered by readings of the electricity meters",
                         "period": period, "window": window, "meters": meters, "completeness": figures["completeness"],
                         "inputs": {"by_carrier": by_carrier}},
    }
    return figures, evidence
