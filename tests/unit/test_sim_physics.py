"""Physics of the simulated plants: counters, energy against power, intensity, calendar, weather."""

from __future__ import annotations

import datetime as dt

import numpy as np
import pytest

from simulators.industries import COLD_STORE_BAND_C, INDUSTRIES
from simulators.plant import COUNTER_DECIMALS
from simulators.quota import quota_limit
from simulators.truth import kgce_per_interval, max_demand_kw
from tests.unit.test_sim_support import DAYS, make_timeline, plant_with, run


@pytest.mark.parametrize("industry", sorted(INDUSTRIES))
def test_counters_never_fall_and_power_integrates_to_energy(industry: str) -> None:
    tl = make_timeline(step_s=300)
    data = run(plant_with(industry), tl)
    for meter, values in data.values.items():
        for q, col in values.items():
            if q in COUNTER_DECIMALS:
                assert (np.diff(col) >= 0).all(), f"{meter}.{q} falls"
                assert col[0] > 0
        if "power_kw" in values:
            delta = np.diff(values["energy_kwh"])
            integrated = values["power_kw"][1:] * tl.dt_h
            total_delta, total_integrated = delta.sum(), integrated.sum()
            assert total_integrated == pytest.approx(total_delta, rel=0.005), meter
            busy = delta > 1.0
            assert np.abs(integrated[busy] / delta[busy] - 1).max() < 0.02, meter


@pytest.mark.parametrize("industry", sorted(INDUSTRIES))
def test_main_meter_is_sum_of_sub_meters_plus_unmetered_and_pf_matches_counters(industry: str) -> None:
    spec = plant_with(industry)
    data = run(spec, make_timeline())
    ind = INDUSTRIES[industry]
    main = np.diff(data.values["M01"]["energy_kwh"]).sum()
    subs = sum(np.diff(data.values[ld.meter]["energy_kwh"]).sum() for ld in ind.loads)
    assert subs < main
    assert (main - subs) / main == pytest.approx(ind.unmetered_share, abs=0.01)
    kwh = np.diff(data.values["M01"]["energy_kwh"])
    kvarh = np.diff(data.values["M01"]["reactive_kvarh"])
    pf = data.values["M01"]["pf"][1:]
    busy = kwh > 5
    assert np.abs(kwh[busy] / np.hypot(kwh[busy], kvarh[busy]) - pf[busy]).max() < 0.01
    assert 0.9 < float(kwh.sum() / np.hypot(kwh.sum(), kvarh.sum())) < 0.99


@pytest.mark.parametrize(
    ("industry", "low", "high"), [("cement", 105, 117), ("coking", 110, 135), ("ceramics", 380, 610)]
)
def test_healthy_quota_plants_are_compliant_and_realistic(industry: str, low: float, high: float) -> None:
    tl = make_timeline()
    for index in range(3):
        data = run(plant_with(industry, index=index), tl)
        intensity = kgce_per_interval(data).sum() / data.output_inc.sum()
        limit = quota_limit(INDUSTRIES[industry].quota_key, DAYS)
        assert low <= intensity < high <= limit, (index, intensity)


def test_cement_clinker_near_the_expected_105_to_115() -> None:
    data = run(plant_with("cement"), make_timeline())
    coal_kgce = np.sum(data.fuel_inc[next(iter(data.fuel_inc))]) * 714.3
    kwh = data.main_kwh.sum()
    out = data.output_inc.sum()
    assert 105 <= (coal_kgce + kwh * 0.1229) / out <= 115
    assert 90 <= kwh / out <= 110  # kiln line + grinding + auxiliaries per tonne of clinker


def test_shift_plants_follow_holidays_and_adjusted_working_days() -> None:
    tl = make_timeline()
    data = run(plant_with("machinery"), tl)
    per_day = np.bincount(tl.day_index, weights=data.output_inc)
    by_day = dict(zip(tl.days, per_day, strict=True))
    assert by_day[dt.date(2026, 10, 1)] == 0  # National Day
    assert by_day[dt.date(2026, 10, 5)] == 0  # holiday on a Monday
    assert by_day[dt.date(2026, 9, 22)] > 0  # an ordinary Tuesday
    assert by_day[dt.date(2026, 9, 27)] == 0  # an ordinary Sunday
    adjusted = [d for d in DAYS if d.weekday() >= 5 and d not in (dt.date(2026, 9, 27),)]
    import chinese_calendar

    working_weekends = [d for d in adjusted if chinese_calendar.is_workday(d)]
    assert working_weekends, "the period should contain an adjusted working weekend day"
    assert all(by_day[d] > 0 for d in working_weekends)


def test_continuous_plants_run_through_holidays() -> None:
    tl = make_timeline()
    data = run(plant_with("cement"), tl)
    per_day = np.bincount(tl.day_index, weights=data.output_inc)
    assert per_day.min() > 0.5 * per_day.max()


def test_cold_store_stays_in_band_and_refrigeration_follows_outdoor_temperature() -> None:
    days = tuple(dt.date(2026, 1, 5) + dt.timedelta(days=i) for i in range(14))
    summer = tuple(dt.date(2026, 7, 6) + dt.timedelta(days=i) for i in range(14))
    spec = plant_with("cold_store")
    winter_data = run(spec, make_timeline(days=days))
    summer_data = run(spec, make_timeline(days=summer))
    lo, hi = COLD_STORE_BAND_C
    for data in (winter_data, summer_data):
        temp = data.values["T01"]["temp_c"]
        assert lo < temp.min() and temp.max() < hi
    refr_w = np.diff(winter_data.values["M02"]["energy_kwh"]).sum()
    refr_s = np.diff(summer_data.values["M02"]["energy_kwh"]).sum()
    assert refr_s > 1.3 * refr_w


def test_datong_weather_is_cold_in_january_and_warm_in_july() -> None:
    jan = make_timeline(days=tuple(dt.date(2026, 1, 1) + dt.timedelta(days=i) for i in range(31)))
    jul = make_timeline(days=tuple(dt.date(2026, 7, 1) + dt.timedelta(days=i) for i in range(31)))
    assert -16 < jan.outdoor_c.mean() < -5
    assert 18 < jul.outdoor_c.mean() < 27
    assert jan.outdoor_c.max() - jan.outdoor_c.min() > 10


def test_healthy_plants_stay_below_their_contracted_capacity() -> None:
    tl = make_timeline(step_s=60, days=DAYS[:7])
    for industry in sorted(INDUSTRIES):
        for index in range(3):
            spec = plant_with(industry, index=index)
            assert max_demand_kw(run(spec, tl), tl) < 0.9 * spec.contracted_kva, (industry, index)


def test_safety_meter_reports_plausible_values() -> None:
    spec = plant_with("food")
    data = run(spec, make_timeline())
    s = data.values["S01"]
    assert 0 <= s["current_a"].max() < (spec.rated_current_a or 0)
    assert s["voltage_v"].min() > 200 and s["voltage_v"].max() < 240
    assert s["leakage_ma"].min() > 0 and s["leakage_ma"].max() < 30
