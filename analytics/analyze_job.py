"""`enerdiag analyze`: read each enterprise's daily rollups for a local period and compute its results."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

import pandas as pd

from analytics.activity import EnterpriseActivity, GroupActivity, group_activity
from analytics.calendar import local_midnight_s, next_month
from analytics.carbon import budget_window
from analytics.coverage import expected_carriers, read_meter_coverage
from analytics.energy import FUEL_CARRIERS, comprehensive_energy
from analytics.enterprise import EnterpriseInfo
from analytics.quota import over_quota_list
from analytics.refs import Reference
from analytics.result import AnalysisResult, quota_json
from analytics.summary import AnalyzeOptions, BudgetPosition, budget_position, enterprise_result
from core.influx import InfluxV1, quote_ident, quote_literal
from core.measurements import ENTERPRISE_DAILY, ENTERPRISE_MONTHLY, PRODUCT_DAILY


@dataclass(frozen=True, slots=True)
class PeriodTotals:
    """An enterprise's carrier totals and completeness over a local period, from `enterprise_daily`."""

    totals: dict[str, float]
    completeness: dict[str, float]
    boundary: dict[str, float] | None = None  # energy of the meters mapped to the enterprise's product


BATCH_ENTERPRISES = 200
"""Enterprises read per query (an OR of equalities, as in the rollup job)."""


def _in(codes: list[str]) -> str:
    return "(" + " OR ".join(f"\"enterprise\" = {quote_literal(c)}" for c in codes) + ")"


def read_periods(influx: InfluxV1, enterprises: list[EnterpriseInfo], period_from: dt.date,
                 period_to: dt.date, *, with_boundary: bool = True) -> dict[str, PeriodTotals]:
    """Sum `enterprise_daily` (and `product_daily`) over the local days [from, to) of each enterprise.

    completeness = Σ daily completeness / days of the period. Enterprises sharing a time zone are read
    together, `BATCH_ENTERPRISES` per query.
    """
    days = (period_to - period_from).days
    totals: dict[str, dict[str, float]] = {e.code: {} for e in enterprises}
    completeness: dict[str, dict[str, float]] = {e.code: {} for e in enterprises}
    boundary: dict[str, dict[str, float]] = {e.code: {} for e in enterprises}
    products = {e.code: e.product for e in enterprises}
    by_tz: dict[str, list[str]] = {}
    for e in enterprises:
        by_tz.setdefault(e.timezone, []).append(e.code)
    months_lo, months_hi = whole_months(period_from, period_to)
    day_ranges = [(period_from, months_lo), (months_hi, period_to)] if months_lo < months_hi else [
        (period_from, period_to)]
    for tz, codes in by_tz.items():
        start, end = local_midnight_s(period_from, tz), local_midnight_s(period_to, tz)
        for i in range(0, len(codes), BATCH_ENTERPRISES):
            batch = codes[i:i + BATCH_ENTERPRISES]
            day_sums: dict[tuple[str, str], list[float]] = {}  # (code, carrier) -> [value, Σ daily completeness]
            for lo, hi in day_ranges:
                if lo >= hi:
                    continue
                q = (f"SELECT sum(\"value\") AS v, sum(\"completeness\") AS c FROM {quote_ident(ENTERPRISE_DAILY)} "
                     f"WHERE {_in(batch)} AND time >= {local_midnight_s(lo, tz)}s AND time < "
                     f"{local_midnight_s(hi, tz)}s GROUP BY \"enterprise\", \"carrier\"")
                for series in influx.query(q):
                    acc = day_sums.setdefault((series.tags.get("enterprise", ""), series.tags.get("carrier", "")),
                                              [0.0, 0.0])
                    for row in series.records():
                        acc[0] += float(row.get("v") or 0.0)
                        acc[1] += float(row.get("c") or 0.0)
            if months_lo < months_hi:
                q = (f"SELECT \"value\", \"completeness\" FROM {quote_ident(ENTERPRISE_MONTHLY)} "
                     f"WHERE {_in(batch)} AND time >= {local_midnight_s(months_lo, tz)}s AND time < "
                     f"{local_midnight_s(months_hi, tz)}s GROUP BY \"enterprise\", \"carrier\"")
                for series in influx.query(q):
                    acc = day_sums.setdefault((series.tags.get("enterprise", ""), series.tags.get("carrier", "")),
                                              [0.0, 0.0])
                    for row in series.records():
                        month = pd.Timestamp(int(row["time"]), unit="s", tz="UTC").tz_convert(tz).date()
                        acc[0] += float(row.get("value") or 0.0)
                        acc[1] += float(row.get("completeness") or 0.0) * (next_month(month) - month).days
            for (code, carrier), (value, filled) in day_sums.items():
                totals[code][carrier] = value
                if carrier not in NO_COMPLETENESS:
                    completeness[code][carrier] = min(filled / days, 1.0)
            if not with_boundary:  # the product boundary is not wanted (a budget's year to date)
                continue
            where = f"WHERE {_in(batch)} AND time >= {start}s AND time < {end}s"
            q = (f"SELECT sum(\"value\") AS v FROM {quote_ident(PRODUCT_DAILY)} {where} "
                 f"GROUP BY \"enterprise\", \"product\", \"carrier\"")
            for series in influx.query(q):
                code = series.tags.get("enterprise", "")
                if series.tags.get("product") != products.get(code):
                    continue
                for row in series.records():
                    boundary[code][series.tags.get("carrier", "")] = float(row.get("v") or 0.0)
    return {code: PeriodTotals(totals[code], completeness[code], boundary[code] or None) for code in totals}


