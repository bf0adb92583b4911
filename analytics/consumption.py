"""Interval consumption from one cumulative counter: resets, wraparound, replacement, spikes, gaps, hours.

Pure functions: a meter's raw register readings (epoch seconds, values) plus what the registry
knows about the meter (`CounterSpec`) in, hourly consumption with completeness and flags out.
Every rule that decides what a reading means is a named constant below with its rationale.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field, replace
from typing import Final

import numpy as np
import pandas as pd

HOUR_S: Final = 3600

GAP_SECONDS: Final = 900
"""Readings further apart than this leave a gap: the consumption across it is spread evenly over the
time it covers (the best estimate, so nothing is lost) but counts as estimated, not measured, and lowers
completeness. 15 minutes is the longest cadence industrial energy meters are commonly read at
(the 15-minute demand interval), so a longer silence means missed readings."""

CADENCE_GAP_FACTOR: Final = 1.5
CADENCE_MIN_INTERVALS: Final = 8
"""A meter read less often than every 15 minutes (hourly gateways are common) is not "always in a gap":
with at least `CADENCE_MIN_INTERVALS` intervals, the gap threshold becomes `CADENCE_GAP_FACTOR` x the
meter's median reading interval when that is longer than `GAP_SECONDS`, so a missed hourly reading (two
hours of silence) is still a gap while the regular cadence counts as measured."""

ROLLBACK_FRACTION: Final = 0.001
"""A counter that goes back by at most 0.1 % of its value has lost its last increments (a power loss
before the register was saved, or a re-read of an older value), it has not been reset: the interval
counts 0 and the lower value becomes the new base, never a negative delta."""

ROLLBACK_ABSOLUTE: Final = 1e-6
"""Drops this small are float noise in any unit, whatever the register's size."""

WRAP_ZONE: Final = 0.01
"""A drop is a wraparound when the previous value was within 1 % below a register modulus and the new
value within 1 % above zero: a register that overflows passes exactly there."""

BINARY_REGISTER_BITS: Final = (16, 23, 24, 31, 32)
"""Register widths recognised without registry help (signed/unsigned 16/24/32-bit, and 2^23 which
several meter families use for a 24-bit signed register)."""

REGISTER_SCALES: Final = (1.0, 0.1, 0.01, 0.001)
"""Registers hold integers in units of 1, 0.1, 0.01 or 0.001 of the reported unit, so the modulus seen
in the reported unit is 2^n times one of these. Decimal display registers (10^n) are ambiguous with a
reset near a round number (99,990 → 5 could be either), so they are used only when the registry gives
the meter's `register_max`; without it the conservative reset reading (count the new value) applies."""

MIN_RATE_WINDOW_S: Final = 60
"""Plausibility is judged over at least one minute: over a few seconds, register quantisation alone
would look like an impossible power."""

SPIKE_RATE_FACTOR: Final = 10.0
"""Without a registry maximum, a rate more than 10 × the meter's own 95th-percentile rate is suspect (a plant
does not run at ten times its busy load); the 95th, not the 99th, so that a few bad readings in a short
window cannot lift the cap. Suspect rises are still accepted when the pace goes on (`_rate_continues`)."""

MIN_RATE_SAMPLES: Final = 24
"""The data-derived maximum needs at least a day of hourly-scale intervals with consumption; with
fewer, no spike test is made (and the result says so through `rate_cap_per_h` = None)."""

CAPACITY_OVERLOAD: Final = 1.5
"""A meter's maximum plausible power is 1.5 × its contracted capacity in kVA (kW ≤ kVA at pf ≤ 1;
transformers tolerate short overloads of up to about 1.3-1.5 ×), see `max_rate_from_capacity`."""


@dataclass(frozen=True, slots=True)
class CounterEvent:
    """A registry event that breaks the counter series at `at_s` (mirrors `core.registry.models.MeterEvent`).

    kind `replaced`/`reset`: `old_reading` is the old register's last value, `new_reading` the new one's
    first; kind `multiplier_change`: `multiplier` applies to intervals ending after `at_s`.
    """

    at_s: int
    kind: str
    old_reading: float | None = None
    new_reading: float | None = None
    multiplier: float | None = None


