"""Operating hours without an output meter: from the load profile (two-level split) or the declared shift calendar;
base-load and shutdown findings for workshops without a production counter (issue 14 item 6)."""

from __future__ import annotations

import dataclasses
import datetime as dt

import numpy as np
import pandas as pd
import pytest

from analytics.diagnosis.diagnose import city_norms, diagnose
from analytics.diagnosis.frames import DiagnosisFacts, PlantFrames, Shift
from analytics.diagnosis.load import (
    OperatingHours,
    base_load_share,
    operating_hours,
    profile_operating,
    runs_every_day,
    two_level_split,
)
from core.reference import get_reference
from simulators import timeline
from simulators.city import CityConfig, build_city, no_output_plants
from simulators.problems import Problem
from tests.support.diagnosis_evaluation import expected_codes
from tests.support.diagnosis_simcity import plant_frames

REF = get_reference()
FIRST = dt.date(2026, 9, 21)  # three weeks with China's National Day holiday inside


def test_two_level_split_by_hand() -> None:
    """Idle 100 kWh ± 2 on 16 h, operating 300 ± 2 on 8 h: Otsu's threshold lies between, means and separation."""
    rng = np.random.default_rng(1)
    hours = np.tile(np.r_[np.full(16, 100.0), np.full(8, 300.0)], 7) + rng.normal(0, 2, 168)
    threshold, idle, operating, sep = two_level_split(hours)  # type: ignore[misc]
    assert 110 < threshold < 290
    assert idle == pytest.approx(100, abs=1) and operating == pytest.approx(300, abs=1) and sep > 50
    op = profile_operating(hours)
    assert op.source == "load profile" and op.mask.sum() == 56
    assert op.evidence()["idle_level_kwh_per_hour"] == pytest.approx(100, abs=1)


def test_a_load_that_only_breathes_has_one_level() -> None:
    """A 24/7 load with ±5 % noise, or one whose low level is 90 % of its high: no idle state is read."""
    rng = np.random.default_rng(2)
    assert profile_operating(500 * (1 + 0.05 * rng.standard_normal(168))).source == "load profile: one level"
    heavy = np.tile(np.r_[np.full(16, 450.0), np.full(8, 500.0)], 7) + rng.normal(0, 1, 168)
    assert profile_operating(heavy).source == "load profile: one level"
    assert profile_operating(heavy).mask.all()
    assert two_level_split(np.full(100, 3.0)) is None and two_level_split(np.arange(10.0)) is None


def test_shift_calendar_hours() -> None:
    day = Shift(dt.time(8), dt.time(17, 30))
    monday, sunday = dt.date(2026, 9, 21), dt.date(2026, 9, 27)
    assert [h for h in range(24) if day.covers(monday, h)] == list(range(8, 18))
    assert not any(day.covers(sunday, h) for h in range(24))
    night = Shift(dt.time(22), dt.time(6), "every_day")
    assert [h for h in range(24) if night.covers(sunday, h)] == [0, 1, 2, 3, 4, 5, 22, 23]
    assert not Shift(dt.time(8), dt.time(16)).covers(dt.date(2026, 10, 1), 9)  # National Day


def _workshops(n: int = 8, share: float = 0.35, seed: int = 3) -> tuple[list[PlantFrames], dict, int]:
    """A city of `n` one-shift machining workshops, none with an output meter; workshop 0 leaves a heavy load
    (`share` of its full load) on at nights, weekends and holidays."""
    tl = timeline.build(FIRST, 21, 900, seed)
    config = CityConfig(plants=n, seed=seed, days=tl.days, problem_share=0.0, industries=("machinery",),
                        no_output_share=1.0)
    specs = build_city(config)
    heavy = specs[0]
    extra = round(share * heavy.full_load_kw, 1)
    specs[0] = dataclasses.replace(heavy, problems=(Problem("base_load", {"extra_kw": extra,
                                                                         "share_of_full_load": share}),))
    frames, truths = zip(*(plant_frames(s, tl) for s in specs), strict=True)
    return list(frames), truths[0], extra


@pytest.fixture(scope="module")
def workshops() -> tuple[list[PlantFrames], dict, int]:
    return _workshops()


def test_workshop_without_output_meter_gets_base_load_within_20_percent(workshops) -> None:
    """Done-when of issue 14: no output meter, heavy idle load at nights and weekends → `base_load`, savings within
    ±20 % of the injected truth (peers' median share as the norm, as `enerdiag report` uses it)."""
    frames, truth, extra = workshops
    assert all(f.table["output"].isna().all() for f in frames)  # no production counter anywhere
    norms = city_norms(frames)
    found = diagnose(frames[0], REF, norms=norms)
    base = next(f for f in found if f.code == "base_load")
    injected = next(p for p in truth["problems"] if p["code"] == "base_load")["measured"]["extra_kwh_per_day"]
    got = base.evidence["avoidable_kwh_per_day"]
    assert got == pytest.approx(injected, rel=0.20), (got, injected)
    assert base.evidence["operating_hours_from"] == "load profile"
    assert base.evidence["expected_share_from"] == "industry peers (median)"
    assert base.savings_kwh == pytest.approx(got * frames[0].days, rel=1e-3)
    print(f"no output meter: avoidable {got} kWh/day against injected {injected} ({extra} kW off shift)")
    for other in frames[1:]:  # the healthy workshops get no base-load finding
        assert all(f.code != "base_load" for f in diagnose(other, REF, norms=norms))


