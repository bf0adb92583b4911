"""Validation on real data: UCI steel-plant 2018 (CC BY 4.0) as cumulative counters → rollups equal the file's sums.

The 15-minute interval energies become the counter readings a meter would have sent (the running sum, at
each interval's end). January and February are replayed; the monthly rollups must equal the file's own
monthly sums of `Usage_kWh` and lagging kVarh, in the plant's time zone (Asia/Seoul).
"""

from __future__ import annotations

import datetime as dt

import numpy as np
import pandas as pd
import pytest

from analytics.analyze_job import read_periods, whole_months
from analytics.enterprise import EnterpriseInfo, MeterInfo
from analytics.rollup_job import ENTERPRISE_DAILY, ENTERPRISE_MONTHLY, run_rollup
from core.influx import InfluxV1, line
from tests.support.datasets import UCI_STEEL_2018

pytestmark = pytest.mark.integration

DATASET = UCI_STEEL_2018
CODE = "91140200MA0H2KXX88"
TZ = "Asia/Seoul"
PLANT = EnterpriseInfo(code=CODE, timezone=TZ, meters=(MeterInfo("M01", "electricity", "main"),))


def load_uci() -> pd.DataFrame:
    """Rows with their interval end as epoch seconds (a row labelled D 00:00 ends at midnight after day D)."""
    frame = pd.read_csv(DATASET)
    stamp = pd.to_datetime(frame["date"], format="%d/%m/%Y %H:%M")
    midnight = (stamp.dt.hour == 0) & (stamp.dt.minute == 0)
    stamp = stamp + pd.to_timedelta(midnight.astype(int), unit="D")
    frame["end_s"] = (stamp.dt.tz_localize(TZ) - pd.Timestamp(0, tz="UTC")) // pd.Timedelta(seconds=1)
    frame["kvarh"] = frame["Lagging_Current_Reactive.Power_kVarh"]
    return frame.sort_values("end_s").reset_index(drop=True)


def test_uci_months_equal_the_files_sums(services, influx_db) -> None:
    uci = load_uci()
    assert len(uci) == 35_040
    assert uci["Usage_kWh"].sum() == pytest.approx(959_636.71)  # the README's measured total
    start = int(pd.Timestamp("2018-01-01", tz=TZ).timestamp())
    end = int(pd.Timestamp("2018-03-01", tz=TZ).timestamp())
    part = uci[uci["end_s"] <= end]
    times = np.concatenate([[start], part["end_s"].to_numpy()])
    energy = np.concatenate([[0.0], part["Usage_kWh"].cumsum().to_numpy()]) + 12_345.0
    reactive = np.concatenate([[0.0], part["kvarh"].cumsum().to_numpy()]) + 678.0
    influx = InfluxV1(services.influx_url, influx_db)
    influx.write([line("reading", {"enterprise": CODE, "gateway": "gw1", "meter": "M01"},
                       {"energy_kwh": float(e), "reactive_kvarh": float(r)}, int(t))
                  for t, e, r in zip(times, energy, reactive, strict=True)], compress=True)
    run_rollup(influx, [PLANT], now_s=end + 86400, since_s=start - 86400)

    months = {(r["carrier"], r["time"]): r for s in influx.query(f"SELECT * FROM {ENTERPRISE_MONTHLY}")
              for r in s.records()}
    feb = int(pd.Timestamp("2018-02-01", tz=TZ).timestamp())
    for month_start, month_end in ((start, feb), (feb, end)):
        rows = uci[(uci["end_s"] > month_start) & (uci["end_s"] <= month_end)]
        assert months[("electricity", month_start)]["value"] == pytest.approx(rows["Usage_kWh"].sum(), abs=1e-6)
        assert months[("reactive", month_start)]["value"] == pytest.approx(rows["kvarh"].sum(), abs=1e-6)
        assert months[("electricity", month_start)]["completeness"] == pytest.approx(1.0)
    # and every local day of January equals the file's 96 intervals of that day
    days = {r["time"]: r["value"] for s in influx.query(
        f"SELECT value FROM {ENTERPRISE_DAILY} WHERE carrier='electricity' AND time < {feb}s") for r in s.records()}
    assert len(days) == 31
    for day_start, value in days.items():
        rows = uci[(uci["end_s"] > day_start) & (uci["end_s"] <= day_start + 86400)]
        assert len(rows) == 96
        assert value == pytest.approx(rows["Usage_kWh"].sum(), abs=1e-6)

    # analyze reads whole months from enterprise_monthly and the days around them from enterprise_daily
    assert whole_months(dt.date(2018, 1, 15), dt.date(2018, 3, 1)) == (dt.date(2018, 2, 1), dt.date(2018, 3, 1))
    for first, stop in ((dt.date(2018, 1, 15), dt.date(2018, 3, 1)), (dt.date(2018, 1, 1), dt.date(2018, 3, 1)),
                        (dt.date(2018, 1, 10), dt.date(2018, 2, 20))):
        lo = int(pd.Timestamp(first, tz=TZ).timestamp())
        hi = int(pd.Timestamp(stop, tz=TZ).timestamp())
        rows = uci[(uci["end_s"] > lo) & (uci["end_s"] <= hi)]
        period = read_periods(influx, [PLANT], first, stop)[CODE]
        assert period.totals["electricity"] == pytest.approx(rows["Usage_kWh"].sum(), abs=1e-6)
        assert period.totals["reactive"] == pytest.approx(rows["kvarh"].sum(), abs=1e-6)
        assert period.completeness["electricity"] == pytest.approx(1.0)