@dataclass(frozen=True, slots=True)
class CounterSpec:
    """What the registry knows about one counter: multiplier, register size, maximum rate, events."""

    multiplier: float = 1.0
    register_max: float | None = None
    max_rate_per_h: float | None = None  # in delivered units per hour, multiplier applied
    events: tuple[CounterEvent, ...] = field(default_factory=tuple)
    gap_s: int = GAP_SECONDS

    def multiplier_at(self, t_s: int) -> float:
        """The multiplier of an interval that ends at `t_s` (the last multiplier change before it wins)."""
        current = self.multiplier
        for ev in sorted(self.events, key=lambda e: e.at_s):
            if ev.kind == "multiplier_change" and ev.multiplier is not None and ev.at_s < t_s:
                current = ev.multiplier
        return current


def max_rate_from_capacity(capacity_kva: float | None) -> float | None:
    """The maximum plausible kWh per hour of an electricity meter with this contracted capacity."""
    if capacity_kva is None or capacity_kva <= 0:
        return None
    return CAPACITY_OVERLOAD * capacity_kva


# interval flags (a code per interval; hours count the anomalous ones)
OK = ""
GAP = "gap"
ROLLBACK = "rollback"
RESET = "reset"
WRAP = "wrap"
REPLACED = "replaced"
JUMP = "jump"  # a lasting implausible jump up or down: counted 0, the new level becomes the base
ANOMALY_FLAGS: Final = frozenset({ROLLBACK, RESET, WRAP, REPLACED, JUMP})


@dataclass(frozen=True, slots=True)
class Intervals:
    """Consumption between consecutive accepted readings, plus the readings that were discarded."""

    start_s: np.ndarray  # int64
    end_s: np.ndarray  # int64
    delta: np.ndarray  # float64, multiplier applied, never negative
    measured: np.ndarray  # bool: False for gap spreads and intervals whose delta is unknown
    flag: list[str]
    excluded_s: np.ndarray  # times of readings discarded as isolated spikes/glitches
    rate_cap_per_h: float | None

    def frame(self) -> pd.DataFrame:
        """The intervals as a DataFrame (for inspection and tests)."""
        return pd.DataFrame({"start_s": self.start_s, "end_s": self.end_s, "delta": self.delta,
                             "measured": self.measured, "flag": self.flag})


def _candidate_moduli(register_max: float | None) -> list[float]:
    if register_max is not None:
        # `register_max` is the largest value shown (999999.9, 2^32-1): the modulus is one step above it
        step = _display_step(register_max)
        return [register_max + step]
    return sorted({(2.0**bits) * scale for bits in BINARY_REGISTER_BITS for scale in REGISTER_SCALES})


def _display_step(register_max: float) -> float:
    """The register's resolution, from its maximum (999999.9 → 0.1; 4294967295 → 1)."""
    for step in (1.0, 0.1, 0.01, 0.001):
        if abs(round(register_max / step) * step - register_max) < step * 1e-6:
            return step
    return 0.001


def wrap_delta(prev: float, new: float, register_max: float | None = None) -> float | None:
    """The raw increment if `prev` → `new` is a register overflow, else None."""
    for modulus in _candidate_moduli(register_max):
        if modulus * (1 - WRAP_ZONE) <= prev < modulus + 1e-9 and 0 <= new <= modulus * WRAP_ZONE:
            return modulus - prev + new
    return None


def _derived_rate_cap(t: np.ndarray, v: np.ndarray, gap_s: int) -> float | None:
    """SPIKE_RATE_FACTOR × the 95th percentile of the meter's positive per-hour rates (None if thin)."""
    if len(t) < 2:
        return None
    dt = np.diff(t).astype(float)
    dv = np.diff(v)
    ok = (dt > 0) & (dt <= gap_s) & (dv > 0)
    if ok.sum() < MIN_RATE_SAMPLES:
        return None
    rates = dv[ok] / np.maximum(dt[ok], MIN_RATE_WINDOW_S) * HOUR_S
    return float(SPIKE_RATE_FACTOR * np.percentile(rates, 95))


