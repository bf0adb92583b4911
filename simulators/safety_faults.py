"""Electrical-safety faults for safety meters, with ground truth (numpy/pandas only; no analytics imports).

Faults: `leakage` (insulation breakdown), `overheat` (a loose connection heating a cable or switchgear),
`overload` (current above the rated current, which also heats the cable) and `voltage_sag` (sustained
under-voltage). Transients are one-reading nuisance events (motor inrush, switching surge, short dip) that
are NOT faults. `generate_city` makes stand-alone safety meters (unit tests, demos); `inject_meter` puts the
same faults on a simulated plant's `S01` meter (`enerdiag simulate city --safety-faults`).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Final

import numpy as np
import pandas as pd

FAULT_KINDS: Final = ("leakage", "overheat", "overload", "voltage_sag")

FAULT_SIGNAL: Final[dict[str, tuple[str, str]]] = {
    "leakage": ("leakage_ma", "mA"),
    "overheat": ("temp_c", "degC"),
    "overload": ("current_a", "x rated current"),
    "voltage_sag": ("voltage_v", "x nominal voltage"),
}
"""The quantity each fault shows in, and the unit of its magnitude in the manifest."""

NOMINAL_VOLTAGE_V: Final = 220.0
THERMAL_TAU_S: Final = 900.0
"""Time constant of a cable's surface temperature (first-order lag)."""
HEATING_K_AT_RATED: Final = 30.0
"""Temperature rise above ambient of a cable carrying its rated current."""


@dataclass(frozen=True, slots=True)
class SafetyMeter:
    """One generated safety meter (a circuit with its rated current)."""

    enterprise: str
    meter: str
    rated_current_a: float
    nominal_voltage_v: float = NOMINAL_VOLTAGE_V


@dataclass(frozen=True, slots=True)
class Fault:
    """Ground truth: a fault of `kind` on a meter during [start_s, end_s), at `peak` (see FAULT_SIGNAL units)."""

    enterprise: str
    meter: str
    kind: str
    start_s: int
    end_s: int
    peak: float


def synthetic_code(index: int) -> str:
    """An 18-character id shaped like a credit code (check characters NOT valid: tests and demos only)."""
    return f"91140200SAFE{index:06d}"


def normal_readings(meter: SafetyMeter, times: np.ndarray, rng: np.random.Generator) -> dict[str, np.ndarray]:
    """Healthy signals: a smooth daily load (30–65 % of rated), natural leakage, cable heating, stable voltage."""
    hours = (times % 86400) / 3600.0 + 8.0  # local (UTC+8) hour of day
    shape = 0.5 - 0.5 * np.cos(2 * np.pi * (hours - 3.0) / 24.0)  # 0 at 03:00, 1 at 15:00
    load = 0.30 + 0.35 * shape + rng.normal(0, 0.02, len(times))
    current = np.clip(load, 0.02, None) * meter.rated_current_a
    base_leak = rng.uniform(20.0, 110.0)
    leakage = np.clip(base_leak + rng.normal(0, 6.0, len(times)), 0.0, None)
    ambient = rng.uniform(18.0, 28.0)
    voltage = meter.nominal_voltage_v * (
        1 + 0.012 * np.sin(2 * np.pi * hours / 24.0) + rng.normal(0, 0.004, len(times))
    )
    return {"current_a": current, "leakage_ma": leakage, "voltage_v": voltage, "ambient": np.full(len(times), ambient)}


def lag(times: np.ndarray, target: np.ndarray, start: float | None = None, tau_s: float = THERMAL_TAU_S) -> np.ndarray:
    """First-order lag of `target` (time constant `tau_s`), starting at `start` (default: the first target)."""
    out = np.empty(len(target), dtype=float)
    if len(target) == 0:
        return out
    out[0] = target[0] if start is None else start
    steps = np.diff(times, prepend=times[0]).astype(float)
    alpha = 1.0 - np.exp(-steps / tau_s)
    for i in range(1, len(target)):
        out[i] = out[i - 1] + alpha[i] * (target[i] - out[i - 1])
    return out


def cable_temperature(
    times: np.ndarray, ambient: np.ndarray, current_ratio: np.ndarray, extra: np.ndarray | float = 0.0
) -> np.ndarray:
    """Cable surface temperature: lag towards ambient + 30 K x (I/In)^2 + extra heating."""
    return lag(times, ambient + HEATING_K_AT_RATED * current_ratio**2 + extra)


