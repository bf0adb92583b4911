"""The bill as the grid computes it: hand-computed two-part-tariff months (issue 14 item 4), with the arithmetic."""

from __future__ import annotations

import datetime as dt
import math

import numpy as np
import pandas as pd
import pytest

from analytics.billing import (
    ASSUMED,
    ENTERPRISE,
    DemandRules,
    ElectricityTariff,
    TariffError,
    basic_charge,
    cheapest_basic,
    compute_bill,
    period_prices,
    price_energy,
    resolve_edition,
)
from analytics.calendar import local_midnight_s
from analytics.diagnosis.diagnose import diagnose
from analytics.diagnosis.frames import DiagnosisFacts, PlantFrames
from analytics.enterprise import EnterpriseInfo, MeterInfo
from core.reference import get_reference

REF = get_reference()
TARIFFS = REF.tariffs_shanxi
DEC_2026 = dt.date(2026, 12, 1)

BILL_TARIFF = {  # as core/registry/filetariff.py stores a bill's tariff block
    "source": "electricity bill 2026-12", "voltage_class": "1-10kV", "tou_edition": "auto", "energy_prices": None,
    "components": {"energy": 0.40, "transmission": 0.12, "system": 0.02, "line_loss": 0.01, "funds": 0.03},
    "basic_charge": {"basis": "demand", "capacity_cny_per_kva_month": 24.0, "demand_cny_per_kw_month": 38.4,
                     "contract_demand_kw": None},
    "pf_standard": 0.90, "fuel_prices": {"natural_gas": 3.2},
}
KWH = {"critical_peak": 5_000.0, "peak": 30_000.0, "flat": 40_000.0, "valley": 25_000.0}


def _pf(pf: float, standard: float) -> float:
    return float(REF.power_factor_adjustment(pf, standard).value)


def test_two_part_month_with_demand_floor_and_pf_adjustment_to_the_yuan() -> None:
    tariff = ElectricityTariff.from_registry(BILL_TARIFF)
    _, edition = resolve_edition(tariff, TARIFFS, DEC_2026)
    assert edition.number == "晋发改商品发〔2026〕15号"
    prices = period_prices(tariff, edition)
    # Only the energy component floats under 〔2026〕15号: price = 0.40 × ratio + (0.12 + 0.02 + 0.01 + 0.03 = 0.18)
    #   critical peak 0.40 × 1.92 + 0.18 = 0.948; peak 0.40 × 1.6 + 0.18 = 0.82; flat 0.58; valley 0.40 × 0.45 + 0.18
    #   = 0.36
    assert prices.price("critical_peak") == pytest.approx(0.948)
    assert prices.price("peak") == pytest.approx(0.82)
    assert prices.price("flat") == pytest.approx(0.58)
    assert prices.price("valley") == pytest.approx(0.36)
    rules = DemandRules.from_reference(TARIFFS, DEC_2026)
    # Demand billing, 1,000 kVA, maximum demand 350 kW: below the floor 40 % × 1,000 = 400 kW, so 400 kW are billed:
    #   400 × 38.4 = 15,360 CNY. 100,000 kWh / 1,000 kVA = 100 kWh/kVA < 260: no demand discount.
    basic = basic_charge("demand", 38.4, 1000.0, 350.0, 1.0, sum(KWH.values()), rules)
    assert basic.floor_applied and basic.billed == 400.0 and not basic.discounted
    assert basic.cny == pytest.approx(15_360.0)
    bill = compute_bill(tariff, KWH, *price_energy(KWH, prices), basic=basic, power_factor=0.82, pf_adjustment=_pf,
                        prices_note=prices.note)
    # Energy: 5,000 × 0.948 = 4,740; 30,000 × 0.82 = 24,600; 40,000 × 0.58 = 23,200; 25,000 × 0.36 = 9,000
    #   → 61,540 CNY, of which government funds 100,000 × 0.03 = 3,000 are not PF-adjusted.
    # PF 0.82 against the enterprise's 0.90 standard: 8 steps × 0.5 % = +4 %.
    #   Base 61,540 − 3,000 + 15,360 = 73,900 → 4 % = 2,956 CNY.
    # Total 61,540 + 15,360 + 2,956 = 79,856 CNY.
    assert bill.energy_total_cny == pytest.approx(61_540.0)
    assert bill.pf_adjustment_pct == 4.0
    assert bill.adjusted_base_cny == pytest.approx(73_900.0)
    assert round(bill.pf_adjustment_cny) == 2_956
    assert round(bill.total_cny) == 79_856
    assert bill.tariff["origin"] == ENTERPRISE
    assert bill.to_json()["total_cny"] == 79_856.0


