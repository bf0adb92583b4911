"""CO2 of a period: Scope 1 from fuels burnt on site, Scope 2 from net purchased electricity and heat.

Scope 1 = Σ fuel × its combustion factor (GB/T 32150-2015 defaults). Scope 2 = (imported − exported − green
power purchased) × the year's grid factor + purchased heat (and steam, by its heat content) × the heat
factor. PV self-consumption is never purchased, so it carries no Scope 2; it and green purchases make the
green share. When green purchases are deducted the grid factor that excludes market-traded non-fossil
power is used (the MEE's factor made for exactly that, so green power is not counted twice): this is the
market-based method of the GHG Protocol Scope 2 Guidance; without purchases it equals the location-based one.
"""

from __future__ import annotations

import calendar
import datetime as dt
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any, Final

from analytics.energy import ElectricityBalance
from analytics.enterprise import GreenPurchase
from analytics.refs import CitedLike, Reference, cited_dict

SCOPE1_FUELS: Final = ("natural_gas", "coal", "diesel")
"""Carriers burnt on site (section 7 names) with a combustion factor in the reference data."""

GREEN_GRID_REGION: Final = "national_excluding_market_non_fossil"
"""Grid factor to use for the rest of the electricity when green-power purchases are deducted."""

MJ_PER_KGCE: Final = 29.3076
"""1 kgce = 29.3076 MJ (GB/T 2589-2020): converts steam's kgce/t into its heat content in GJ/t."""


@dataclass(frozen=True, slots=True)
class CarbonLine:
    """One source: quantity × factor (kgCO2/unit) / 1000 = tCO2."""

    source: str
    scope: int
    quantity: float
    unit: str
    factor: CitedLike
    co2_t: float


@dataclass(frozen=True, slots=True)
class CarbonAccount:
    """The period's emissions, the green share, and what they were computed from."""

    lines: tuple[CarbonLine, ...]
    green_share: float | None
    green_kwh: float
    grid_factor: CitedLike | None
    notes: tuple[str, ...] = field(default=())

    @property
    def scope1_t(self) -> float:
        return sum(ln.co2_t for ln in self.lines if ln.scope == 1)

    @property
    def scope2_t(self) -> float:
        return sum(ln.co2_t for ln in self.lines if ln.scope == 2)

    @property
    def co2_t(self) -> float:
        return self.scope1_t + self.scope2_t

    def intensity_t_per_unit(self, output: float | None) -> float | None:
        """tCO2 per unit of output (None without output)."""
        return self.co2_t / output if output and output > 0 else None

    def evidence(self) -> dict[str, Any]:
        """Factors used, per source, with source and confidence."""
        return {ln.source: {"scope": ln.scope, "quantity": ln.quantity, "unit": ln.unit, "co2_t": ln.co2_t,
                            "factor": cited_dict(ln.factor)} for ln in self.lines}


def carbon_account(totals: Mapping[str, float], reference: Reference, *, year: int, region: str = "national",
                   green_purchased_kwh: float = 0.0) -> CarbonAccount:
    """Scope 1 and 2 of a period from carrier totals (as `analytics.energy.comprehensive_energy` takes them)."""
    lines: list[CarbonLine] = []
    notes: list[str] = []
    for carrier in SCOPE1_FUELS:
        quantity = float(totals.get(carrier, 0.0))
        if quantity:
            factor = reference.fuel_emission_factor(carrier)
            lines.append(CarbonLine(carrier, 1, quantity, factor.unit.split("/")[-1], factor,
                                    quantity * factor.value / 1000.0))
    balance = ElectricityBalance.from_totals(totals)
    green = min(max(green_purchased_kwh, 0.0), balance.net_purchased_kwh)
    grid_kwh = balance.net_purchased_kwh - green
    grid: CitedLike | None = None
    if balance.imported_kwh or balance.exported_kwh:
        grid_region = region
        if green > 0 and region == "national":
            grid_region = GREEN_GRID_REGION
            notes.append(f"{green:g} kWh green power deducted; grid factor excluding market non-fossil power used")
        grid = reference.grid_emission_factor(year, grid_region)
        lines.append(CarbonLine("electricity", 2, grid_kwh, "kWh", grid, grid_kwh * grid.value / 1000.0))
    heat_gj = float(totals.get("heat", 0.0))
    steam_t = float(totals.get("steam", 0.0))
    if heat_gj or steam_t:
        heat = reference.heat_emission_factor()
        if heat_gj:
            lines.append(CarbonLine("heat", 2, heat_gj, "GJ", heat, heat_gj * heat.value / 1000.0))
        if steam_t:
            gj_per_t = reference.coal_coefficient("steam").value * MJ_PER_KGCE / 1000.0
            notes.append(f"steam converted to heat at {gj_per_t:.4f} GJ/t (its standard-coal coefficient)")
            lines.append(CarbonLine("steam", 2, steam_t, "t", heat, steam_t * gj_per_t * heat.value / 1000.0))
    used = balance.imported_kwh + balance.pv_self_kwh
    green_share = (balance.pv_self_kwh + green) / used if used > 0 else None
    return CarbonAccount(tuple(lines), green_share, balance.pv_self_kwh + green, grid, tuple(notes))


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