def _window(times: np.ndarray, start: int, end: int) -> np.ndarray:
    return (times >= start) & (times < end)


def plan_faults(
    meter: SafetyMeter, times: np.ndarray, rng: np.random.Generator, max_faults: int, step_s: int = 60
) -> list[Fault]:
    """Up to `max_faults` non-overlapping faults in `times`, 2 h apart, none in the first or last hour.

    A fault lasts 15–60 min but at least 4 readings (and the gap is at least 8 readings), so the
    debounce of the detection can see it at any reading interval.
    """
    t0, t1 = int(times[0]) + 3600, int(times[-1]) - 3600
    faults: list[Fault] = []
    n = int(rng.integers(0, max_faults + 1))
    cursor = t0
    for _ in range(n):
        start = cursor + int(rng.integers(0, 4 * 3600))
        duration = max(int(rng.integers(15, 61)) * 60, 4 * step_s)
        if start + duration > t1:
            break
        kind, peak = _draw_kind(rng)
        faults.append(Fault(meter.enterprise, meter.meter, kind, start, start + duration, peak))
        cursor = start + duration + max(2 * 3600, 8 * step_s)
    return faults


def _draw_kind(rng: np.random.Generator) -> tuple[str, float]:
    """A fault kind and its magnitude: leakage 380–900 mA, hot spot 76–110 degC, overload 1.12–1.45 In,
    sag to 78–87 % of nominal (all beyond the default alarm levels of docs/safety.md)."""
    kind = str(rng.choice(FAULT_KINDS))
    peak = {
        "leakage": rng.uniform(380.0, 900.0),
        "overheat": rng.uniform(76.0, 110.0),
        "overload": rng.uniform(1.12, 1.45),
        "voltage_sag": rng.uniform(0.78, 0.87),
    }[kind]
    return kind, float(peak)


def plan_day(
    meter: SafetyMeter, times: np.ndarray, rng: np.random.Generator, max_faults: int, step_s: int
) -> list[Fault]:
    """Up to `max_faults` faults anywhere in one day's `times` (not its first or last hour), 2 h apart,
    each 15–60 min and at least 4 readings long."""
    t0, t1 = int(times[0]) + 3600, int(times[-1]) - 3600
    gap = max(2 * 3600, 8 * step_s)
    faults: list[Fault] = []
    for _ in range(int(rng.integers(0, max_faults + 1))):
        duration = max(int(rng.integers(15, 61)) * 60, 4 * step_s)
        start = int(rng.integers(t0, max(t0 + 1, t1 - duration)))
        kind, peak = _draw_kind(rng)
        if start + duration > t1 or any(start < f.end_s + gap and f.start_s < start + duration + gap for f in faults):
            continue
        faults.append(Fault(meter.enterprise, meter.meter, kind, start, start + duration, peak))
    return sorted(faults, key=lambda f: f.start_s)


def add_transients(
    columns: dict[str, np.ndarray],
    meter: SafetyMeter,
    count: int,
    rng: np.random.Generator,
    candidates: np.ndarray | None = None,
) -> list[tuple[int, str, float]]:
    """Nuisance events that are NOT faults, one reading each: a motor's inrush current (2–6 x rated), a
    switching surge on the residual current (350–900 mA) or a short voltage dip (60–88 %). In place on
    `columns`, at rows drawn from `candidates` (default: every row but the first and last).

    Returns (row, quantity, value) of each.
    """
    n = len(columns["current_a"])
    pool = np.arange(1, n - 1) if candidates is None else candidates
    if count <= 0 or len(pool) < 1 or n < 3:
        return []
    rows = rng.choice(pool, size=min(count, len(pool)), replace=False)
    out: list[tuple[int, str, float]] = []
    for row in rows:
        kind = int(rng.integers(0, 3))
        if kind == 0:
            quantity, value = "current_a", round(meter.rated_current_a * rng.uniform(2, 6), 3)
        elif kind == 1:
            quantity, value = "leakage_ma", round(rng.uniform(350.0, 900.0), 3)
        else:
            quantity, value = "voltage_v", round(meter.nominal_voltage_v * rng.uniform(0.6, 0.88), 3)
        columns[quantity][row] = value
        out.append((int(row), quantity, float(value)))
    return out


