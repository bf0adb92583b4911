"""Publish the analytics where Grafana can read them: `enterprise_info`, `enterprise_analysis`, `enterprise_tou_daily`,
`activity_index`, `finding`.

Grafana reads InfluxDB only, so the registry facts, the `enerdiag analyze` results (CONTRACTS.md section 6)
and the time-of-use split of the hourly rollups are written back as small measurements (docs/schema.md,
"Dashboard feed"). Every point has a fixed time (the local midnight starting its day or month), so running
the job again overwrites the same points: idempotent. Tags are bounded: enterprise (registry), period
(`day`/`month`, or one of the five TOU periods), county and industry (registry), finding code (CONTRACTS.md
section 6 and the detectors' own).
"""

from __future__ import annotations

import datetime as dt
import time
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field, replace
from typing import Any, Literal, Protocol
from zoneinfo import ZoneInfo

from analytics.activity import GroupActivity, group_activity
from analytics.analyze_job import activity, analyze
from analytics.calendar import local_midnight_s, next_month
from analytics.diagnosis.finding import Finding
from analytics.diagnosis.frames import DiagnosisFacts
from analytics.enterprise import EnterpriseInfo, total_carrier
from analytics.enterprise_info import UNKNOWN, InfoRow
from analytics.enterprise_info import lines as info_lines
from analytics.quota import OVER_QUOTA
from analytics.refs import Reference
from analytics.report.city import FINDING_NAMES
from analytics.report.job import diagnose_enterprises
from analytics.result import AnalysisResult
from analytics.summary import AnalyzeOptions
from core.influx import InfluxV1, line, quote_ident, quote_literal
from core.measurements import ACTIVITY_INDEX, CONSUMPTION_HOURLY, ENTERPRISE_ANALYSIS, ENTERPRISE_TOU_DAILY, FINDING

FINDING_CODES = tuple(FINDING_NAMES)
"""The contract's finding codes: each gets a point per diagnosed enterprise and month (`present` 1 or 0)."""
SEVERITY = {"low": 1, "medium": 2, "high": 3}
"""`severity` field: 0 when the finding is absent."""
ACTIVITY_DAYS = 7
ACTIVITY_BASE_DAYS = 28
"""Operation index of a day: tce/day over the 7 local days ending with it against the 28 days before them."""
CITY = "全市"
TOU_PERIODS = ("critical_peak", "peak", "flat", "valley", "deep_valley")
GRADE_NA = 0
GRADE_OVER = 4
"""`quota_grade`: 1-3 the best grade met, 4 above grade 3 (over quota), 0 not applicable."""

Period = Literal["day", "month"]


class TouReference(Reference, Protocol):
    """The reference data with the Shanxi time-of-use tables (core.reference.ReferenceData)."""

    def tou_period_of(self, local_datetime: dt.datetime, *, two_part_user: bool = True,
                      deep_valley_day: bool = False) -> Any: ...

    def is_deep_valley_day(self, on_date: dt.date) -> Any: ...


BATCH_ENTERPRISES = 200
WRITE_LINES = 5000


@dataclass(slots=True)
class PublishReport:
    """What one run wrote."""

    info_points: int = 0
    analysis_points: int = 0
    activity_points: int = 0
    tou_points: int = 0
    finding_points: int = 0
    seconds: float = 0.0
    skipped_tou_days: list[str] = field(default_factory=list)  # "CODE DATE: reason" (no tariff edition etc.)


# ------------------------------------------------------------------ pure: analysis results → points