def test_pf_adjustment_against_the_enterprises_own_standard() -> None:
    tariff = ElectricityTariff.from_registry({**BILL_TARIFF, "pf_standard": 0.85})
    prices = period_prices(tariff, TARIFFS.editions["sx_2026_15"])
    basic = basic_charge("demand", 38.4, 1000.0, 350.0, 1.0, 100_000.0, DemandRules.from_reference(TARIFFS, DEC_2026))
    bill = compute_bill(tariff, KWH, *price_energy(KWH, prices), basic=basic, power_factor=0.82, pf_adjustment=_pf,
                        prices_note=prices.note)
    # 0.82 against 0.85: 3 steps × 0.5 % = +1.5 % of 73,900 = 1,108.5 CNY.
    assert bill.pf_adjustment_pct == 1.5
    assert bill.pf_adjustment_cny == pytest.approx(1_108.5)


def test_demand_discount_contract_rule_and_cheaper_basis() -> None:
    rules = DemandRules.from_reference(TARIFFS, DEC_2026)
    # 300,000 kWh on 1,000 kVA = 300 kWh/kVA ≥ 260: 90 % of the rate: 620 kW × 38.4 × 0.9 = 21,427.2 CNY.
    discounted = basic_charge("demand", 38.4, 1000.0, 620.0, 1.0, 300_000.0, rules)
    assert discounted.discounted and discounted.cny == pytest.approx(21_427.2)
    # Before 2026-08-01 there is no discount: 620 × 38.4 = 23,808.
    before = basic_charge("demand", 38.4, 1000.0, 620.0, 1.0, 300_000.0,
                          DemandRules.from_reference(TARIFFS, dt.date(2026, 7, 1)))
    assert not before.discounted and before.cny == pytest.approx(23_808.0)
    # Contract 500 kW, maximum 560 kW > 105 % × 500 = 525: billed 560 + (560 − 525) = 595 kW → 22,848 CNY.
    contract = basic_charge("demand", 38.4, 1000.0, 560.0, 1.0, 100_000.0, rules, contract_kw=500.0)
    assert contract.billed == pytest.approx(595.0) and contract.cny == pytest.approx(22_848.0)
    # Contract 300 kW is below the floor 400 kW: 400 kW are billed.
    assert basic_charge("demand", 38.4, 1000.0, 200.0, 1.0, 1.0, rules, contract_kw=300.0).billed == 400.0
    tariff = ElectricityTariff.from_registry(BILL_TARIFF)
    both = cheapest_basic(tariff, 1000.0, 350.0, 1.0, 100_000.0, rules)
    assert both["capacity"].cny == pytest.approx(24_000.0) and both["demand"].cny == pytest.approx(15_360.0)


def test_bill_period_prices_derive_critical_peak_from_the_bills_spread() -> None:
    tariff = ElectricityTariff.from_registry({**BILL_TARIFF, "components": None,
                                              "energy_prices": {"peak": 0.82, "flat": 0.58, "valley": 0.36}})
    prices = period_prices(tariff, TARIFFS.editions["sx_2026_15"])
    # floating part (0.82 − 0.58) / (1.6 − 1) = 0.40; critical peak 0.58 + 0.40 × 0.92 = 0.948
    assert prices.price("critical_peak") == pytest.approx(0.948)
    assert prices.price("deep_valley") == pytest.approx(0.58 + 0.40 * (0.36 - 1.0))


def test_no_tou_tariff_and_missing_edition() -> None:
    flat = ElectricityTariff.from_registry({**BILL_TARIFF, "tou_edition": "none", "components": None,
                                            "energy_prices": {"flat": 0.6}})
    assert resolve_edition(flat, TARIFFS, dt.date(2018, 2, 1)) is None
    assert period_prices(flat, None).price("peak") == 0.6
    auto = ElectricityTariff.from_registry(BILL_TARIFF)
    with pytest.raises(LookupError, match="no shanxi time-of-use edition in force on 2018-02-01"):
        resolve_edition(auto, TARIFFS, dt.date(2018, 2, 1))


def test_assumed_tariff_is_labelled_and_invalid_ones_refused() -> None:
    assumed = ElectricityTariff.assumed(0.6, 20.0, 30.0, "enerdiag defaults")
    assert assumed.label()["origin"] == ASSUMED and assumed.flat_cny_per_kwh == pytest.approx(0.6)
    assert assumed.fuel_price("natural_gas") == (3.5, ASSUMED)
    assert ElectricityTariff.from_registry(BILL_TARIFF).fuel_price("natural_gas") == (3.2, ENTERPRISE)
    with pytest.raises(TariffError, match="exactly one"):
        ElectricityTariff(origin=ENTERPRISE, source="x")


# ---------------------------------------------------------------- the same month through a finding


def _month_plant(first: dt.date, end: dt.date, tariff: dict | None, pf: float = 0.80) -> PlantFrames:
    """100 kWh every hour on the main meter at power factor `pf`, 1,000 kVA, the registry tariff `tariff`."""
    start, stop = local_midnight_s(first, "Asia/Shanghai"), local_midnight_s(end, "Asia/Shanghai")
    h = np.arange(start, stop, 3600, dtype=np.int64)
    kwh = np.full(len(h), 100.0)
    rows = pd.concat([
        pd.DataFrame({"meter": "M01", "quantity": "energy_kwh", "hour_s": h, "value": kwh}),
        pd.DataFrame({"meter": "M01", "quantity": "reactive_kvarh", "hour_s": h,
                      "value": kwh * math.tan(math.acos(pf))}),
    ], ignore_index=True)
    info = EnterpriseInfo("91140200MA0H2KXX88", industry="3484", meters=(MeterInfo("M01", "electricity", "main"),))
    return PlantFrames(info, first, end, rows, DiagnosisFacts(contracted_kva=1000.0, tariff=tariff))


