"""Credit indicator definitions (电E贷): utilisation, growth, activity index, stability, shutdown days."""

from __future__ import annotations

import datetime as dt

import pytest

from analytics.result import AnalysisResult
from api.indicators import (
    MIN_DAYS,
    Day,
    Month,
    add_months,
    daily_indicators,
    insufficient_of,
    monthly_indicators,
    period_indicators,
    reference_month,
)
from api.orders import verify_order
from tests.support.analysis_results import analysis_result

METERS = [{"meter": "M01", "quantity": "energy_kwh", "carrier": "electricity", "role": "main"}]


def months_from(first: dt.date, values: list[float]) -> dict[dt.date, Month]:
    return {add_months(first, i): Month(add_months(first, i), v, 1.0) for i, v in enumerate(values)}


def test_reference_month_is_the_last_complete_one() -> None:
    assert reference_month(dt.date(2026, 11, 1)) == dt.date(2026, 10, 1)
    assert reference_month(dt.date(2026, 1, 31)) == dt.date(2025, 12, 1)
    assert add_months(dt.date(2026, 1, 1), -13) == dt.date(2024, 12, 1)


def test_monthly_indicators_follow_the_published_formulas() -> None:
    # Nov 2024 .. Oct 2026: first year 1,000 kWh a month, second year 2,000, with a 3,000 peak in March 2026
    values = [1000.0] * 12 + [2000.0] * 12
    values[16] = 3000.0  # 2026-03
    values[-1] = 1500.0  # the reference month, 2026-10
    figures, evidence = monthly_indicators(months_from(dt.date(2024, 11, 1), values), dt.date(2026, 11, 1), METERS)
    assert figures["utilisation"] == 0.5  # 1,500 / 3,000
    assert figures["trend_yoy"] == pytest.approx((sum(values[12:]) - 12000) / 12000)
    assert figures["trend_mom"] == pytest.approx((1500 / 31) / (2000 / 30) - 1, abs=1e-6)
    assert figures["activity_index"] == (int(sum(values[12:]) / 12 / 1000) + 1) * 10 == 30
    assert evidence["utilisation"]["inputs"]["peak_month"] == {"month": "2026-03", "electricity_kwh": 3000.0,
                                                               "completeness": 1.0, "counts": True}
    assert evidence["trend_yoy"]["period"] == {"from": "2024-11-01", "to": "2026-11-01"}
    assert evidence["utilisation"]["meters"] == METERS


def test_missing_history_gives_null_not_a_number() -> None:
    figures, evidence = monthly_indicators({}, dt.date(2026, 11, 1), METERS)
    assert figures == {"activity_index": None, "utilisation": None, "trend_mom": None, "trend_yoy": None}
    assert evidence["trend_yoy"]["completeness"] == 0.0
    assert set(insufficient_of(evidence)) == set(figures)
    assert evidence["activity_index"]["inputs"]["months"][0] == {"month": "2025-11", "electricity_kwh": None,
                                                                "completeness": 0.0, "counts": False}


def test_months_without_data_are_left_out_not_counted_as_zero() -> None:
    values = [1000.0] * 12 + [2000.0] * 12
    months = months_from(dt.date(2024, 11, 1), values)
    for gone in (dt.date(2026, 1, 1), dt.date(2026, 2, 1)):  # two months of the last 12 without data
        del months[gone]
    figures, evidence = monthly_indicators(months, dt.date(2026, 11, 1), METERS)
    assert figures["activity_index"] == 30  # mean of the 10 counted months: 2,000 kWh, not 20,000 / 12 → 20
    assert evidence["activity_index"]["inputs"]["months_counted"] == 10
    assert figures["trend_yoy"] == pytest.approx(1.0)  # the 10 months counted in both years: 20,000 / 10,000 − 1
    assert evidence["trend_yoy"]["inputs"]["month_pairs"] == 10
    assert insufficient_of(evidence) == {}
    months[dt.date(2025, 3, 1)] = Month(dt.date(2025, 3, 1), 200.0, 0.1)  # a year-earlier month barely measured
    figures, evidence = monthly_indicators(months, dt.date(2026, 11, 1), METERS)
    assert figures["trend_yoy"] is None and figures["activity_index"] == 30
    assert insufficient_of(evidence)["trend_yoy"]["coverage"] == {"month_pairs": 9, "months": 12}
    del months[dt.date(2026, 3, 1)]  # an 11th month of the last 12 without data: activity_index needs 10
    figures, evidence = monthly_indicators(months, dt.date(2026, 11, 1), METERS)
    assert figures["activity_index"] is None
    assert insufficient_of(evidence)["activity_index"]["coverage"] == {"months_counted": 9, "months": 12}


def test_daily_indicators_count_shutdowns_but_not_gaps() -> None:
    as_of = dt.date(2026, 11, 1)
    first = as_of - dt.timedelta(days=90)
    days = [Day(first + dt.timedelta(days=i), 100.0, 1.0) for i in range(90)]
    days[10] = Day(days[10].day, 5.0, 1.0)  # a stop
    days[20] = Day(days[20].day, 0.0, 0.0)  # no data: not a stop
    figures, evidence, anomalies = daily_indicators(days, as_of, METERS)
    assert figures["shutdown_days_90d"] == 1
    assert [a["kind"] for a in anomalies] == ["shutdown_day", "data_gap"]
    assert figures["no_data_days_90d"] == 1
    stable = [d.kwh for d in days if d.completeness >= 0.9]
    mean = sum(stable) / len(stable)
    cv = (sum((x - mean) ** 2 for x in stable) / (len(stable) - 1)) ** 0.5 / mean  # sample SD
    assert figures["stability_cv"] == pytest.approx(cv, abs=1e-6)
    assert evidence["shutdown_days_90d"]["inputs"] == {"median_daily_kwh": 100.0, "measured_days": 89,
                                                       "days_without_data": 1}
    assert insufficient_of(evidence) == {}


