"""CO2 of a period: Scope 1 = combustion + process, Scope 2 from net purchased electricity and heat.

Scope 1 combustion = Σ fuel × its factor (GB/T 32150-2015 carbon contents on the fuel's one heat value, the one its
tce uses); Scope 1 process = clinker calcination, carbonate decomposition, ferroalloy reductants
(`analytics.process_co2`), reported apart. Scope 2 = (imported − exported − green power purchased) × the grid factor
+ purchased heat (and steam, by its heat content) × the heat factor.

The grid factor is chosen by place and purpose (docs/analytics.md "Which grid factor"): the enterprise's province
selects the MEE/NBS provincial factor of the year where published, else its regional grid's, else the national
average; an ETS participant uses the national carbon market's factor; green purchases are deducted once, the rest of
the electricity then counted at the national factor excluding market-traded non-fossil power (the market-based method
of the GHG Protocol Scope 2 Guidance; without purchases it equals the location-based one). The national-average figure
is always given beside it. A factor that cannot be cited for the year leaves electricity CO2 `None` with the reason;
energy and tce are unaffected.
"""

from __future__ import annotations

import calendar
import datetime as dt
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any, Final

from analytics.energy import ElectricityBalance
from analytics.enterprise import EnterpriseInfo, GreenPurchase
from analytics.process_co2 import ProcessInputs, process_lines
from analytics.refs import CitedLike, Reference, cited_dict

SCOPE1_FUELS: Final = ("natural_gas", "coal", "diesel")
"""Carriers burnt on site (section 7 names) with a combustion factor in the reference data."""

GREEN_GRID_REGION: Final = "national_excluding_market_non_fossil"
"""Grid factor to use for the rest of the electricity when green-power purchases are deducted."""

MJ_PER_KGCE: Final = 29.3076
"""1 kgce = 29.3076 MJ (GB/T 2589-2020): converts steam's kgce/t into its heat content in GJ/t."""


@dataclass(frozen=True, slots=True)
class CarbonSite:
    """What of the enterprise the account depends on: its place, ETS flag, sector and process data."""

    province: str | None = None  # registry `province`; else taken from the credit code
    credit_code: str | None = None
    ets: bool = False
    industry: str | None = None
    product: str | None = None  # the quota key of its product (clinker: `cement_clinker`)
    output_unit: str = "t"
    process: ProcessInputs | None = None

    @classmethod
    def of(cls, enterprise: EnterpriseInfo) -> CarbonSite:
        return cls(enterprise.province, enterprise.code, enterprise.ets, enterprise.industry, enterprise.quota_key,
                   enterprise.output_unit, enterprise.process_co2)


@dataclass(frozen=True, slots=True)
class CarbonLine:
    """One source: quantity × factor (kgCO2/unit) / 1000 = tCO2; `co2_t` None when it cannot be computed."""

    source: str
    scope: int
    quantity: float | None
    unit: str
    factor: CitedLike | None
    co2_t: float | None
    kind: str = "combustion"  # combustion | process | purchased


def _sum(values: Iterable[float | None]) -> float | None:
    total = 0.0
    for v in values:
        if v is None:
            return None
        total += v
    return total


