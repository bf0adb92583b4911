"""The dashboard feed's pure parts: analysis results and hourly kWh → line protocol (analytics/publish_job.py)."""

from __future__ import annotations

import datetime as dt

import pytest

from analytics.activity import GroupActivity
from analytics.publish_job import (
    GRADE_NA,
    GRADE_OVER,
    activity_lines,
    activity_windows,
    analysis_fields,
    analysis_line,
    day_periods,
    tou_lines,
    tou_split,
)
from analytics.quota import QuotaResult, assess_quota
from analytics.result import AnalysisResult
from core.reference import get_reference
from tests.support.analysis_results import analysis_result

REF = get_reference()
DAY = dt.date(2026, 7, 15)
CODE = "91140200MA0H2KXX88"


def _result(tce: float | None, output: float | None, completeness: dict[str, float | None],
            quota: QuotaResult) -> AnalysisResult:
    return analysis_result(completeness, period=(DAY.isoformat(), (DAY + dt.timedelta(days=1)).isoformat()),
                           tce=tce, co2_t=None if tce is None else 2.5 * tce, output_t=output,
                           scope1_t=None if tce is None else 1.0,
                           intensity_kgce_per_t=tce * 1000 / output if tce and output else None,
                           green_share=0.0, quota=quota)


def test_over_quota_point_carries_grade_4_limit_and_gap() -> None:
    quota = assess_quota("cement_clinker", 6.0, 48.0, DAY, REF)  # 125 kgce/t
    assert quota.status == "over_quota"
    fields = analysis_fields(_result(6.0, 48.0, {"electricity": 0.97, "natural_gas": 0.9, "water": 0.1}, quota))
    assert fields["over_quota"] == 1 and fields["quota_grade"] == GRADE_OVER
    assert fields["intensity_kgce_per_t"] == pytest.approx(125.0)
    assert fields["quota_limit_kgce_per_t"] == quota.limit
    assert fields["gap_per_unit_kgce"] == pytest.approx(125.0 - quota.limit)
    assert fields["gap_tce"] == pytest.approx((125.0 - quota.limit) * 48 / 1000)
    assert fields["excess_pct"] == pytest.approx(100 * (125.0 - quota.limit) / quota.limit)
    assert fields["grade1_kgce_per_t"] < fields["grade2_kgce_per_t"] < fields["quota_limit_kgce_per_t"]
    assert fields["completeness"] == 0.9  # weakest energy carrier; water is not energy


def test_grade_met_and_not_applicable() -> None:
    quota = assess_quota("cement_clinker", 3.0, 48.0, DAY, REF)  # 62.5 kgce/t
    fields = analysis_fields(_result(3.0, 48.0, {"electricity": 1.0}, quota))
    assert fields["over_quota"] == 0 and fields["quota_grade"] == quota.grade and 1 <= quota.grade <= 3
    assert fields["gap_tce"] == 0.0 and fields["gap_per_unit_kgce"] == 0.0 and fields["excess_pct"] == 0.0
    na = analysis_fields(_result(3.0, 0.0, {}, assess_quota(None, 3.0, 0.0, DAY, REF)))
    assert na["quota_grade"] == GRADE_NA and na["over_quota"] == 0
    assert "intensity_kgce_per_t" not in na and "quota_limit_kgce_per_t" not in na and na["completeness"] == 0.0


def test_unknown_energy_and_output_are_left_out_not_written_as_zero() -> None:
    fields = analysis_fields(_result(None, None, {}, assess_quota(None, None, None, DAY, REF)))
    assert not {"tce", "output_t", "co2_t", "scope1_t", "scope2_t"} & set(fields)
    known = analysis_fields(_result(2.0, 0.0, {}, assess_quota(None, 2.0, 0.0, DAY, REF)))
    assert known["tce"] == 2.0 and known["output_t"] == 0.0 and known["co2_t"] == 5.0


def test_analysis_line_time_is_the_local_midnight_of_the_period() -> None:
    quota = assess_quota(None, 1.0, 0.0, DAY, REF)
    text = analysis_line(_result(1.0, 0.0, {}, quota), "month")
    head, _fields, stamp = text.rsplit(" ", 2)
    assert head == f"enterprise_analysis,enterprise={CODE},period=month"
    assert int(stamp) == int(dt.datetime(2026, 7, 14, 16, tzinfo=dt.UTC).timestamp())
    assert "over_quota=0i" in text and "quota_grade=0i" in text


def test_day_periods_follow_the_reference_spans() -> None:
    spans = REF.tou_periods(DAY, DAY.month).value
    expected = [next(s.period for s in spans if s.start <= h < s.end) for h in range(24)]
    assert day_periods(REF, DAY) == expected


def test_tou_split_sums_each_hour_into_its_period_and_keeps_every_period() -> None:
    table = day_periods(REF, DAY)
    midnight = int(dt.datetime(2026, 7, 14, 16, tzinfo=dt.UTC).timestamp())
    hours = [(midnight + 3600 * h, float(h + 1)) for h in range(24)]
    hours.append((midnight + 86400, 1000.0))  # next day: no table given, left out
    split = tou_split(hours, "Asia/Shanghai", {DAY: table})
    assert set(split) == {DAY}
    for period in set(table):
        assert split[DAY][period] == pytest.approx(sum(h + 1 for h in range(24) if table[h] == period))
    assert sum(split[DAY].values()) == pytest.approx(300.0)
    lines = tou_lines(CODE, "Asia/Shanghai", split)
    assert len(lines) == len(set(table))
    assert all(ln.endswith(f" {midnight}") and ln.startswith(f"enterprise_tou_daily,enterprise={CODE},period=")
               for ln in lines)


def test_a_day_without_consumption_in_a_period_still_writes_it_as_zero() -> None:
    table = day_periods(REF, DAY)
    midnight = int(dt.datetime(2026, 7, 14, 16, tzinfo=dt.UTC).timestamp())
    only_valley = [(midnight + 3600 * h, 5.0) for h in range(24) if table[h] == "valley"]
    split = tou_split(only_valley, "Asia/Shanghai", {DAY: table})
    assert split[DAY]["peak"] == 0.0 and split[DAY]["valley"] == 5.0 * table.count("valley")


def test_activity_windows_are_the_week_ending_with_the_day_and_four_weeks_before() -> None:
    (lo, hi), (base_lo, base_hi) = activity_windows(DAY)
    assert (hi - lo).days == 7 and hi == DAY + dt.timedelta(days=1)
    assert base_hi == lo and (base_hi - base_lo).days == 28


def test_activity_lines_leave_out_an_index_nobody_enters_and_name_unknown_groups_as_the_variables_do() -> None:
    lines = activity_lines("county", [GroupActivity("unknown", None, 0, 2, 1.0, 0.0),
                                      GroupActivity("云冈区", 95.5, 3, 0, 9.55, 10.0)], 100)
    assert lines[0].startswith("activity_index,by=county,group=未登记 ") and "activity_index=" not in lines[0]
    assert "activity_index=95.5" in lines[1] and "enterprises=3i" in lines[1]