def analysis_fields(result: AnalysisResult) -> dict[str, float | int]:
    """The `enterprise_analysis` fields of one section-6 result (fields without a value are left out).

    `excess_pct`: how far above the limit, % of it (ranks products with different units); it, `gap_per_unit_kgce`
    and `gap_tce` are 0 when not over quota (always written, so a rewritten point
    never keeps an old gap: InfluxDB merges the fields of a point written twice).
    """
    quota, co2 = result.quota, result.co2
    fields: dict[str, float | int] = {
        "over_quota": int(quota.status == OVER_QUOTA),
        "quota_grade": GRADE_OVER if quota.status == OVER_QUOTA else (quota.grade or GRADE_NA),
        "gap_per_unit_kgce": float(quota.gap_per_unit or 0.0) if quota.status == OVER_QUOTA else 0.0,
        "gap_tce": float(quota.gap_tce or 0.0) if quota.status == OVER_QUOTA else 0.0,
        "excess_pct": float(100.0 * quota.severity),
    }
    for key, value in (("tce", result.tce), ("output_t", result.output_t), ("co2_t", result.co2_t),
                       ("scope1_t", co2.scope1_t), ("scope2_t", co2.scope2_t)):
        # unknown (no energy data, no output counter, a grid factor that cannot be cited): left out, never 0
        if value is not None:
            fields[key] = float(value)
    if co2.green_share is not None:
        fields["green_share"] = float(co2.green_share)
    intensity = quota.value if quota.value is not None else result.intensity_kgce_per_t
    if intensity is not None:  # the product's process boundary when it has process meters, else the site
        fields["intensity_kgce_per_t"] = float(intensity)
    if quota.limit is not None:
        fields["quota_limit_kgce_per_t"] = float(quota.limit)
    if quota.quota is not None:
        fields["grade1_kgce_per_t"] = float(quota.quota.grade_1.value)
        fields["grade2_kgce_per_t"] = float(quota.quota.grade_2.value)
    fields["completeness"] = result.energy_completeness
    return fields


def analysis_line(result: AnalysisResult, period: Period) -> str:
    """One point at the local midnight starting the analysed period (`from`, in the enterprise's zone)."""
    start = local_midnight_s(result.period_from, result.timezone or "Asia/Shanghai")
    return line(ENTERPRISE_ANALYSIS, {"enterprise": result.enterprise, "period": period},
                analysis_fields(result), start)


def activity_windows(day: dt.date) -> tuple[tuple[dt.date, dt.date], tuple[dt.date, dt.date]]:
    """(current, reference) local-day windows of the operation index of `day` (ends with `day`)."""
    end = day + dt.timedelta(days=1)
    start = end - dt.timedelta(days=ACTIVITY_DAYS)
    return (start, end), (start - dt.timedelta(days=ACTIVITY_BASE_DAYS), start)


def activity_lines(by: str, groups: Iterable[GroupActivity], time_s: int) -> list[str]:
    """`activity_index` points: tags `by` (county | industry | city), `group`; the index is left out when no
    member has enough data (analytics/activity.py: ≥ 90 % completeness in both windows)."""
    out = []
    for g in groups:
        fields: dict[str, float | int] = {"enterprises": g.enterprises, "excluded": g.excluded,
                                          "current_tce_per_day": float(g.current_tce_per_day),
                                          "reference_tce_per_day": float(g.reference_tce_per_day)}
        if g.index is not None:
            fields["activity_index"] = float(round(g.index, 6))
        group = UNKNOWN if g.group == "unknown" else g.group  # as enterprise_info, so $county/$industry match
        out.append(line(ACTIVITY_INDEX, {"by": by, "group": group}, fields, time_s))
    return out


def finding_lines(code: str, timezone: str, month: dt.date, findings: Iterable[Finding]) -> list[str]:
    """`finding` points of one enterprise and local month: tags enterprise, code; time = local month start.

    Every contract code is written (`present` 0 and zero savings when not found), so a re-run after a finding
    resolved overwrites it; a code outside the contract is written when found. Findings sharing a code are summed
    (savings), the highest severity and the first title kept.
    """
    merged: dict[str, dict[str, float | int | str]] = {
        c: {"present": 0, "severity": 0, "savings_kwh": 0.0, "savings_tce": 0.0, "savings_cny": 0.0,
            "savings_co2_t": 0.0, "title_zh": FINDING_NAMES[c][0]} for c in FINDING_CODES}
    seen: set[str] = set()
    for f in findings:
        row = merged.setdefault(f.code, {"present": 0, "severity": 0, "savings_kwh": 0.0, "savings_tce": 0.0,
                                         "savings_cny": 0.0, "savings_co2_t": 0.0, "title_zh": f.title_zh})
        if f.code not in seen:
            row["title_zh"] = f.title_zh
            seen.add(f.code)
        row["present"] = 1
        row["severity"] = max(int(row["severity"]), SEVERITY.get(f.severity, 0))
        for key in ("savings_kwh", "savings_tce", "savings_cny", "savings_co2_t"):
            if key in row:
                row[key] = float(row[key]) + float(getattr(f, key) or 0.0)
        if f.savings_cny is None:  # no price (a missing reference): no CNY field, not a zero
            row.pop("savings_cny", None)
    at = local_midnight_s(month, timezone)
    return [line(FINDING, {"enterprise": code, "code": c}, fields, at) for c, fields in sorted(merged.items())]


