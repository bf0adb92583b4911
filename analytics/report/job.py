"""I/O edge of the diagnosis report: read one enterprise's registry facts and rollups, build, render, write.

Reads `consumption_hourly` (all counters), 15-minute mean `power_kw` of the main meters (demand), the
temperature gauges of meters with a band from the raw layer, the county's outdoor temperature (`weather`, for the
baseline's degree-days) and the electrical-safety alarms (`safety_alarm`);
the rest is the pure code of `analytics.diagnosis` and `analytics.report.context`.
"""

from __future__ import annotations

import datetime as dt
import time
from pathlib import Path
from typing import Any

import pandas as pd
from sqlalchemy import select
from sqlalchemy.orm import Session

from analytics.calendar import local_midnight_s
from analytics.diagnosis.diagnose import city_norms, diagnose
from analytics.diagnosis.finding import Finding, Prices
from analytics.diagnosis.frames import DiagnosisFacts, PlantFrames, Shift
from analytics.diagnosis.peers import PeerRank, rank_peers
from analytics.enterprise import EnterpriseInfo
from analytics.refs import Reference
from analytics.report.city import CityRow, build_city_report
from analytics.report.context import ReportOptions, build_report
from analytics.report.render import render_html, render_pdf
from analytics.report.safety import LOOKBACK_DAYS, open_critical_line
from analytics.report.sufficiency import meter_coverage, split_findings
from analytics.safety.alarms import Alarm
from analytics.safety.summary import load_alarms
from analytics.weather_store import read_weather
from core.influx import InfluxV1, quote_ident, quote_literal
from core.measurements import CONSUMPTION_HOURLY
from core.registry.fileshifts import parse_shifts
from core.registry.models import Enterprise

DEMAND_WINDOW = "15m"
"""Demand is the mean power over 15-minute windows, as two-part tariff demand meters measure it."""


def _facts(row: Enterprise, year: int) -> DiagnosisFacts:
    bands = {m.meter_id: (float(m.temp_min_c), float(m.temp_max_c)) for m in row.meters
             if m.temp_min_c is not None and m.temp_max_c is not None}
    budget = next((float(b.budget_t) for b in getattr(row, "carbon_budgets", []) if b.year == year), None)
    shifts = tuple(Shift(start, end, days) for start, end, days in parse_shifts(getattr(row, "shifts", None)))
    return DiagnosisFacts(contracted_kva=row.contracted_capacity_kva, temp_bands=bands, annual_co2_budget_t=budget,
                          name=row.name, tariff=row.tariff, shifts=shifts)


def registry_facts(session: Session, code: str, year: int) -> DiagnosisFacts:
    """Contracted capacity, temperature bands, name and the year's CO2 budget of one enterprise."""
    row = session.scalars(select(Enterprise).where(Enterprise.code == code)).first()
    return DiagnosisFacts() if row is None else _facts(row, year)


def all_registry_facts(session: Session, year: int) -> dict[str, DiagnosisFacts]:
    """`registry_facts` of every enterprise, by credit code."""
    return {row.code: _facts(row, year) for row in session.scalars(select(Enterprise))}


def _where(code: str, lo: int, hi: int) -> str:
    return f"WHERE \"enterprise\" = {quote_literal(code)} AND time >= {lo}s AND time < {hi}s"


def read_hourly(influx: InfluxV1, code: str, lo: int, hi: int) -> pd.DataFrame:
    """`consumption_hourly` rows of one enterprise in [lo, hi) (epoch s)."""
    q = (f"SELECT \"value\", \"estimated\", \"completeness\", \"anomalies\" FROM {quote_ident(CONSUMPTION_HOURLY)} "
         f"{_where(code, lo, hi)} GROUP BY \"meter\", \"quantity\"")
    rows = [{"meter": r["meter"], "quantity": r["quantity"], "hour_s": int(r["time"]),
             "value": float(r.get("value") or 0.0), "estimated": float(r.get("estimated") or 0.0),
             "completeness": float(r.get("completeness") or 0.0),
             "anomalies": int(r.get("anomalies") or 0)}
            for s in influx.query(q) for r in s.records()]
    return pd.DataFrame(rows, columns=["meter", "quantity", "hour_s", "value", "estimated", "completeness",
                                       "anomalies"])


