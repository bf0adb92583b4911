"""Each finding on hand-built hourly frames with exact numbers (no simulator)."""

from __future__ import annotations

import datetime as dt
import math
from dataclasses import replace

import numpy as np
import pandas as pd
import pytest

from analytics.calendar import local_midnight_s
from analytics.diagnosis.cold import detect_cold_store_failure
from analytics.diagnosis.finding import Prices, Valuation
from analytics.diagnosis.frames import DiagnosisFacts, DiagnosisInputError, PlantFrames
from analytics.diagnosis.load import detect_base_load, detect_demand_over_capacity, detect_peak_shift
from analytics.diagnosis.power import capacitor_kvar, detect_low_power_factor, power_factor
from analytics.diagnosis.production import detect_intensity_step
from analytics.diagnosis.quality import detect_data_quality
from analytics.enterprise import EnterpriseInfo, MeterInfo
from core.reference import get_reference

REF = get_reference()
FIRST = dt.date(2026, 10, 12)  # Monday, after the National Day holiday
DAYS = 14
TZ = "Asia/Shanghai"
PRICES = Prices(flat_cny_per_kwh=0.5, capacity_cny_per_kva_month=20.0, demand_cny_per_kw_month=30.0)


def _hours() -> np.ndarray:
    start = local_midnight_s(FIRST, TZ)
    return np.arange(start, start + DAYS * 86400, 3600, dtype=np.int64)


