"""Power factor below the 0.90 standard: the Shanxi adjustment charge it costs and the capacitor bank that fixes it."""

from __future__ import annotations

import math

import numpy as np

from analytics.diagnosis.finding import Finding, Valuation
from analytics.diagnosis.frames import PlantFrames
from analytics.diagnosis.load import producing_mask

PF_STANDARD = 0.90
"""Power-factor standard of industrial users ≥ 100 kVA (《功率因数调整电费办法》(83)水电财字第215号)."""
PF_TARGET = 0.95
"""Power factor the capacitor bank is sized for (a usual design target, above the standard with margin)."""
KVAR_STEP = 10.0
"""Capacitor banks come in steps; the recommended size is rounded up to 10 kvar."""


def power_factor(kwh: float, kvarh: float) -> float | None:
    """Average power factor from active and reactive energy: P / √(P² + Q²)."""
    if kwh <= 0:
        return None
    return kwh / math.hypot(kwh, kvarh)


def capacitor_kvar(p_kw: float, pf_now: float, pf_target: float = PF_TARGET) -> float:
    """Q = P·(tanφ1 − tanφ2): reactive compensation that lifts the power factor from `pf_now` to `pf_target`."""
    return p_kw * (math.tan(math.acos(pf_now)) - math.tan(math.acos(pf_target)))


def detect_low_power_factor(frames: PlantFrames, value: Valuation, reference: object) -> Finding | None:
    """The period's power factor of the main meter(s) below 0.90."""
    t = frames.table
    kwh, kvarh = float(np.nansum(t["kwh"])), float(np.nansum(t["kvarh"]))
    if t["kvarh"].isna().all():
        return None
    pf = power_factor(kwh, kvarh)
    if pf is None or pf >= PF_STANDARD:
        return None
    adj = reference.power_factor_adjustment(pf, PF_STANDARD)  # type: ignore[attr-defined]
    prod = producing_mask(t)
    p_kw = float(np.nanmean(t["kwh"].to_numpy(dtype=float)[prod])) if prod.any() else kwh / len(t)
    q = capacitor_kvar(p_kw, pf)
    size = math.ceil(q / KVAR_STEP) * KVAR_STEP
    energy_bill = kwh * value.prices.flat_cny_per_kwh
    kva = frames.facts.contracted_kva or 0.0
    basic = kva * value.prices.capacity_cny_per_kva_month * frames.days / 30.4375
    surcharge = max(0.0, float(adj.value)) / 100.0 * (energy_bill + basic)
    evidence = {
        "period": [frames.first_day.isoformat(), frames.end_day.isoformat()],
        "meters": frames.main_electricity_meters(),
        "active_kwh": round(kwh, 1), "reactive_kvarh": round(kvarh, 1),
        "power_factor": round(pf, 4), "standard": PF_STANDARD,
        "adjustment_pct": adj.value, "adjustment_source": adj.source, "adjustment_confidence": adj.confidence,
        "bill_base_cny": round(energy_bill + basic, 0),
        "producing_kw": round(p_kw, 1), "target_pf": PF_TARGET,
        "capacitor_kvar": round(q, 1), "capacitor_kvar_recommended": size,
    }
    return Finding(
        "low_power_factor", "功率因数低于 0.90", "Power factor below 0.90",
        **value.electricity(0.0, surcharge), evidence=evidence,
        recommendation_zh=(f"平均功率因数 {pf:.2f}，按力率调整电费办法加收 {adj.value:g}% 电费："
                           f"在低压母线加装约 {size:.0f} kvar 自动投切电容补偿装置"
                           f"（Q = P·(tanφ1 − tanφ2)，P ≈ {p_kw:.0f} kW，目标 {PF_TARGET}）。"),
        recommendation_en=(f"Average power factor {pf:.2f} costs a {adj.value:g} % surcharge: install about {size:.0f} "
                           f"kvar of automatic capacitor banks (Q = P·(tanφ1 − tanφ2), P ≈ {p_kw:.0f} kW, "
                           f"target {PF_TARGET})."),
        severity="high" if pf < 0.85 else "medium", sources=(*value.sources(), adj.source))