@dataclass(frozen=True, slots=True)
class CarbonAccount:
    """The period's emissions, the green share, and what they were computed from."""

    lines: tuple[CarbonLine, ...]
    green_share: float | None
    green_kwh: float
    grid_factor: Any | None  # core.reference GridFactor (value, unit, year, region, basis, source, confidence)
    notes: tuple[str, ...] = field(default=())
    scope2_national_t: float | None = None  # Scope 2 at the national average factor, location-based
    national_factor: Any | None = None

    @property
    def scope1_combustion_t(self) -> float:
        return sum(ln.co2_t or 0.0 for ln in self.lines if ln.kind == "combustion")

    @property
    def scope1_process_t(self) -> float | None:
        return _sum(ln.co2_t for ln in self.lines if ln.kind == "process")

    @property
    def scope1_t(self) -> float | None:
        return _sum(ln.co2_t for ln in self.lines if ln.scope == 1)

    @property
    def scope2_t(self) -> float | None:
        return _sum(ln.co2_t for ln in self.lines if ln.scope == 2)

    @property
    def co2_t(self) -> float | None:
        return _sum((self.scope1_t, self.scope2_t))

    def intensity_t_per_unit(self, output: float | None) -> float | None:
        """tCO2 per unit of output (None without output or without a CO2 figure)."""
        co2 = self.co2_t
        return co2 / output if co2 is not None and output and output > 0 else None

    def evidence(self) -> dict[str, Any]:
        """Factors used, per source, with source and confidence."""
        return {ln.source: {"scope": ln.scope, "kind": ln.kind, "quantity": ln.quantity, "unit": ln.unit,
                            "co2_t": ln.co2_t, "factor": None if ln.factor is None else _factor_dict(ln.factor)}
                for ln in self.lines}

    def result_keys(self) -> dict[str, Any]:
        """The section-6 `co2` keys this module adds: Scope 1 split, the grid factor used, the national figure."""
        return {"scope1_combustion_t": self.scope1_combustion_t, "scope1_process_t": self.scope1_process_t,
                "grid_factor": None if self.grid_factor is None else _factor_dict(self.grid_factor),
                "scope2_national_t": self.scope2_national_t,
                "national_grid_factor": None if self.national_factor is None else _factor_dict(self.national_factor)}


def _factor_dict(factor: Any) -> dict[str, Any]:
    as_dict = getattr(factor, "as_dict", None)
    out = as_dict() if callable(as_dict) else cited_dict(factor)
    note = getattr(factor, "note", None)
    if note and "note" not in out:
        out["note"] = note
    return out


def _grid(reference: Reference, year: int, site: CarbonSite, region: str | None,
          green: float) -> tuple[Any | None, str | None]:
    """(factor, None) or (None, why) for the electricity line."""
    province = reference.province_of(site.province, site.credit_code)
    try:
        if site.ets:
            return reference.select_grid_factor(year, purpose="ets"), None
        if green > 0:
            return reference.select_grid_factor(year, purpose="market"), None
        return reference.select_grid_factor(year, province=province, region=region), None
    except LookupError as exc:
        return None, f"CO2 of electricity unknown: {exc}"


def location_grid_region(reference: Reference, year: int, enterprise: EnterpriseInfo) -> str:
    """The grid series of the enterprise's location-based account in `year` (provincial, regional or national):
    what a saved kWh is worth in tCO2, so findings' savings use the factor the account uses. `national` when
    none can be cited for the year."""
    province = reference.province_of(enterprise.province, enterprise.code)
    try:
        return str(reference.select_grid_factor(year, province=province).region)
    except LookupError:
        return "national"


