"""Ground-truth manifest: each plant's injected problems and faults, with their realised magnitudes.

The diagnosis (issue #6) is scored against this file, so every number is measured on the simulated
data itself (e.g. the period's power factor from the main meter's counters), not just the plan.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

import numpy as np

from core.domain import Carrier, MeterRole
from simulators.faults import iso
from simulators.plant import PlantData, PlantSpec
from simulators.quota import KGCE_PER_UNIT, quota_limit
from simulators.timeline import Timeline

MANIFEST_VERSION = 1


def kgce_per_interval(data: PlantData) -> np.ndarray:
    """Standard coal (kgce) the plant used per interval: main electricity plus every energy fuel."""
    total = data.main_kwh * KGCE_PER_UNIT[Carrier.ELECTRICITY]
    for carrier, inc in data.fuel_inc.items():
        total = total + np.asarray(inc) * KGCE_PER_UNIT.get(carrier, 0.0)
    return total


def _intensity(kgce: np.ndarray, output: np.ndarray, sel: np.ndarray | None = None) -> float | None:
    k, o = (kgce, output) if sel is None else (kgce[sel], output[sel])
    return round(float(k.sum() / o.sum()), 2) if o.sum() > 0 else None


def max_demand_kw(data: PlantData, tl: Timeline, window_s: int = 900) -> float:
    """Highest mean main-meter power over the tariff's 15-minute demand windows."""
    per = max(1, window_s // tl.step_s)
    kwh = data.main_kwh[: len(data.main_kwh) // per * per].reshape(-1, per).sum(axis=1)
    return round(float(kwh.max() / (per * tl.dt_h)), 1)


def plant_truth(spec: PlantSpec, data: PlantData, tl: Timeline) -> dict[str, Any]:
    """The manifest entry of one plant: identity, period figures and each problem with its magnitude."""
    kgce = kgce_per_interval(data)
    n_days = len(tl.days)
    main_kvarh = float(data.main_kvarh.sum())
    main_kwh = float(data.main_kwh.sum())
    energy = {"electricity": round(main_kwh, 1)}
    energy.update({str(c): round(float(np.sum(v)), 3) for c, v in data.fuel_inc.items()})
    ordinal = np.array([d.toordinal() for d in tl.days])[tl.day_index]
    problems = []
    for p in spec.problems:
        q = dict(p.params)
        entry: dict[str, Any] = {"code": p.kind, "params": q}
        m: dict[str, Any] = {}
        if p.kind == "over_quota":
            m = {
                "intensity_kgce_per_t": _intensity(kgce, data.output_inc),
                "limit_kgce_per_t": quota_limit(spec.industry.quota_key, tl.days),
            }
        elif p.kind == "base_load":
            off_h = float((~data.producing).sum() * tl.dt_h)
            m = {
                "extra_kw": q["extra_kw"],
                "extra_kwh_per_day": round(q["extra_kw"] * off_h / n_days, 1),
                "off_shift_hours": round(off_h, 2),
            }
        elif p.kind == "low_power_factor":
            m = {"pf": round(main_kwh / float(np.hypot(main_kwh, main_kvarh)), 4)}
        elif p.kind == "peak_shift":
            peak_kwh = float(data.flexible_kwh[tl.peak].sum())
            m = {"movable_peak_kwh_per_day": round(peak_kwh / n_days, 1), "movable_peak_kwh": round(peak_kwh, 1)}
        elif p.kind == "demand_over_capacity":
            m = {"contracted_kva": spec.contracted_kva, "max_demand_kw": max_demand_kw(data, tl)}
        elif p.kind == "intensity_step":
            cut = dt.date.fromisoformat(q["date"]).toordinal()
            m = {
                "intensity_before_kgce_per_t": _intensity(kgce, data.output_inc, ordinal < cut),
                "intensity_after_kgce_per_t": _intensity(kgce, data.output_inc, ordinal >= cut),
            }
        elif p.kind == "shutdown":
            first, last = (dt.date.fromisoformat(q[k]).toordinal() for k in ("from", "to"))
            sel = (ordinal >= first) & (ordinal <= last)
            m = {
                "output_t_during": round(float(data.output_inc[sel].sum()), 3),
                "main_kwh_per_day_during": round(float(data.main_kwh[sel].sum()) / max(1, last - first + 1), 1),
            }
        elif p.kind == "cold_store_failure":
            q["start"], q["end"] = iso(q["start_epoch"]), iso(q["end_epoch"])
            temp = data.store_temp_c
            m = {"max_temp_c": round(float(temp.max()), 2) if temp is not None else None}
        entry["measured"] = m
        problems.append(entry)
    return {
        "enterprise": spec.code,
        "name": spec.name,
        "industry": spec.industry.key,
        "industry_code": spec.industry.gbt4754,
        "product": spec.industry.product,
        "quota_key": spec.industry.quota_key,
        "quota_limit_kgce_per_t": quota_limit(spec.industry.quota_key, tl.days),
        "gateway": spec.gateway,
        "contracted_kva": spec.contracted_kva,
        "healthy": not spec.problems,
        "period": {
            "energy": energy,
            "output_t": round(float(data.output_inc.sum()), 3),
            "tce": round(float(kgce.sum()) / 1000, 3),
            "intensity_kgce_per_t": _intensity(kgce, data.output_inc),
            "pf": round(main_kwh / float(np.hypot(main_kwh, main_kvarh)), 4) if main_kwh else None,
            "max_demand_kw": max_demand_kw(data, tl),
        },
        "problems": problems,
        "faults": [],
        "safety_meter": safety_meter(spec),
        "output_meter": spec.output_meter,
        "safety_faults": [],
        "safety_transients": [],
    }


def safety_meter(spec: PlantSpec) -> dict[str, Any] | None:
    """The plant's safety meter and its circuit's rated current, or None."""
    meter = next((m.id for m in spec.meters if m.role is MeterRole.SAFETY), None)
    return {"meter": meter, "rated_current_a": spec.rated_current_a} if meter else None


def planned_truth(spec: PlantSpec) -> dict[str, Any]:
    """Manifest entry before any data exists (real-time mode): the plan without measurements."""
    return {
        "enterprise": spec.code,
        "name": spec.name,
        "industry": spec.industry.key,
        "product": spec.industry.product,
        "quota_key": spec.industry.quota_key,
        "contracted_kva": spec.contracted_kva,
        "healthy": not spec.problems,
        "problems": [{"code": p.kind, "params": dict(p.params)} for p in spec.problems],
        "faults": [],
        "safety_meter": safety_meter(spec),
        "output_meter": spec.output_meter,
        "safety_faults": [],
        "safety_transients": [],
    }


def manifest(
    plants: list[dict[str, Any]],
    *,
    seed: int,
    tl: Timeline,
    mode: str,
    problem_share: float,
    safety: dict[str, Any] | None = None,
) -> dict[str, Any]:
    """The whole manifest document (`safety`: how safety meters and their faults were set up)."""
    return {
        "version": MANIFEST_VERSION,
        "generator": "enerdiag simulate",
        "seed": seed,
        "mode": mode,
        "timezone": "Asia/Shanghai",
        "from": tl.days[0].isoformat(),
        "to": (tl.days[-1] + dt.timedelta(days=1)).isoformat(),
        "step_s": tl.step_s,
        "problem_share": problem_share,
        "holiday_calendar": {
            "source": "chinese_calendar",
            "weekend_rule_only_for": [d.isoformat() for d in tl.uncovered_days],
        },
        "kgce_per_unit": {str(k): v for k, v in KGCE_PER_UNIT.items()},
        "safety": safety or {},
        "plants": plants,
    }