def test_a_quarter_mostly_without_data_gives_no_shutdown_count_and_no_cv() -> None:
    as_of = dt.date(2026, 11, 1)
    days = [Day(as_of - dt.timedelta(days=i), 100.0, 1.0) for i in range(1, MIN_DAYS)]  # 59 days
    figures, evidence, anomalies = daily_indicators(days, as_of, METERS)
    assert figures == {"stability_cv": None, "shutdown_days_90d": None, "no_data_days_90d": 31}
    assert [a["kind"] for a in anomalies] == ["data_gap"] * 31
    gaps = insufficient_of(evidence)
    assert gaps["shutdown_days_90d"]["coverage"] == {"measured_days": 59, "days": 90}
    assert gaps["stability_cv"]["needs"] == "≥ 60 of the 90 days with completeness ≥ 0.9"
    days.append(Day(as_of - dt.timedelta(days=MIN_DAYS), 100.0, 1.0))  # the 60th day
    figures, _, _ = daily_indicators(days, as_of, METERS)
    assert figures == {"stability_cv": 0.0, "shutdown_days_90d": 0, "no_data_days_90d": 30}


def test_twelve_month_figures_need_their_carriers_covered() -> None:
    full, evidence = period_indicators(analysis_result({"electricity": 1.0, "output": 0.95}), METERS,
                                       ("electricity", "output"))
    assert full == {"quota_status": "ok", "carbon_intensity_t_per_t": 0.5, "green_share": 0.1, "completeness": 1.0}
    assert insufficient_of(evidence) == {}
    assert evidence["carbon_intensity_t_per_t"]["window"] == "12 months 2025-11 to 2026-10"
    thin, evidence = period_indicators(analysis_result({"electricity": 7 / 365}), METERS, ("electricity", "output"))
    assert thin == {"quota_status": None, "carbon_intensity_t_per_t": None, "green_share": None,
                    "completeness": round(7 / 365, 6)}
    assert insufficient_of(evidence)["carbon_intensity_t_per_t"]["coverage"] == {
        "completeness_by_carrier": {"electricity": round(7 / 365, 6), "output": 0.0}}


def test_seven_days_in_a_year_give_null_and_insufficient_not_numbers() -> None:
    as_of = dt.date(2026, 11, 1)
    week = [Day(dt.date(2026, 10, 20) + dt.timedelta(days=i), 500.0, 1.0) for i in range(7)]
    months = {dt.date(2026, 10, 1): Month(dt.date(2026, 10, 1), 3500.0, 7 / 31)}
    monthly, monthly_evidence = monthly_indicators(months, as_of, METERS)
    daily, daily_evidence, _ = daily_indicators(week, as_of, METERS)
    period, period_evidence = period_indicators(analysis_result({"electricity": 7 / 365}), METERS)
    figures = {**monthly, **daily, **period}
    assert {k for k, v in figures.items() if v is None} == {
        "activity_index", "utilisation", "trend_mom", "trend_yoy", "stability_cv", "shutdown_days_90d",
        "quota_status", "carbon_intensity_t_per_t", "green_share"}
    assert figures["no_data_days_90d"] == 83
    insufficient = insufficient_of({**monthly_evidence, **daily_evidence, **period_evidence})
    assert set(insufficient) == {k for k, v in figures.items() if v is None}
    assert insufficient["activity_index"]["coverage"] == {"months_counted": 0, "months": 12}
    assert insufficient["activity_index"]["needs"].startswith("≥ 10 of the 12 months counted")


def order_month(month: str, kwh: float, tonnes: float, completeness: float = 1.0) -> dict[str, object]:
    return {"month": month, "energy": {"electricity": kwh}, "output_t": tonnes,
            "evidence": {"completeness_by_carrier": {"electricity": completeness, "output": completeness}}}


def test_an_order_period_without_electricity_data_is_unavailable_not_a_shortfall() -> None:
    baseline = [order_month(f"2026-0{m}", 10_000.0, 100.0) for m in (7, 8, 9)]
    def period(electricity_completeness: float) -> AnalysisResult:
        return analysis_result({"electricity": electricity_completeness}, period=("2026-10-01", "2026-10-11"),
                               output_t=None, energy={"electricity": 2_000.0})

    out = verify_order(period(0.2), baseline, 100.0)
    assert out["method"] == "unavailable" and out["output_t"] is None and out["shortfall_t"] is None
    assert out["evidence"]["insufficient"][1] == ("electricity 20% complete in the period (the estimate needs "
                                                  "≥ 80%)")
    full = verify_order(period(0.95), baseline, 100.0)
    assert full["method"] == "estimated_from_electricity" and full["output_t"] == pytest.approx(20.0)
    thin_baseline = [*baseline[:2], order_month("2026-09", 1_000.0, 2.0, completeness=0.1)]
    assert verify_order(period(0.95), thin_baseline, 100.0)["method"] == (
        "unavailable")  # a barely measured month is not a baseline month
