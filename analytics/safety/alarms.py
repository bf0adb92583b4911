"""Alarms and the debounce state machine that turns per-reading levels into alarm episodes without flapping.

An alarm opens when its condition holds `open_readings` consecutive readings, or for `open_seconds`
over at least two readings (a critical reading of a rule in `critical_immediate` opens it at once). It closes
when the value has stayed below the release level for `clear_readings` readings or `clear_seconds`;
its end is the first clear reading. Pure and incremental: the batch detector and the streaming
engine feed it one reading at a time.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field, replace
from typing import Any

import numpy as np
import pandas as pd

from analytics.safety.rules import RULES, RuleLevels, Severity, frame_columns, rule_levels, utc
from analytics.safety.thresholds import Thresholds


@dataclass(frozen=True, slots=True)
class Alarm:
    """One alarm episode of one rule on one meter (end None while it is open)."""

    enterprise: str
    meter: str
    rule: str
    severity: Severity
    start: dt.datetime
    end: dt.datetime | None
    peak: float
    value: float
    threshold: float
    evidence: dict[str, Any] = field(default_factory=dict)

    @property
    def id(self) -> str:
        """Stable id: enterprise, meter, rule and start (epoch s); replays and batch re-runs upsert the same."""
        return f"{self.enterprise}:{self.meter}:{self.rule}:{int(self.start.timestamp())}"

    @property
    def is_open(self) -> bool:
        return self.end is None

    def to_json(self) -> dict[str, Any]:
        """The JSON object `enerdiag alarms --json` prints."""
        return {
            "id": self.id,
            "enterprise": self.enterprise,
            "meter": self.meter,
            "rule": self.rule,
            "title": RULES[self.rule].title_zh,
            "severity": self.severity.label,
            "start": self.start.isoformat(),
            "end": self.end.isoformat() if self.end else None,
            "open": self.end is None,
            "peak": self.peak,
            "value": self.value,
            "threshold": self.threshold,
            "unit": RULES[self.rule].unit,
            "evidence": self.evidence,
        }


@dataclass(frozen=True, slots=True)
class AlarmEvent:
    """A change to write: `open`, `escalate` (severity rose) or `close`; `at` is the reading time (epoch s)."""

    kind: str
    at: int
    alarm: Alarm


class Debouncer:
    """The debounce state machine of one rule on one meter (see the module docstring)."""

    def __init__(self, enterprise: str, meter: str, rule: str, thresholds: Thresholds) -> None:
        self.enterprise, self.meter, self.rule, self.t = enterprise, meter, rule, thresholds
        self.lower = RULES[rule].lower_is_worse
        self.last_ts: int | None = None
        self._pending = 0
        self._pending_start = 0
        self._pending_peak = float("nan")
        self._pending_level = 0
        self._clear = 0
        self._clear_start = 0
        self._readings = 0
        self.current: Alarm | None = None

    def _worse(self, a: float, b: float) -> float:
        if np.isnan(a):
            return b
        return min(a, b) if self.lower else max(a, b)

    def step(self, ts: int, value: float, level: int, hold: bool, limits: dict[str, float]) -> AlarmEvent | None:
        """Feed one reading (ts strictly after the last one); the event it causes, if any."""
        t = self.t
        if self.last_ts is not None and ts - self.last_ts > t.max_gap_s:
            self._pending = 0
            self._clear = 0
        self.last_ts = ts
        if np.isnan(value):
            return None
        if self.current is None:
            return self._step_closed(ts, value, level, limits)
        return self._step_open(ts, value, level, hold, limits)

    def _step_closed(self, ts: int, value: float, level: int, limits: dict[str, float]) -> AlarmEvent | None:
        t = self.t
        if level <= 0:
            self._pending = 0
            return None
        if self._pending == 0:
            self._pending_start, self._pending_peak, self._pending_level = ts, float("nan"), 0
        self._pending += 1
        self._pending_peak = self._worse(self._pending_peak, value)
        self._pending_level = max(self._pending_level, level)
        ready = (
            self._pending >= t.open_readings
            or (self._pending >= 2 and ts - self._pending_start >= t.open_seconds)
            or (level >= Severity.CRITICAL and self.rule in t.critical_immediate)
        )
        if not ready:
            return None
        severity = Severity(self._pending_level)
        self.current = Alarm(
            self.enterprise, self.meter, self.rule, severity, utc(self._pending_start), None,
            self._pending_peak, value, _threshold(limits, severity), self._evidence(limits, self._pending, ts),
        )
        self._readings = self._pending
        self._pending = 0
        self._clear = 0
        return AlarmEvent("open", ts, self.current)

    def _step_open(self, ts: int, value: float, level: int, hold: bool, limits: dict[str, float]) -> AlarmEvent | None:
        t = self.t
        alarm = self.current
        assert alarm is not None
        self._readings += 1
        if hold or level > 0:
            self._clear = 0
            severity = Severity(max(int(alarm.severity), level))
            peak = self._worse(alarm.peak, value)
            escalated = severity > alarm.severity
            self.current = replace(
                alarm, severity=severity, peak=peak, value=value, threshold=_threshold(limits, severity),
                evidence=self._evidence(limits, self._readings, ts),
            )
            return AlarmEvent("escalate", ts, self.current) if escalated else None
        if self._clear == 0:
            self._clear_start = ts
        self._clear += 1
        self.current = replace(alarm, value=value)
        if self._clear >= t.clear_readings or (self._clear >= 2 and ts - self._clear_start >= t.clear_seconds):
            closed = replace(self.current, end=utc(self._clear_start),
                             evidence={**self.current.evidence, "cleared_at": utc(self._clear_start).isoformat()})
            self.current = None
            self._clear = 0
            return AlarmEvent("close", ts, closed)
        return None

    def _evidence(self, limits: dict[str, float], readings: int, ts: int) -> dict[str, Any]:
        info = RULES[self.rule]
        return {
            "quantity": info.quantity,
            "unit": info.unit,
            "limits": {k: round(float(v), 4) for k, v in limits.items()},
            "readings_in_condition": readings,
            "last_reading": utc(ts).isoformat(),
            "debounce": {"open_readings": self.t.open_readings, "open_seconds": self.t.open_seconds,
                         "clear_readings": self.t.clear_readings, "clear_seconds": self.t.clear_seconds},
        }


def _threshold(limits: dict[str, float], severity: Severity) -> float:
    return float(limits.get(severity.label, limits.get("alarm", limits.get("pre_alarm", float("nan")))))


def run_levels(
    debouncers: dict[str, Debouncer], times: np.ndarray, levels: dict[str, RuleLevels]
) -> list[AlarmEvent]:
    """Feed aligned per-rule levels through their debouncers (created on demand); the events in order."""
    events: list[AlarmEvent] = []
    for rule, lv in levels.items():
        deb = debouncers[rule]
        values, lvl, hold = lv.value, lv.level, lv.hold
        for i in range(len(times)):
            event = deb.step(int(times[i]), float(values[i]), int(lvl[i]), bool(hold[i]), lv.thresholds)
            if event is not None:
                events.append(event)
    events.sort(key=lambda e: e.at)
    return events


def detect(
    frame: pd.DataFrame, thresholds: Thresholds, enterprise: str, meter: str, tz: str = "Asia/Shanghai"
) -> list[Alarm]:
    """Every alarm episode in one meter's readings (index: time; columns: quantities), open ones last-state.

    Pure: the same frame and thresholds always give the same alarms.
    """
    frame = frame.sort_index()
    frame = frame[~frame.index.duplicated(keep="last")]
    times, cols = frame_columns(frame)
    levels = rule_levels(times, cols, thresholds, tz)
    debouncers = {rule: Debouncer(enterprise, meter, rule, thresholds) for rule in levels}
    closed = [e.alarm for e in run_levels(debouncers, times, levels) if e.kind == "close"]
    still_open = [d.current for d in debouncers.values() if d.current is not None]
    return sorted(closed + still_open, key=lambda a: (a.start, a.rule))
