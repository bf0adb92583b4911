"""Figures for the bank endpoints, computed by the analytics package (the API adds none of its own arithmetic).

`monthly_profile` runs `analytics.analyze_job.analyze` once per local calendar month, so each month equals
`enerdiag analyze --from <month> --to <next month> --enterprise CODE --json` for the same data.
"""

from __future__ import annotations

import datetime as dt
from typing import Any
from zoneinfo import ZoneInfo

from analytics.analyze_job import analyze
from analytics.calendar import local_midnight_s
from analytics.coverage import total_meters
from analytics.energy import FUEL_CARRIERS
from analytics.enterprise import EnterpriseInfo
from analytics.refs import Reference
from analytics.result import quota_json
from analytics.safety.rules import Severity
from analytics.safety.summary import load_alarms, summarise
from api.indicators import (
    WINDOW_DAYS,
    Day,
    Month,
    add_months,
    daily_indicators,
    insufficient_of,
    monthly_indicators,
    period_indicators,
    reference_month,
)
from api.orders import verify_order
from api.params import next_month
from core.influx import InfluxV1, quote_ident, quote_literal
from core.measurements import ENTERPRISE_DAILY, ENTERPRISE_MONTHLY

PROFILE_FIGURES = ("energy", "tce", "co2_t", "output_t", "intensity_kgce_per_t", "completeness")


def months_between(first: dt.date, last: dt.date) -> list[dt.date]:
    """First days of every month from `first`'s to `last`'s, inclusive."""
    out, month = [], first.replace(day=1)
    while month <= last:
        out.append(month)
        month = next_month(month)
    return out


def overall_completeness(by_carrier: dict[str, float | None]) -> float:
    """The lowest carrier completeness (the weakest input bounds the figure); 0 when nothing was received."""
    values = [v for v in by_carrier.values() if v is not None]
    return min(values) if values else 0.0


def monthly_profile(influx: InfluxV1, enterprise: EnterpriseInfo, first: dt.date, last: dt.date,
                    reference: Reference) -> list[dict[str, Any]]:
    """One entry per month of [first, last]: the section-6 figures of that month and their evidence."""
    months = []
    for month in months_between(first, last):
        result = analyze(influx, [enterprise], month, next_month(month), reference)[0]
        months.append({
            "month": month.strftime("%Y-%m"),
            "energy": dict(result.energy),
            "tce": result.tce,
            "co2_t": result.co2_t,
            "output_t": result.output_t,
            "intensity_kgce_per_t": result.intensity_kgce_per_t,
            "completeness": overall_completeness(dict(result.completeness)),
            "evidence": {
                "period": {"from": result.period_from.isoformat(), "to": result.period_to.isoformat()},
                "completeness_by_carrier": dict(result.completeness),
                "tce_method": result.tce_method,
                "co2": result.co2.to_json(),
                "quota": quota_json(result.quota),
                "coefficients": dict(result.evidence),
                "warnings": list(result.warnings),
            },
        })
    return months


CREDIT_FIGURES = (
    "activity_index", "utilisation", "stability_cv", "trend_mom", "trend_yoy", "shutdown_days_90d",
    "no_data_days_90d", "quota_status", "carbon_intensity_t_per_t", "green_share", "completeness", "anomalies",
    "open_critical_safety_alarms", "safety_alarms_90d",
)
SAFETY_SEVERITIES = (Severity.CRITICAL, Severity.ALARM, Severity.PRE_ALARM)


def safety_indicators(influx: InfluxV1, enterprise: EnterpriseInfo,
                      as_of: dt.date) -> tuple[dict[str, Any], dict[str, Any]]:
    """Operational-risk signal: critical safety alarms open at `as_of`, and the 90 days' alarms by severity.

    Alarms are rebuilt by `analytics.safety.summary` from the InfluxDB measurement `safety_alarm` (points
    before `as_of` only, so a later close does not change a past `as_of`).
    """
    start = as_of - dt.timedelta(days=WINDOW_DAYS)
    lo, hi = local_midnight_s(start, enterprise.timezone), local_midnight_s(as_of, enterprise.timezone)
    alarms = load_alarms(influx, enterprise.code, lo, hi)
    summary = summarise(alarms, dt.datetime.fromtimestamp(lo, dt.UTC), dt.datetime.fromtimestamp(hi, dt.UTC))
    by_severity = {s.label: int(summary["by_severity"].get(s.label, 0)) for s in SAFETY_SEVERITIES}
    meters = sorted({m.meter_id for m in enterprise.meters if m.role == "safety"} | set(summary["meters"]))
    period = {"from": start.isoformat(), "to": as_of.isoformat()}
    open_critical = [a.to_json() for a in alarms if a.is_open and a.severity is Severity.CRITICAL
                     and a.start.timestamp() < hi]
    evidence = {
        "open_critical_safety_alarms": {
            "formula": "safety alarms of severity critical opened before as_of and not closed by then",
            "source": "InfluxDB safety_alarm (enerdiag alarms)", "period": period, "meters": meters,
            "completeness": None, "inputs": {"alarms": open_critical, "open": summary["open"]},
        },
        "safety_alarms_90d": {
            "formula": "safety alarms active in the 90 days before as_of, by severity (critical, alarm, pre_alarm)",
            "source": "InfluxDB safety_alarm (enerdiag alarms)", "period": period, "meters": meters,
            "completeness": None,
            "inputs": {"by_rule": {rule: {"count": e["count"], "by_severity": e["by_severity"], "hours": e["hours"],
                                          "worst_peak": e["worst_peak"], "unit": e["unit"]}
                                   for rule, e in summary["by_rule"].items()}},
        },
    }
    return {"open_critical_safety_alarms": int(summary["open_critical"]), "safety_alarms_90d": by_severity}, evidence


