"""Everything a diagnosis report shows, assembled from one enterprise's frames (pure: no I/O, no rendering).

`build_report` runs the summary (analytics-I), the findings, the baseline and the charts and returns a plain dict
the Jinja2 template renders. Texts come in Chinese and English; `lang` picks which comes first (or alone).
"""

from __future__ import annotations

import base64
import datetime as dt
from collections.abc import Sequence
from dataclasses import dataclass, field, replace
from typing import Any

import numpy as np
import pandas as pd

from analytics.billing import ENTERPRISE, ElectricityTariff
from analytics.calendar import local_midnight_s
from analytics.diagnosis.baseline import Baseline, cusum, savings
from analytics.diagnosis.bill import UNKNOWN, kwh_by_period, own_tariff, tou_hours
from analytics.diagnosis.diagnose import PeerNorms, diagnose
from analytics.diagnosis.finding import Finding, Prices
from analytics.diagnosis.frames import PlantFrames
from analytics.diagnosis.peers import PeerRank
from analytics.diagnosis.power import power_factor
from analytics.diagnosis.production import daily_energy
from analytics.diagnosis.weather_baseline import (
    WeatherUse,
    degree_day_drivers,
    fit_weather_baseline,
    reporting_days_without_weather,
)
from analytics.refs import Reference, cited_dict
from analytics.report import charts
from analytics.report.safety import safety_section
from analytics.report.sufficiency import (
    FINDING_MIN_COMPLETENESS,
    PARTIAL,
    enterprise_coverage,
    meter_coverage,
    split_findings,
)
from analytics.safety.alarms import Alarm
from analytics.summary import enterprise_result
from core.domain import MeterRole

LANGS = ("zh", "en")
MONTHLY_TREND_AFTER_DAYS = 62
"""Periods longer than two months show the energy/output trend per month instead of per day."""
TOU_LABELS = {"critical_peak": ("尖峰", "critical peak"), "peak": ("高峰", "peak"), "flat": ("平段", "flat"),
              "valley": ("低谷", "valley"), "deep_valley": ("深谷", "deep valley")}
RETROFITS: tuple[tuple[str, str], ...] = (
    ("高效电机与变频调速：风机、水泵、空压机按需调速，典型节电 20-40 %", "High-efficiency motors and variable-speed "
     "drives on fans, pumps and compressors: typically 20-40 % less electricity"),
    ("压缩空气系统：查漏、降压、余热回收、群控", "Compressed air: fix leaks, lower pressure, heat recovery, "
     "sequencing control"),
    ("余热余压利用：窑炉、锅炉烟气余热回收发电或供热", "Waste heat: recover kiln/boiler flue-gas heat for power "
     "or process heat"),
    ("照明：LED 替换与分区感应控制", "Lighting: LED retrofit with zoned occupancy control"),
    ("屋顶分布式光伏与绿电交易，提高绿电比例", "Rooftop PV and green-power purchase to raise the green share"),
)
"""Low-carbon retrofit catalogue listed in every report (generic; the findings say which apply)."""


@dataclass(frozen=True, slots=True)
class ReportOptions:
    """Choices the report states: language, prices, baseline period."""

    lang: str = "zh"
    prices: Prices = field(default_factory=Prices)
    baseline_days: Sequence[dt.date] | None = None  # days the baseline is fitted on (default: first half)


def t(zh: str, en: str, lang: str) -> str:
    """Chinese first with English second, or English alone."""
    return en if lang == "en" else f"{zh} {en}"


def _data_uri(png: bytes) -> str:
    return "data:image/png;base64," + base64.b64encode(png).decode("ascii")


def tou_kwh(frames: PlantFrames, reference: Reference, tariff: ElectricityTariff | None = None,
            ) -> tuple[dict[str, float] | None, tuple[str, ...]]:
    """Main-meter kWh per Shanxi TOU period under the tariff's edition (the one in force each day by default), and
    the warnings naming a missing edition; None when no day of the period has one."""
    hours = tou_hours(frames, tariff or ReportOptions().prices.tariff(), reference)
    if (hours.periods == UNKNOWN).all():
        return None, hours.warnings
    return kwh_by_period(frames, hours), hours.warnings


def completeness(frames: PlantFrames) -> dict[str, float]:
    """Share of measured hours per counter over the period (0..1)."""
    h = frames.hourly
    if h.empty or "completeness" not in h:
        return {}
    n = len(frames.hour_grid)
    return {f"{m}/{q}": round(float(g["completeness"].sum()) / n, 4) for (m, q), g in h.groupby(["meter", "quantity"])}