def test_a_two_part_month_through_the_low_power_factor_finding_to_the_yuan() -> None:
    frames = _month_plant(dt.date(2026, 12, 1), dt.date(2027, 1, 1), BILL_TARIFF)
    found = {f.code: f for f in diagnose(frames, REF)}
    f = found["low_power_factor"]
    bill = f.evidence["bill"]
    # December 2026, 〔2026〕15号 winter day: critical peak 17-20 (3 h, two-part user), peak 06-08 16-17 20-23 (6 h),
    #   valley 02-05 10-15 (8 h), flat 00-02 05-06 08-10 15-16 23-24 (7 h); no deep-valley holiday in December.
    # 31 days × 100 kWh/h: critical 9,300, peak 18,600, flat 21,700, valley 24,800 kWh (74,400 kWh).
    assert bill["kwh"] == {"critical_peak": 9300.0, "peak": 18600.0, "flat": 21700.0, "valley": 24800.0}
    # Energy: 9,300 × 0.948 = 8,816.4; 18,600 × 0.82 = 15,252; 21,700 × 0.58 = 12,586; 24,800 × 0.36 = 8,928
    #   → 45,582.4 CNY; government funds 74,400 × 0.03 = 2,232 CNY are not PF-adjusted.
    assert bill["energy_total_cny"] == pytest.approx(45_582.4)
    # Demand basis, maximum demand 100 kW < floor 40 % × 1,000 kVA = 400 kW: 400 × 38.4 × 1 month = 15,360 CNY
    #   (74.4 kWh/kVA < 260: no discount).
    assert bill["basic"]["billed"] == 400.0 and bill["basic"]["floor_applied"] and bill["basic"]["cny"] == 15_360.0
    # PF 0.80 against 0.90: +5 % of 45,582.4 − 2,232 + 15,360 = 58,710.4 → 2,935.52 CNY.
    # Bill 45,582.4 + 15,360 + 2,935.52 = 63,877.92 → 63,878 CNY.
    assert bill["pf_adjustment_pct"] == 5.0 and bill["pf_adjusted_base_cny"] == pytest.approx(58_710.4)
    assert round(bill["pf_adjustment_cny"]) == 2_936
    assert round(bill["total_cny"]) == 63_878
    # Capacitors to PF 0.95 turn +5 % into −0.75 %: 5.75 % × 58,710.4 = 3,375.85 CNY saved.
    assert round(f.savings_cny) == 3_376
    assert f.cny_tariff["origin"] == ENTERPRISE and f.cny_tariff["source"] == "electricity bill 2026-12"
    # Same month, the enterprise's standard 0.85: +2.5 % (5 steps × 0.5); at 0.95 −1.1 % → 3.6 % × 58,710.4
    g = next(x for x in diagnose(_month_plant(dt.date(2026, 12, 1), dt.date(2027, 1, 1),
                                              {**BILL_TARIFF, "pf_standard": 0.85}), REF)
             if x.code == "low_power_factor")
    assert g.evidence["adjustment_pct"] == 2.5 and g.savings_cny == pytest.approx(0.036 * 58_710.4, abs=1e-3)


def test_a_2018_month_without_a_tou_edition_prices_nothing_it_cannot_and_stops_nothing() -> None:
    frames = _month_plant(dt.date(2018, 2, 1), dt.date(2018, 3, 1), None)
    found = {f.code: f for f in diagnose(frames, REF)}
    f = found["low_power_factor"]
    assert f.savings_cny is None and f.evidence["bill"] is None
    assert any("no shanxi time-of-use edition in force on 2018-02-01" in w for w in f.warnings)
    assert f.as_dict()["savings_cny"] is None and f.as_dict()["warnings"]
    assert f.evidence["power_factor"] == pytest.approx(0.80) and f.savings_tce == 0.0
    assert "peak_shift" not in found
    # a tariff without TOU is priced in 2018 as on its bill
    flat = {**BILL_TARIFF, "tou_edition": "none", "components": None, "energy_prices": {"flat": 0.6}}
    g = next(x for x in diagnose(_month_plant(dt.date(2018, 2, 1), dt.date(2018, 3, 1), flat), REF)
             if x.code == "low_power_factor")
    # 28 × 24 × 100 = 67,200 kWh × 0.6 = 40,320 + 400 kW × 38.4 = 15,360 → 55,680; 5.75 % → 3,201.6
    assert g.evidence["bill"]["total_cny"] == pytest.approx(55_680 * 1.05)
    assert g.savings_cny == pytest.approx(0.0575 * 55_680, abs=1e-3) and not g.warnings