def whole_months(period_from: dt.date, period_to: dt.date) -> tuple[dt.date, dt.date]:
    """The calendar months wholly inside [from, to) as [first month start, end); empty (lo >= hi) if none."""
    lo = period_from if period_from.day == 1 else next_month(period_from)
    hi = period_to.replace(day=1)
    return lo, hi


NO_COMPLETENESS = frozenset({"electricity_export", "reactive"})
"""Totals that are by-products of another carrier's meters: their completeness is that carrier's."""


def analyze(influx: InfluxV1, enterprises: Iterable[EnterpriseInfo], period_from: dt.date, period_to: dt.date,
            reference: Reference, options: AnalyzeOptions | None = None) -> list[AnalysisResult]:
    """The section-6 result (with its quota assessment) of every enterprise, in registry order, with the coverage of
    each registry meter (`analytics.coverage`): a carrier the registry has meters for but the period has no
    data of is null with its reason, never 0."""
    listed = list(enterprises)
    periods = read_periods(influx, listed, period_from, period_to)
    budgets = budget_positions(influx, listed, period_from, period_to, periods, reference, options)
    meters = read_meter_coverage(influx, listed, period_from, period_to)
    out = []
    for enterprise in listed:
        period = periods[enterprise.code]
        out.append(enterprise_result(enterprise, period_from, period_to, period.totals, period.completeness,
                                     reference, options, boundary=period.boundary,
                                     budget=budgets.get(enterprise.code), expected=expected_carriers(enterprise),
                                     meters=[m.to_json() for m in meters[enterprise.code]]))
    return out