def cadence_gap_s(times_s: np.ndarray, gap_s: int = GAP_SECONDS) -> int:
    """The gap threshold for a meter read at the cadence of `times_s` (see CADENCE_GAP_FACTOR)."""
    if len(times_s) <= CADENCE_MIN_INTERVALS:
        return gap_s
    cadence = float(np.median(np.diff(times_s)))
    return max(gap_s, int(CADENCE_GAP_FACTOR * cadence))


def counter_intervals(times_s: Sequence[int] | np.ndarray, values: Sequence[float] | np.ndarray,
                      spec: CounterSpec | None = None) -> Intervals:
    """Turn raw register readings into non-negative consumption intervals (multiplier applied).

    Duplicate timestamps keep the last value. A reading that jumps implausibly and is contradicted by the
    next one is discarded (spike/glitch); a lasting implausible jump counts 0 and rebases; drops are a
    rollback (0), a wraparound (modulus − prev + new), a registry replacement/reset event (old and new
    register parts), or else a reset (the new value, if plausible).
    """
    spec = spec or CounterSpec()
    t, v = _clean(np.asarray(times_s, dtype=np.int64), np.asarray(values, dtype=float))
    spec = replace(spec, gap_s=cadence_gap_s(t, spec.gap_s))
    cap = spec.max_rate_per_h
    derived = cap is None
    if cap is None:
        cap = _derived_rate_cap(t, v * spec.multiplier, spec.gap_s)
    breaks = sorted((e for e in spec.events if e.kind in ("replaced", "reset")), key=lambda e: e.at_s)
    fast = _fast_path(t, v, spec, cap, breaks)
    if fast is not None:
        return fast

    def plausible(delta: float, dt_s: int) -> bool:
        return cap is None or delta <= cap * max(dt_s, MIN_RATE_WINDOW_S) / HOUR_S + 1e-9

    starts: list[int] = []
    ends: list[int] = []
    deltas: list[float] = []
    measured: list[bool] = []
    flags: list[str] = []
    excluded: list[int] = []

    def emit(t0: int, t1: int, delta: float, is_measured: bool, flag: str) -> None:
        starts.append(t0)
        ends.append(t1)
        deltas.append(max(delta, 0.0))
        gap = (t1 - t0) > spec.gap_s
        measured.append(is_measured and not gap)
        flags.append(GAP if (gap and flag == OK) else flag)

    if len(t) == 0:
        return _intervals(starts, ends, deltas, measured, flags, excluded, cap)
    bt, bv = int(t[0]), float(v[0])
    n = len(t)
    last_rate = 0.0  # raw units per second of the last accepted rise
    for i in range(1, n):
        ti, vi = int(t[i]), float(v[i])
        dt_s = ti - bt
        mult = spec.multiplier_at(ti)
        event = next((e for e in breaks if bt < e.at_s <= ti), None)
        if event is not None:
            before = max(event.old_reading - bv, 0.0) if event.old_reading is not None else 0.0
            after = max(vi - event.new_reading, 0.0) if event.new_reading is not None else 0.0
            known = event.old_reading is not None and event.new_reading is not None
            delta = (before + after) * mult
            if not plausible(delta, dt_s):
                delta, known = 0.0, False
            emit(bt, ti, delta, known, REPLACED)
            bt, bv = ti, vi
            continue
        raw = vi - bv
        normal = raw >= 0 and plausible(raw * mult, dt_s)
        rollback = raw < 0 and -raw <= max(ROLLBACK_FRACTION * abs(bv), ROLLBACK_ABSOLUTE)
        if normal:
            emit(bt, ti, raw * mult, True, OK)
            last_rate = raw / max(dt_s, MIN_RATE_WINDOW_S)
            bt, bv = ti, vi
            continue
        if rollback:
            emit(bt, ti, 0.0, True, ROLLBACK)
            bt, bv = ti, vi
            continue
        # an anomalous reading: is it an isolated outlier that the next reading contradicts?
        if i + 1 < n:
            tn, vn = int(t[i + 1]), float(v[i + 1])
            rest = vn - bv
            if rest >= 0 and plausible(rest * spec.multiplier_at(tn), tn - bt) and not any(
                bt < e.at_s <= tn for e in breaks
            ):
                excluded.append(ti)
                continue
        if raw > 0 and derived and (_rate_continues(t, v, i, raw, dt_s)
                                    or raw / max(dt_s, MIN_RATE_WINDOW_S) <= SPIKE_RATE_FACTOR * last_rate):
            emit(bt, ti, raw * mult, True, OK)  # the plant changed pace (idle → full load), not the counter
            last_rate = raw / max(dt_s, MIN_RATE_WINDOW_S)
        elif raw > 0:  # a lasting implausible jump up: unknown consumption, rebase on the new level
            emit(bt, ti, 0.0, False, JUMP)
        else:
            wrapped = wrap_delta(bv, vi, spec.register_max)
            if wrapped is not None and plausible(wrapped * mult, dt_s):
                emit(bt, ti, wrapped * mult, True, WRAP)
            elif plausible(vi * mult, dt_s):
                emit(bt, ti, vi * mult, True, RESET)
            else:
                emit(bt, ti, 0.0, False, JUMP)
        bt, bv = ti, vi
    return _intervals(starts, ends, deltas, measured, flags, excluded, cap)