def inject(
    meter: SafetyMeter,
    times: np.ndarray,
    signals: dict[str, np.ndarray],
    faults: list[Fault],
    rng: np.random.Generator,
    transients: int = 0,
) -> pd.DataFrame:
    """Apply `faults` and `transients` one-reading nuisances to healthy `signals`; the readings frame."""
    current = signals["current_a"].copy()
    leakage = signals["leakage_ma"].copy()
    voltage = signals["voltage_v"].copy()
    extra = np.zeros(len(times))
    for f in faults:
        w = _window(times, f.start_s, f.end_s)
        if f.kind == "leakage":
            leakage[w] = f.peak * (1 + rng.normal(0, 0.03, int(w.sum())))
        elif f.kind == "overload":
            current[w] = f.peak * meter.rated_current_a * (1 + rng.normal(0, 0.01, int(w.sum())))
        elif f.kind == "voltage_sag":
            voltage[w] = f.peak * meter.nominal_voltage_v * (1 + rng.normal(0, 0.004, int(w.sum())))
        elif f.kind == "overheat":
            extra[w] = f.peak - 25.0  # a hot joint: the surface heads for about `peak` degC
    temp = cable_temperature(times, signals["ambient"], current / meter.rated_current_a, extra)
    temp = temp + rng.normal(0, 0.2, len(times))
    power = np.sqrt(3.0) * 0.38 * current * 0.9  # three-phase kW at pf 0.9 (before the transients)
    columns = {"leakage_ma": leakage, "temp_c": temp, "current_a": current, "voltage_v": voltage}
    add_transients(columns, meter, transients, rng)
    frame = pd.DataFrame(
        {**columns, "power_kw": power, "pf": np.full(len(times), 0.9)},
        index=pd.to_datetime(times, unit="s", utc=True),
    )
    frame.index.name = "time"
    return frame.round(3)


