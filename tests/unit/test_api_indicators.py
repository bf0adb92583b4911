"""Credit indicator definitions (电E贷): utilisation, growth, activity index, stability, shutdown days."""

from __future__ import annotations

import datetime as dt

import pytest

from api.indicators import Day, Month, add_months, daily_indicators, monthly_indicators, reference_month

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
                                                               "completeness": 1.0}
    assert evidence["trend_yoy"]["period"] == {"from": "2024-11-01", "to": "2026-11-01"}
    assert evidence["utilisation"]["meters"] == METERS


def test_missing_history_gives_null_not_a_number() -> None:
    figures, evidence = monthly_indicators({}, dt.date(2026, 11, 1), METERS)
    assert figures["utilisation"] is None and figures["trend_yoy"] is None and figures["trend_mom"] is None
    assert figures["activity_index"] == 10
    assert evidence["trend_yoy"]["completeness"] == 0.0


def test_daily_indicators_count_shutdowns_but_not_gaps() -> None:
    as_of = dt.date(2026, 11, 1)
    first = as_of - dt.timedelta(days=90)
    days = [Day(first + dt.timedelta(days=i), 100.0, 1.0) for i in range(90)]
    days[10] = Day(days[10].day, 5.0, 1.0)  # a stop
    days[20] = Day(days[20].day, 0.0, 0.0)  # no data: not a stop
    figures, evidence, anomalies = daily_indicators(days, as_of, METERS)
    assert figures["shutdown_days_90d"] == 1
    assert [a["kind"] for a in anomalies] == ["shutdown_day", "data_gap"]
    stable = [d.kwh for d in days if d.completeness >= 0.9]
    mean = sum(stable) / len(stable)
    cv = (sum((x - mean) ** 2 for x in stable) / len(stable)) ** 0.5 / mean
    assert figures["stability_cv"] == pytest.approx(cv, abs=1e-6)
    assert evidence["shutdown_days_90d"]["inputs"] == {"median_daily_kwh": 100.0, "measured_days": 89,
                                                       "days_without_data": 1}