def _rate_continues(t: np.ndarray, v: np.ndarray, i: int, raw: float, dt_s: int) -> bool:
    """True when the interval after reading i keeps at least 1/SPIKE_RATE_FACTOR of the jump's rate.

    Only used with a data-derived cap, which knows the meter's past pace but not its physical limit: a
    counter that keeps rising fast after a fast rise is a plant that started producing; a single giant
    step followed by the old pace is a counter that was re-initialised.
    """
    if i + 1 >= len(t):
        return False
    after = v[i + 1] - v[i]
    if after < 0:
        return False
    rate = raw / max(dt_s, MIN_RATE_WINDOW_S)
    rate_after = after / max(int(t[i + 1] - t[i]), MIN_RATE_WINDOW_S)
    return rate_after * SPIKE_RATE_FACTOR >= rate


def _clean(t: np.ndarray, v: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Finite values only, sorted by time; of readings with the same timestamp the last one given wins."""
    keep = np.isfinite(v)
    t, v = t[keep], v[keep]
    if len(t) > 1 and not (np.diff(t) > 0).all():
        order = np.argsort(t, kind="stable")
        t, v = t[order], v[order]
        last = np.append(t[1:] != t[:-1], True)
        t, v = t[last], v[last]
    return t, v


def _fast_path(t: np.ndarray, v: np.ndarray, spec: CounterSpec, cap: float | None,
               breaks: list[CounterEvent]) -> Intervals | None:
    """The common case in one vectorised step: no events, the counter never falls and never jumps."""
    if len(t) < 2 or any(e.kind == "multiplier_change" for e in spec.events):
        return None
    dt_s = np.diff(t)
    dv = np.diff(v) * spec.multiplier
    if (dv < 0).any():
        return None
    if cap is not None and (dv > cap * np.maximum(dt_s, MIN_RATE_WINDOW_S) / HOUR_S + 1e-9).any():
        return None
    if breaks and any(t[0] < e.at_s <= t[-1] for e in breaks):
        return None
    gap = dt_s > spec.gap_s
    return Intervals(start_s=t[:-1].astype(np.int64), end_s=t[1:].astype(np.int64), delta=dv.astype(float),
                     measured=~gap, flag=[GAP if g else OK for g in gap], excluded_s=np.empty(0, dtype=np.int64),
                     rate_cap_per_h=cap)


def _intervals(starts: list[int], ends: list[int], deltas: list[float], measured: list[bool], flags: list[str],
               excluded: list[int], cap: float | None) -> Intervals:
    return Intervals(
        start_s=np.asarray(starts, dtype=np.int64),
        end_s=np.asarray(ends, dtype=np.int64),
        delta=np.asarray(deltas, dtype=float),
        measured=np.asarray(measured, dtype=bool),
        flag=flags,
        excluded_s=np.asarray(excluded, dtype=np.int64),
        rate_cap_per_h=cap,
    )


HOURLY_COLUMNS: Final = ("hour_s", "value", "estimated", "completeness", "anomalies", "excluded", "n_readings")


def hourly(intervals: Intervals, reading_times_s: Sequence[int] | np.ndarray | None = None) -> pd.DataFrame:
    """Spread each interval's consumption over the clock hours it covers (see `hourly_arrays`), as a DataFrame."""
    return pd.DataFrame(hourly_arrays(intervals, reading_times_s), columns=list(HOURLY_COLUMNS))


def hourly_arrays(intervals: Intervals,
                  reading_times_s: Sequence[int] | np.ndarray | None = None) -> dict[str, np.ndarray]:
    """Spread each interval's consumption over the clock hours it covers, in proportion to the overlap.

    Returns one row per hour touched (`hour_s` = the hour's start, epoch seconds): `value` (all consumption),
    `estimated` (the part from gaps and unknown intervals), `completeness` (share of the hour covered by
    measured intervals, 0..1), `anomalies` (flagged intervals ending in the hour), `excluded` (readings
    discarded as spikes) and `n_readings` (raw readings in the hour, when `reading_times_s` is given).
    """
    s, e = intervals.start_s, intervals.end_s
    hour = np.empty(0, dtype=np.int64)
    value = np.empty(0, dtype=float)
    covered = np.empty(0, dtype=float)
    measured = np.empty(0, dtype=bool)
    if len(s):
        first_h = s // HOUR_S
        counts = ((e - 1) // HOUR_S - first_h + 1).astype(np.int64)
        if (counts == 1).all():  # the common case: every interval inside one hour
            idx = np.arange(len(s))
            hour = first_h * HOUR_S
        else:
            idx = np.repeat(np.arange(len(s)), counts)
            offset = np.arange(counts.sum()) - np.repeat(np.cumsum(counts) - counts, counts)
            hour = (first_h[idx] + offset) * HOUR_S
        overlap = (np.minimum(e[idx], hour + HOUR_S) - np.maximum(s[idx], hour)).astype(float)
        value = intervals.delta[idx] * overlap / (e[idx] - s[idx])
        measured = intervals.measured[idx]
        covered = np.where(measured, overlap, 0.0)
    flagged = np.array([f in ANOMALY_FLAGS for f in intervals.flag], dtype=bool)
    anomaly_hours = ((e[flagged] - 1) // HOUR_S) * HOUR_S if len(s) else np.empty(0, dtype=np.int64)
    excluded_hours = (intervals.excluded_s // HOUR_S) * HOUR_S
    reading_hours = np.empty(0, dtype=np.int64)
    if reading_times_s is not None and len(reading_times_s):
        reading_hours = (np.unique(np.asarray(reading_times_s, dtype=np.int64)) // HOUR_S) * HOUR_S
    keys = np.unique(np.concatenate([hour, anomaly_hours, excluded_hours, reading_hours]).astype(np.int64))
    n = len(keys)

    def total(at: np.ndarray, weights: np.ndarray | None = None) -> np.ndarray:
        if not len(at):
            return np.zeros(n)
        return np.bincount(np.searchsorted(keys, at), weights=weights, minlength=n)

    estimated = np.where(measured, 0.0, value)
    return {
        "hour_s": keys,
        "value": total(hour, value),
        "estimated": total(hour, estimated),
        "completeness": np.clip(total(hour, covered) / HOUR_S, 0.0, 1.0),
        "anomalies": total(anomaly_hours).astype(np.int64),
        "excluded": total(excluded_hours).astype(np.int64),
        "n_readings": total(reading_hours).astype(np.int64),
    }


def hourly_consumption(times_s: Sequence[int] | np.ndarray, values: Sequence[float] | np.ndarray,
                       spec: CounterSpec | None = None) -> pd.DataFrame:
    """Raw readings of one counter → hourly rows (see `counter_intervals` and `hourly`)."""
    return hourly(counter_intervals(times_s, values, spec), times_s)
