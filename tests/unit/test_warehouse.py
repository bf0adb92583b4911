"""Warehouse monitoring: refrigeration continuity and outages, temperature excursions, exact numbers."""

from __future__ import annotations

import pandas as pd
import pytest

from analytics.warehouse import (
    NO_LOAD_SHARE,
    excursion_windows,
    excursions,
    load_continuity,
    temperature_summary,
    warehouse_report,
)

T0 = 1_790_000_000 // 3600 * 3600  # an hour start
H = 3600


def hourly(values: list[float | None], completeness: list[float] | None = None, meter: str = "M02") -> pd.DataFrame:
    """Rows for hours T0, T0+1h, …; None = no row for that hour."""
    comp = completeness or [1.0] * len(values)
    rows = [{"meter": meter, "time_s": T0 + i * H, "value": v, "completeness": c}
            for i, (v, c) in enumerate(zip(values, comp, strict=True)) if v is not None]
    return pd.DataFrame(rows, columns=["meter", "time_s", "value", "completeness"])


def test_outages_are_runs_of_hours_without_load_or_data() -> None:
    # 10 hours: median measured hour 4 kWh; hour 3 at 0.5 (< 25 % of 4) stopped; hours 4–5 missing; hour 8 at 0.9
    values = [4.0, 4.0, 4.2, 0.5, None, None, 3.8, 4.0, 0.9, 4.0]
    result = load_continuity("M02", hourly(values), T0, T0 + 10 * H)
    assert NO_LOAD_SHARE == 0.25
    assert result.median_hour_kwh == 4.0
    assert (result.hours, result.running_hours, result.no_load_hours, result.no_data_hours) == (10, 6, 2, 2)
    assert result.continuity == 0.6
    assert result.energy_kwh == pytest.approx(25.4)
    assert result.completeness == 0.8
    assert [(o.start_s - T0, o.end_s - T0, o.hours, o.kind) for o in result.outages] == [
        (3 * H, 6 * H, 3, "mixed"), (8 * H, 9 * H, 1, "no_load"),
    ]
    assert (result.outages[0].no_data_hours, result.outages[0].no_load_hours) == (2, 1)


def test_hour_with_zero_completeness_is_no_data_even_with_an_estimated_value() -> None:
    result = load_continuity("M02", hourly([4.0, 2.0, 4.0], [1.0, 0.0, 0.5]), T0, T0 + 3 * H)
    assert (result.running_hours, result.no_data_hours, result.no_load_hours) == (2, 1, 0)
    assert result.completeness == 0.5
    assert [(o.start_s - T0, o.hours, o.kind) for o in result.outages] == [(H, 1, "no_data")]


def test_meter_without_any_row_is_one_outage_over_the_period() -> None:
    result = load_continuity("M02", hourly([]), T0, T0 + 24 * H)
    assert (result.hours, result.running_hours, result.no_data_hours, result.continuity) == (24, 0, 24, 0.0)
    assert [(o.start_s, o.end_s, o.kind) for o in result.outages] == [(T0, T0 + 24 * H, "no_data")]


def test_rows_outside_the_period_are_ignored() -> None:
    result = load_continuity("M02", hourly([0.0, 4.0, 4.0, 0.0]), T0 + H, T0 + 3 * H)
    assert (result.hours, result.running_hours, result.outages) == (2, 2, ())


def temps(points: list[tuple[int, float]], meter: str = "T01") -> pd.DataFrame:
    """Readings at T0 + minutes."""
    return pd.DataFrame([{"meter": meter, "time_s": T0 + m * 60, "value": v} for m, v in points],
                        columns=["meter", "time_s", "value"])