def read_demand(influx: InfluxV1, code: str, mains: list[str], lo: int, hi: int) -> pd.Series | None:
    """15-min mean `power_kw` summed over the main meters (None when they report no power)."""
    if not mains:
        return None
    meters = " OR ".join(f"\"meter\" = {quote_literal(m)}" for m in mains)
    q = (f"SELECT mean(\"power_kw\") AS kw FROM {influx.raw_source} {_where(code, lo, hi)} AND ({meters}) "
         f"GROUP BY time({DEMAND_WINDOW}), \"meter\" fill(none)")
    parts = [pd.Series({int(r["time"]): float(r["kw"]) for r in s.records() if r.get("kw") is not None})
             for s in influx.query(q)]
    parts = [p for p in parts if len(p)]
    if not parts:
        return None
    return pd.concat(parts, axis=1).sum(axis=1, min_count=1).dropna().sort_index()


def read_temperatures(influx: InfluxV1, code: str, meters: list[str], lo: int, hi: int) -> pd.DataFrame | None:
    """Raw `temp_c` readings of the given meters."""
    if not meters:
        return None
    cond = " OR ".join(f"\"meter\" = {quote_literal(m)}" for m in meters)
    q = f"SELECT \"temp_c\" FROM {influx.raw_source} {_where(code, lo, hi)} AND ({cond}) GROUP BY \"meter\""
    rows = [{"meter": s.tags.get("meter"), "time_s": int(r["time"]), "value": float(r["temp_c"])}
            for s in influx.query(q) for r in s.records() if r.get("temp_c") is not None]
    return pd.DataFrame(rows, columns=["meter", "time_s", "value"]) if rows else None


def read_frames(influx: InfluxV1, enterprise: EnterpriseInfo, facts: DiagnosisFacts, first_day: dt.date,
                end_day: dt.date, *, weather: bool = True) -> PlantFrames:
    """One enterprise's diagnosis inputs for the local days [first_day, end_day); with `weather`, its county's
    daily outdoor temperature (`weather` measurement) for the report's baseline."""
    lo, hi = local_midnight_s(first_day, enterprise.timezone), local_midnight_s(end_day, enterprise.timezone)
    hourly = read_hourly(influx, enterprise.code, lo, hi)
    frames = PlantFrames(enterprise, first_day, end_day, hourly, facts)
    frames.demand_kw = read_demand(influx, enterprise.code, frames.main_electricity_meters(), lo, hi)
    frames.temperatures = read_temperatures(influx, enterprise.code, sorted(facts.temp_bands), lo, hi)
    if weather and enterprise.county:
        frames.outdoor_c = read_weather(influx, [enterprise.county], first_day, end_day).get(enterprise.county)
    return frames


def read_safety_alarms(influx: InfluxV1, enterprise: EnterpriseInfo, first_day: dt.date,
                       end_day: dt.date) -> list[Alarm]:
    """Safety alarms from `safety_alarm` points before the period's end (a later close does not change the
    report), looking back `LOOKBACK_DAYS` before the period for alarms opened earlier and still open."""
    lo = local_midnight_s(first_day - dt.timedelta(days=LOOKBACK_DAYS), enterprise.timezone)
    return load_alarms(influx, enterprise.code, lo, local_midnight_s(end_day, enterprise.timezone))


def safety_meter_count(enterprise: EnterpriseInfo) -> int:
    """Meters with role `safety` in the registry."""
    return sum(1 for m in enterprise.meters if m.role == "safety")


