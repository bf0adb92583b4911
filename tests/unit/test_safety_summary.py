"""Rebuilding alarms from `safety_alarm` points and summarising a period for the report and the API."""

from __future__ import annotations

import datetime as dt

from analytics.safety.alarms import Alarm, AlarmEvent, detect
from analytics.safety.rules import Severity
from analytics.safety.store import alarm_lines, event_line
from analytics.safety.summary import alarms_from_points, summarise
from analytics.safety.thresholds import DEFAULTS

T = dt.datetime(2026, 3, 2, 0, 0, tzinfo=dt.UTC)


def parse(line_text: str) -> dict:
    """A line-protocol point back into a record (enough for the fields this module writes)."""
    head, fields, ts = line_text.split(" ")
    _name, *tags = head.split(",")
    rec: dict = {"time": int(ts), **dict(t.split("=") for t in tags)}
    for item in fields.split(","):
        key, value = item.split("=", 1)
        if value.startswith('"'):
            rec[key] = value.strip('"')
        elif value.endswith("i"):
            rec[key] = int(value[:-1])
        else:
            rec[key] = float(value)
    return rec


def test_points_round_trip_with_escalation_and_close() -> None:
    import numpy as np
    import pandas as pd

    leak = [250, 250, 250, 400, 1100, 50, 50, 50, 320, 330, 340]
    times = pd.to_datetime(int(T.timestamp()) + 60 * np.arange(len(leak)), unit="s", utc=True)
    frame = pd.DataFrame({"leakage_ma": leak}, index=times)
    found = detect(frame, DEFAULTS, "E1", "S1")
    assert [(a.severity, a.is_open) for a in found] == [(Severity.CRITICAL, False), (Severity.ALARM, True)]
    escalate = AlarmEvent("escalate", int(T.timestamp()) + 240, found[0])
    records = [parse(x) for x in [*alarm_lines(found), event_line(escalate)]]
    rebuilt = alarms_from_points(records)
    assert [(a.id, a.severity, a.end, a.peak) for a in rebuilt] == [(a.id, a.severity, a.end, a.peak) for a in found]


def test_summary_counts_open_critical_and_hours() -> None:
    alarms = [
        Alarm("E1", "S1", "leakage", Severity.CRITICAL, T, None, 1200.0, 900.0, 1000.0),
        Alarm("E1", "S2", "leakage", Severity.ALARM, T, T + dt.timedelta(hours=2), 420.0, 50.0, 300.0),
        Alarm("E1", "S2", "under_voltage", Severity.PRE_ALARM, T, T + dt.timedelta(minutes=30), 190.0, 220.0, 204.6),
        Alarm("E1", "S3", "overload", Severity.ALARM, T - dt.timedelta(days=40), T - dt.timedelta(days=39),
              120.0, 50.0, 105.0),  # before the period
    ]
    s = summarise(alarms, T, T + dt.timedelta(days=1))
    assert (s["alarms"], s["open"], s["open_critical"]) == (3, 1, 1)
    assert s["by_rule"]["leakage"]["count"] == 2 and s["by_rule"]["leakage"]["worst_peak"] == 1200.0
    assert s["by_rule"]["leakage"]["hours"] == 26.0  # 24 h still open at the period end + 2 h
    assert s["by_rule"]["under_voltage"]["worst_peak"] == 190.0
    assert s["by_severity"] == {"critical": 1, "alarm": 1, "pre_alarm": 1}
    assert "绝缘" in s["by_rule"]["leakage"]["advice"] and s["meters"] == ["S1", "S2"]
