"""One enterprise's period result, the object of `enerdiag analyze --json` (CONTRACTS.md section 6).

Pure: carrier totals of the period (from the rollups) + registry facts + reference data in, a typed
`analytics.result.AnalysisResult` out (its `to_json()` is the printed object). Every reference value used
travels in `evidence` with its source and confidence mark.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from analytics.carbon import (
    BudgetProjection,
    CarbonSite,
    carbon_account,
    days_in_year,
    green_kwh_by_kind,
    project_budget,
)
from analytics.coverage import enterprise_completeness
from analytics.energy import ENERGY_KEYS, FUEL_CARRIERS, Method, comprehensive_energy
from analytics.enterprise import EnterpriseInfo
from analytics.quota import NOT_APPLICABLE, QuotaResult, assess_quota
from analytics.refs import Reference, cited_dict
from analytics.result import (
    AnalysisResult,
    BalanceFigures,
    BoundaryFigures,
    Co2Figures,
    Coverage,
    rounded,
)


@dataclass(frozen=True, slots=True)
class AnalyzeOptions:
    """Choices of method the caller may make (defaults: GB/T 2589 equivalent value, the place's grid factor)."""

    method: Method = "equivalent"
    region: str | None = None  # a grid series instead of the enterprise's province/region (analytics.carbon)
    include_pv: bool = True
    green_purchased_kwh: float = 0.0  # on top of the registry's green purchases in the period
    as_of: dt.date | None = None  # first day without complete data for the budget position (None: today)


GREEN_METHOD = (
    "market-based Scope 2 (GHG Protocol Scope 2 Guidance, 2015): green certificates (绿证) and green power trades "
    "(绿电交易, certificates bundled) in the period, pro rata by days, count at 0 kgCO2/kWh up to the net purchased "
    "electricity; the rest at the MEE/NBS national factor excluding market-traded non-fossil power (the residual "
    "factor the notices publish for this); GECs are the sole proof of green power consumption (发改能源〔2023〕1044号)"
)
"""How green purchases enter the figures, stated in the JSON evidence."""


@dataclass(frozen=True, slots=True)
class BudgetPosition:
    """The annual budget against the year-to-date emissions [start, end) and their linear projection."""

    year: int
    start: dt.date
    end: dt.date
    projection: BudgetProjection
    completeness: float | None = None


def budget_position(enterprise: EnterpriseInfo, window: tuple[dt.date, dt.date], ytd_totals: Mapping[str, float],
                    reference: Reference, options: AnalyzeOptions | None = None,
                    completeness: float | None = None) -> BudgetPosition | None:
    """Year-to-date CO2 (same method as the period, green purchases of the window included) against the
    budget of the window's year, projected linearly to year end; None when the registry has no budget."""
    options = options or AnalyzeOptions()
    start, end = window
    budget = enterprise.co2_budget(start.year)
    if budget is None:
        return None
    green = sum(green_kwh_by_kind(enterprise.green_purchases, start, end).values())
    ytd = carbon_account(ytd_totals, reference, year=start.year, region=options.region, green_purchased_kwh=green,
                         site=CarbonSite.of(enterprise))
    if ytd.co2_t is None:
        return None  # CO2 unknown (a factor that cannot be cited): the period's warnings say why
    projection = project_budget(ytd.co2_t, (end - start).days, days_in_year(start.year), budget)
    return BudgetPosition(start.year, start, end, projection, completeness)


def _has_data(carrier: str, totals: Mapping[str, float], completeness: Mapping[str, float]) -> bool:
    """True when the rollups had anything for `carrier` in the period (a value, or some measured coverage)."""
    return carrier in totals and (totals[carrier] != 0 or float(completeness.get(carrier) or 0.0) > 0)


ENERGY_DATA_CARRIERS = ("electricity", "pv", *FUEL_CARRIERS)
"""Carriers whose data make the tce: without any of them the period has no energy figure, not 0 tce."""


def enterprise_result(enterprise: EnterpriseInfo, period_from: dt.date, period_to: dt.date,
                      totals: Mapping[str, float], completeness: Mapping[str, float], reference: Reference,
                      options: AnalyzeOptions | None = None, *,
                      boundary: Mapping[str, float] | None = None,
                      budget: BudgetPosition | None = None,
                      expected: Sequence[str] | None = None,
                      meters: Sequence[Mapping[str, Any]] | None = None) -> AnalysisResult:
    """The section-6 result for [period_from, period_to) local time, with the quota assessment behind it.

    `boundary`: per-carrier energy of the meters mapped to the enterprise's product; when given, the
    unit-product figure and the quota use it (the product's process boundary) instead of the whole site.
    `budget`: the annual budget position (`budget_position`), reported under `co2`.
    `expected`: the carriers the registry has total meters for (`analytics.coverage.expected_carriers`); when
    given, missing is never zero: a carrier without data is `null` in `energy` with completeness 0, and a
    period without any energy data has `null` tce, CO2 and intensities; `missing` gives each reason.
    `meters`: per-meter coverage (`analytics.coverage.MeterCoverage.to_json`), reported under `coverage`.
    """
    options = options or AnalyzeOptions()
    completeness = dict(completeness)
    absent: list[str] = []
    no_energy = False
    if expected is not None:
        absent = sorted(c for c in expected if not _has_data(c, totals, completeness))
        for carrier in expected:
            completeness.setdefault(carrier, 0.0)
        no_energy = not any(_has_data(c, totals, completeness) for c in ENERGY_DATA_CARRIERS)
    unmeasured = set(absent)
    if expected is not None and not any(_has_data(c, totals, completeness)
                                        for c in ("electricity", "pv", "electricity_export")):
        unmeasured.add("electricity")  # no electricity data at all: unknown, not 0 kWh
    energy = comprehensive_energy(totals, reference, method=options.method, include_pv=options.include_pv)
    scoped = energy
    if boundary:
        scoped = comprehensive_energy({**boundary, "output": totals.get("output", 0.0)}, reference,
                                      method=options.method, include_pv=options.include_pv)
    green_by_kind = green_kwh_by_kind(enterprise.green_purchases, period_from, period_to)
    green_bought = sum(green_by_kind.values()) + max(options.green_purchased_kwh, 0.0)
    site = CarbonSite.of(enterprise)
    carbon = carbon_account(totals, reference, year=period_from.year, region=options.region,
                            green_purchased_kwh=green_bought, site=site)
    location = carbon if green_bought <= 0 else carbon_account(totals, reference, year=period_from.year,
                                                                region=options.region, site=site)
    last_day = period_to - dt.timedelta(days=1)
    quota = assess_quota(enterprise.quota_key, scoped.tce, scoped.output, last_day, reference)
    if no_energy and quota.status != NOT_APPLICABLE:
        quota = QuotaResult(NOT_APPLICABLE, product=quota.product, standard=quota.standard,
                            reason="no energy readings in the period")
    output_t = energy.output
    balance = energy.electricity
    warnings: list[str] = [*energy.notes, *carbon.notes]
    if carbon.grid_factor is not None:
        warnings.extend(getattr(carbon.grid_factor, "warnings", ()))
    if period_to.year != period_from.year:
        warnings.append(f"grid factor of {period_from.year} used for the whole period")
    green_applied = carbon.green_kwh - balance.pv_self_kwh
    if green_bought > green_applied + 1e-9:
        warnings.append(f"green purchases of {green_bought:g} kWh exceed the net purchased electricity; "
                        f"{green_applied:g} kWh deducted")
    if budget is not None and budget.completeness is not None and budget.completeness < 0.9:
        warnings.append(f"year-to-date completeness {budget.completeness:.0%}: the budget projection is low")
    low = sorted(c for c, v in completeness.items() if v < 0.9 and c not in absent)
    if low:
        warnings.append("completeness below 90 % for: " + ", ".join(low))
    missing = _missing(sorted(unmeasured), no_energy, meters)
    if absent:
        warnings.append("no data in the period for: " + ", ".join(absent) + " (null, not 0)")
    carbon_keys = carbon.result_keys()

    def co2_figure(value: float | None) -> float | None:
        return None if no_energy else rounded(value)  # no energy data: CO2 and intensities unknown, not 0

    co2 = Co2Figures(
        scope1_t=co2_figure(carbon.scope1_t),
        scope2_t=co2_figure(carbon.scope2_t),
        green_share=co2_figure(carbon.green_share),
        green_kwh=rounded(carbon.green_kwh),
        green_purchased_kwh=rounded(green_applied),
        scope2_method="market_based" if green_bought > 0 else "location_based",
        scope2_location_t=co2_figure(location.scope2_t),
        intensity_t_per_t=co2_figure(carbon.intensity_t_per_unit(output_t)),
        scope1_combustion_t=co2_figure(carbon_keys["scope1_combustion_t"]),
        scope1_process_t=rounded(carbon_keys["scope1_process_t"]),
        grid_factor=carbon_keys["grid_factor"],
        scope2_national_t=co2_figure(carbon_keys["scope2_national_t"]),
        national_grid_factor=carbon_keys["national_grid_factor"],
        **_budget_keys(budget),
    )
    coverage = None if expected is None else Coverage(
        enterprise_completeness(completeness, expected), {k: rounded(v) for k, v in sorted(completeness.items())},
        tuple(meters or ()))
    result = AnalysisResult(
        enterprise=enterprise.code,
        period_from=period_from,
        period_to=period_to,
        timezone=enterprise.timezone,
        energy={k: (None if k in unmeasured else rounded(v)) for k, v in energy.energy.items()
                if k in ENERGY_KEYS} | {k: None for k in sorted(unmeasured) if k in ENERGY_KEYS},
        electricity_balance=BalanceFigures(
            imported_kwh=rounded(balance.imported_kwh),
            exported_kwh=rounded(balance.exported_kwh),
            pv_generated_kwh=rounded(balance.pv_generated_kwh),
            pv_self_kwh=rounded(balance.pv_self_kwh),
            net_purchased_kwh=rounded(balance.net_purchased_kwh),
        ),
        tce=None if no_energy else rounded(energy.tce),
        tce_method=energy.method,
        co2_t=None if no_energy else rounded(carbon.co2_t),
        co2=co2,
        output_t=None if "output" in absent else rounded(output_t),
        intensity_kgce_per_t=None if no_energy else rounded(scoped.intensity_kgce_per_unit),
        boundary=BoundaryFigures(
            product=enterprise.product,
            scope="process_meters" if boundary else "site",
            tce=None if no_energy else rounded(scoped.tce),
            output_unit=enterprise.output_unit,
        ),
        quota=quota,
        completeness={k: rounded(v) for k, v in sorted(completeness.items())},
        coverage=coverage,
        missing=missing if expected is not None else None,
        evidence={
            "tce": energy.evidence(),
            **({"boundary_tce": scoped.evidence()} if boundary else {}),
            "co2": carbon.evidence(),
            **({"grid_factor": cited_dict(carbon.grid_factor)} if carbon.grid_factor is not None else {}),
            **({"green_power": {"purchased_kwh": {k: rounded(v) for k, v in sorted(green_by_kind.items())},
                                "method": GREEN_METHOD}} if green_bought > 0 else {}),
            **({"budget": _budget_evidence(budget)} if budget is not None else {}),
        },
        warnings=tuple(warnings),
    )
    return result


def _missing(absent: Sequence[str], no_energy: bool, meters: Sequence[Mapping[str, Any]] | None) -> dict[str, str]:
    """Why each null figure is null (figure path -> reason)."""
    silent: dict[str, list[str]] = {}
    for m in meters or ():
        if m.get("carrier") and m.get("reason"):
            silent.setdefault(str(m["carrier"]), []).append(str(m["meter"]))
    out = {}
    for carrier in absent:
        key = "output_t" if carrier == "output" else f"energy.{carrier}"
        which = f" (meters {', '.join(silent[carrier])})" if carrier in silent else ""
        out[key] = f"no readings of the {carrier} meters in the period{which}"
    if no_energy:
        reason = "no energy meter sent readings in the period"
        out.update({key: reason for key in ("tce", "co2_t", "intensity_kgce_per_t")})
        if "energy.electricity" not in out:
            out["energy.electricity"] = reason
    return out


def _budget_keys(budget: BudgetPosition | None) -> dict[str, Any]:
    if budget is None:
        return {"budget_year": None, "budget_t": None, "year_to_date_t": None, "projected_year_t": None,
                "budget_status": "n/a"}
    p = budget.projection
    return {"budget_year": budget.year, "budget_t": rounded(p.budget_t), "year_to_date_t": rounded(p.year_to_date_t),
            "projected_year_t": rounded(p.projected_t), "budget_status": p.status}


def _budget_evidence(budget: BudgetPosition) -> dict[str, Any]:
    days = (budget.end - budget.start).days
    return {"from": budget.start.isoformat(), "to": budget.end.isoformat(), "days_elapsed": days,
            "days_in_year": days_in_year(budget.year),
            "method": "linear: year-to-date tCO2 × days in year / days elapsed (registry carbon_budgets)",
            **({"completeness": rounded(budget.completeness)} if budget.completeness is not None else {})}
