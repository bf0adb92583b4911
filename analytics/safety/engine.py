"""Incremental evaluation for the streaming watcher: per-meter state (debouncers, a short temperature window).

Feeds one reading at a time through the same `rule_levels` and `Debouncer` as the batch detector, so a
stream and a batch over the same readings give the same alarms. Readings at or before a meter's last
evaluated time are skipped (late or replayed data; the batch detector covers backfills).
"""

from __future__ import annotations

import datetime as dt
from collections import deque
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field

import numpy as np

from analytics.safety.alarms import Alarm, AlarmEvent, Debouncer
from analytics.safety.rules import rule_levels
from analytics.safety.thresholds import Thresholds

SAFETY_KEYS = frozenset({"leakage_ma", "temp_c", "current_a", "voltage_v", "power_kw",
                         "current_l1_a", "current_l2_a", "current_l3_a"})


@dataclass
class MeterState:
    """What the engine remembers about one meter."""

    thresholds: Thresholds
    tz: str
    last_ts: int | None = None
    temps: deque[tuple[int, float]] = field(default_factory=deque)
    debouncers: dict[str, Debouncer] = field(default_factory=dict)


class SafetyEngine:
    """Per-meter streaming rule evaluation. `context(enterprise, meter)` gives (thresholds, time zone),
    or None for a meter that is not watched."""

    def __init__(self, context: Callable[[str, str], tuple[Thresholds, str] | None]) -> None:
        self._context = context
        self.meters: dict[tuple[str, str], MeterState] = {}
        self.skipped_late = 0

    def reset_context(self) -> None:
        """Forget thresholds (after a registry or rules reload); debounce state is kept for unchanged meters."""
        for key, state in list(self.meters.items()):
            ctx = self._context(*key)
            if ctx is None:
                del self.meters[key]
            elif ctx[0] != state.thresholds or ctx[1] != state.tz:
                state.thresholds, state.tz = ctx
                for deb in state.debouncers.values():
                    deb.t = ctx[0]

    def feed(self, enterprise: str, meter: str, ts: int, values: Mapping[str, float]) -> list[AlarmEvent]:
        """Evaluate one reading; the alarm events it causes."""
        key = (enterprise, meter)
        state = self.meters.get(key)
        if state is None:
            ctx = self._context(enterprise, meter)
            if ctx is None:
                return []
            state = self.meters[key] = MeterState(ctx[0], ctx[1])
        if state.last_ts is not None and ts <= state.last_ts:
            self.skipped_late += 1
            return []
        state.last_ts = ts
        cols = {k: np.array([float(v)]) for k, v in values.items() if k in SAFETY_KEYS}
        if not cols:
            return []
        temp = values.get("temp_c")
        if temp is not None:
            window = state.thresholds.temp_rise_window_s
            state.temps.append((ts, float(temp)))
            while state.temps and state.temps[0][0] <= ts - window:
                state.temps.popleft()
            cols["temp_window_min"] = np.array([min(v for _, v in state.temps)])
        times = np.array([ts], dtype=np.int64)
        events: list[AlarmEvent] = []
        for rule, lv in rule_levels(times, cols, state.thresholds, state.tz).items():
            deb = state.debouncers.get(rule)
            if deb is None:
                deb = state.debouncers[rule] = Debouncer(enterprise, meter, rule, state.thresholds)
            event = deb.step(ts, float(lv.value[0]), int(lv.level[0]), bool(lv.hold[0]), lv.thresholds)
            if event is not None:
                events.append(event)
        return events

    def restore(self, alarms: list[Alarm]) -> int:
        """Take back alarms a previous process left open (from the store), so they can close; the number kept.

        The meter's evaluation resumes after the alarm's last evaluated reading.
        """
        kept = 0
        for alarm in alarms:
            key = (alarm.enterprise, alarm.meter)
            ctx = self._context(*key)
            if ctx is None or alarm.end is not None:
                continue
            state = self.meters.setdefault(key, MeterState(ctx[0], ctx[1]))
            deb = state.debouncers.setdefault(alarm.rule, Debouncer(alarm.enterprise, alarm.meter, alarm.rule, ctx[0]))
            deb.current = alarm
            last = alarm.evidence.get("last_reading")
            last_ts = int(dt.datetime.fromisoformat(last).timestamp()) if isinstance(last, str) else None
            if last_ts is not None:
                deb.last_ts = last_ts
                state.last_ts = max(state.last_ts or last_ts, last_ts)
            kept += 1
        return kept

    def open_alarms(self) -> list[Alarm]:
        """Alarms open right now in the engine's memory."""
        return [d.current for s in self.meters.values() for d in s.debouncers.values() if d.current is not None]
