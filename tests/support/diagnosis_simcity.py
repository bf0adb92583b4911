"""A simulated city turned into diagnosis inputs, through the same pure consumption functions the rollups use.

Used to score the detectors against the simulators' ground truth (tests, docs/diagnosis.md); no MQTT, no database.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd

from analytics.consumption import hourly_consumption
from analytics.diagnosis.frames import DiagnosisFacts, PlantFrames
from analytics.enterprise import EnterpriseInfo, MeterInfo
from simulators import timeline
from simulators.city import CityConfig, build_city
from simulators.industries import COLD_STORE_BAND_C
from simulators.plant import COUNTER_DECIMALS, PlantSpec, meters_of, simulate
from simulators.timeline import Timeline
from simulators.truth import plant_truth

DEMAND_WINDOW_S = 900


@dataclass(frozen=True, slots=True)
class SimPlant:
    """One simulated plant: its diagnosis inputs and its ground-truth manifest entry."""

    frames: PlantFrames
    truth: dict[str, Any]
    industry: str


def enterprise_info(spec: PlantSpec) -> EnterpriseInfo:
    """The registry facts of a simulated plant, as analytics-I reads them.

    The simulator's ground truth judges quotas on the whole site, so no process meter is mapped to the product
    here (the quota boundary is then the site, as in the manifest).
    """
    defs = meters_of(spec.industry, output=spec.output_meter)
    meters = tuple(MeterInfo(m.id, str(m.carrier), _role(m, defs), product=m.product if m.carrier == "output" else None)
                   for m in defs)
    return EnterpriseInfo(code=spec.code, product=spec.industry.product, industry=spec.industry.gbt4754,
                          county=spec.county, meters=meters, quota_product=spec.industry.quota_key)


def _role(meter: Any, defs: list[Any]) -> str:
    """The simulator files fuel meters as `sub`; the only meter of its carrier is its site total, so `main` here.

    (analytics-I's totals leave `sub` meters out when no `main` exists, which would drop the plant's fuels.)
    """
    fuel = str(meter.carrier) not in ("electricity", "output", "temperature")
    if fuel and str(meter.role) == "sub" and sum(1 for d in defs if d.carrier == meter.carrier) == 1:
        return "main"
    return str(meter.role)


def plant_frames(spec: PlantSpec, tl: Timeline) -> tuple[PlantFrames, dict[str, Any]]:
    """Simulate one plant and derive its hourly rows, 15-min main demand and temperatures; plus its truth."""
    data = simulate(spec, tl)
    t = tl.epoch_s
    rows = []
    for meter, quantities in data.values.items():
        for quantity, values in quantities.items():
            if quantity not in COUNTER_DECIMALS:
                continue
            # one reading before the first interval end, so the first interval is counted too
            times = np.concatenate([[t[0] - tl.step_s], t])
            first = values[0] - _first_increment(data, meter, quantity)
            h = hourly_consumption(times, np.concatenate([[first], values]))
            h.insert(0, "quantity", quantity)
            h.insert(0, "meter", meter)
            rows.append(h)
    hourly = pd.concat(rows, ignore_index=True)
    per = max(1, DEMAND_WINDOW_S // tl.step_s)
    kwh = data.main_kwh[: len(data.main_kwh) // per * per].reshape(-1, per).sum(axis=1)
    starts = t[: len(kwh) * per: per] - tl.step_s
    demand = pd.Series(kwh / (per * tl.dt_h), index=starts)
    temps = None
    if data.store_temp_c is not None:
        temps = pd.DataFrame({"meter": "T01", "time_s": t, "value": data.store_temp_c})
    facts = DiagnosisFacts(contracted_kva=spec.contracted_kva, name=spec.name,
                           temp_bands={"T01": COLD_STORE_BAND_C} if spec.industry.cold_store else {})
    frames = PlantFrames(enterprise_info(spec), tl.days[0], tl.days[-1] + dt.timedelta(days=1), hourly, facts,
                         demand, temps)
    return frames, plant_truth(spec, data, tl)


def _first_increment(data: Any, meter: str, quantity: str) -> float:
    """The first interval's increment (the counter before it = first value − this)."""
    if meter == "M01" and quantity == "energy_kwh":
        return float(data.main_kwh[0])
    if meter == "M01" and quantity == "reactive_kvarh":
        return float(data.main_kvarh[0])
    if quantity == "output_t":
        return float(data.output_inc[0])
    v = data.values[meter][quantity]
    return float(v[1] - v[0]) if len(v) > 1 else 0.0


def simulate_city(plants: int, seed: int, first_day: dt.date, n_days: int, *, step_s: int = 900,
                  problem_share: float = 0.5, no_output_share: float = 0.0) -> list[SimPlant]:
    """A city of `plants` with ground truth, as diagnosis inputs (`no_output_share` of them without an output
    meter)."""
    tl = timeline.build(first_day, n_days, step_s, seed)
    config = CityConfig(plants=plants, seed=seed, days=tl.days, problem_share=problem_share,
                        no_output_share=no_output_share)
    out = []
    for spec in build_city(config):
        frames, truth = plant_frames(spec, tl)
        out.append(SimPlant(frames, truth, spec.industry.key))
    return out