def test_the_same_workshop_from_its_declared_shift_calendar(workshops) -> None:
    """With the registry's shift calendar (08:00-17:30 on working days) the hours come from it, same result."""
    frames, truth, _ = workshops
    declared = dataclasses.replace(frames[0].facts, shifts=(Shift(dt.time(8), dt.time(17, 30)),))
    plant = PlantFrames(frames[0].enterprise, frames[0].first_day, frames[0].end_day, frames[0].hourly, declared,
                        frames[0].demand_kw)
    assert operating_hours(plant).source == "shift calendar"
    base = next(f for f in diagnose(plant, REF, norms=city_norms(frames)) if f.code == "base_load")
    injected = next(p for p in truth["problems"] if p["code"] == "base_load")["measured"]["extra_kwh_per_day"]
    assert base.evidence["avoidable_kwh_per_day"] == pytest.approx(injected, rel=0.20)
    assert base.evidence["operating_hours_from"] == "shift calendar"


def test_profile_hours_match_the_simulated_shifts(workshops) -> None:
    """The hours read from the load profile are the simulator's producing hours, but for the shift edges."""
    frames, _, _ = workshops
    for f in frames:
        op = operating_hours(f)
        hours = f.table["hour"].to_numpy()
        workdays = f.table["workday"].to_numpy()
        shift = workdays & (((hours >= 8) & (hours < 12)) | ((hours >= 13) & (hours < 17)))
        assert op.source == "load profile"
        assert (op.mask == shift).mean() > 0.97
        assert not runs_every_day(f, op)


def test_a_24_7_kiln_without_output_meter_gets_no_base_load_and_its_stop_is_found() -> None:
    """Ceramics (24/7 kiln, ball mill kept out of peak hours) without an output meter: the profile's low level is
    the mill's pause, rest days use what working days use, so the plant runs every day: no base load; a 3-day
    stop is found on the days it happened."""
    tl = timeline.build(FIRST, 21, 900, 4)
    config = CityConfig(plants=1, seed=4, days=tl.days, problem_share=0.0, industries=("ceramics",),
                        no_output_share=1.0)
    spec = build_city(config)[0]
    stop = {"from": "2026-10-02", "to": "2026-10-04", "days": 3}
    spec = dataclasses.replace(spec, problems=(Problem("shutdown", stop),))
    frames, _ = plant_frames(spec, tl)
    op = operating_hours(frames)
    assert op.source == "load profile" and runs_every_day(frames, op)
    assert base_load_share(frames) is None
    stops = [f for f in diagnose(frames, REF) if f.code == "shutdown"]
    assert [(s.evidence["from"], s.evidence["to"]) for s in stops] == [("2026-10-02", "2026-10-04")]
    assert stops[0].evidence["operating_hours_during"] == 0 and stops[0].evidence["schedule"] == "24/7"


def test_operating_hours_prefer_the_output_meter() -> None:
    tl = timeline.build(FIRST, 7, 3600, 5)
    spec = build_city(CityConfig(plants=1, seed=5, days=tl.days, problem_share=0.0, industries=("food",)))[0]
    frames, truth = plant_frames(spec, tl)
    assert truth["output_meter"] is True and operating_hours(frames).source == "output meter"
    assert isinstance(operating_hours(frames), OperatingHours)


def test_city_share_without_output_meter_and_what_they_cannot_get() -> None:
    tl_days = tuple(FIRST + dt.timedelta(days=i) for i in range(3))
    config = CityConfig(plants=30, seed=9, days=tl_days, no_output_share=1 / 3)
    assert len(no_output_plants(config)) == 10
    specs = build_city(config)
    assert sum(not s.output_meter for s in specs) == 10
    assert all(all(m.id != "O01" for m in s.meters) for s in specs if not s.output_meter)
    with pytest.raises(ValueError, match="no-output share"):
        build_city(dataclasses.replace(config, no_output_share=1.5))
    truth = {"industry": "cement", "output_meter": False, "problems": [
        {"code": "over_quota", "params": {}}, {"code": "intensity_step", "params": {}},
        {"code": "base_load", "params": {}}], "period": {"intensity_kgce_per_t": 999.0},
        "quota_limit_kgce_per_t": 117.0}
    assert set(expected_codes(truth)) == {"base_load"}  # intensity codes need output: visibly absent


def test_frames_without_output_hold_nan_output(workshops) -> None:
    frames, _, _ = workshops
    assert isinstance(frames[0].facts, DiagnosisFacts)
    assert pd.isna(frames[0].table["output"]).all()


def test_a_stop_is_found_from_the_load_even_with_a_declared_shift_calendar() -> None:
    """The calendar says the workshop should work 08:00-17:30 on working days; a 3-working-day stop still shows in
    its load profile and is reported, with the calendar named as the source of the hours."""
    tl = timeline.build(FIRST, 21, 900, 6)
    config = CityConfig(plants=1, seed=6, days=tl.days, problem_share=0.0, industries=("machinery",),
                        no_output_share=1.0)
    spec = build_city(config)[0]
    spec = dataclasses.replace(spec, problems=(Problem("shutdown", {"from": "2026-09-22", "to": "2026-09-24",
                                                                     "days": 3}),))
    frames, _ = plant_frames(spec, tl)
    declared = dataclasses.replace(frames.facts, shifts=(Shift(dt.time(8), dt.time(17, 30)),))
    plant = PlantFrames(frames.enterprise, frames.first_day, frames.end_day, frames.hourly, declared,
                        frames.demand_kw)
    stops = [f for f in diagnose(plant, REF) if f.code == "shutdown"]
    assert [(s.evidence["from"], s.evidence["to"]) for s in stops] == [("2026-09-22", "2026-09-24")]
    assert stops[0].evidence["operating_hours_from"] == "shift calendar"
    assert stops[0].evidence["schedule"] == "working days (chinese_calendar)"