def _local_hour(h: np.ndarray) -> np.ndarray:
    return ((h + 8 * 3600) // 3600) % 24


def _weekday(h: np.ndarray) -> np.ndarray:
    return np.array([FIRST.weekday() + int((x - h[0]) // 86400) for x in h]) % 7


def _frames(series: dict[tuple[str, str], np.ndarray], meters: tuple[MeterInfo, ...], **kw: object) -> PlantFrames:
    h = _hours()
    rows = [pd.DataFrame({"meter": m, "quantity": q, "hour_s": h, "value": v, "completeness": 1.0, "anomalies": 0})
            for (m, q), v in series.items()]
    info = EnterpriseInfo("91140200MA0H2KXX88", product="machined_parts", industry="3484", meters=meters)
    return PlantFrames(info, FIRST, FIRST + dt.timedelta(days=DAYS), pd.concat(rows, ignore_index=True), **kw)


METERS = (MeterInfo("M01", "electricity", "main"), MeterInfo("M02", "electricity", "sub"),
          MeterInfo("O01", "output", "process", product="machined_parts"))


def _shift_plant(on_kw: float, off_kw: float, pf: float = 0.95, batch_in_peak: float = 0.0) -> PlantFrames:
    h = _hours()
    hour, wd = _local_hour(h), _weekday(h)
    on = (hour >= 8) & (hour < 16) & (wd < 5)
    kwh = np.where(on, on_kw, off_kw)
    batch = np.where((hour >= 18) & (hour < 21) & (wd < 5), batch_in_peak, 0.0)
    total = kwh + batch
    kvarh = total * math.tan(math.acos(pf))
    return _frames({("M01", "energy_kwh"): total, ("M01", "reactive_kvarh"): kvarh, ("M02", "energy_kwh"): batch,
                    ("O01", "output_t"): np.where(on, 1.0, 0.0)}, METERS,
                   facts=DiagnosisFacts(contracted_kva=400.0))


def test_frames_reject_missing_columns() -> None:
    with pytest.raises(DiagnosisInputError, match="lack column"):
        PlantFrames(EnterpriseInfo("X"), FIRST, FIRST + dt.timedelta(days=1), pd.DataFrame({"meter": []}))


def test_power_factor_and_capacitor_formula() -> None:
    assert power_factor(800.0, 600.0) == pytest.approx(0.8)
    # Q = P (tanφ1 − tanφ2): 100 kW from 0.8 (tan 0.75) to 0.95 (tan 0.3287)
    assert capacitor_kvar(100.0, 0.8, 0.95) == pytest.approx(100 * (0.75 - math.tan(math.acos(0.95))))


def test_low_power_factor_costs_the_shanxi_adjustment() -> None:
    frames = _shift_plant(300.0, 30.0, pf=0.80)
    value = Valuation(REF, 2026, PRICES)
    f = detect_low_power_factor(frames, value, REF)
    assert f is not None and f.code == "low_power_factor"
    assert f.evidence["power_factor"] == pytest.approx(0.80, abs=1e-4)
    assert f.evidence["adjustment_pct"] == 5.0 and f.evidence["adjustment_at_target_pct"] == -0.75
    # Assumed tariff (labelled): flat 0.5 = energy 0.3 + 0.2 that does not float; 〔2026〕15号 autumn hours:
    #   peak 0.3 × 1.6 + 0.2 = 0.68 (06-08, 17-24), valley 0.3 × 0.45 + 0.2 = 0.335 (02-05, 11-15), flat 0.5.
    # Working day: flat (8-11, 15-16) 4 × 300 + (0-2, 5, 16) 4 × 30 = 1,320 kWh × 0.5 = 660;
    #   valley 4 × 300 + 3 × 30 = 1,290 × 0.335 = 432.15; peak 9 × 30 = 270 × 0.68 = 183.6 → 1,275.75 CNY.
    # Rest day: 270 × 0.68 + 210 × 0.335 + 240 × 0.5 = 373.95 CNY. 10 working + 4 rest days → 14,253.3 CNY.
    # Basic charge (assumed capacity basis): 400 kVA × 20 × 14 / 30.4375 months.
    # PF 0.80 → +5 % of the bill; at the 0.95 target −0.75 %: the capacitors save 5.75 % of that base.
    energy = 10 * 1275.75 + 4 * 373.95
    assert f.evidence["bill"]["energy_total_cny"] == pytest.approx(energy, abs=0.01)
    base = energy + 400.0 * 20.0 * DAYS / 30.4375
    assert f.savings_cny == pytest.approx(0.0575 * base, abs=1e-3)
    assert f.cny_tariff is not None and f.cny_tariff["origin"] == "assumed"
    assert f.evidence["capacitor_kvar"] == pytest.approx(capacitor_kvar(300.0, 0.80), rel=1e-3)
    assert _shift_plant(300.0, 30.0, pf=0.93) and detect_low_power_factor(_shift_plant(300.0, 30.0, pf=0.93),
                                                                           value, REF) is None


def test_base_load_off_shift() -> None:
    value = Valuation(REF, 2026, PRICES)
    frames = _shift_plant(300.0, 120.0)
    f = detect_base_load(frames, value, expected_share=0.10)
    assert f is not None
    off_hours = frames.table.shape[0] - 8 * 10  # 10 working days × 8 producing hours
    assert f.evidence["offshift_hours"] == off_hours
    # avoidable = (120/300 − 0.10) × 300 kW = 90 kW over every off-shift hour
    assert f.savings_kwh == pytest.approx(90.0 * off_hours, rel=1e-6)
    assert f.savings_cny == pytest.approx(0.5 * 90.0 * off_hours, rel=1e-6)
    assert f.savings_tce == pytest.approx(90.0 * off_hours * REF.coal_coefficient("electricity").value / 1000, rel=1e-3)
    assert detect_base_load(_shift_plant(300.0, 30.0), value, expected_share=0.10) is None


@pytest.mark.parametrize(("step_day", "short"), [(dt.date(2026, 10, 19), False), (dt.date(2026, 10, 21), True)])
def test_intensity_step_size_ignores_off_shift_load_and_short_spikes(step_day: dt.date, short: bool) -> None:
    """A 15 % step in producing-hour energy, diluted by an unscaled 100 kW off-shift load and blurred by two
    150 kWh spikes after it, is still reported as 15 %; the daily-total ratio would say 10-12 %."""
    h = _hours()
    hour, wd = _local_hour(h), _weekday(h)
    day = np.array([FIRST + dt.timedelta(days=int((x - h[0]) // 86400)) for x in h])
    on = (hour >= 8) & (hour < 16) & (wd < 5)
    after = day >= step_day
    spike = (hour == 10) & ((day == step_day) | (day == step_day + dt.timedelta(days=1)))
    kwh = np.where(on, np.where(after, 345.0, 300.0), 100.0) + np.where(spike, 150.0, 0.0)
    frames = _frames({("M01", "energy_kwh"): kwh, ("O01", "output_t"): np.where(on, 1.0, 0.0)}, METERS)
    f = detect_intensity_step(frames, Valuation(REF, 2026, PRICES), REF)
    assert f is not None
    assert f.evidence["from"] == step_day.isoformat()
    assert f.evidence["step_pct"] == pytest.approx(15.0, abs=0.05)
    assert f.evidence["step_pct_daily_totals"] < 12.0
    assert ("short_window" in f.evidence) is short


def test_peak_shift_values_the_floating_spread() -> None:
    value = Valuation(REF, 2026, PRICES)
    f = detect_peak_shift(_shift_plant(300.0, 30.0, batch_in_peak=200.0), value, REF)
    assert f is not None and f.evidence["meters"] == ["M02"]
    kwh = 200.0 * 3 * 10  # 18-21 h on 10 working days: autumn peak hours of the 2026 edition
    assert f.evidence["movable_peak_kwh"] == pytest.approx(kwh)
    # Under 〔2026〕15号 only the energy part floats: assumed 0.3 of the 0.5 flat price → 0.3 × (1.6 − 0.45) = 0.345
    assert f.savings_cny == pytest.approx(kwh * 0.345, rel=1e-9)
    assert detect_peak_shift(_shift_plant(300.0, 30.0), value, REF) is None


def _overloaded() -> PlantFrames:
    h = _hours()
    demand = pd.Series(300.0, index=np.arange(h[0], h[-1] + 3600, 900))
    demand.iloc[100:102] = 460.0
    frames = _shift_plant(300.0, 30.0)
    frames.demand_kw = demand
    return frames


def test_demand_over_capacity_compares_kva_and_prices_the_cheaper_basis() -> None:
    value = Valuation(REF, 2026, PRICES)
    frames = _overloaded()
    f = detect_demand_over_capacity(frames, value, REF)
    # 460 kW at the measured PF 0.95 is 484.2 kVA against the 400 kVA transformer
    assert f is not None and f.evidence["max_demand_kw"] == 460.0
    assert f.evidence["max_demand_kva"] == pytest.approx(460.0 / 0.95, abs=0.05)
    assert f.evidence["ratio"] == pytest.approx(460.0 / 0.95 / 400.0, abs=1e-3)
    # Assumed capacity billing: 400 × 20 < 460 × 30 per month; the excess costs no basic charge → 0 CNY saved
    assert f.evidence["cheaper_billing"] == "capacity" and f.savings_cny == 0.0
    # The enterprise's bill: demand basis at 30 CNY/kW·month, capacity 20: it pays 460 × 30 and would pay 400 × 20
    own = Prices(flat_cny_per_kwh=0.5, capacity_cny_per_kva_month=20.0, demand_cny_per_kw_month=30.0).tariff()
    on_demand = Valuation(REF, 2026, PRICES, own_tariff=replace(own, basis="demand", origin="enterprise"))
    g = detect_demand_over_capacity(frames, on_demand, REF)
    assert g is not None and g.cny_tariff is not None and g.cny_tariff["origin"] == "enterprise"
    assert g.savings_cny == pytest.approx((460.0 * 30.0 - 400.0 * 20.0) * DAYS / 30.4375, abs=1e-3)
    frames.demand_kw = frames.demand_kw.clip(upper=375.0)  # 375 / 0.95 = 394.7 kVA: within the rating
    assert detect_demand_over_capacity(frames, value, REF) is None
    frames.demand_kw = frames.demand_kw.clip(upper=390.0) + 15.0  # 390 kW but 410.5 kVA: over
    assert detect_demand_over_capacity(frames, value, REF) is not None


def test_cold_store_failure_from_temperature_and_refrigeration() -> None:
    h = _hours()
    meters = (MeterInfo("M01", "electricity", "main"), MeterInfo("M02", "electricity", "warehouse"),
              MeterInfo("T01", "temperature", "warehouse"))
    fridge = np.full(len(h), 50.0)
    fridge[30:40] = 1.0  # 10 hours off
    temp = np.full(len(h), -18.0)
    temp[34:44] = -12.0
    frames = _frames({("M01", "energy_kwh"): fridge + 10, ("M02", "energy_kwh"): fridge}, meters,
                     facts=DiagnosisFacts(temp_bands={"T01": (-22.0, -15.0)}),
                     temperatures=pd.DataFrame({"meter": "T01", "time_s": h, "value": temp}))
    found = detect_cold_store_failure(frames, Valuation(REF, 2026, PRICES))
    assert len(found) == 1
    ev = found[0].evidence
    assert ev["refrigeration_stop_hours"] == 10 and ev["hours"] == 14 and ev["max_temp_c"] == -12.0


def test_data_quality_flags_gaps_flat_lines_and_anomalies() -> None:
    frames = _shift_plant(300.0, 30.0)
    h = frames.hourly
    h.loc[(h["meter"] == "M01") & (h["quantity"] == "energy_kwh") & (h.index % 336 < 40), "value"] = 0.0
    h.loc[(h["meter"] == "O01") & (h.index % 336 < 60), "completeness"] = 0.0
    h.loc[(h["meter"] == "M02"), "anomalies"] = 0
    h.loc[h.index[5], "anomalies"] = 2
    f = detect_data_quality(frames, Valuation(REF, 2026, PRICES))
    assert f is not None
    by = {(c["meter"], c["quantity"]): c for c in f.evidence["counters"]}
    assert by[("M01", "energy_kwh")]["flat_hours"] == 40
    assert by[("M01", "energy_kwh")]["anomalies"] == 2
    assert by[("O01", "output_t")]["completeness"] == pytest.approx(1 - 60 / 336, abs=1e-3)
    assert by[("M02", "energy_kwh")] == {"meter": "M02", "quantity": "energy_kwh", "flat_hours": 336}  # dead meter
    assert detect_data_quality(_shift_plant(300.0, 30.0, batch_in_peak=50.0), Valuation(REF, 2026, PRICES)) is None


def _cement(coal_t_per_day: float, coal_product: str | None = None) -> PlantFrames:
    """A 24/7 clinker line: 1,000 t/day, 60,000 kWh/day, `coal_t_per_day` of coal."""
    h = _hours()
    meters = (MeterInfo("M01", "electricity", "main"), MeterInfo("C01", "coal", "main", product=coal_product),
              MeterInfo("O01", "output", "process", product="cement_clinker"))
    info = EnterpriseInfo("91140200MA0H2KXX88", product="cement_clinker", industry="3011", meters=meters)
    series = {("M01", "energy_kwh"): 2500.0, ("C01", "coal_t"): coal_t_per_day / 24, ("O01", "output_t"): 1000 / 24}
    rows = [pd.DataFrame({"meter": m, "quantity": q, "hour_s": h, "value": v, "completeness": 1.0, "anomalies": 0})
            for (m, q), v in series.items()]
    return PlantFrames(info, FIRST, FIRST + dt.timedelta(days=DAYS), pd.concat(rows, ignore_index=True))


def test_over_quota_reduction_to_limit_and_grade_2() -> None:
    from analytics.diagnosis.production import detect_over_quota

    value = Valuation(REF, 2026, PRICES)
    coal = REF.coal_coefficient("coal").value  # kgce per t of raw coal
    elec = REF.coal_coefficient("electricity").value
    quota = REF.quota("cement_clinker", FIRST + dt.timedelta(days=DAYS - 1))
    f = detect_over_quota(_cement(160.0), value, REF)
    per_t = (60_000 * elec + 160.0 * coal) / 1000  # kgce per t of clinker
    assert per_t > quota.grade_3.value
    assert f is not None and f.evidence["intensity_kgce_per_t"] == pytest.approx(per_t, abs=0.01)
    output = 1000.0 * DAYS
    assert f.savings_tce == pytest.approx((per_t - quota.grade_3.value) * output / 1000, rel=1e-4)
    assert f.evidence["reduction_to_grade_2_tce"] == pytest.approx((per_t - quota.grade_2.value) * output / 1000,
                                                                   rel=1e-4)
    assert f.evidence["scope"] == "site"
    # CNY of the reduction counts every carrier: the same share of 14 × 60,000 kWh at the 0.5 flat price and of
    # 14 × 160 t of coal at the assumed 900 CNY/t (labelled assumed: the registry gives no coal price)
    share = (per_t - quota.grade_3.value) / per_t
    assert f.savings_cny == pytest.approx(share * (840_000 * 0.5 + 2_240 * 900.0), rel=1e-6)
    assert f.evidence["savings_cny_by_carrier"]["coal"]["price_origin"] == "assumed"
    assert detect_over_quota(_cement(100.0), value, REF) is None  # 7.4 + 71.4 kgce/t: within the limit
    # with the coal meter mapped to the product, the quota boundary (as in `enerdiag analyze`) is the coal alone:
    # 160 t × 714.3 / 1,000 t = 114.3 kgce/t, within the limit
    assert detect_over_quota(_cement(160.0, coal_product="cement_clinker"), value, REF) is None


def test_carbon_budget_projection() -> None:
    from analytics.carbon import CarbonSite, carbon_account
    from analytics.diagnosis.carbonbudget import detect_carbon_budget

    frames = _shift_plant(300.0, 30.0)
    value = Valuation(REF, 2026, PRICES)
    co2 = carbon_account(frames.period_totals(), REF, year=2026, site=CarbonSite.of(frames.enterprise)).co2_t
    assert co2 is not None
    projected = co2 * 365 / DAYS
    f = detect_carbon_budget(frames, value, REF, budget_t=projected * 0.8)
    assert f is not None and f.savings_co2_t == pytest.approx(projected * 0.2, rel=1e-3)
    assert detect_carbon_budget(frames, value, REF, budget_t=projected * 1.1) is None


def test_finding_json_has_the_contract_fields() -> None:
    from analytics.diagnosis.diagnose import diagnose

    found = diagnose(_shift_plant(300.0, 120.0, pf=0.8, batch_in_peak=200.0), REF, PRICES)
    assert {f.code for f in found} >= {"low_power_factor", "peak_shift", "base_load"}
    for f in found:
        d = f.as_dict()
        assert {"code", "title", "savings_kwh", "savings_tce", "savings_cny", "savings_co2_t", "evidence"} <= set(d)
        assert all(isinstance(d[k], float) for k in ("savings_kwh", "savings_tce", "savings_cny", "savings_co2_t"))
        assert d["title"].startswith(f.title_zh) and f.title_en in d["title"]
        assert d["recommendation"]["zh"] and d["recommendation"]["en"]
    # savings in tCO2 at the plant's account factor: Shanxi (credit code 14xxxx) → 华北 0.6361 (2023, the latest)
    base = next(f for f in found if f.code == "base_load")
    assert base.savings_co2_t == pytest.approx(base.savings_kwh * 0.6361 / 1000, abs=2e-3)
    assert any("0.6361" in s for s in base.sources)
