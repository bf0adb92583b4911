"""GB/T 2589-2020 comprehensive energy consumption, worked out by hand from the standard's coefficients."""

from __future__ import annotations

from dataclasses import dataclass, field

import pytest

from analytics.energy import ElectricityBalance, comprehensive_energy
from core.reference import get_reference

# GB/T 2589-2020 Appendix A, as printed (kgce per unit): the test's own copy, independent of the code
ELECTRICITY_KGCE_PER_KWH = 0.1229
GAS_KGCE_PER_M3 = 1.2143
RAW_COAL_KGCE_PER_KG = 0.7143
DIESEL_KGCE_PER_KG = 1.4571
STEAM_KGCE_PER_KG = 0.1286
HEAT_KGCE_PER_MJ = 0.03412


def test_1000_kwh_is_0_1229_tce() -> None:
    account = comprehensive_energy({"electricity": 1000.0}, get_reference())
    assert account.tce == pytest.approx(0.1229)
    assert account.energy == {"electricity": 1000.0}
    assert account.lines[0].coefficient.source.startswith("GB/T 2589-2020")


def test_every_carrier_of_a_plant() -> None:
    totals = {"electricity": 100_000.0, "pv": 10_000.0, "natural_gas": 5_000.0, "coal": 20.0, "diesel": 1.0,
              "steam": 10.0, "heat": 100.0, "water": 3_000.0, "output": 500.0}
    account = comprehensive_energy(totals, get_reference())
    kgce = (110_000 * ELECTRICITY_KGCE_PER_KWH + 5_000 * GAS_KGCE_PER_M3 + 20_000 * RAW_COAL_KGCE_PER_KG
            + 1_000 * DIESEL_KGCE_PER_KG + 10_000 * STEAM_KGCE_PER_KG + 100_000 * HEAT_KGCE_PER_MJ)
    assert kgce == pytest.approx(40_031.6)
    assert account.tce == pytest.approx(40.0316)
    assert account.intensity_kgce_per_unit == pytest.approx(80.0632)
    # water is reported (section 6 `energy`) but, as a medium, not added by default
    assert account.energy["water"] == 3_000.0
    assert account.energy["electricity"] == 110_000.0
    with_media = comprehensive_energy(totals, get_reference(), include_media=True)
    assert with_media.tce == pytest.approx(40.0316 + 3_000 * 0.0857 / 1000)


def test_export_is_deducted_and_pv_self_consumption_counted() -> None:
    balance = ElectricityBalance(imported_kwh=1000.0, exported_kwh=300.0, pv_generated_kwh=200.0)
    assert balance.used_kwh == 900.0
    assert balance.pv_self_kwh == 0.0
    assert balance.net_purchased_kwh == 700.0
    account = comprehensive_energy({"electricity": 1000.0, "electricity_export": 300.0, "pv": 200.0},
                                   get_reference())
    assert account.tce == pytest.approx(900 * ELECTRICITY_KGCE_PER_KWH / 1000)
    assert account.notes  # the deduction is stated


def test_pv_left_out_on_request() -> None:
    totals = {"electricity": 1000.0, "electricity_export": 50.0, "pv": 250.0}
    assert comprehensive_energy(totals, get_reference()).tce == pytest.approx(1200 * 0.1229 / 1000)
    assert comprehensive_energy(totals, get_reference(), include_pv=False).tce == pytest.approx(1000 * 0.1229 / 1000)


@dataclass
class FakeCited:
    value: float
    unit: str
    source: str = "test"
    confidence: str = "verified"
    warnings: tuple[str, ...] = field(default=())


class EqualValueReference:
    """A reference whose electricity equal value is set (as an override file would)."""

    def coal_coefficient(self, carrier: str, method: str = "equivalent") -> FakeCited:
        if carrier == "electricity":
            return FakeCited(0.300 if method == "equal" else 0.1229, "kgce/kWh")
        raise LookupError(carrier)


def test_equal_value_method_for_electricity() -> None:
    account = comprehensive_energy({"electricity": 1000.0}, EqualValueReference(), method="equal")  # type: ignore[arg-type]
    assert account.tce == pytest.approx(0.300)
    assert account.method == "equal"


def test_no_output_no_intensity() -> None:
    assert comprehensive_energy({"electricity": 10.0}, get_reference()).intensity_kgce_per_unit is None
