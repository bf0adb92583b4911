"""The debounce state machine: opens after N readings, closes after M clear readings, never flaps."""

from __future__ import annotations

import numpy as np
import pandas as pd

from analytics.safety.alarms import detect
from analytics.safety.rules import Severity
from analytics.safety.thresholds import DEFAULTS, apply

T0 = 1772416800  # 2026-03-02 10:00 UTC


def frame(leak: list[float], step: int = 60) -> pd.DataFrame:
    times = pd.to_datetime(T0 + step * np.arange(len(leak)), unit="s", utc=True)
    return pd.DataFrame({"leakage_ma": leak}, index=times)


def test_opens_after_three_readings_and_closes_after_three_clear() -> None:
    leak = [50, 50, 350, 360, 340, 355, 50, 50, 50, 50]
    alarms = detect(frame(leak), DEFAULTS, "E", "S1")
    assert len(alarms) == 1
    a = alarms[0]
    assert (a.rule, a.severity, a.peak) == ("leakage", Severity.ALARM, 360.0)
    assert int(a.start.timestamp()) == T0 + 2 * 60  # the first reading of the condition
    assert a.end is not None and int(a.end.timestamp()) == T0 + 6 * 60  # the first clear reading
    assert a.threshold == DEFAULTS.leakage_alarm_ma


def test_two_readings_are_not_enough() -> None:
    assert detect(frame([50, 350, 350, 50, 50, 350, 350, 50]), DEFAULTS, "E", "S1") == []


def test_a_signal_oscillating_around_the_threshold_does_not_open() -> None:
    leak = [195 if i % 2 else 205 for i in range(200)]  # around the 200 mA pre-alarm, every other reading
    assert detect(frame(leak), DEFAULTS, "E", "S1") == []


def test_an_open_alarm_does_not_flap_while_oscillating_around_the_threshold() -> None:
    # open with a real fault, then oscillate 195/205: 195 is above the release level (200 x 0.95 = 190)
    leak = [320, 320, 320] + [195 if i % 2 else 205 for i in range(100)] + [50, 50, 50]
    alarms = detect(frame(leak), DEFAULTS, "E", "S1")
    assert len(alarms) == 1 and alarms[0].end is not None
    assert int(alarms[0].end.timestamp()) == T0 + 103 * 60


def test_open_seconds_opens_on_sparse_readings() -> None:
    # readings every 5 min: the second reading is already 300 s >= open_seconds (120 s) after the first
    alarms = detect(frame([50, 350, 350, 50, 50, 50], step=300), DEFAULTS, "E", "S1")
    assert len(alarms) == 1 and int(alarms[0].start.timestamp()) == T0 + 300


def test_critical_opens_at_once_and_escalation_keeps_one_alarm() -> None:
    assert detect(frame([50, 1200, 50, 50, 50]), DEFAULTS, "E", "S1")[0].severity is Severity.CRITICAL
    no_immediate = apply(DEFAULTS, {"critical_immediate": ()})
    assert detect(frame([50, 1200, 50, 50, 50]), no_immediate, "E", "S1") == []
    escalating = detect(frame([250, 250, 250, 400, 1100, 50, 50, 50]), DEFAULTS, "E", "S1")
    assert len(escalating) == 1
    assert (escalating[0].severity, escalating[0].peak) == (Severity.CRITICAL, 1100.0)


def test_an_alarm_still_open_at_the_end_has_no_end() -> None:
    alarms = detect(frame([50, 400, 400, 400, 400]), DEFAULTS, "E", "S1")
    assert len(alarms) == 1 and alarms[0].is_open and alarms[0].to_json()["open"] is True


def test_a_long_silence_restarts_the_count() -> None:
    leak = [350, 350]
    times = [T0, T0 + 60, T0 + 60 + 3600, T0 + 3720]  # 1 h gap > max_gap_s (900 s) after two readings
    f = pd.DataFrame({"leakage_ma": [*leak, 350, 50]}, index=pd.to_datetime(times, unit="s", utc=True))
    assert detect(f, DEFAULTS, "E", "S1") == []
