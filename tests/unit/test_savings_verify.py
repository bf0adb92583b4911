"""Savings verification (issue 16) on hand-made boundaries whose numbers can be checked by hand.

The baseline is 1000 kWh/day + 10 kWh/t of output; output repeats 10, 20, 10, 20 t and the noise +5, +5, −5, −5
kWh, so over whole 4-day cycles the noise is orthogonal to output and sums to 0: least squares returns exactly
intercept 1000 and slope 10, the residuals are ±5 (σ² = 25n/(n − 2)) and their lag-1 autocorrelation is 0.
"""

from __future__ import annotations

import datetime as dt
import math

import numpy as np
import pandas as pd
import pytest

from analytics.diagnosis.baseline import t_quantile
from analytics.diagnosis.finding import Prices
from analytics.enterprise import EnterpriseInfo, MeterInfo
from analytics.savings.project import NonRoutineEvent, RetrofitProject
from analytics.savings.value import Valuer, values_by_year
from analytics.savings.verify import BoundaryDays, verify
from core.reference import get_reference

CODE = "91140214MA0FE1KM73"
B0, B1 = dt.date(2025, 1, 1), dt.date(2025, 4, 30)  # 120 baseline days = 30 cycles of 4
I0, I1 = dt.date(2025, 5, 1), dt.date(2025, 5, 31)  # installation: May
END = dt.date(2025, 7, 31)  # reporting June (30 days) and July (31 days)
OUTPUT = [10.0, 20.0, 10.0, 20.0]
NOISE = [5.0, 5.0, -5.0, -5.0]
SAVED = 100.0  # kWh/day after the retrofit


def _days() -> list[dt.date]:
    return list(pd.date_range(B0, END, freq="D").date)


def _boundary(saved: float = SAVED, output: bool = True, missing: tuple[dt.date, ...] = (),
              coal_t: float | None = None) -> BoundaryDays:
    days = _days()
    k = np.arange(len(days))
    out = np.array([OUTPUT[i % 4] for i in k])
    noise = np.array([NOISE[i % 4] for i in k])
    kwh = 1000.0 + (10.0 * out if output else 0.0) + noise - np.where(np.array(days) >= I1, saved, 0.0)
    energy = pd.Series(kwh, index=days)
    energy[list(missing)] = math.nan
    carriers = pd.DataFrame({"electricity": energy}, index=days)
    if coal_t is not None:
        carriers["coal"] = coal_t
    return BoundaryDays(energy, carriers, pd.Series(out if output else math.nan, index=days, dtype=float))


def _project(**kw: object) -> RetrofitProject:
    args = {"enterprise": CODE, "id": "vfd", "measure": "VFDs on fans", "meters": ("M01",), "option": "C",
            "unit": "kWh", "baseline_from": B0, "baseline_to": B1, "installed_from": I0, "installed_to": I1,
            "expected_kwh_per_year": 36525.0}
    args.update(kw)
    return RetrofitProject(**args)  # type: ignore[arg-type]


def _values(carriers: tuple[str, ...] = ("electricity",)) -> dict:
    info = EnterpriseInfo(code=CODE, meters=(MeterInfo("M01", "electricity"),))
    return values_by_year(Valuer(get_reference(), info, Prices().tariff()), carriers, [2025])


def test_monthly_avoided_energy_is_the_hand_computed_sum() -> None:
    result = verify(_project(), _boundary(), END, _values())
    m = result.model
    assert m.accepted
    assert m.coefficients["intercept"] == pytest.approx(1000.0, abs=1e-6)
    assert m.coefficients["output"] == pytest.approx(10.0, abs=1e-8)
    june, july = result.months
    # June 1 2025 is day 151 of the series: phase 151 % 4 = 3, so June's 30 days are 7 cycles + 2 days (−5, +5)
    assert (june.label, june.days, june.days_used) == ("2025-06", 30, 30)
    assert june.avoided == pytest.approx(30 * SAVED, abs=1e-6)  # the 2 extra days: −5 + 5 = 0
    # July starts at phase (151 + 30) % 4 = 1: 7 cycles + (+5, −5, −5)  → Σnoise = −5, avoided = 3100 + 5
    assert july.avoided == pytest.approx(31 * SAVED + 5.0, abs=1e-6)
    assert july.cumulative == pytest.approx(june.avoided + july.avoided)
    assert result.total.avoided == pytest.approx(61 * SAVED + 5.0, abs=1e-6)
    # tce, CO2 and CNY of the avoided kWh at the cited coefficient, grid factor and the assumed flat price
    assert june.tce == pytest.approx(june.avoided * 0.1229 / 1000)
    assert june.cny == pytest.approx(june.avoided * 0.60)
    doc = result.to_json()
    assert doc["total"]["avoided_kwh"] == pytest.approx(6105.0)
    assert doc["valuation"]["years"]["2025"]["electricity"]["price"]["origin"] == "assumed"
    assert doc["total"]["expected_kwh_to_date"] == pytest.approx(36525.0 * 61 / 365.25)
    assert result.share_of_expected == pytest.approx(6105.0 / 6100.0)


