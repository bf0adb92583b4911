"""Injected problems show up in the data with the magnitudes the manifest reports."""

from __future__ import annotations

import datetime as dt

import numpy as np
import pytest

from simulators.industries import COLD_STORE_BAND_C
from simulators.truth import kgce_per_interval, max_demand_kw, plant_truth
from tests.unit.test_sim_support import healthy, make_timeline, plant_with, run


def _measured(spec, tl, code: str) -> dict:
    entry = plant_truth(spec, run(spec, tl), tl)
    return next(p for p in entry["problems"] if p["code"] == code)


@pytest.mark.parametrize("industry", ["cement", "coking", "ceramics"])
def test_over_quota_plants_exceed_the_limit_by_the_planned_margin(industry: str) -> None:
    tl = make_timeline()
    spec = plant_with(industry, ("over_quota",))
    m = _measured(spec, tl, "over_quota")
    ratio = m["measured"]["intensity_kgce_per_t"] / m["measured"]["limit_kgce_per_t"]
    assert ratio > 1.03
    assert ratio == pytest.approx(m["params"]["target_ratio_to_limit"], abs=0.04)
    twin = run(healthy(spec), tl)
    assert kgce_per_interval(twin).sum() / twin.output_inc.sum() < m["measured"]["limit_kgce_per_t"]


def test_low_power_factor_is_below_0_9_and_matches_counters() -> None:
    tl = make_timeline()
    spec = plant_with("machinery", ("low_power_factor",))
    m = _measured(spec, tl, "low_power_factor")
    data = run(spec, tl)
    kwh = data.values["M01"]["energy_kwh"][-1] - data.values["M01"]["energy_kwh"][0]
    kvarh = data.values["M01"]["reactive_kvarh"][-1] - data.values["M01"]["reactive_kvarh"][0]
    assert kwh / np.hypot(kwh, kvarh) == pytest.approx(m["measured"]["pf"], abs=0.002)
    assert m["measured"]["pf"] < 0.88
    assert m["measured"]["pf"] == pytest.approx(m["params"]["pf_target"], abs=0.01)


def test_base_load_adds_the_reported_kwh_per_day_off_shift() -> None:
    tl = make_timeline()
    spec = plant_with("food", ("base_load",))
    m = _measured(spec, tl, "base_load")
    bad, good = run(spec, tl), run(healthy(spec), tl)
    off = ~bad.producing
    extra_per_day = (bad.main_kwh[off].sum() - good.main_kwh[off].sum()) / len(tl.days)
    assert extra_per_day == pytest.approx(m["measured"]["extra_kwh_per_day"], rel=0.05)
    assert bad.main_kwh[~off].sum() == pytest.approx(good.main_kwh[~off].sum(), rel=1e-9)


def test_peak_shift_puts_movable_load_in_peak_hours_healthy_plants_avoid_them() -> None:
    tl = make_timeline()
    spec = plant_with("cement", ("peak_shift",))
    m = _measured(spec, tl, "peak_shift")
    bad, good = run(spec, tl), run(healthy(spec), tl)
    assert bad.flexible_kwh[tl.peak].sum() > 0.9 * bad.flexible_kwh.sum()
    idle_share = 0.05  # only the standing load of the movable equipment remains in peak hours
    assert good.flexible_kwh[tl.peak].sum() < idle_share * good.flexible_kwh.sum()
    assert m["measured"]["movable_peak_kwh_per_day"] > 0.5 * good.flexible_kwh.sum() / len(tl.days)


def test_demand_spikes_exceed_contracted_capacity_on_the_listed_days_only() -> None:
    tl = make_timeline(step_s=60)
    spec = plant_with("machinery", ("demand_over_capacity",))
    m = _measured(spec, tl, "demand_over_capacity")
    data = run(spec, tl)
    assert m["measured"]["max_demand_kw"] > spec.contracted_kva
    assert m["measured"]["max_demand_kw"] == pytest.approx(m["params"]["ratio"] * spec.contracted_kva, rel=0.02)
    spike_days = {dt.date.fromisoformat(d) for d in m["params"]["days"]}
    kw = data.main_kwh / tl.dt_h
    for i, day in enumerate(tl.days):
        over = kw[tl.day_index == i].max() > spec.contracted_kva
        assert over == (day in spike_days), day
    assert max_demand_kw(run(healthy(spec), tl), tl) < spec.contracted_kva


def test_intensity_step_raises_intensity_from_the_date() -> None:
    tl = make_timeline()
    spec = plant_with("coking", ("intensity_step",))
    m = _measured(spec, tl, "intensity_step")
    before, after = m["measured"]["intensity_before_kgce_per_t"], m["measured"]["intensity_after_kgce_per_t"]
    assert after / before - 1 == pytest.approx(m["params"]["step_pct"] / 100, abs=0.02)


def test_shutdown_stops_output_but_standing_load_remains() -> None:
    tl = make_timeline()
    spec = plant_with("cement", ("shutdown",))
    m = _measured(spec, tl, "shutdown")
    assert m["measured"]["output_t_during"] == 0
    assert m["measured"]["main_kwh_per_day_during"] > 0
    data = run(spec, tl)
    first = dt.date.fromisoformat(m["params"]["from"])
    i = tl.days.index(first)
    assert data.output_inc[tl.day_index == i - 1].sum() > 0


def test_cold_store_failure_warms_the_store_out_of_band_and_then_recovers() -> None:
    tl = make_timeline(step_s=300)
    spec = plant_with("cold_store", ("cold_store_failure",))
    m = _measured(spec, tl, "cold_store_failure")
    data = run(spec, tl)
    temp = data.values["T01"]["temp_c"]
    start, end = m["params"]["start_epoch"], m["params"]["end_epoch"]
    during = (tl.epoch_s > start) & (tl.epoch_s <= end)
    assert temp.max() == pytest.approx(m["measured"]["max_temp_c"])
    if m["params"]["hours"] >= 8:
        assert temp[during].max() > COLD_STORE_BAND_C[1]
    assert np.diff(temp[during]).mean() > 0
    refrigeration = np.diff(data.values["M02"]["energy_kwh"], prepend=np.nan)
    assert np.nanmax(refrigeration[during]) < 0.1 * np.nanmedian(refrigeration)
    assert temp[-1] < COLD_STORE_BAND_C[1] or end > tl.epoch_s[-1] - 6 * 3600


def test_problem_share_picks_that_many_plants() -> None:
    from simulators.city import CityConfig, build_city
    from tests.unit.test_sim_support import DAYS

    plants = build_city(CityConfig(plants=40, seed=3, days=DAYS, problem_share=0.25))
    assert sum(1 for p in plants if p.problems) == 10
    with pytest.raises(ValueError, match=r"within 0\.\.1"):
        build_city(CityConfig(plants=4, seed=3, days=DAYS, problem_share=1.5))
    with pytest.raises(ValueError, match="unknown problem kind"):
        build_city(CityConfig(plants=4, seed=3, days=DAYS, problem_kinds=("leaky_roof",)))