def baseline_for(frames: PlantFrames, reference: Reference, baseline_days: Sequence[dt.date] | None,
                 ) -> tuple[Baseline | None, pd.DataFrame | None, Any, WeatherUse | None]:
    """Daily tce on output (and the county's degree-days, at their searched balance points, when they help), fitted
    on the baseline days, CUSUM over the rest, and what the outdoor temperature did (None when no daily data)."""
    days = daily_energy(frames, reference)
    if days.empty:
        return None, None, None, None
    data = days.rename(columns={"tce": "energy"})
    if frames.outdoor_c is not None:
        data = data.join(degree_day_drivers(data.index, frames.outdoor_c)[["hdd", "cdd"]])
    if baseline_days is None:
        cut = len(data) // 2
        base_idx = list(data.index[:cut])
    else:
        wanted = set(baseline_days)
        base_idx = [d for d in data.index if d in wanted]
    base = data.loc[base_idx]
    model, weather = fit_weather_baseline(base, "daily", len(base_idx) or 1, frames.outdoor_c,
                                          frames.enterprise.county)
    if weather.bases and frames.outdoor_c is not None:  # predict with the degree-days at the chosen balance points
        data = data.drop(columns=["hdd", "cdd"]).join(degree_day_drivers(
            data.index, frames.outdoor_c, **{f"{k}_base_c": v for k, v in weather.bases.items()})[["hdd", "cdd"]])
    unpredicted = reporting_days_without_weather(data.index, frames.outdoor_c) if weather.degree_days_used else []
    if unpredicted:
        weather = replace(weather, note=f"{weather.note}; {len(unpredicted)} day(s) without temperature left out "
                                        "of the CUSUM")
    rest = data.drop(index=base_idx)
    table = cusum(model, data)
    saved = savings(model, rest) if len(rest) and model.accepted else None
    return model, table, saved, weather