def budget_positions(influx: InfluxV1, enterprises: list[EnterpriseInfo], period_from: dt.date,
                     period_to: dt.date, periods: dict[str, PeriodTotals], reference: Reference,
                     options: AnalyzeOptions | None = None) -> dict[str, BudgetPosition]:
    """The annual budget position of the enterprises with a budget for the year of the period's last day.

    Year-to-date totals are read from the rollups over [1 Jan, min(to, as_of)); when the period ends the
    window, only the days before it are read and the period's totals added (`combine_periods`).
    """
    options = options or AnalyzeOptions()
    window = budget_window(period_to, options.as_of or dt.date.today())
    if window is None:
        return {}
    budgeted = [e for e in enterprises if e.co2_budget(window[0].year) is not None]
    if not budgeted:
        return {}
    start, end = window
    if end == period_to and start <= period_from:
        ytd = periods
        if start < period_from:
            before = read_periods(influx, budgeted, start, period_from, with_boundary=False)
            ytd = {e.code: combine_periods(before[e.code], (period_from - start).days, periods[e.code],
                                           (period_to - period_from).days) for e in budgeted}
    else:
        ytd = read_periods(influx, budgeted, start, end, with_boundary=False)
    out = {}
    for e in budgeted:
        position = budget_position(e, window, ytd[e.code].totals, reference, options,
                                   completeness=_energy_completeness(ytd[e.code]))
        if position is not None:
            out[e.code] = position
    return out


def combine_periods(first: PeriodTotals, first_days: int, second: PeriodTotals, second_days: int) -> PeriodTotals:
    """Totals of two adjacent periods: values add, completeness is the day-weighted mean (a carrier missing
    from one period counts 0 there); the product boundary is not combined."""
    totals = dict(first.totals)
    for carrier, value in second.totals.items():
        totals[carrier] = totals.get(carrier, 0.0) + value
    days = first_days + second_days
    completeness = {c: (first.completeness.get(c, 0.0) * first_days + second.completeness.get(c, 0.0) * second_days)
                    / days for c in set(first.completeness) | set(second.completeness)}
    return PeriodTotals(totals, completeness)


def over_quota_rows(results: list[AnalysisResult]) -> list[dict[str, Any]]:
    """The city's over-quota list, worst first: enterprise, product, value, limit, gaps, standard."""
    by_code = {r.enterprise: r for r in results}
    rows = []
    for rank, (code, quota) in enumerate(over_quota_list((r.enterprise, r.quota) for r in results), start=1):
        printed = quota_json(quota)
        rows.append({
            "rank": rank,
            "enterprise": code,
            "product": quota.product,
            "standard": quota.standard,
            "unit": quota.unit,
            "value": printed["value"],
            "limit": quota.limit,
            "excess_share": round(quota.severity, 6),
            "gap_per_unit": printed["gap_per_unit"],
            "gap_tce": printed["gap_tce"],
            "output_t": by_code[code].output_t,
            "tce": by_code[code].tce,
        })
    return rows


def _energy_completeness(period: PeriodTotals) -> float:
    """The weakest completeness among the carriers that make the tce (0 when none has data)."""
    values = [v for c, v in period.completeness.items() if c in ("electricity", *FUEL_CARRIERS)]
    return min(values) if values else 0.0


def activity(influx: InfluxV1, enterprises: list[EnterpriseInfo], period: tuple[dt.date, dt.date],
             base: tuple[dt.date, dt.date], reference: Reference, by: str) -> tuple[list[GroupActivity],
                                                                                   list[EnterpriseActivity]]:
    """City operation index by `county` or `industry`: tce per day in `period` against `base`."""
    if by not in ("county", "industry"):
        raise ValueError(f"activity by {by!r}: must be county or industry")
    now = read_periods(influx, enterprises, *period)
    then = read_periods(influx, enterprises, *base)
    days_now = (period[1] - period[0]).days
    days_then = (base[1] - base[0]).days
    rows = []
    for e in enterprises:
        cur, ref = now[e.code], then[e.code]
        rows.append(EnterpriseActivity(
            code=e.code,
            group=getattr(e, by) or "unknown",
            current_tce_per_day=comprehensive_energy(cur.totals, reference).tce / days_now,
            reference_tce_per_day=comprehensive_energy(ref.totals, reference).tce / days_then,
            current_completeness=_energy_completeness(cur),
            reference_completeness=_energy_completeness(ref),
        ))
    return group_activity(rows), rows
