"""Replay of real interval data: the UCI steel plant's 2018 file against its own totals, and bad files."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import numpy as np
import orjson
import pandas as pd
import pytest

from simulators.messages import batch
from simulators.replay import ReplayColumns, ReplayError, counter_readings, read_series
from tests.support.datasets import UCI_STEEL_2018

UCI = UCI_STEEL_2018


def test_uci_counters_span_exactly_the_files_total() -> None:
    frame = pd.read_csv(UCI)
    series = read_series(UCI)
    readings = counter_readings(series, "M01", start_kwh=1000.0, start_kvarh=50.0)
    messages = list(batch(readings, "em/v1/X/replay/telemetry"))
    replayed = [r for m in messages for r in orjson.loads(m.payload)["readings"]]
    assert len(replayed) == len(frame) + 1
    energy = [r["values"]["energy_kwh"] for r in replayed]
    reactive = [r["values"]["reactive_kvarh"] for r in replayed]
    assert energy[-1] - energy[0] == pytest.approx(frame["Usage_kWh"].sum(), abs=0.01)
    assert energy[-1] - energy[0] == pytest.approx(959_636.71, abs=0.01)  # the README's measured total
    assert reactive[-1] - reactive[0] == pytest.approx(frame["Lagging_Current_Reactive.Power_kVarh"].sum(), abs=0.01)
    assert (np.diff(energy) >= 0).all()


def test_uci_midnight_rows_close_the_day_they_are_labelled_with() -> None:
    series = read_series(UCI)
    china = dt.timezone(dt.timedelta(hours=8))
    ends = [dt.datetime.fromtimestamp(t, china) for t in series.epoch_s.tolist()]
    assert ends[0] == dt.datetime(2018, 1, 1, 0, 15, tzinfo=china)
    assert ends[95] == dt.datetime(2018, 1, 2, 0, 0, tzinfo=china)  # labelled "01/01/2018 0:00"
    assert ends[-1] == dt.datetime(2019, 1, 1, 0, 0, tzinfo=china)  # labelled "31/12/2018 00:00"
    assert set(np.diff(series.epoch_s).tolist()) == {900}
    assert series.first_epoch == int(dt.datetime(2018, 1, 1, tzinfo=china).timestamp())


def test_power_factor_matches_the_files_lagging_power_factor_column() -> None:
    frame = pd.read_csv(UCI)
    readings = counter_readings(read_series(UCI), "M01")[1:]
    pf = np.array([r["values"]["pf"] for r in readings]) * 100
    file_pf = frame["Lagging_Current_Power_Factor"].to_numpy()
    # both in the file's row order except the midnight rows; compare sorted by time via the same sort
    order = np.argsort(read_series_order(frame), kind="stable")
    close = np.abs(pf - file_pf[order]) < 0.05
    assert close.mean() > 0.999


def read_series_order(frame: pd.DataFrame) -> np.ndarray:
    local = pd.to_datetime(frame["date"], format="%d/%m/%Y %H:%M")
    midnight = (local.dt.hour == 0) & (local.dt.minute == 0)
    return (local + pd.to_timedelta(midnight.astype(int), unit="D")).to_numpy().astype("datetime64[s]").astype(int)


def test_shift_to_moves_the_series_and_start_labels_are_supported(tmp_path: Path) -> None:
    csv = tmp_path / "plant.csv"
    csv.write_text("time,kwh\n2024-03-01 00:00,1.5\n2024-03-01 01:00,2.5\n2024-03-01 02:00,3\n")
    cols = ReplayColumns(time="time", kwh="kwh", kvarh=None, time_format="%Y-%m-%d %H:%M", label="start")
    series = read_series(csv, cols, shift_to=dt.date(2026, 11, 1))
    china = dt.timezone(dt.timedelta(hours=8))
    assert series.first_epoch == int(dt.datetime(2026, 11, 1, tzinfo=china).timestamp())
    assert series.step_s == 3600 and series.total_kwh == 7.0
    readings = counter_readings(series, "E1", start_kwh=10)
    assert [r["values"]["energy_kwh"] for r in readings] == [10, 11.5, 14, 17]
    assert readings[1]["values"]["power_kw"] == 1.5


@pytest.mark.parametrize(
    ("content", "message"),
    [
        ("time,kwh\n2024-03-01 00:00,1\n2024-03-01 00:15,-2\n", "row 3: column 'kwh'"),
        ("time,kwh\n2024-03-01 00:00,1\n2024-03-01 00:15,abc\n", "row 3: column 'kwh'"),
        ("when,kwh\n2024-03-01 00:00,1\n", "no column(s) 'time'"),
        ("time,kwh\n2024-03-01 00:00,1\n2024-03-01 00:00,2\n", "row 3: time '2024-03-01 00:00' repeats"),
        ("time,kwh\n01.03.2024,1\n", "column 'time'"),
    ],
)
def test_bad_files_say_where(tmp_path: Path, content: str, message: str) -> None:
    csv = tmp_path / "bad.csv"
    csv.write_text(content)
    cols = ReplayColumns(time="time", kwh="kwh", kvarh=None, time_format="%Y-%m-%d %H:%M", midnight="none")
    with pytest.raises(ReplayError, match=message.replace("(", r"\(").replace(")", r"\)")):
        read_series(csv, cols)