def stats(readings: pd.DataFrame) -> pd.DataFrame:
    """Hourly min, max, count per meter, as InfluxDB's GROUP BY time(1h) answers them."""
    hour = readings.assign(time_s=readings["time_s"] // H * H)
    return hour.groupby(["meter", "time_s"])["value"].agg(["min", "max", "count"]).reset_index()


BAND = (-22.0, -15.0)


def test_excursion_ends_at_the_first_reading_back_in_band() -> None:
    data = temps([(0, -18.0), (10, -14.0), (20, -12.5), (30, -13.0), (40, -17.0), (50, -18.0)])
    (ex,) = excursions("T01", data, BAND)
    assert (ex.side, ex.start_s - T0, ex.end_s - T0, ex.ended, ex.readings) == ("above", 600, 2400, True, 3)
    assert (ex.peak_c, ex.deviation_c, ex.minutes) == (-12.5, 2.5, 30.0)


def test_excursions_below_then_above_are_separate_and_an_open_one_is_not_ended() -> None:
    data = temps([(0, -23.0), (5, -24.5), (10, -14.0), (15, -18.0), (20, -10.0), (25, -11.0)])
    below, above, still = excursions("T01", data, BAND)
    assert (below.side, below.start_s - T0, below.end_s - T0, below.ended) == ("below", 0, 600, False)
    assert (below.peak_c, below.deviation_c) == (-24.5, 2.5)
    assert (above.side, above.start_s - T0, above.end_s - T0, above.ended, above.readings) == ("above", 600, 900,
                                                                                              True, 1)
    assert (still.start_s - T0, still.end_s - T0, still.ended, still.peak_c, still.deviation_c) == (
        1200, 1500, False, -10.0, 5.0)


def test_readings_on_the_band_limits_are_inside() -> None:
    assert excursions("T01", temps([(0, -22.0), (1, -15.0)]), BAND) == []


def test_an_excursion_stops_where_readings_stop_for_more_than_an_hour() -> None:
    data = temps([(0, -14.0), (30, -13.0), (120, -12.0), (130, -18.0)])
    first, second = excursions("T01", data, BAND)
    assert (first.start_s - T0, first.end_s - T0, first.ended, first.readings) == (0, 1800, False, 2)
    assert (second.start_s - T0, second.end_s - T0, second.ended) == (7200, 7800, True)


def test_temperature_summary_counts_band_and_hour_coverage() -> None:
    data = temps([(0, -18.0), (30, -14.0), (60, -17.0), (200, -16.0), (210, -15.5), (300, -30.0)])
    summary = temperature_summary("T01", stats(data), data, BAND, T0, T0 + 4 * H)  # minute 300 is after the period
    assert (summary.readings, summary.hours_with_readings, summary.hours_in_band) == (5, 3, 2)
    assert (summary.hours, summary.completeness, summary.in_band_share) == (4, 0.75, pytest.approx(2 / 3, abs=1e-6))
    assert (summary.min_c, summary.max_c) == (-18.0, -14.0)
    assert [(e.start_s - T0, e.end_s - T0) for e in summary.excursions] == [(1800, 3600)]


def test_temperature_meter_without_band_has_no_excursions() -> None:
    data = temps([(0, 5.0)])
    summary = temperature_summary("T01", stats(data), data, None, T0, T0 + H)
    assert (summary.excursions, summary.in_band_share, summary.readings) == ((), None, 1)


def test_raw_readings_are_needed_only_around_out_of_band_hours() -> None:
    minutes = [(m, -18.0) for m in range(0, 72 * 60, 30)]
    minutes[5] = (150, -14.0)  # hour 2
    minutes[7] = (210, -23.0)  # hour 3
    minutes[100] = (3000, -10.0)  # hour 50
    data = temps(minutes)
    assert excursion_windows(stats(data), BAND, T0 + 72 * H) == [(T0 + 2 * H, T0 + 5 * H), (T0 + 50 * H, T0 + 52 * H)]
    assert excursion_windows(stats(data), BAND, T0 + 51 * H, join_s=48 * H) == [(T0 + 2 * H, T0 + 51 * H)]


def test_report_takes_the_weakest_meter_and_orders_events_by_time() -> None:
    loads = pd.concat([hourly([4.0, 4.0, 0.0, 4.0]), hourly([2.0, 2.0, 2.0, None], meter="M03")])
    readings = temps([(0, -18.0), (10, -14.0), (20, -18.0)])
    report = warehouse_report(loads, stats(readings), readings, ["M03", "M02"], {"T01": BAND}, T0, T0 + 4 * H)
    assert [m.meter for m in report.loads] == ["M02", "M03"]
    assert report.continuity == 0.75
    assert report.completeness == 0.25  # T01 has readings in one of four hours
    assert [(o.meter, o.start_s - T0) for o in report.outages] == [("M02", 2 * H), ("M03", 3 * H)]
    assert [(e.meter, e.start_s - T0, e.end_s - T0) for e in report.excursions] == [("T01", 600, 1200)]


def test_report_without_data_or_meters() -> None:
    empty = warehouse_report(pd.DataFrame(), pd.DataFrame(), pd.DataFrame(), ["M02"], {"T01": BAND}, T0, T0 + 2 * H)
    assert (empty.continuity, empty.completeness, len(empty.outages), empty.excursions) == (0.0, 0.0, 1, [])
    none = warehouse_report(pd.DataFrame(), pd.DataFrame(), pd.DataFrame(), [], {}, T0, T0 + 2 * H)
    assert (none.continuity, none.completeness, none.outages) == (None, 0.0, [])