# ------------------------------------------------------------------ pure: hourly kWh → TOU periods

def day_periods(reference: TouReference, day: dt.date) -> list[str]:
    """The Shanxi TOU period of each local hour 0..23 of `day` (deep-valley hours on the notice's rest days)."""
    deep = bool(reference.is_deep_valley_day(day).value)
    return [reference.tou_period_of(dt.datetime.combine(day, dt.time(hour)), deep_valley_day=deep).value
            for hour in range(24)]


def tou_split(hourly: Iterable[tuple[int, float]], timezone: str,
              periods_of: Mapping[dt.date, list[str]]) -> dict[dt.date, dict[str, float]]:
    """kWh per local day and TOU period from (hour start epoch s, kWh); every period of the day is present (0 if
    no kWh), so a rewritten day never keeps a stale period. Days missing from `periods_of` are left out."""
    zone = ZoneInfo(timezone)
    out: dict[dt.date, dict[str, float]] = {}
    for hour_s, kwh in hourly:
        local = dt.datetime.fromtimestamp(hour_s, zone)
        table = periods_of.get(local.date())
        if table is None:
            continue
        day = out.setdefault(local.date(), dict.fromkeys(table, 0.0))
        day[table[local.hour]] += kwh
    return out


def tou_lines(code: str, timezone: str, split: Mapping[dt.date, Mapping[str, float]]) -> list[str]:
    """`enterprise_tou_daily` points: tags enterprise, period; field kwh; time = local midnight of the day."""
    return [line(ENTERPRISE_TOU_DAILY, {"enterprise": code, "period": period}, {"kwh": float(round(kwh, 6))},
                 local_midnight_s(day, timezone))
            for day, per in sorted(split.items()) for period, kwh in sorted(per.items())]


# ------------------------------------------------------------------ I/O

def read_hourly_electricity(influx: InfluxV1, enterprises: list[EnterpriseInfo], start_s: int,
                            end_s: int) -> dict[str, list[tuple[int, float]]]:
    """Hourly kWh (`consumption_hourly` energy_kwh) of the meters that make each enterprise's electricity total
    (main meters; sub-meters would double count), summed per hour."""
    out: dict[str, dict[int, float]] = {e.code: {} for e in enterprises}
    by_code = {e.code: e for e in enterprises}
    codes = list(by_code)
    for i in range(0, len(codes), BATCH_ENTERPRISES):
        batch = codes[i:i + BATCH_ENTERPRISES]
        where = " OR ".join(f"\"enterprise\" = {quote_literal(c)}" for c in batch)
        q = (f"SELECT \"value\" FROM {quote_ident(CONSUMPTION_HOURLY)} WHERE ({where}) AND \"quantity\" = 'energy_kwh' "
             f"AND time >= {start_s}s AND time < {end_s}s GROUP BY \"enterprise\", \"meter\"")
        for series in influx.query(q):
            code, meter = series.tags.get("enterprise", ""), series.tags.get("meter", "")
            if code not in by_code or total_carrier(by_code[code], meter, "energy_kwh") != "electricity":
                continue
            hours = out[code]
            for row in series.records():
                if row.get("value") is not None:
                    hours[int(row["time"])] = hours.get(int(row["time"]), 0.0) + float(row["value"])
    return {code: sorted(hours.items()) for code, hours in out.items()}


def _write(influx: InfluxV1, lines: list[str]) -> None:
    for i in range(0, len(lines), WRITE_LINES):
        influx.write(lines[i:i + WRITE_LINES], precision="s")


