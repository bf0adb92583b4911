"""Carbon findings: annual budget overshoot (linear year-end projection) and the green-electricity share."""

from __future__ import annotations

import datetime as dt

from analytics.carbon import CarbonSite, carbon_account, project_budget
from analytics.diagnosis.finding import Finding, Valuation
from analytics.diagnosis.frames import PlantFrames
from analytics.refs import Reference


def detect_carbon_budget(frames: PlantFrames, value: Valuation, reference: Reference,
                         budget_t: float | None = None) -> Finding | None:
    """Emissions projected to year end above the annual budget; savings = the overshoot (as grid electricity)."""
    year = frames.first_day.year
    registry = dict(getattr(frames.enterprise, "co2_budgets", ()) or ())
    budget = next((b for b in (budget_t, frames.facts.annual_co2_budget_t, registry.get(year)) if b), None)
    totals = frames.period_totals()
    if not budget or not totals:
        return None
    carbon = carbon_account(totals, reference, year=year, site=CarbonSite.of(frames.enterprise))
    if carbon.co2_t is None:
        return None  # CO2 unknown for the year (a factor that cannot be cited): no projection to make
    year_days = (dt.date(year + 1, 1, 1) - dt.date(year, 1, 1)).days
    proj = project_budget(carbon.co2_t, frames.days, year_days, budget)
    if not proj.over_budget:
        return None
    kwh = proj.over_t * 1000.0 / value.kgco2_per_kwh
    fields = value.electricity(kwh)
    fields["savings_co2_t"] = round(proj.over_t, 3)
    evidence = {"period": [frames.first_day.isoformat(), frames.end_day.isoformat()],
                "period_co2_t": round(carbon.co2_t, 3), "projected_year_t": round(proj.projected_t, 1),
                "budget_t": budget, "over_t": round(proj.over_t, 1),
                "green_share": None if carbon.green_share is None else round(carbon.green_share, 4),
                "method": "linear projection of the period's pace to the calendar year"}
    return Finding(
        "carbon_budget", "预计超出年度碳排放预算", "Annual carbon budget projected to be exceeded",
        **fields, evidence=evidence,
        recommendation_zh=(f"按当前排放速度全年约 {proj.projected_t:.0f} tCO2，超出预算 {proj.over_t:.0f} t："
                           "提高绿电比例（屋顶光伏、绿电交易）、实施节能改造。"),
        recommendation_en=(f"At the current pace the year ends near {proj.projected_t:.0f} tCO2, {proj.over_t:.0f} t "
                           "over budget: raise the green share (rooftop PV, green-power trading), retrofit."),
        severity="high", sources=value.sources())
