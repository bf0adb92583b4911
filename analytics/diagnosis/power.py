"""Power factor below the enterprise's standard: the Shanxi adjustment charge it costs and the capacitor bank that
fixes it."""

from __future__ import annotations

import math

import numpy as np

from analytics.diagnosis.bill import measured_pf, period_bill, tariff_evidence
from analytics.diagnosis.finding import Finding, Valuation
from analytics.diagnosis.frames import PlantFrames
from analytics.diagnosis.load import producing_mask

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
    """The period's power factor of the main meter(s) below the enterprise's standard (0.90, 0.85 or 0.80: its
    tariff's; 0.90 assumed): the adjustment charge it costs on the period's bill, and the capacitor bank that fixes
    it. Saving = the bill's adjustment at the measured PF minus the adjustment at the target PF (a credit above the
    standard), both as % of the same base (basic charge plus kWh charges without government funds)."""
    t = frames.table
    pf = measured_pf(frames)
    tariff = value.tariff
    standard = tariff.pf_standard
    if pf is None or pf >= standard:
        return None
    kwh, kvarh = float(np.nansum(t["kwh"])), float(np.nansum(t["kvarh"]))
    adj = reference.power_factor_adjustment(pf, standard)  # type: ignore[attr-defined]
    target = max(PF_TARGET, standard)
    after = float(reference.power_factor_adjustment(target, standard).value)  # type: ignore[attr-defined]
    prod = producing_mask(t)
    p_kw = float(np.nanmean(t["kwh"].to_numpy(dtype=float)[prod])) if prod.any() else kwh / len(t)
    q = capacitor_kvar(p_kw, pf, target)
    size = math.ceil(q / KVAR_STEP) * KVAR_STEP
    bill, hours = period_bill(frames, value, reference)  # type: ignore[arg-type]
    cny = None if bill is None else (float(adj.value) - after) / 100.0 * bill.adjusted_base_cny
    evidence = {
        "period": [frames.first_day.isoformat(), frames.end_day.isoformat()],
        "meters": frames.main_electricity_meters(),
        "active_kwh": round(kwh, 1), "reactive_kvarh": round(kvarh, 1),
        "power_factor": round(pf, 4), "standard": standard,
        "adjustment_pct": adj.value, "adjustment_at_target_pct": after,
        "adjustment_source": adj.source, "adjustment_confidence": adj.confidence,
        "bill_base_cny": None if bill is None else round(bill.adjusted_base_cny, 0),
        "bill": None if bill is None else bill.to_json(),
        "producing_kw": round(p_kw, 1), "target_pf": target,
        "capacitor_kvar": round(q, 1), "capacitor_kvar_recommended": size,
        **tariff_evidence(tariff, hours),
    }
    return Finding(
        "low_power_factor", f"功率因数低于 {standard:.2f}", f"Power factor below {standard:.2f}",
        **value.electricity(0.0, cny, priced=bill is not None), evidence=evidence,
        recommendation_zh=(f"平均功率因数 {pf:.2f}，按力率调整电费办法（考核标准 {standard:.2f}）"
                           f"加收 {adj.value:g}% 电费："
                           f"在低压母线加装约 {size:.0f} kvar 自动投切电容补偿装置"
                           f"（Q = P·(tanφ1 − tanφ2)，P ≈ {p_kw:.0f} kW，目标 {target}）。"),
        recommendation_en=(f"Average power factor {pf:.2f} against the {standard:.2f} standard costs a {adj.value:g} % "
                           f"surcharge: install about {size:.0f} kvar of automatic capacitor banks "
                           f"(Q = P·(tanφ1 − tanφ2), P ≈ {p_kw:.0f} kW, target {target})."),
        severity="high" if pf < standard - 0.05 else "medium", sources=(*value.sources(), adj.source),
        warnings=hours.warnings)