def _electricity_rows(influx: InfluxV1, measurement: str, enterprise: EnterpriseInfo, first: dt.date,
                      end: dt.date) -> list[tuple[dt.date, float, float]]:
    """(local date, value, completeness) of electricity rows of a rollup measurement in [first, end)."""
    tz = enterprise.timezone
    q = (f'SELECT "value", "completeness" FROM {quote_ident(measurement)} '
         f'WHERE "enterprise" = {quote_literal(enterprise.code)} AND "carrier" = \'electricity\' '
         f"AND time >= {local_midnight_s(first, tz)}s AND time < {local_midnight_s(end, tz)}s")
    zone = ZoneInfo(tz)
    return [
        (dt.datetime.fromtimestamp(int(row["time"]), zone).date(), float(row.get("value") or 0.0),
         float(row.get("completeness") or 0.0))
        for series in influx.query(q)
        for row in series.records()
    ]


def read_months(influx: InfluxV1, enterprise: EnterpriseInfo, first: dt.date, end: dt.date) -> dict[dt.date, Month]:
    """Monthly electricity totals in [first, end) from the analytics `enterprise_monthly` rollup (a month with
    completeness 0 has no kWh: nothing was measured in it)."""
    return {d: Month(d, v if c > 0 else None, c)
            for d, v, c in _electricity_rows(influx, ENTERPRISE_MONTHLY, enterprise, first, end)}


def read_days(influx: InfluxV1, enterprise: EnterpriseInfo, first: dt.date, end: dt.date) -> list[Day]:
    """Daily electricity totals in [first, end) from the analytics `enterprise_daily` rollup."""
    return [Day(d, v, c) for d, v, c in _electricity_rows(influx, ENTERPRISE_DAILY, enterprise, first, end)]


def credit_indicators(influx: InfluxV1, enterprise: EnterpriseInfo, as_of: dt.date,
                      reference: Reference) -> dict[str, Any]:
    """Every credit indicator on `as_of` with its evidence, and `insufficient`: the figures left null because
    their window lacks the data they need (definitions and sufficiency rules in docs/api.md)."""
    m = reference_month(as_of)
    totals = total_meters(enterprise)
    meters = [x for x in totals if x["carrier"] == "electricity"]
    carriers = sorted({x["carrier"] for x in totals} & {"electricity", "output", *FUEL_CARRIERS})
    months = read_months(influx, enterprise, add_months(m, -23), add_months(m, 1))
    days = read_days(influx, enterprise, as_of - dt.timedelta(days=WINDOW_DAYS), as_of)
    result = analyze(influx, [enterprise], add_months(m, -11), add_months(m, 1), reference)[0]
    monthly, monthly_evidence = monthly_indicators(months, as_of, meters)
    daily, daily_evidence, anomalies = daily_indicators(days, as_of, meters)
    period, period_evidence = period_indicators(result, meters, carriers)
    safety, safety_evidence = safety_indicators(influx, enterprise, as_of)
    evidence = {**monthly_evidence, **daily_evidence, **period_evidence, **safety_evidence}
    return {
        "as_of": as_of.isoformat(),
        "reference_month": m.strftime("%Y-%m"),
        **monthly,
        **daily,
        **period,
        **safety,
        "anomalies": anomalies,
        "insufficient": insufficient_of(evidence),
        "evidence": evidence,
        "warnings": list(result.warnings),
    }


ORDER_FIGURES = ("order_verification", "output_t")


def order_verification(influx: InfluxV1, enterprise: EnterpriseInfo, start: dt.date, end: dt.date,
                       expected_output_t: float, reference: Reference) -> dict[str, Any]:
    """Output of [start, end) against `expected_output_t` (see api.orders), from `analyze` results only."""
    period = analyze(influx, [enterprise], start, end, reference)[0]
    first = add_months(start.replace(day=1), -12)
    baseline = monthly_profile(influx, enterprise, first, add_months(start.replace(day=1), -1), reference)
    out = verify_order(period, baseline, expected_output_t)
    out["evidence"]["meters"] = [m for m in total_meters(enterprise) if m["carrier"] in ("output", "electricity")]
    return out