def build_report(frames: PlantFrames, reference: Reference, options: ReportOptions | None = None, *,
                 findings: list[Finding] | None = None, norms: PeerNorms | None = None,
                 peer: PeerRank | None = None, safety_alarms: Sequence[Alarm] = (),
                 now_s: int | None = None) -> dict[str, Any]:
    """The template context of one enterprise's diagnosis report (`safety_alarms`: from `safety_alarm`, read
    up to the period's end; `now_s`: coverage counts only the hours before it)."""
    opt = options or ReportOptions()
    lang = opt.lang if opt.lang in LANGS else "zh"
    diagnosed = findings if findings is not None else diagnose(frames, reference, opt.prices, norms)
    meters = meter_coverage(frames, now_s)
    found, withheld = split_findings(diagnosed, meters)
    totals = frames.period_totals()
    compl = completeness(frames)
    summary = enterprise_result(frames.enterprise, frames.first_day, frames.end_day, totals,
                                {k: v for k, v in compl.items()}, reference)
    quota = summary.quota
    tab = frames.table
    kwh, kvarh = float(np.nansum(tab["kwh"])), float(np.nansum(tab["kvarh"]))
    pf = power_factor(kwh, kvarh) if not tab["kvarh"].isna().all() else None
    tariff = own_tariff(frames) or opt.prices.tariff()
    tou, tou_warnings = tou_kwh(frames, reference, tariff)
    model, ctable, saved, weather = baseline_for(frames, reference, opt.baseline_days)
    days = daily_energy(frames, reference)
    monthly = len(days) > MONTHLY_TREND_AFTER_DAYS
    figures: dict[str, str] = {}
    if not tab["kwh"].isna().all():
        figures["profile"] = _data_uri(charts.load_profile(tab, t("工作日", "working days", lang),
                                                           t("休息日", "rest days", lang),
                                                           t("典型日负荷曲线", "Typical daily load", lang)))
        figures["heatmap"] = _data_uri(charts.heat_map(tab, t("逐日逐时用电热图", "Day × hour electricity", lang)))
    if not days.empty:
        trend = days.groupby([d.replace(day=1) for d in days.index]).sum() if monthly else days
        title = t("逐月能耗与产量", "Monthly energy and output", lang) if monthly else t(
            "逐日能耗与产量", "Daily energy and output", lang)
        figures["trend"] = _data_uri(charts.daily_trend(trend, title, t("综合能耗", "energy", lang),
                                                        t("产量", "output", lang)))
    if tou:
        labels = {k: t(*v, lang) for k, v in TOU_LABELS.items()}
        figures["tou"] = _data_uri(charts.tou_split(tou, labels, t("分时电量", "Electricity by TOU period", lang)))
    if ctable is not None and len(ctable):
        figures["cusum"] = _data_uri(charts.baseline_cusum(
            ctable, t("能耗基线与累积偏差 (CUSUM)", "Baseline and CUSUM", lang),
            (t("实际", "actual", lang), t("基线预期", "expected", lang), t("累积偏差 tce", "CUSUM tce", lang))))
    total: dict[str, Any] = {k: round(sum(getattr(f, k) or 0.0 for f in found), 3)
                             for k in ("savings_kwh", "savings_tce", "savings_cny", "savings_co2_t")}
    total["cny_unpriced"] = [f.code for f in found if f.savings_cny is None]  # left out of the CNY total
    coal = reference.coal_coefficient("electricity")
    grid = summary.co2.grid_factor or cited_dict(reference.grid_emission_factor(frames.first_day.year))
    references = [
        {"what": t("电力折标系数", "electricity standard-coal coefficient", lang),
         "value": f"{coal.value} {coal.unit}", "source": coal.source, "confidence": coal.confidence},
        {"what": t("电网排放因子", "grid emission factor", lang),
         "value": f"{grid['value']} {grid['unit']}" + (f" ({grid['region']} {grid['year']})" if "year" in grid else ""),
         "source": grid["source"], "confidence": grid["confidence"]},
        {"what": t("电价（企业电费单）", "tariff (the enterprise's bill)", lang) if tariff.origin == ENTERPRISE
         else t("电价（假设）", "tariff (assumed)", lang),
         "value": tariff.describe(), "source": tariff.source, "confidence": tariff.origin},
    ]
    if quota.quota is not None:
        references.append({"what": t("能耗限额标准", "quota standard", lang), "value": str(quota.standard),
                           "source": quota.quota.source, "confidence": quota.quota.confidence})
    seen = {r["source"] for r in references}
    for f in found:
        for s in f.sources:
            if s not in seen and not s.startswith(("electricity ", "grid factor", "prices")):
                seen.add(s)
                references.append({"what": f.code, "value": "", "source": s, "confidence": ""})
    ent = frames.enterprise
    safety = safety_section(
        safety_alarms, dt.datetime.fromtimestamp(local_midnight_s(frames.first_day, ent.timezone), dt.UTC),
        dt.datetime.fromtimestamp(local_midnight_s(frames.end_day, ent.timezone), dt.UTC),
        [m.meter_id for m in ent.meters if m.role == MeterRole.SAFETY.value], ent.timezone, lang)
    return {
        "lang": lang,
        "t": lambda zh, en: t(zh, en, lang),
        "enterprise": frames.enterprise.code,
        "name": frames.facts.name or frames.enterprise.code,
        "industry": frames.enterprise.industry,
        "period": (frames.first_day.isoformat(), frames.end_day.isoformat()),
        "generated": dt.datetime.now(dt.UTC).strftime("%Y-%m-%d %H:%M UTC"),
        "summary": summary.to_json(),
        "power_factor": None if pf is None else round(pf, 3),
        "pf_standard": tariff.pf_standard,
        "tou": None if tou is None else {k: round(v, 1) for k, v in tou.items()},
        "tou_warnings": list(tou_warnings),
        "tariff": tariff.label(),
        "findings": [{**f.as_dict(), "title_local": t(f.title_zh, f.title_en, lang),
                      "recommendation_local": f.recommendation_en if lang == "en" else f.recommendation_zh,
                      "recommendation_second": None if lang == "en" else f.recommendation_en} for f in found],
        "total": total,
        "withheld_findings": [{**w, "title_local": t(w["title_zh"], w["title_en"], lang)} for w in withheld],
        "coverage": {"enterprise": enterprise_coverage(meters), "meters": meters,
                     "partial": any(m["completeness"] < PARTIAL for m in meters), "partial_below": PARTIAL,
                     "finding_min": FINDING_MIN_COMPLETENESS},
        "baseline": None if model is None else {**model.as_dict(), "weather": weather.as_dict() if weather else None},
        "savings": None if saved is None else {"expected": round(saved.expected, 2), "actual": round(saved.actual, 2),
                                               "savings": round(saved.savings, 2),
                                               "fraction": round(saved.fraction, 4),
                                               "uncertainty": round(saved.uncertainty, 2), "fsu": round(saved.fsu, 3),
                                               "fsu_68": round(saved.fsu_68, 3),
                                               "meets_guideline_14": saved.meets_guideline_14,
                                               "n_effective": round(saved.n_effective, 1),
                                               "notes": list(saved.notes),
                                               "confidence": saved.confidence},
        "peer": None if peer is None else {"percentile": round(peer.percentile, 1), "peers": peer.peers,
                                           "median": round(peer.median, 2), "value": round(peer.value, 2)},
        "completeness": compl,
        "low_completeness": {k: v for k, v in compl.items() if v < 0.9},
        "figures": figures,
        "trend_interval": "monthly" if monthly else "daily",
        "references": references,
        "retrofits": [t(zh, en, lang) if lang != "en" else en for zh, en in RETROFITS],
        "prices": opt.prices.as_dict(),
        "safety": safety,
    }
