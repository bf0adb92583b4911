"""Local days and months, and which meters make an enterprise's totals."""

from __future__ import annotations

import datetime as dt

import numpy as np
import pandas as pd
import pytest

from analytics.calendar import daily_from_hourly, hours_in_day, local_midnight_s, monthly_from_daily
from analytics.enterprise import (
    EnterpriseInfo,
    MeterInfo,
    enterprise_daily,
    enterprise_monthly,
    product_daily,
    total_carrier,
)

H = 3600
SHANGHAI_DEC1 = 1_764_518_400  # 2025-12-01 00:00 +08:00 = 2025-11-30 16:00 UTC


def hours_frame(start_s: int, values: list[float]) -> pd.DataFrame:
    n = len(values)
    return pd.DataFrame({"hour_s": start_s + H * np.arange(n), "value": values, "estimated": 0.0,
                         "completeness": 1.0, "anomalies": 0, "excluded": 0, "n_readings": 60})


def test_local_midnight_is_1600_utc_the_day_before() -> None:
    assert local_midnight_s(dt.date(2025, 12, 1), "Asia/Shanghai") == SHANGHAI_DEC1
    assert dt.datetime.fromtimestamp(SHANGHAI_DEC1, dt.UTC).hour == 16


def test_a_shanghai_day_sums_its_24_local_hours() -> None:
    # 48 hours from 2025-12-01 00:00 local; value = hour index, so day 1 = sum(0..23) = 276, day 2 = sum(24..47)
    frame = hours_frame(SHANGHAI_DEC1, [float(i) for i in range(48)])
    daily = daily_from_hourly(frame, "Asia/Shanghai")
    assert daily["day"].tolist() == [dt.date(2025, 12, 1), dt.date(2025, 12, 2)]
    assert daily["value"].tolist() == [276.0, 852.0]
    assert daily["completeness"].tolist() == [1.0, 1.0]
    # the same hours in UTC days split differently: 00:00-16:00 UTC of Dec 1 holds local hours 8..23
    utc = daily_from_hourly(frame, "UTC")
    assert utc["value"].tolist() == [sum(range(8)), sum(range(8, 32)), sum(range(32, 48))]


def test_day_completeness_counts_missing_hours_as_zero() -> None:
    frame = hours_frame(SHANGHAI_DEC1, [1.0] * 6)
    daily = daily_from_hourly(frame, "Asia/Shanghai")
    assert daily["completeness"].tolist() == [pytest.approx(6 / 24)]


def test_daylight_saving_day_has_23_hours() -> None:
    assert hours_in_day(dt.date(2026, 3, 29), "Europe/Berlin") == 23
    assert hours_in_day(dt.date(2026, 3, 29), "Asia/Shanghai") == 24


def test_month_sums_days_and_completeness_over_days_of_month() -> None:
    days = pd.DataFrame({"day": [dt.date(2026, 2, d) for d in range(1, 15)], "value": 10.0, "estimated": 0.0,
                         "completeness": 1.0})
    monthly = monthly_from_daily(days)
    assert monthly["month"].tolist() == [dt.date(2026, 2, 1)]
    assert monthly["value"].tolist() == [140.0]
    assert monthly["completeness"].tolist() == [pytest.approx(14 / 28)]


PLANT = EnterpriseInfo(
    code="91140200MA0H2KXX88",
    product="cement_clinker",
    meters=(
        MeterInfo("M01", "electricity", "main"),
        MeterInfo("M02", "electricity", "sub"),
        MeterInfo("PV1", "electricity", "pv"),
        MeterInfo("G01", "natural_gas", "process"),
        MeterInfo("G02", "natural_gas", "sub"),
        MeterInfo("O01", "output", "process", product="cement_clinker"),
        MeterInfo("O02", "output", "process", product="cement"),
    ),
)


def test_totals_take_main_meters_only_when_there_is_one() -> None:
    assert total_carrier(PLANT, "M01", "energy_kwh") == "electricity"
    assert total_carrier(PLANT, "M02", "energy_kwh") is None
    assert total_carrier(PLANT, "M01", "export_kwh") == "electricity_export"
    assert total_carrier(PLANT, "PV1", "energy_kwh") == "pv"
    # no main gas meter: every gas meter except sub-meters
    assert total_carrier(PLANT, "G01", "gas_m3") == "natural_gas"
    assert total_carrier(PLANT, "G02", "gas_m3") is None
    # output of the enterprise's product only
    assert total_carrier(PLANT, "O01", "output_t") == "output"
    assert total_carrier(PLANT, "O02", "output_t") is None
    assert total_carrier(PLANT, "XX", "energy_kwh") is None
    assert total_carrier(PLANT, "M01", "power_kw") is None


def test_enterprise_daily_and_monthly() -> None:
    day = dt.date(2026, 1, 5)
    rows = pd.DataFrame({
        "meter": ["M01", "M02", "PV1", "G01", "O01", "O02"],
        "quantity": ["energy_kwh", "energy_kwh", "pv_kwh", "gas_m3", "output_t", "output_t"],
        "day": [day] * 6,
        "value": [1000.0, 400.0, 50.0, 30.0, 8.0, 99.0],
        "estimated": [100.0, 0.0, 0.0, 0.0, 0.0, 0.0],
        "completeness": [0.5, 1.0, 1.0, 1.0, 1.0, 1.0],
    })
    daily = enterprise_daily(rows, PLANT).set_index("carrier")
    assert daily.loc["electricity", "value"] == 1000.0
    assert daily.loc["electricity", "estimated"] == 100.0
    assert daily.loc["electricity", "completeness"] == 0.5
    assert daily.loc["pv", "value"] == 50.0
    assert daily.loc["natural_gas", "value"] == 30.0
    assert daily.loc["output", "value"] == 8.0
    monthly = enterprise_monthly(daily.reset_index()).set_index("carrier")
    assert monthly.loc["electricity", "value"] == 1000.0
    assert monthly.loc["electricity", "completeness"] == pytest.approx(0.5 / 31)


def test_product_boundary_takes_meters_mapped_to_the_product() -> None:
    plant = EnterpriseInfo(
        code="91140200MA0H2KXX88",
        product="cement_clinker",
        meters=(
            MeterInfo("M01", "electricity", "main"),
            MeterInfo("P01", "electricity", "process", product="cement_clinker"),
            MeterInfo("P02", "electricity", "sub", product="cement_clinker"),
            MeterInfo("P03", "electricity", "process", product="cement"),
            MeterInfo("O01", "output", "process", product="cement_clinker"),
        ),
    )
    day = dt.date(2026, 1, 5)
    rows = pd.DataFrame({
        "meter": ["M01", "P01", "P02", "P03", "O01"],
        "quantity": ["energy_kwh"] * 4 + ["output_t"],
        "day": [day] * 5,
        "value": [1000.0, 300.0, 200.0, 100.0, 8.0],
        "estimated": 0.0,
        "completeness": [1.0, 1.0, 0.5, 1.0, 1.0],
    })
    out = product_daily(rows, plant).set_index(["product", "carrier"])
    assert out.loc[("cement_clinker", "electricity"), "value"] == 500.0
    assert out.loc[("cement_clinker", "electricity"), "completeness"] == 0.75
    assert out.loc[("cement", "electricity"), "value"] == 100.0
    assert ("cement_clinker", "output") not in out.index
