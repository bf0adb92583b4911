"""Per-reading rule levels: each rule at, below and above its documented thresholds."""

from __future__ import annotations

import datetime as dt

import numpy as np
import pytest

from analytics.safety.rules import rule_levels, window_min
from analytics.safety.thresholds import DEFAULTS, apply

T0 = int(dt.datetime(2026, 3, 2, 10, 0, tzinfo=dt.UTC).timestamp())  # a Monday, 18:00 in Shanghai


def levels(rule: str, t=DEFAULTS, tz: str = "Asia/Shanghai", **cols: list[float]) -> list[int]:
    n = len(next(iter(cols.values())))
    times = T0 + 60 * np.arange(n, dtype=np.int64)
    out = rule_levels(times, {k: np.asarray(v, dtype=float) for k, v in cols.items()}, t, tz)
    return out[rule].level.tolist()


def test_leakage_levels_follow_the_thresholds() -> None:
    d = DEFAULTS
    values = [d.leakage_pre_ma - 1, d.leakage_pre_ma, d.leakage_alarm_ma - 0.1, d.leakage_alarm_ma,
              d.leakage_critical_ma, np.nan]
    assert levels("leakage", leakage_ma=values) == [0, 1, 1, 2, 3, 0]
    assert d.leakage_alarm_ma == 300.0  # GB 50116-2013 §9.2.3 commentary: 300–500 mA


def test_temperature_and_fast_rise() -> None:
    assert levels("over_temp", temp_c=[45, 60, 70, 95]) == [0, 1, 2, 3]
    # +12 K within 10 min is a fast rise; the same +12 K over 30 min is not
    fast = [30, 32, 36, 42]
    assert levels("temp_rise", temp_c=fast)[-1] == 1
    times = T0 + 600 * np.arange(4, dtype=np.int64)
    slow = rule_levels(times, {"temp_c": np.array([30.0, 34.0, 38.0, 42.0])}, DEFAULTS)["temp_rise"]
    assert slow.level.tolist() == [0, 0, 0, 0]
    np.testing.assert_allclose(window_min(T0 + 60 * np.arange(4), np.array([5.0, 3.0, 4.0, 6.0]), 120), [5, 3, 3, 4])


def test_overload_needs_a_rated_current() -> None:
    assert "overload" not in rule_levels(np.array([T0]), {"current_a": np.array([500.0])}, DEFAULTS)
    t = apply(DEFAULTS, {"rated_current_a": 100.0})
    assert levels("overload", t, current_a=[80, 90, 104, 105, 131]) == [0, 1, 1, 2, 3]


@pytest.mark.parametrize(("supply", "volts", "expected"), [
    ("three_phase", [220 * 0.93, 220 * 0.925, 220 * 0.895, 220 * 0.69], [0, 1, 2, 3]),
    ("single_phase", [220 * 0.90, 220 * 0.895, 220 * 0.845, 220 * 0.69], [0, 1, 2, 3]),
])
def test_under_voltage_depends_on_supply(supply: str, volts: list[float], expected: list[int]) -> None:
    t = apply(DEFAULTS, {"supply": supply})
    assert levels("under_voltage", t, voltage_v=volts) == expected


def test_over_voltage() -> None:
    # a deviation exactly at the GB/T 12325 limit is compliant; beyond it is not
    assert levels("over_voltage", voltage_v=[220 * 1.07, 220 * 1.075, 220 * 1.105, 220 * 1.21]) == [0, 1, 2, 3]


def test_phase_imbalance_only_with_three_phases_and_enough_current() -> None:
    cols = {"current_l1_a": [100, 100, 3], "current_l2_a": [95, 80, 1], "current_l3_a": [98, 60, 2]}
    assert levels("phase_imbalance", **cols) == [0, 2, 0]  # 5 %, 40 %, below 5 A


def test_night_load_only_in_closed_hours_local_time() -> None:
    t = apply(DEFAULTS, {"rated_current_a": 100.0, "closed_hours": "22:00-06:00"})
    # T0 is 18:00 Shanghai; readings every hour from 18:00 to 07:00
    times = T0 + 3600 * np.arange(14, dtype=np.int64)
    out = rule_levels(times, {"current_a": np.full(14, 40.0)}, t, "Asia/Shanghai")["night_load"]
    local_hours = [(18 + i) % 24 for i in range(14)]
    assert [h for h, lv in zip(local_hours, out.level, strict=True) if lv] == [22, 23, 0, 1, 2, 3, 4, 5]
    assert "night_load" not in rule_levels(times, {"current_a": np.full(14, 40.0)}, DEFAULTS)
