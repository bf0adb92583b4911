"""Scope 1/2 CO2, green share and budget projection, worked out from GB/T 32150 and MEE factors by hand."""

from __future__ import annotations

from dataclasses import dataclass, field

import pytest

from analytics.carbon import carbon_account, project_budget
from core.reference import get_reference

# GB/T 32150-2015 Appendix B defaults: NCV × carbon per heat × oxidation × 44/12 (kgCO2 per unit)
GAS_KG_PER_M3 = 0.038931 * 15.30 * 0.99 * 44 / 12  # 2.16219 kgCO2/m3
COAL_KG_PER_T = 20.908 * 26.37 * 0.94 * 44 / 12
GRID_2023_NATIONAL = 0.5306  # MEE/NBS notice on the 2023 factors, kgCO2/kWh
HEAT_KG_PER_GJ = 110.0
STEAM_GJ_PER_T = 128.6 * 29.3076 / 1000  # 0.1286 kgce/kg × 1,000 kg/t × 29.3076 MJ/kgce


def test_scope1_scope2_of_a_plant() -> None:
    totals = {"electricity": 100_000.0, "pv": 10_000.0, "natural_gas": 5_000.0, "coal": 20.0, "heat": 100.0,
              "steam": 10.0}
    account = carbon_account(totals, get_reference(), year=2023)
    scope1 = (5_000 * GAS_KG_PER_M3 + 20 * COAL_KG_PER_T) / 1000
    scope2 = (100_000 * GRID_2023_NATIONAL + 100 * HEAT_KG_PER_GJ + 10 * STEAM_GJ_PER_T * HEAT_KG_PER_GJ) / 1000
    assert account.scope1_t == pytest.approx(scope1)
    assert account.scope1_t == pytest.approx(10.81094 + 38.00598, rel=1e-5)
    assert account.scope2_t == pytest.approx(scope2)
    assert account.co2_t == pytest.approx(scope1 + scope2)
    assert account.green_share == pytest.approx(10_000 / 110_000)
    assert account.grid_factor is not None and account.grid_factor.confidence == "verified"
    assert account.intensity_t_per_unit(500.0) == pytest.approx((scope1 + scope2) / 500)


def test_missing_year_falls_back_with_a_warning() -> None:
    account = carbon_account({"electricity": 1000.0}, get_reference(), year=2026)
    assert account.grid_factor is not None
    assert account.grid_factor.warnings  # the nearest published year is used and says so
    assert account.scope2_t == pytest.approx(account.grid_factor.value)


def test_provincial_factor_on_request() -> None:
    account = carbon_account({"electricity": 1000.0}, get_reference(), year=2022, region="shanxi")
    assert account.scope2_t == pytest.approx(0.7096)


def test_export_reduces_net_purchase() -> None:
    account = carbon_account({"electricity": 1000.0, "electricity_export": 400.0, "pv": 500.0},
                             get_reference(), year=2023)
    assert account.scope2_t == pytest.approx(600 * GRID_2023_NATIONAL / 1000)
    # PV self-consumption = 500 − 400 = 100 kWh of 1,100 used
    assert account.green_share == pytest.approx(100 / 1100)


@dataclass
class FakeCited:
    value: float
    unit: str = "kgCO2/kWh"
    source: str = "test"
    confidence: str = "verified"
    warnings: tuple[str, ...] = field(default=())


class GridOnly:
    def __init__(self) -> None:
        self.asked: list[tuple[int, str]] = []

    def grid_emission_factor(self, year: int, region: str = "national") -> FakeCited:
        self.asked.append((year, region))
        return FakeCited(0.6 if region == "national_excluding_market_non_fossil" else 0.5)


def test_green_purchase_deducted_with_the_matching_factor() -> None:
    ref = GridOnly()
    account = carbon_account({"electricity": 1000.0}, ref, year=2022, green_purchased_kwh=250.0)  # type: ignore[arg-type]
    assert ref.asked == [(2022, "national_excluding_market_non_fossil")]
    assert account.scope2_t == pytest.approx(750 * 0.6 / 1000)
    assert account.green_share == pytest.approx(0.25)


def test_budget_projection() -> None:
    p = project_budget(year_to_date_t=600.0, days_elapsed=146, days_in_year=365, budget_t=1200.0)
    assert p.projected_t == pytest.approx(1500.0)
    assert p.over_t == pytest.approx(300.0)
    assert p.over_budget
    with pytest.raises(ValueError):
        project_budget(1.0, 0, 365, 1.0)