def publish(influx: InfluxV1, enterprises: list[EnterpriseInfo], reference: TouReference, days: Iterable[dt.date], *,
            names: Mapping[str, str] | None = None, options: AnalyzeOptions | None = None,
            today: dt.date | None = None, with_activity: bool = True,
            facts: Mapping[int, Mapping[str, DiagnosisFacts]] | None = None) -> PublishReport:
    """Write the dashboard feed for the local `days` (and the calendar months containing them).

    Per day: `enterprise_info`, `enterprise_analysis` (period `day`), `enterprise_tou_daily`; per month:
    `enterprise_analysis` (period `month`, [month start, next month): month to date until it ends), and the
    operation index `activity_index` of each day before `today` (default: today in Asia/Shanghai; a day still
    running would read as a slowdown; `with_activity=False` when `enterprises` is not the whole registry, whose
    city and group indices it would overwrite). Call it after the rollups (it reads `enterprise_daily`,
    `enterprise_monthly`, `product_daily`, `consumption_hourly`). Per month also `finding`: the diagnosis
    (analytics.report.job.diagnose_enterprises, peer norms from `enterprises`) of the month to date, with the
    registry facts `facts[year]` (analytics.report.job.all_registry_facts; defaults when absent).
    """
    started = time.monotonic()
    report = PublishReport()
    day_list = sorted(set(days))
    if not enterprises or not day_list:
        return report
    names = names or {}
    info = info_lines([InfoRow(e.code, e.county, e.industry, names.get(e.code), e.product, e.timezone)
                       for e in enterprises], day_list)
    _write(influx, info)
    report.info_points = len(info)
    analysis: list[str] = []
    for day in day_list:
        for result in analyze(influx, enterprises, day, day + dt.timedelta(days=1), reference, options):
            analysis.append(analysis_line(result, "day"))
    for month in sorted({d.replace(day=1) for d in day_list}):
        for result in analyze(influx, enterprises, month, next_month(month), reference, options):
            analysis.append(analysis_line(result, "month"))
    _write(influx, analysis)
    report.analysis_points = len(analysis)
    today = today or dt.datetime.now(ZoneInfo("Asia/Shanghai")).date()
    if with_activity:
        report.activity_points = _publish_activity(influx, enterprises, reference,
                                                   [d for d in day_list if d < today])
    report.tou_points = _publish_tou(influx, enterprises, reference, day_list, report)
    report.finding_points = _publish_findings(influx, enterprises, reference, day_list, facts or {})
    report.seconds = time.monotonic() - started
    return report


def _publish_activity(influx: InfluxV1, enterprises: list[EnterpriseInfo], reference: TouReference,
                      day_list: list[dt.date]) -> int:
    """The city, county and industry operation index of each day (time: the day's local midnight in Asia/Shanghai,
    the city's zone; the windows are local days of each enterprise)."""
    out: list[str] = []
    for day in day_list:
        current, base = activity_windows(day)
        at = local_midnight_s(day, "Asia/Shanghai")
        groups, rows = activity(influx, enterprises, current, base, reference, "county")
        out.extend(activity_lines("county", groups, at))
        industry = {e.code: e.industry or "unknown" for e in enterprises}  # as analytics.analyze_job.activity
        out.extend(activity_lines("industry", group_activity(replace(r, group=industry[r.code]) for r in rows), at))
        out.extend(activity_lines("city", group_activity(replace(r, group=CITY) for r in rows), at))
    _write(influx, out)
    return len(out)


def _publish_findings(influx: InfluxV1, enterprises: list[EnterpriseInfo], reference: TouReference,
                      day_list: list[dt.date], facts: Mapping[int, Mapping[str, DiagnosisFacts]]) -> int:
    """The `finding` points of each month containing a published day, for the enterprises with hourly data in it."""
    zone = {e.code: e.timezone for e in enterprises}
    out: list[str] = []
    for month in sorted({d.replace(day=1) for d in day_list}):
        found = diagnose_enterprises(influx, enterprises, dict(facts.get(month.year, {})), month, next_month(month),
                                     reference)
        for code, findings in sorted(found.items()):
            out.extend(finding_lines(code, zone[code], month, findings))
    _write(influx, out)
    return len(out)


def _publish_tou(influx: InfluxV1, enterprises: list[EnterpriseInfo], reference: TouReference,
                 day_list: list[dt.date], report: PublishReport) -> int:
    periods_of: dict[dt.date, list[str]] = {}
    for day in day_list:
        try:
            periods_of[day] = day_periods(reference, day)
        except LookupError as exc:  # no tariff edition or holiday calendar for that day
            report.skipped_tou_days.append(f"{day}: {exc}")
    by_tz: dict[str, list[EnterpriseInfo]] = {}
    for e in enterprises:
        by_tz.setdefault(e.timezone, []).append(e)
    written = 0
    for tz, group in by_tz.items():
        start = local_midnight_s(day_list[0], tz)
        end = local_midnight_s(day_list[-1] + dt.timedelta(days=1), tz)
        hourly = read_hourly_electricity(influx, group, start, end)
        out: list[str] = []
        for e in group:
            out.extend(tou_lines(e.code, tz, tou_split(hourly[e.code], tz, periods_of)))
        _write(influx, out)
        written += len(out)
    return written
