"""The industry bureau's city summary: over-quota enterprises, diagnosis coverage, savings potential (pure)."""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

from analytics.diagnosis.finding import Finding
from analytics.quota import OVER_QUOTA
from analytics.report.context import t
from analytics.report.safety import ADVICE
from analytics.result import AnalysisResult, rounded
from analytics.safety.rules import RULES

FINDING_NAMES: dict[str, tuple[str, str]] = {
    "over_quota": ("超限额", "over quota"), "base_load": ("基础负荷偏高", "base load"),
    "low_power_factor": ("功率因数低", "low power factor"), "peak_shift": ("峰段可转移负荷", "peak shift"),
    "demand_over_capacity": ("需量超容量", "demand over capacity"), "intensity_step": ("单耗阶跃", "intensity step"),
    "shutdown": ("停产", "shutdown"), "cold_store_failure": ("冷库失冷", "cold-store failure"),
    "data_quality": ("数据质量", "data quality"), "carbon_budget": ("碳预算超支", "carbon budget"),
}


@dataclass(frozen=True, slots=True)
class CityRow:
    """One enterprise's diagnosis result as the city summary needs it."""

    code: str
    name: str
    industry: str | None
    county: str | None
    summary: AnalysisResult | None  # the section-6 result; None when the enterprise has no data in the period
    findings: Sequence[Finding] = field(default_factory=tuple)
    safety_meters: int = 0  # meters with role `safety` in the registry
    open_critical: dict[str, Any] | None = None  # `analytics.report.safety.open_critical_line`, None when none


def build_city_report(rows: Sequence[CityRow], first_day: dt.date, end_day: dt.date, lang: str = "zh",
                      city: str = "大同市") -> dict[str, Any]:
    """Template context of the city summary report."""
    diagnosed = [r for r in rows if r.summary is not None]
    over = sorted((r for r in diagnosed if r.summary and r.summary.quota.status == OVER_QUOTA),
                  key=lambda r: -r.summary.quota.severity)  # type: ignore[union-attr]
    by_code: dict[str, dict[str, float]] = {}
    for r in diagnosed:
        for f in r.findings:
            acc = by_code.setdefault(f.code, {"enterprises": 0, "savings_kwh": 0.0, "savings_tce": 0.0,
                                              "savings_cny": 0.0, "savings_co2_t": 0.0})
            acc["enterprises"] += 1
            for k in ("savings_kwh", "savings_tce", "savings_cny", "savings_co2_t"):
                acc[k] += getattr(f, k) or 0.0  # a finding without a price (missing reference) adds no CNY
    totals = {k: round(sum(v[k] for v in by_code.values()), 3)
              for k in ("savings_kwh", "savings_tce", "savings_cny", "savings_co2_t")}
    ranked = sorted(diagnosed, key=lambda r: -sum(f.savings_tce for f in r.findings))
    return {
        "lang": lang,
        "t": lambda zh, en: t(zh, en, lang),
        "city": city,
        "period": (first_day.isoformat(), end_day.isoformat()),
        "generated": dt.datetime.now(dt.UTC).strftime("%Y-%m-%d %H:%M UTC"),
        "registered": len(rows),
        "diagnosed": len(diagnosed),
        "coverage": len(diagnosed) / len(rows) if rows else 0.0,
        "with_findings": sum(1 for r in diagnosed if r.findings),
        "total_tce": round(sum(r.summary.tce or 0.0 for r in diagnosed if r.summary), 3),
        "over_quota": [{"code": r.code, "name": r.name, "county": r.county, "standard": r.summary.quota.standard,
                        "value": rounded(r.summary.quota.value), "limit": r.summary.quota.limit,
                        "gap_tce": rounded(r.summary.quota.gap_tce)} for r in over if r.summary],
        "by_code": [{"code": c, "name": t(*FINDING_NAMES.get(c, (c, c)), lang),
                     **{k: round(v, 3) for k, v in d.items()}}
                    for c, d in sorted(by_code.items(), key=lambda kv: -kv[1]["savings_tce"])],
        "totals": totals,
        "top": [{"code": r.code, "name": r.name, "industry": r.industry, "county": r.county,
                 "findings": ", ".join(sorted({f.code for f in r.findings})),
                 "savings_tce": round(sum(f.savings_tce for f in r.findings), 3),
                 "savings_cny": round(sum(f.savings_cny or 0.0 for f in r.findings), 0)} for r in ranked[:20]],
        "missing": [r.code for r in rows if r.summary is None],
        "safety_monitored": sum(1 for r in rows if r.safety_meters),
        "safety_open_critical": safety_lines(rows, lang),
        "tariffs": tariff_origins(diagnosed),
    }


def tariff_origins(rows: Sequence[CityRow]) -> dict[str, int]:
    """How many diagnosed enterprises' CNY came from their own tariff (registry, from the bill) or an assumed one."""
    out = {"enterprise": 0, "assumed": 0}
    for r in rows:
        origin = next((f.cny_tariff["origin"] for f in r.findings if f.cny_tariff), None)
        if origin in out:
            out[origin] += 1
    return out


def safety_lines(rows: Sequence[CityRow], lang: str = "zh") -> list[dict[str, Any]]:
    """One line per enterprise with open critical safety alarms at the period end: most alarms first, then
    the longest open."""
    hit = sorted((r for r in rows if r.open_critical), key=lambda r: (-r.open_critical["count"],  # type: ignore[index]
                                                                      r.open_critical["since"], r.code))  # type: ignore[index]
    return [{"code": r.code, "name": r.name, "county": r.county, "count": r.open_critical["count"],
             "rules": ", ".join(t(RULES[k].title_zh, ADVICE[k].title_en, lang) for k in r.open_critical["rules"]),
             "meters": ", ".join(r.open_critical["meters"]),
             "since": r.open_critical["since"].strftime("%Y-%m-%d %H:%M UTC")}
            for r in hit if r.open_critical]