def carbon_account(totals: Mapping[str, float], reference: Reference, *, year: int, region: str | None = None,
                   green_purchased_kwh: float = 0.0, site: CarbonSite | None = None) -> CarbonAccount:
    """Scope 1 and 2 of a period from carrier totals (as `analytics.energy.comprehensive_energy` takes them).

    `region`: a grid series to use instead of the place's (CLI `--region`); `site`: the enterprise's place, ETS flag
    and process data (none: national average, no process emissions).
    """
    site = site or CarbonSite()
    lines: list[CarbonLine] = []
    notes: list[str] = []
    for carrier in SCOPE1_FUELS:
        quantity = float(totals.get(carrier, 0.0))
        if quantity:
            factor = reference.fuel_emission_factor(carrier)
            lines.append(CarbonLine(carrier, 1, quantity, factor.unit.split("/")[-1], factor,
                                    quantity * factor.value / 1000.0))
    output = float(totals["output"]) if "output" in totals else None
    plines, pnotes = process_lines(output, site.output_unit, site.industry, site.product, site.process, reference)
    lines.extend(CarbonLine(p.source, 1, p.quantity, p.unit, p.factor, p.co2_t, "process") for p in plines)
    notes.extend(pnotes)
    balance = ElectricityBalance.from_totals(totals)
    green = min(max(green_purchased_kwh, 0.0), balance.net_purchased_kwh)
    grid_kwh = balance.net_purchased_kwh - green
    grid: Any | None = None
    national: Any | None = None
    national_t: float | None = None
    if balance.imported_kwh or balance.exported_kwh:
        if site.ets and green > 0:
            notes.append("ETS participant: electricity at the national carbon market factor; green purchases are not "
                         "deducted (the sector's ETS guideline governs them)")
            grid_kwh = balance.net_purchased_kwh
        grid, why = _grid(reference, year, site, region, green)
        if green > 0 and grid is not None and not site.ets:
            notes.append(f"{green:g} kWh green power deducted; grid factor excluding market non-fossil power used")
        lines.append(CarbonLine("electricity", 2, grid_kwh, "kWh", grid,
                                None if grid is None else grid_kwh * grid.value / 1000.0, "purchased"))
        if why:
            notes.append(why)
        try:
            national = reference.select_grid_factor(year, region="national")
            national_t = balance.net_purchased_kwh * national.value / 1000.0
        except LookupError:
            national = None
    heat_gj = float(totals.get("heat", 0.0))
    steam_t = float(totals.get("steam", 0.0))
    heat_t = 0.0
    if heat_gj or steam_t:
        heat = reference.heat_emission_factor()
        if heat_gj:
            lines.append(CarbonLine("heat", 2, heat_gj, "GJ", heat, heat_gj * heat.value / 1000.0, "purchased"))
            heat_t += heat_gj * heat.value / 1000.0
        if steam_t:
            gj_per_t = reference.coal_coefficient("steam").value * MJ_PER_KGCE / 1000.0
            notes.append(f"steam converted to heat at {gj_per_t:.4f} GJ/t (its standard-coal coefficient)")
            lines.append(CarbonLine("steam", 2, steam_t, "t", heat, steam_t * gj_per_t * heat.value / 1000.0,
                                    "purchased"))
            heat_t += steam_t * gj_per_t * heat.value / 1000.0
    if national_t is not None:
        national_t += heat_t
    elif not (balance.imported_kwh or balance.exported_kwh):
        national_t = heat_t
    used = balance.imported_kwh + balance.pv_self_kwh
    green_share = (balance.pv_self_kwh + green) / used if used > 0 else None
    return CarbonAccount(tuple(lines), green_share, balance.pv_self_kwh + green, grid, tuple(notes), national_t,
                         national)


@dataclass(frozen=True, slots=True)
class BudgetProjection:
    """Year-to-date emissions projected linearly to year end against the enterprise's annual budget."""

    budget_t: float
    year_to_date_t: float
    projected_t: float
    over_t: float

    @property
    def over_budget(self) -> bool:
        return self.over_t > 0

    @property
    def status(self) -> str:
        """`over` (already above the budget), `projected_over` (on pace to exceed it) or `within`."""
        if self.year_to_date_t > self.budget_t:
            return "over"
        return "projected_over" if self.over_budget else "within"


def project_budget(year_to_date_t: float, days_elapsed: float, days_in_year: int,
                   budget_t: float) -> BudgetProjection:
    """Linear projection: year-to-date × days in year / days elapsed (the plant keeps its current pace)."""
    if days_elapsed <= 0:
        raise ValueError("days_elapsed must be positive")
    projected = year_to_date_t * days_in_year / days_elapsed
    return BudgetProjection(budget_t, year_to_date_t, projected, projected - budget_t)


def green_kwh_by_kind(purchases: Iterable[GreenPurchase], period_from: dt.date,
                     period_to: dt.date) -> dict[str, float]:
    """kWh of green purchases falling in the local days [from, to), per kind (pro rata by days)."""
    out: dict[str, float] = {}
    for purchase in purchases:
        kwh = purchase.kwh_in(period_from, period_to)
        if kwh > 0:
            out[purchase.kind] = out.get(purchase.kind, 0.0) + kwh
    return out


def budget_window(period_to: dt.date, as_of: dt.date) -> tuple[dt.date, dt.date] | None:
    """The year-to-date days [1 Jan, end) behind the budget position of a period ending before `period_to`.

    The year is that of the period's last day; the window ends at `period_to`, or at `as_of` (the first day
    without complete data, normally today) if earlier, or at the year's end. None if no day of it has passed.
    """
    year = (period_to - dt.timedelta(days=1)).year
    start = dt.date(year, 1, 1)
    end = min(period_to, as_of, dt.date(year + 1, 1, 1))
    return (start, end) if end > start else None


def days_in_year(year: int) -> int:
    """365 or 366."""
    return 366 if calendar.isleap(year) else 365
