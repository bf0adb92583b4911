"""Scope 1/2 CO2, green share and budget projection, worked out from GB/T 32150 and MEE factors by hand."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

import pytest

from analytics.carbon import CarbonSite, carbon_account, project_budget
from analytics.process_co2 import CarbonateInput, ClinkerInputs, ProcessInputs, ReductantInput
from core.reference import get_reference, load_reference

# GB/T 32150-2015 Appendix B carbon contents and oxidation on the fuel's one heat value, the GB/T 2589 coefficient
# it has for tce (kgce/unit × 29.3076 MJ/kgce): NCV × carbon per heat × oxidation × 44/12 (kgCO2 per unit)
GAS_KG_PER_M3 = 1.2143 * 29.3076 / 1000 * 15.30 * 0.99 * 44 / 12  # 1.97653 kgCO2/m3
COAL_KG_PER_T = 714.3 * 29.3076 / 1000 * 26.37 * 0.94 * 44 / 12
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
    assert account.scope1_t == pytest.approx(9.88267 + 38.05400, rel=1e-5)
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
    """A reference that knows two grid factors and records what was asked."""

    def __init__(self) -> None:
        self.asked: list[tuple[int, str]] = []

    def province_of(self, province: str | None, credit_code: str | None = None) -> str | None:
        return province

    def select_grid_factor(self, year: int, *, province: str | None = None, purpose: str = "location",
                           region: str | None = None) -> FakeCited:
        self.asked.append((year, purpose))
        return FakeCited(0.6 if purpose == "market" else 0.5)


def test_green_purchase_deducted_with_the_matching_factor() -> None:
    ref = GridOnly()
    account = carbon_account({"electricity": 1000.0}, ref, year=2022, green_purchased_kwh=250.0)  # type: ignore[arg-type]
    assert ref.asked == [(2022, "market"), (2022, "location")]  # the residual factor, then the national figure
    assert account.scope2_t == pytest.approx(750 * 0.6 / 1000)
    assert account.scope2_national_t == pytest.approx(1000 * 0.5 / 1000)
    assert account.green_share == pytest.approx(0.25)


# --- issue 14: process CO2, grid factor by place and purpose -----------------------------------------------------

SHANXI_CODE = "91140214MA0FE1KM73"  # digits 3-4 = 14: Shanxi (GB/T 2260)
SHANXI_2022 = 0.7096  # MEE/NBS 2022 provincial factor, Shanxi
NORTH_CHINA_2023 = 0.6361  # MEE/NBS 2023, 华北 regional grid
NATIONAL_2022 = 0.5366
RESIDUAL_2022 = 0.5856  # national, excluding market-traded non-fossil power


def test_clinker_process_co2_from_measured_cao_mgo() -> None:
    # 12,000 t clinker; CaO 0.652, MgO 0.024 measured; 0.004 of the CaO from non-carbonate (slag); 1 % kiln dust out.
    # EF = (0.652 − 0.004) × 44/56 + 0.024 × 44/40 = 0.509143 + 0.0264 = 0.535543 tCO2/t clinker
    # E = 12,000 × 1.01 × 0.535543 = 6,490.78 t
    inputs = ProcessInputs(clinker=ClinkerInputs(cao=0.652, mgo=0.024, cao_non_carbonate=0.004, dust_t_per_t=0.01))
    site = CarbonSite(credit_code=SHANXI_CODE, industry="3011", product="cement_clinker", process=inputs)
    account = carbon_account({"output": 12_000.0, "coal": 1_500.0, "electricity": 700_000.0}, get_reference(),
                             year=2023, site=site)
    ef = (0.652 - 0.004) * 44 / 56 + 0.024 * 44 / 40
    assert ef == pytest.approx(0.535543, abs=1e-6)
    assert account.scope1_process_t == pytest.approx(12_000 * 1.01 * ef)
    assert account.scope1_process_t == pytest.approx(6490.78, abs=0.01)
    assert account.scope1_combustion_t == pytest.approx(1_500 * COAL_KG_PER_T / 1000)
    assert account.scope1_t == pytest.approx(account.scope1_combustion_t + account.scope1_process_t)
    line = account.evidence()["clinker_calcination"]
    assert line["kind"] == "process" and line["quantity"] == pytest.approx(12_120.0)
    assert line["factor"]["value"] == pytest.approx(ef * 1000) and line["factor"]["unit"] == "kgCO2/t"
    assert "GB/T 32151.8" in line["factor"]["source"]
    assert not any("default" in n for n in account.notes)  # both fractions measured


def test_clinker_plant_without_measurements_uses_the_cited_default() -> None:
    site = CarbonSite(industry="3011", product="cement_clinker")
    account = carbon_account({"output": 1_000.0}, get_reference(), year=2023, site=site)
    assert account.scope1_process_t == pytest.approx(1_000 * 0.65 * 44 / 56)  # IPCC Tier 1 CaO 65 %, 510.7 t
    factor = account.evidence()["clinker_calcination"]["factor"]
    assert factor["confidence"] == "recalled" and "IPCC" in factor["note"]
    assert any("CAO fraction not measured" in n for n in account.notes)
    assert any("MGO fraction not given" in n for n in account.notes)
    no_counter = carbon_account({"electricity": 1_000.0}, get_reference(), year=2023, site=site)
    assert no_counter.scope1_process_t is None and no_counter.co2_t is None  # missing is not zero
    assert any("no output counter" in n for n in no_counter.notes)
    grinding = CarbonSite(industry="3011", product="cement")  # a grinding station buys its clinker: no calcination
    assert carbon_account({"output": 1_000.0}, get_reference(), year=2023, site=grinding).scope1_process_t == 0.0


def test_ceramic_carbonates_and_ferroalloy_reductants() -> None:
    tiles = ProcessInputs(carbonates=(CarbonateInput("calcite", 0.0015, fraction=0.9),
                                      CarbonateInput("dolomite", 0.0005)))
    site = CarbonSite(industry="3071", product="ceramic_tile_dry_0_5_to_10", output_unit="m2", process=tiles)
    account = carbon_account({"output": 100_000.0}, get_reference(), year=2023, site=site)
    # 100,000 m2 × (0.0015 t × 0.9 × 439.71 + 0.0005 t × 477.32) kgCO2 / 1000 = 59.36 + 23.87 t
    assert account.scope1_process_t == pytest.approx(100_000 * (0.0015 * 0.9 * 439.71 + 0.0005 * 477.32) / 1000)
    bare = carbon_account({"output": 100_000.0}, get_reference(), year=2023, site=CarbonSite(industry="3071"))
    assert bare.scope1_process_t == 0.0 and any("not counted" in n for n in bare.notes)
    alloy = ProcessInputs(reductants=(ReductantInput("coke", 0.55, 0.84), ReductantInput("electrode paste", 0.02,
                                                                                          0.83)),
                          product_carbon=0.07)
    smelter = CarbonSite(industry="3150", process=alloy)
    account = carbon_account({"output": 2_000.0}, get_reference(), year=2023, site=smelter)
    # (0.55 × 0.84 + 0.02 × 0.83 − 0.07) t C per t × 44/12 × 2,000 t = 3,001.07 t
    assert account.scope1_process_t == pytest.approx((0.55 * 0.84 + 0.02 * 0.83 - 0.07) * 44 / 12 * 2_000)
    unknown = carbon_account({"output": 2_000.0}, get_reference(), year=2023, site=CarbonSite(industry="3150"))
    assert unknown.scope1_process_t is None and any("reductants" in n for n in unknown.notes)


def test_stoichiometric_carbonate_factors() -> None:
    c, o, co2 = 12.011, 15.999, 12.011 + 2 * 15.999
    molar = {"calcite": 40.078 + c + 3 * o, "magnesite": 24.305 + c + 3 * o, "siderite": 55.845 + c + 3 * o,
             "sodium_carbonate": 2 * 22.990 + c + 3 * o}
    for mineral, mass in molar.items():
        assert get_reference().carbonate_emission_factor(mineral).value == pytest.approx(1000 * co2 / mass, rel=5e-4)
    dolomite = 40.078 + 24.305 + 2 * (c + 3 * o)
    assert get_reference().carbonate_emission_factor("dolomite").value == pytest.approx(2000 * co2 / dolomite,
                                                                                        rel=5e-4)


def test_shanxi_plant_scope2_at_its_provincial_factor_with_the_national_figure_beside() -> None:
    site = CarbonSite(credit_code=SHANXI_CODE)
    account = carbon_account({"electricity": 500_000.0}, get_reference(), year=2022, site=site)
    assert account.scope2_t == pytest.approx(500_000 * SHANXI_2022 / 1000)  # 354.8 t
    assert account.scope2_national_t == pytest.approx(500_000 * NATIONAL_2022 / 1000)  # 268.3 t
    used = account.result_keys()["grid_factor"]
    assert (used["value"], used["year"], used["region"], used["basis"]) == (SHANXI_2022, 2022, "shanxi", "provincial")
    assert "2022" in used["source"] and used["confidence"] == "verified"
    assert account.result_keys()["national_grid_factor"]["value"] == NATIONAL_2022
    # 2023: no Shanxi factor in the reference data, so the 华北 regional one
    regional = carbon_account({"electricity": 500_000.0}, get_reference(), year=2023, site=site)
    assert regional.scope2_t == pytest.approx(500_000 * NORTH_CHINA_2023 / 1000)
    assert regional.grid_factor.basis == "regional" and regional.grid_factor.warnings == ()
    # the registry's province wins over the credit code; --region overrides both
    hebei = carbon_account({"electricity": 1_000.0}, get_reference(), year=2022, site=CarbonSite("hebei", SHANXI_CODE))
    assert hebei.scope2_t == pytest.approx(0.7252)
    asked = carbon_account({"electricity": 1_000.0}, get_reference(), year=2022, site=site, region="national")
    assert asked.scope2_t == pytest.approx(NATIONAL_2022)


def test_green_power_is_deducted_exactly_once_in_shanxi() -> None:
    site = CarbonSite(credit_code=SHANXI_CODE)
    account = carbon_account({"electricity": 500_000.0}, get_reference(), year=2022, site=site,
                             green_purchased_kwh=100_000.0)
    # 400,000 kWh at the residual factor (which excludes the green power traded), not at Shanxi's 0.7096
    assert account.scope2_t == pytest.approx(400_000 * RESIDUAL_2022 / 1000)
    assert account.grid_factor.basis == "residual"
    assert account.green_share == pytest.approx(0.2)


def test_ets_participant_uses_the_carbon_market_factor() -> None:
    site = CarbonSite(credit_code=SHANXI_CODE, ets=True)
    account = carbon_account({"electricity": 1_000_000.0}, get_reference(), year=2024, site=site,
                             green_purchased_kwh=50_000.0)
    assert account.scope2_t == pytest.approx(1_000_000 * 0.5703 / 1000)
    assert account.grid_factor.basis == "carbon_market"
    assert any("not deducted" in n for n in account.notes)
    outside = carbon_account({"electricity": 1_000.0}, get_reference(), year=2022, site=site)
    assert outside.scope2_t is None and any("carbon market" in n for n in outside.notes)


def test_a_year_before_any_published_factor_leaves_electricity_co2_null() -> None:
    account = carbon_account({"electricity": 1_000.0, "natural_gas": 100.0}, get_reference(), year=2018)
    assert account.scope2_t is None and account.co2_t is None
    assert account.scope1_t == pytest.approx(100 * GAS_KG_PER_M3 / 1000)  # what is known stays
    assert any("no MEE/NBS electricity CO2 factor for 2018" in n for n in account.notes)
    assert account.evidence()["electricity"]["co2_t"] is None


def test_published_only_rule_leaves_an_unpublished_year_null(tmp_path: Path) -> None:
    override = tmp_path / "override.yaml"
    override.write_text("emission_factors:\n  grid_unpublished_year: published_only\n", encoding="utf-8")
    strict = load_reference(override)
    account = carbon_account({"electricity": 1_000.0}, strict, year=2026)
    assert account.scope2_t is None and any("not published" in n for n in account.notes)
    provisional = carbon_account({"electricity": 1_000.0}, get_reference(), year=2026)
    assert provisional.scope2_t == pytest.approx(0.5306)
    assert "provisional" in provisional.grid_factor.warnings[0]


def test_budget_projection() -> None:
    p = project_budget(year_to_date_t=600.0, days_elapsed=146, days_in_year=365, budget_t=1200.0)
    assert p.projected_t == pytest.approx(1500.0)
    assert p.over_t == pytest.approx(300.0)
    assert p.over_budget
    with pytest.raises(ValueError):
        project_budget(1.0, 0, 365, 1.0)