def generate_city(
    n_meters: int = 50,
    start_s: int = 1764518400,  # 2025-12-01 00:00 +08:00
    hours: float = 24.0,
    step_s: int = 60,
    max_faults_per_meter: int = 2,
    seed: int = 0,
    meters: list[SafetyMeter] | None = None,
    transients_per_meter: int = 4,
) -> tuple[dict[tuple[str, str], pd.DataFrame], list[Fault], list[SafetyMeter]]:
    """Readings of `n_meters` stand-alone safety meters (or the given ones) with injected faults, the faults,
    the meters.

    Deterministic for a seed. Rated currents are drawn from common breaker sizes. Each meter also gets
    `transients_per_meter` one-reading nuisance events (`add_transients`) that must not raise alarms.
    """
    rng = np.random.default_rng(seed)
    if meters is None:
        sizes = np.array([32, 63, 100, 160, 250, 400, 630])
        meters = [
            SafetyMeter(synthetic_code(i // 5), f"S{i % 5 + 1:02d}", float(rng.choice(sizes))) for i in range(n_meters)
        ]
    times = np.arange(start_s, start_s + int(hours * 3600), step_s, dtype=np.int64)
    frames: dict[tuple[str, str], pd.DataFrame] = {}
    truth: list[Fault] = []
    for meter in meters:
        signals = normal_readings(meter, times, rng)
        faults = plan_faults(meter, times, rng, max_faults_per_meter, step_s)
        frames[(meter.enterprise, meter.meter)] = inject(meter, times, signals, faults, rng, transients_per_meter)
        truth.extend(faults)
    return frames, truth, meters


# ---------------------------------------------------------------- on a simulated plant's safety meter


@dataclass(slots=True)
class MeterFaults:
    """What `inject_meter` did to one plant's safety meter: the faults and the transients (ground truth)."""

    faults: list[Fault]
    transients: list[tuple[int, str, float]]  # (epoch s, quantity, value)


def _apply(
    values: dict[str, np.ndarray], times: np.ndarray, meter: SafetyMeter, faults: list[Fault], rng: np.random.Generator
) -> None:
    """Put `faults` on a plant meter's signals in place; the cable temperature follows the current and hot spots."""
    rated = meter.rated_current_a
    current = values["current_a"].astype(float)
    healthy_ratio = current / rated
    heat = np.zeros(len(times))
    for f in faults:
        w = _window(times, f.start_s, f.end_s)
        k = int(w.sum())
        if f.kind == "leakage":
            values["leakage_ma"][w] = f.peak * (1 + rng.normal(0, 0.03, k))
        elif f.kind == "overload":
            current[w] = f.peak * rated * (1 + rng.normal(0, 0.01, k))
        elif f.kind == "voltage_sag":
            values["voltage_v"][w] = f.peak * meter.nominal_voltage_v * (1 + rng.normal(0, 0.004, k))
        elif f.kind == "overheat":  # a hot joint: the surface heads for `peak` degC
            heat[w] = np.maximum(heat[w], f.peak - values["temp_c"][w])
    heat += HEATING_K_AT_RATED * ((current / rated) ** 2 - healthy_ratio**2)
    values["current_a"] = current
    values["temp_c"] = values["temp_c"] + lag(times, heat, start=0.0)


def inject_meter(
    meter: SafetyMeter,
    times: np.ndarray,
    day_index: np.ndarray,
    values: dict[str, np.ndarray],
    rng: np.random.Generator,
    step_s: int,
    max_faults_per_day: int = 2,
    transients_per_day: int = 4,
) -> MeterFaults:
    """Faults (0..`max_faults_per_day` per local day) and transients on a plant's safety meter, in place.

    `values` holds the meter's current_a, voltage_v, leakage_ma and temp_c arrays aligned with `times`;
    `day_index` numbers the local day of each reading. Transients stay 5 readings clear of every fault and
    4 readings clear of each other (at 15-minute readings two in a row would look like a fault).
    """
    faults: list[Fault] = []
    for day in np.unique(day_index):
        sel = times[day_index == day]
        if len(sel) > 2 and sel[-1] - sel[0] > 3 * 3600:
            faults += plan_day(meter, sel, rng, max_faults_per_day, step_s)
    _apply(values, times, meter, faults, rng)
    near = np.zeros(len(times), dtype=bool)
    for f in faults:
        near |= (times >= f.start_s - 5 * step_s) & (times < f.end_s + 5 * step_s)
    placed: list[tuple[int, str, float]] = []
    free = ~near
    free[[0, -1]] = False
    for day in np.unique(day_index):
        for _ in range(transients_per_day):  # one at a time, 4 readings apart: each stays a single reading
            done = add_transients(values, meter, 1, rng, np.flatnonzero((day_index == day) & free))
            placed += done
            if done:
                free[max(0, done[0][0] - 3) : done[0][0] + 4] = False
    for q in ("current_a", "voltage_v", "leakage_ma", "temp_c"):
        values[q] = np.round(values[q], 1)
    return MeterFaults(faults, [(int(times[r]), q, float(values[q][r])) for r, q, _v in placed])


def measured_peak(fault: Fault, times: np.ndarray, values: dict[str, np.ndarray], rated_current_a: float) -> float:
    """The fault's realised worst value in the data, in the unit of its magnitude (see FAULT_SIGNAL)."""
    quantity, _unit = FAULT_SIGNAL[fault.kind]
    w = _window(times, fault.start_s, fault.end_s + (int(THERMAL_TAU_S) if fault.kind == "overheat" else 0))
    x = values[quantity][w]
    if fault.kind == "overload":
        return round(float(x.max()) / rated_current_a, 3)
    if fault.kind == "voltage_sag":
        return round(float(x.min()) / NOMINAL_VOLTAGE_V, 3)
    return round(float(x.max()), 1)


def fault_record(
    fault: Fault, times: np.ndarray, values: dict[str, np.ndarray], rated_current_a: float, iso: Any
) -> dict[str, Any]:
    """The manifest entry of one safety fault (`iso` formats epoch seconds)."""
    quantity, unit = FAULT_SIGNAL[fault.kind]
    return {
        "meter": fault.meter,
        "kind": fault.kind,
        "start": iso(fault.start_s),
        "end": iso(fault.end_s),
        "start_epoch": fault.start_s,
        "end_epoch": fault.end_s,
        "quantity": quantity,
        "magnitude": round(fault.peak, 3),
        "unit": unit,
        "measured_peak": measured_peak(fault, times, values, rated_current_a),
    }