def test_uncertainty_of_an_intercept_only_baseline_by_hand() -> None:
    """Without production the model is the baseline mean: Var(Σŷ over m days) = σ²m²/n, so U = t·σ·√(m + m²/n)."""
    result = verify(_project(), _boundary(output=False), END, _values())
    m = result.model
    assert m.accepted and m.variables == ()
    n = 120
    sigma = math.sqrt(25.0 * n / (n - 1))
    assert m.residual_sd == pytest.approx(sigma)
    # residuals +5 +5 −5 −5: of the 119 lag-1 pairs one more is alike than unlike, ρ ≈ 1/119; n/n′ = (1 + ρ)/(1 − ρ)
    assert m.rho == pytest.approx(1 / 119, abs=1e-3)
    inflation = (1 + m.rho) / (1 - m.rho)
    june = result.months[0]
    sd_june = sigma * math.sqrt(inflation * (30 + 30**2 / n))
    assert june.uncertainty.u90 == pytest.approx(t_quantile(0.95, n - 1) * sd_june)
    assert june.uncertainty.u68 == pytest.approx(t_quantile(0.84, n - 1) * sd_june)
    total = result.total
    assert total.uncertainty.u90 == pytest.approx(t_quantile(0.95, n - 1) * sigma * math.sqrt(
        inflation * (61 + 61**2 / n)))
    assert any("production" in w for w in result.warnings)


def test_non_routine_adjustment_raises_the_baseline_and_an_unadjusted_event_excludes_its_days() -> None:
    line = NonRoutineEvent(dt.date(2025, 6, 1), dt.date(2025, 6, 10), "new packing line", 50.0)
    result = verify(_project(non_routine=(line,)), _boundary(), END, _values())
    plain = verify(_project(), _boundary(), END, _values())
    assert result.months[0].adjustment == pytest.approx(500.0)
    assert result.months[0].avoided == pytest.approx(plain.months[0].avoided + 500.0)
    assert result.months[1].avoided == pytest.approx(plain.months[1].avoided)
    outage = NonRoutineEvent(dt.date(2025, 7, 1), dt.date(2025, 7, 5), "kiln relined, no adjustment known")
    result = verify(_project(non_routine=(outage,)), _boundary(), END, _values())
    july = result.months[1]
    assert july.avoided is None and july.days_used == 26
    assert "5 day(s) excluded by a non-routine event" in july.reason
    assert result.to_json()["total"]["months_missing"] == 1


def test_a_month_with_missing_days_is_null_with_its_coverage_never_zero() -> None:
    gaps = tuple(dt.date(2025, 7, d) for d in range(1, 5))  # 4 of 31 days: 87 % < 90 %
    result = verify(_project(), _boundary(missing=gaps), END, _values())
    july = result.months[1]
    assert july.avoided is None and july.actual is None
    assert july.coverage == pytest.approx(27 / 31)
    assert "4 day(s) without metered data" in july.reason
    assert result.total.avoided == pytest.approx(result.months[0].avoided)  # cumulative leaves July out
    one_gap = verify(_project(), _boundary(missing=gaps[:3]), END, _values())  # 28/31 = 90.3 %: verified
    assert one_gap.months[1].days_used == 28 and one_gap.months[1].avoided is not None


def test_a_baseline_not_accepted_gives_no_savings_but_reasons_and_fixes() -> None:
    gaps = tuple(d for d in _days() if dt.date(2025, 1, 20) <= d <= B1)  # only 19 baseline days metered
    result = verify(_project(), _boundary(missing=gaps), END, _values())
    assert not result.accepted
    assert all(p.avoided is None and p.baseline is None for p in result.months)
    assert result.months[0].actual == pytest.approx(float(_boundary().energy[[d for d in _days()
                                                                                if d.month == 6]].sum()))
    doc = result.to_json()
    assert doc["total"]["avoided_kwh"] is None and "baseline not accepted" in doc["total"]["reason"]
    assert any("more months" in f for f in doc["baseline"]["fixes"])
    assert any("outdoor temperature" in f for f in doc["baseline"]["fixes"])


def test_a_tce_boundary_values_each_carrier_at_its_own_factor() -> None:
    """Electricity + 2 t of coal a day: the avoided tce is the electricity saved (coal unchanged), allocated back
    to the carriers by the baseline's tce shares."""
    data = _boundary(coal_t=2.0)
    coal_tce = 2.0 * 714.3 / 1000
    tce = data.carriers["electricity"] * 0.1229 / 1000 + coal_tce
    data = BoundaryDays(tce, data.carriers, data.output)
    result = verify(_project(unit="tce", option="C", expected_kwh_per_year=None, expected_tce_per_year=5.0),
                    data, END, _values(("electricity", "coal")))
    assert result.accepted
    june = result.months[0]
    assert june.avoided == pytest.approx(30 * SAVED * 0.1229 / 1000, rel=1e-6)
    assert june.tce == pytest.approx(june.avoided, rel=1e-9)
    share = result.allocation
    assert share["coal"] == pytest.approx(coal_tce / float(tce[[d for d in _days() if d <= B1]].mean()), rel=1e-9)
    doc = result.to_json()
    assert "avoided_tce" in doc["months"][0] and "uncertainty_tce_90" in doc["total"]
    assert doc["total"]["expected_tce_to_date"] == pytest.approx(5.0 * 61 / 365.25, abs=1e-3)