def peer_rank(influx: InfluxV1, enterprise: EnterpriseInfo, peers: list[EnterpriseInfo], first_day: dt.date,
              end_day: dt.date, reference: Reference) -> PeerRank | None:
    """The enterprise's intensity percentile among the registry's enterprises of its industry (from rollups)."""
    from analytics.analyze_job import analyze

    same = [p for p in peers if p.industry == enterprise.industry]
    if len(same) < 2:
        return None
    results = analyze(influx, same, first_day, end_day, reference)
    intensity = {r.enterprise: r.intensity_kgce_per_t for r in results}
    return rank_peers(intensity, {p.code: p.industry for p in same}).get(enterprise.code)


def write_report(frames: PlantFrames, reference: Reference, out: Path, fmt: str, lang: str = "zh",
                 prices: Prices | None = None, peer: PeerRank | None = None,
                 safety_alarms: list[Alarm] | None = None) -> int:
    """Build and write the report; returns the number of findings."""
    options = ReportOptions(lang=lang, prices=prices or Prices())
    findings = diagnose(frames, reference, options.prices)
    html = render_html(build_report(frames, reference, options, findings=findings, peer=peer,
                                    safety_alarms=safety_alarms or [], now_s=int(time.time())))
    if fmt == "pdf":
        out.write_bytes(render_pdf(html))
    else:
        out.write_text(html, encoding="utf-8")
    return len(findings)


def city_rows(influx: InfluxV1, enterprises: list[EnterpriseInfo], facts: dict[str, DiagnosisFacts],
              first_day: dt.date, end_day: dt.date, reference: Reference,
              prices: Prices | None = None) -> list[CityRow]:
    """Every enterprise diagnosed with the city's peer norms, plus its `enerdiag analyze` object."""
    from analytics.analyze_job import analyze

    found = diagnose_enterprises(influx, enterprises, facts, first_day, end_day, reference, prices)
    summaries = {r.enterprise: r for r in analyze(influx, [e for e in enterprises if e.code in found],
                                                  first_day, end_day, reference)}
    rows = []
    for e in enterprises:
        end = local_midnight_s(end_day, e.timezone)
        critical = open_critical_line(read_safety_alarms(influx, e, first_day, end_day),
                                      dt.datetime.fromtimestamp(end, dt.UTC))
        rows.append(CityRow(e.code, facts.get(e.code, DiagnosisFacts()).name or e.code, e.industry, e.county,
                            summaries.get(e.code), found.get(e.code, []), safety_meter_count(e), critical))
    return rows


def diagnose_enterprises(influx: InfluxV1, enterprises: list[EnterpriseInfo], facts: dict[str, DiagnosisFacts],
                         first_day: dt.date, end_day: dt.date, reference: Reference,
                         prices: Prices | None = None,
                         withheld: dict[str, list[dict[str, Any]]] | None = None) -> dict[str, list[Finding]]:
    """Findings of every enterprise that has hourly rollups in the period (peer norms from these enterprises).

    This is what `enerdiag analyze --json` puts in each object's `findings` (`[f.as_dict() for f in ...]`) and
    the dashboards' `finding` feed. Findings resting on too little data (`analytics.report.sufficiency`) are left
    out; with `withheld`, they are collected there per enterprise (with their coverage and the rule).
    """
    frames: dict[str, PlantFrames] = {}
    for e in enterprises:
        f = read_frames(influx, e, facts.get(e.code, DiagnosisFacts()), first_day, end_day, weather=False)
        if not f.hourly.empty:
            frames[e.code] = f
    norms = city_norms(list(frames.values()))
    out = {}
    for code, f in frames.items():
        out[code], held = split_findings(diagnose(f, reference, prices, norms), meter_coverage(f, int(time.time())))
        if withheld is not None and held:
            withheld[code] = held
    return out


def write_city_report(rows: list[CityRow], first_day: dt.date, end_day: dt.date, out: Path, fmt: str,
                      lang: str = "zh") -> int:
    """Build and write the city summary; returns the number of enterprises diagnosed."""
    context = build_city_report(rows, first_day, end_day, lang)
    html = render_html(context, "city.html.j2")
    if fmt == "pdf":
        out.write_bytes(render_pdf(html))
    else:
        out.write_text(html, encoding="utf-8")
    return int(context["diagnosed"])
