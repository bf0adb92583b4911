"""An orderly-use shortfall scenario (有序用电, issue 18): a county of plants, their priority classes, and how each
answers a plan — most follow it, some ignore it (the ground truth verification is scored against).

Everything is decided by (seed, plant index): the plants are `simulators.city`'s, moved into one county. Hourly kWh
per meter come from `simulators.plant.simulate` at one-hour steps; a plan (the JSON of `enerdiag orderly plan`, plain
data) is then applied to the event day: a follower takes its planned kW (× 0.9-1.15) off its main meter in the event
hours and, for the shifted part, runs that energy in the hours after the event; an ignorer changes nothing.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import numpy as np

from simulators import timeline
from simulators.city import CityConfig, build_city
from simulators.plant import PlantSpec, initial_counters, simulate
from simulators.registry import registry_document

STEP_S = 3600
FOLLOW_RANGE = (0.9, 1.15)
"""A follower delivers 90-115 % of its planned kW (plants overshoot a little to be safe, or fall a bit short)."""
PRIORITY_BY_INDUSTRY = {"cold_store": "livelihood", "food": "livelihood", "cement": "high_intensity",
                        "coking": "high_intensity"}
STRATEGIC_SHARE = 0.3
"""Share of machinery and ceramics plants the city files as strategic emerging industry."""


@dataclass(frozen=True, slots=True)
class ScenarioPlant:
    spec: PlantSpec
    priority: str
    declared_security_kw: float | None
    ignores: bool


@dataclass(frozen=True, slots=True)
class Scenario:
    plants: tuple[ScenarioPlant, ...]
    first_day: dt.date
    days: int
    county: str

    @property
    def day_list(self) -> tuple[dt.date, ...]:
        return tuple(self.first_day + dt.timedelta(days=i) for i in range(self.days))

    def registry(self) -> dict[str, Any]:
        """The registry document, each enterprise with its `orderly:` block."""
        doc = registry_document([p.spec for p in self.plants])
        for entry, plant in zip(doc["enterprises"], self.plants, strict=True):
            block: dict[str, Any] = {"priority": plant.priority}
            if plant.declared_security_kw is not None:
                block["security_kw"] = plant.declared_security_kw
            entry["orderly"] = block
        return doc

    def truth(self) -> dict[str, str]:
        """code → `ignores` | `follows`."""
        return {p.spec.code: "ignores" if p.ignores else "follows" for p in self.plants}


def build_scenario(plants: int, seed: int, first_day: dt.date, days: int, *, county: str = "云冈区",
                   ignore_share: float = 0.25) -> Scenario:
    """`plants` plants of the city of `seed`, all in `county`; round(ignore_share × N) of them ignore plans."""
    if not 0 <= ignore_share <= 1:
        raise ValueError(f"ignore share must be within 0..1, got {ignore_share}")
    day_list = tuple(first_day + dt.timedelta(days=i) for i in range(days))
    specs = build_city(CityConfig(plants=plants, seed=seed, days=day_list, problem_share=0.0))
    rng = np.random.default_rng([seed, 1818])
    ignorers = set(rng.choice(plants, size=round(ignore_share * plants), replace=False).tolist())
    out = []
    for spec in specs:
        r = np.random.default_rng([seed, spec.index, 18])
        priority = PRIORITY_BY_INDUSTRY.get(spec.industry.key, "normal")
        if spec.industry.key in ("machinery", "ceramics") and r.random() < STRATEGIC_SHARE:
            priority = "strategic"
        declared = round(0.1 * spec.full_load_kw, 0) if r.random() < 0.5 else None
        out.append(ScenarioPlant(dataclasses.replace(spec, county=county), priority, declared,
                                 spec.index in ignorers))
    return Scenario(tuple(out), first_day, days, county)


def hourly_kwh(spec: PlantSpec, first_day: dt.date, days: int) -> dict[str, np.ndarray]:
    """Electricity kWh per local hour (days × 24) of each electricity meter with an energy counter."""
    tl = timeline.build(first_day, days, STEP_S, spec.seed)
    data = simulate(spec, tl)
    start = initial_counters(spec)
    out = {}
    for meter, quantities in data.values.items():
        if "energy_kwh" not in quantities:
            continue
        cum = quantities["energy_kwh"]
        inc = np.diff(np.concatenate([[start[meter]["energy_kwh"]], cum]))
        out[meter] = np.clip(inc, 0.0, None).reshape(days, 24)
    return out


def respond(kwh: Mapping[str, np.ndarray], plan_row: Mapping[str, Any], day_index: int, hours: tuple[int, int],
            follows: bool, rng: np.random.Generator, main: str = "M01") -> dict[str, np.ndarray]:
    """The meters' hourly kWh after the plant answered its share of the plan on day `day_index`."""
    out = {m: a.copy() for m, a in kwh.items()}
    reduce_kw = float(plan_row.get("reduce_kw") or 0.0)
    if not follows or reduce_kw <= 0:
        return out
    start, end = hours
    f = float(rng.uniform(*FOLLOW_RANGE))
    row = out[main][day_index]
    row[start:end] = np.clip(row[start:end] - reduce_kw * f, 0.0, None)
    shifted = float(plan_row.get("shift_kw") or 0.0) * f * (end - start)
    after = list(range(end, min(24, end + (end - start)))) or list(range(0, start))
    row[after] += shifted / len(after)
    return out
