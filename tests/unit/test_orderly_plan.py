"""Orderly power use (issue 18): flexibility from hourly load, allocation, verification — hand-checkable numbers."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import numpy as np
import pytest

from analytics.orderly.allocate import Candidate, allocate, plan_days, rotate_fill, water_fill
from analytics.orderly.flex import EventWindow, Flexibility, LoadHistory, assess, day_type, expected_profile
from analytics.orderly.plan import build_plan
from analytics.orderly.policy import PolicyError, read_policy
from analytics.orderly.verify import verify, verify_one

FIRST = dt.date(2026, 3, 2)  # a Monday; 2026-03-02 .. 2026-03-29 holds no public holiday
DAYS = tuple(FIRST + dt.timedelta(days=i) for i in range(28))
EVENT = dt.date(2026, 3, 30)  # the Monday after


def shop(days: tuple[dt.date, ...] = DAYS, *, declared: float | None = 80.0) -> LoadHistory:
    """A one-shift workshop: 100 kW always (60 kW of it cold-store refrigeration), +200 kW production 08-17 on
    working days, and a batch furnace (sub-meter) of 200 kW running 09-12 on working days."""
    site = np.full((len(days), 24), 100.0)
    batch = np.zeros((len(days), 24))
    for i, d in enumerate(days):
        if day_type(d) == "workday":
            site[i, 8:17] += 200.0
            batch[i, 9:12] = 200.0
            site[i, 9:12] += 200.0
    return LoadHistory("SHOP", days, site, np.full((len(days), 24), 60.0), {"M03": batch}, declared)


def test_the_calendar_has_the_days_the_tests_assume() -> None:
    assert [day_type(d) for d in DAYS[:7]] == ["workday"] * 5 + ["rest_day"] * 2
    assert day_type(EVENT) == "workday"
    assert day_type(dt.date(2026, 10, 1)) == "holiday"


def test_flexibility_of_a_one_shift_workshop() -> None:
    f = assess(shop(), EventWindow(EVENT, 9, 11))
    assert f.assessed and f.day_type == "workday"
    assert f.expected_kw == pytest.approx(500.0) and f.expected_sd_kw == pytest.approx(0.0)
    assert f.security_kw == pytest.approx(80.0)  # declared 80 > refrigeration 60
    assert f.security_from[0] == "declared"
    assert f.idle_kw == pytest.approx(100.0)
    assert f.shiftable_kw == pytest.approx(200.0) and f.shiftable_meters == ("M03",)
    assert f.curtailable_kw == pytest.approx(500.0 - 80.0 - 200.0)
    assert len(f.similar_days) == 10 and f.similar_days[0] == dt.date(2026, 3, 27)


def test_refrigeration_sets_the_security_load_when_above_the_declared_one() -> None:
    f = assess(shop(declared=None), EventWindow(EVENT, 9, 11))
    assert f.security_kw == pytest.approx(60.0)
    assert f.security_from == ("cold-store refrigeration (warehouse meters)",)


def test_a_batch_load_outside_the_event_hours_is_not_shiftable() -> None:
    f = assess(shop(), EventWindow(EVENT, 14, 16))  # furnace runs 09-12
    assert f.shiftable_kw == 0.0 and f.curtailable_kw == pytest.approx(300.0 - 80.0)


def test_rest_day_expectation_comes_from_rest_days() -> None:
    f = assess(shop(), EventWindow(dt.date(2026, 3, 28), 9, 11))  # a Saturday in the history's own range
    assert f.day_type == "rest_day" and f.expected_kw == pytest.approx(100.0)
    mean, sd, n = expected_profile(shop(), "rest_day")
    assert n == 8 and mean[10] == pytest.approx(100.0) and sd[10] == pytest.approx(0.0)


def test_a_continuous_kiln_keeps_its_minimum_while_producing() -> None:
    rng = np.random.default_rng(1)
    site = 1000.0 + rng.normal(0, 10.0, (len(DAYS), 24))
    f = assess(LoadHistory("KILN", DAYS, site), EventWindow(EVENT, 17, 21))
    assert f.security_from == ("continuous process: minimum while producing",)
    assert 960.0 < f.security_kw < 990.0  # the 5th percentile of ~N(1000, 10)
    assert f.curtailable_kw == pytest.approx(f.expected_min_hour_kw - f.security_kw)


def test_missing_data_gives_no_figures_but_the_reason() -> None:
    h = shop()
    site = h.site_kw.copy()
    site[:-3] = np.nan  # only the last three days (Fri, Sat, Sun) have data: one working day
    f = assess(LoadHistory("SHOP", DAYS, site), EventWindow(EVENT, 9, 11))
    assert not f.assessed and f.expected_kw is None and f.reducible_kw == 0.0
    assert "only 1 workday(s)" in f.reason


def flex(code: str, shift: float, curtail: float, security: float = 50.0) -> Flexibility:
    expected = security + shift + curtail + 10.0
    return Flexibility(code, "workday", expected_kw=expected, expected_sd_kw=5.0, expected_min_hour_kw=expected - 10,
                       security_kw=security, idle_kw=security, shiftable_kw=shift, curtailable_kw=curtail,
                       similar_days=DAYS[:10])


POLICY = read_policy()
WINDOW = EventWindow(EVENT, 17, 21)


def city() -> list[Candidate]:
    return [Candidate("A", flex("A", 100, 200)), Candidate("B", flex("B", 50, 100)),
            Candidate("C", flex("C", 0, 500), "livelihood")]


def shares(alloc) -> dict[str, tuple[float, float]]:  # type: ignore[no-untyped-def]
    return {s.code: (round(s.shift_kw, 6), round(s.curtail_kw, 6)) for s in alloc.shares}


def test_shifting_comes_first_in_proportion_to_capacity() -> None:
    a = allocate(WINDOW, 120.0, city(), POLICY)
    assert shares(a) == {"A": (80.0, 0.0), "B": (40.0, 0.0), "C": (0.0, 0.0)}
    assert a.planned_kw == pytest.approx(120.0) and a.met and a.reason is None
    assert [s.action for s in a.shares] == ["shift", "shift", "none"]


def test_curtailment_after_all_shifting_and_protected_classes_last() -> None:
    a = allocate(WINDOW, 300.0, city(), POLICY)
    assert shares(a) == {"A": (100.0, 100.0), "B": (50.0, 50.0), "C": (0.0, 0.0)}
    b = allocate(WINDOW, 600.0, city(), POLICY)
    assert shares(b) == {"A": (100.0, 200.0), "B": (50.0, 100.0), "C": (0.0, 150.0)}


def test_short_of_flexibility_the_plan_says_why_and_nobody_goes_below_security() -> None:
    cands = city()
    a = allocate(WINDOW, 1000.0, cands, POLICY)
    assert a.planned_kw == pytest.approx(950.0) and not a.met
    assert "最多可安排 950 kW，缺口 50 kW" in a.reason and "保安负荷" in a.reason
    for c in cands:
        s = a.share_of(c.code)
        assert c.flex.expected_min_hour_kw - s.reduce_kw >= c.flex.security_kw - 1e-9


def test_high_intensity_and_over_quota_plants_are_asked_first() -> None:
    cands = [Candidate("D", flex("D", 0, 100), "high_intensity"), Candidate("E", flex("E", 0, 100)),
             Candidate("F", flex("F", 0, 100), "strategic")]
    assert shares(allocate(WINDOW, 50.0, cands, POLICY)) == {"D": (0, 50.0), "E": (0, 0), "F": (0, 0)}
    assert shares(allocate(WINDOW, 150.0, cands, POLICY)) == {"D": (0, 100.0), "E": (0, 50.0), "F": (0, 0)}
    over = [cands[0], Candidate("E", flex("E", 0, 100), over_quota=True), cands[2]]
    # E over quota: rank 1 with D and twice D's weight: 60 kW split 40 / 20
    got = shares(allocate(WINDOW, 60.0, over, POLICY))
    assert got["E"][1] == pytest.approx(40.0) and got["D"][1] == pytest.approx(20.0) and got["F"] == (0, 0)


def test_a_protected_over_quota_plant_stays_protected() -> None:
    cands = [Candidate("C", flex("C", 0, 100), "livelihood", over_quota=True), Candidate("E", flex("E", 0, 100))]
    assert shares(allocate(WINDOW, 80.0, cands, POLICY)) == {"C": (0, 0), "E": (0, 80.0)}


def test_water_fill_caps_each_share_at_its_capacity() -> None:
    assert water_fill(100.0, [10, 100, 100], [1, 1, 1]) == pytest.approx([100 / 21, 1000 / 21, 1000 / 21])
    assert water_fill(100.0, [10, 100, 100], [10, 1, 1]) == pytest.approx([10.0, 45.0, 45.0])
    assert water_fill(500.0, [10, 100], [1, 1]) == [10, 100]
    assert rotate_fill(150.0, [100, 100, 100], [1, 1, 1], [0, 0, 0], ["a", "b", "c"]) == [100, 50, 0]


def test_several_days_rotate_curtailment_rounds() -> None:
    cands = [Candidate(c, flex(c, 0, 100)) for c in ("A", "B", "C")]
    windows = [EventWindow(EVENT + dt.timedelta(days=i), 17, 21) for i in range(3)]
    rounds = plan_days(windows, 100.0, [cands] * 3, POLICY)
    assert [[s.code for s in r.shares if s.curtail_kw > 0] for r in rounds] == [["A"], ["B"], ["C"]]
    plan = build_plan(rounds, [cands] * 3, POLICY).to_json()
    assert [r["enterprises"][0]["enterprise"] for r in plan["rounds"]] == ["A", "B", "C"]
    assert plan["planned_kw"] == 100.0 and plan["shortfall_kw"] == 100.0


def test_plan_json_carries_the_contract_fields_and_a_notice() -> None:
    cands = [Candidate("SHOP", assess(shop(), EventWindow(EVENT, 9, 11)), name="大同示例机械有限公司")]
    alloc = allocate(EventWindow(EVENT, 9, 11), 300.0, cands, POLICY)
    doc = build_plan([alloc], [cands], POLICY, "云冈区").to_json()
    assert {"shortfall_kw", "planned_kw", "enterprises"} <= set(doc)
    row = doc["enterprises"][0]
    assert {k: row[k] for k in ("enterprise", "expected_kw", "security_kw", "reduce_kw", "action")} == {
        "enterprise": "SHOP", "expected_kw": 500.0, "security_kw": 80.0, "reduce_kw": 300.0, "action": "curtail"}
    assert (row["shift_kw"], row["curtail_kw"]) == (200.0, 100.0)
    # production load 500 - idle 100 = 400 kW; 100 kW curtailed = a quarter of the two event hours' output
    assert row["output_effect"]["curtailed_share_of_event_output"] == 0.25
    assert row["output_effect"]["production_hours_lost"] == 0.5
    assert "大同示例机械有限公司" in row["notice_zh"] and "2026年3月30日 09:00至11:00" in row["notice_zh"]
    assert "80 千瓦" in row["notice_zh"] and "合计约 300 千瓦" in row["notice_zh"]


def test_policy_file_errors_name_file_and_line(tmp_path: Path) -> None:
    bad = tmp_path / "p.yaml"
    bad.write_text("source: x\nclasses:\n  normal: {rank: 0}\n  strategic: {rank: 2}\n"
                   "  livelihood: {rank: 1, protected: true}\n  high_intensity: {rank: 1, weight: -1}\n",
                   encoding="utf-8")
    with pytest.raises(PolicyError) as exc:
        read_policy(bad)
    text = "\n".join(exc.value.errors)
    assert f"{bad}:3: classes.normal.rank" in text and f"{bad}:6: classes.high_intensity.weight" in text
    bad.write_text("source: x\nclasses:\n  normal: {rank: 1}\n  strategic: {rank: 2}\n"
                   "  livelihood: {rank: 1, protected: true}\n  high_intensity: {rank: 1}\n", encoding="utf-8")
    with pytest.raises(PolicyError, match=r"p.yaml:5: classes.livelihood.rank: a protected class must rank after"):
        read_policy(bad)


def with_event(h: LoadHistory, cut: float) -> LoadHistory:
    """The history plus the event day (a normal working day) with `cut` kW less in hours 17-21."""
    days = (*h.days, EVENT)
    site = np.vstack([h.site_kw, h.site_kw[-7]])  # the Monday before
    site[-1, 17:21] -= cut
    return LoadHistory(h.code, days, site)


def evening_shop() -> LoadHistory:
    h = shop()
    site = h.site_kw.copy()
    site[np.array([day_type(d) == "workday" for d in DAYS]), 17:21] += 300.0  # an evening shift too
    return LoadHistory("SHOP", DAYS, site)


@pytest.mark.parametrize(("cut", "status"), [(200.0, "complied"), (170.0, "complied"), (120.0, "partial"),
                                             (0.0, "not_followed")])
def test_verification_against_the_baseline(cut: float, status: str) -> None:
    h = with_event(evening_shop(), cut)
    r = verify_one(h, EventWindow(EVENT, 17, 21), 200.0, "curtail", security_kw=80.0)
    assert r.baseline_kw == pytest.approx(400.0) and r.adjustment == pytest.approx(1.0)
    assert r.baseline_days == (dt.date(2026, 3, 27), dt.date(2026, 3, 26), dt.date(2026, 3, 25),
                               dt.date(2026, 3, 24), dt.date(2026, 3, 23))
    assert r.actual_kw == pytest.approx(400.0 - cut) and r.delivered_kw == pytest.approx(cut)
    assert r.status == status and not r.warnings


def test_verification_leaves_out_stop_days_and_flags_a_cut_below_security() -> None:
    h = with_event(evening_shop(), 390.0)
    site = h.site_kw.copy()
    site[h.days.index(dt.date(2026, 3, 27))] = 5.0  # a stop day before the event: not a baseline day
    h = LoadHistory("SHOP", h.days, site)
    r = verify_one(h, EventWindow(EVENT, 17, 21), 200.0, "curtail", security_kw=80.0)
    assert dt.date(2026, 3, 27) not in r.baseline_days and r.baseline_days[-1] == dt.date(2026, 3, 20)
    assert r.status == "complied" and "below the security load" in r.warnings[0]


def test_day_of_adjustment_scales_the_baseline_within_20_percent() -> None:
    h = with_event(evening_shop(), 0.0)
    site = h.site_kw.copy()
    site[-1, 13:16] *= 1.1  # a busier afternoon before the event: 300 -> 330 kW
    h = LoadHistory("SHOP", h.days, site)
    r = verify_one(h, EventWindow(EVENT, 17, 21), 200.0, "curtail")
    assert r.adjustment == pytest.approx(1.1) and r.baseline_kw == pytest.approx(440.0)
    assert r.delivered_kw == pytest.approx(40.0) and r.status == "not_followed"
    plain = verify_one(h, EventWindow(EVENT, 17, 21), 200.0, "curtail", adjust="none")
    assert plain.adjustment == 1.0 and plain.delivered_kw == pytest.approx(0.0)


def test_verification_totals_and_missing_data() -> None:
    h = with_event(evening_shop(), 200.0)
    result = verify({"SHOP": h}, EventWindow(EVENT, 17, 21), {"SHOP": (200.0, "curtail"), "GONE": (50.0, "shift")})
    doc = result.to_json()
    assert doc["planned_kw"] == 250.0 and doc["delivered_kw"] == 200.0
    assert doc["counts"]["complied"] == 1 and doc["counts"]["no_data"] == 1
    assert doc["delivered_from"].startswith("1 of 2")


def test_asks_below_what_the_meters_can_verify_go_to_others() -> None:
    from analytics.orderly.allocate import fill_above_floors

    def fill(need: float, caps: list[float]) -> list[float]:
        return water_fill(need, caps, [1.0] * len(caps))

    # 40 kW capacity below its 50 kW floor is never asked; 60 kW over 60 + 100 gives 22.5 < 30: left out, then
    # the 100 kW plant takes the 60 kW whole
    assert fill_above_floors(60.0, [40, 60, 100], [1, 1, 1], [50, 30, 10], fill) == [0.0, 0.0, 60.0]
    assert fill_above_floors(140.0, [40, 60, 100], [1, 1, 1], [50, 30, 10], fill) == [0.0, 52.5, 87.5]
    # A (51.7 < 55) and then C (909 < 990) are left out; B takes its 100 whole; of the 900 kW left, C cannot be
    # asked 900 (< 990) but A can be asked its whole 60 (>= 55)
    assert fill_above_floors(1000.0, [60, 100, 1000], [1, 1, 1], [55, 10, 990], fill) == [60.0, 100.0, 0.0]
    a = allocate(WINDOW, 100.0, [Candidate("A", flex("A", 0, 5)), Candidate("B", flex("B", 0, 200))], POLICY)
    assert shares(a) == {"A": (0, 0), "B": (0, 100.0)}
