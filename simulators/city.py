"""A simulated city: N seeded enterprises across the industries, their registry entries and problems.

Everything here is decided by (seed, plant index) alone, so adding plants does not change the others.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

import numpy as np

from core.registry.creditcode import CHARSET, complete_credit_code
from simulators.industries import COUNTIES, INDUSTRIES, Industry
from simulators.plant import PlantSpec, contracted_kva, full_load_kw, safety_circuit
from simulators.problems import PROBLEM_KINDS, draw_problems
from simulators.quota import nominal_kgce_per_t, quota_limit

INDUSTRY_WEIGHTS: dict[str, float] = {
    "cement": 0.10,
    "coking": 0.08,
    "ceramics": 0.12,
    "food": 0.25,
    "machinery": 0.30,
    "cold_store": 0.15,
}
"""Share of each industry among the city's plants (Datong: building materials, coal chemistry, food, machinery)."""
BRANDS = (
    "恒达",
    "鑫源",
    "华泰",
    "永昌",
    "宏基",
    "瑞丰",
    "金鼎",
    "盛达",
    "晋北",
    "云冈",
    "北岳",
    "御河",
    "桑干",
    "塞北",
    "龙城",
    "同力",
    "利民",
    "兴旺",
    "德润",
    "天和",
    "长城",
    "新元",
    "广源",
    "润泽",
)
ORG_BODY_CHARS = "".join(c for c in CHARSET if c.isdigit() or c in "ABCDEFGHJKLMNPQRTUWXY")


@dataclass(frozen=True, slots=True)
class CityConfig:
    """What a city is made of."""

    plants: int
    seed: int
    days: tuple[dt.date, ...]  # the period the problems are placed in
    problem_share: float = 0.3
    problem_kinds: tuple[str, ...] | None = None  # restrict to these kinds (None: any that fits)
    industries: tuple[str, ...] | None = None  # restrict to these industries
    safety_share: float | None = None  # share of plants with a safety meter (None: food and machinery plants)
    no_output_share: float = 0.0  # share of plants without a production counter (output meter O01)


def _industry_for(rng: np.random.Generator, allowed: tuple[str, ...] | None) -> Industry:
    keys = [k for k in INDUSTRY_WEIGHTS if allowed is None or k in allowed]
    weights = np.array([INDUSTRY_WEIGHTS[k] for k in keys])
    return INDUSTRIES[keys[int(rng.choice(len(keys), p=weights / weights.sum()))]]


def credit_code(rng: np.random.Generator, county_code: str) -> str:
    """A valid unified social credit code of a company (91 = market regulator, enterprise) in the county."""
    body = "MA" + "".join(ORG_BODY_CHARS[int(i)] for i in rng.integers(0, len(ORG_BODY_CHARS), 6))
    return complete_credit_code("91" + county_code, body)


def problem_plants(config: CityConfig) -> set[int]:
    """Indices of the plants that get problems: round(share × N) of them, chosen by the seed."""
    if not 0 <= config.problem_share <= 1:
        raise ValueError(f"problem share must be within 0..1, got {config.problem_share}")
    count = round(config.problem_share * config.plants)
    rng = np.random.default_rng([config.seed, 424242])
    return set(rng.choice(config.plants, size=count, replace=False).tolist())


def safety_plants(config: CityConfig) -> set[int] | None:
    """Indices of the plants with a safety meter: round(share × N), chosen by the seed (None: by industry)."""
    if config.safety_share is None:
        return None
    if not 0 <= config.safety_share <= 1:
        raise ValueError(f"safety share must be within 0..1, got {config.safety_share}")
    rng = np.random.default_rng([config.seed, 31337])
    return set(rng.choice(config.plants, size=round(config.safety_share * config.plants), replace=False).tolist())


def no_output_plants(config: CityConfig) -> set[int]:
    """Indices of the plants without an output meter: round(share × N), chosen by the seed."""
    if not 0 <= config.no_output_share <= 1:
        raise ValueError(f"no-output share must be within 0..1, got {config.no_output_share}")
    rng = np.random.default_rng([config.seed, 271828])
    return set(rng.choice(config.plants, size=round(config.no_output_share * config.plants), replace=False).tolist())


def build_city(config: CityConfig) -> list[PlantSpec]:
    """The city's plants, in index order, with valid unique credit codes and names."""
    if config.plants < 1:
        raise ValueError(f"a city needs at least one plant, got {config.plants}")
    if config.problem_kinds:
        unknown = sorted(set(config.problem_kinds) - set(PROBLEM_KINDS))
        if unknown:
            raise ValueError(f"unknown problem kind(s) {', '.join(unknown)}; known: {', '.join(PROBLEM_KINDS)}")
    if config.industries:
        unknown = sorted(set(config.industries) - set(INDUSTRIES))
        if unknown:
            raise ValueError(f"unknown industr(y/ies) {', '.join(unknown)}; known: {', '.join(INDUSTRIES)}")
    with_problems = problem_plants(config)
    with_safety = safety_plants(config)
    without_output = no_output_plants(config)
    codes: set[str] = set()
    names: set[str] = set()
    out: list[PlantSpec] = []
    for index in range(config.plants):
        rng = np.random.default_rng([config.seed, index])
        industry = _industry_for(rng, config.industries)
        county_code, county = COUNTIES[int(rng.integers(0, len(COUNTIES)))]
        code = credit_code(rng, county_code)
        while code in codes:
            code = credit_code(rng, county_code)
        codes.add(code)
        name = f"大同{BRANDS[int(rng.integers(0, len(BRANDS)))]}{industry.name_words[int(rng.integers(0, 3))]}有限公司"
        if name in names:
            name = name.replace("有限公司", f"{index + 1}号有限公司")
        names.add(name)
        capacity = round(float(rng.uniform(*industry.capacity_tpd)), 1)
        full_kw = full_load_kw(industry, capacity)
        problems = ()
        if index in with_problems:
            problems = draw_problems(
                rng,
                industry,
                config.days,
                nominal_kgce_per_t(industry),
                quota_limit(industry.quota_key, config.days),
                full_kw,
                kinds=config.problem_kinds,
            )
        rated_a, circuit_share = safety_circuit(industry, capacity)
        out.append(
            PlantSpec(
                index=index,
                seed=int(rng.integers(0, 2**62)),
                code=code,
                name=name,
                county=county,
                industry=industry,
                gateway="gw1",
                password=rng.bytes(12).hex(),
                capacity_tpd=capacity,
                utilisation=round(float(rng.uniform(*industry.utilisation)), 3),
                pf=round(float(rng.uniform(0.92, 0.97)), 3),
                contracted_kva=contracted_kva(full_kw),
                full_load_kw=round(full_kw, 1),
                rated_current_a=rated_a,
                problems=problems,
                safety=None if with_safety is None else index in with_safety,
                safety_circuit_share=circuit_share,
                output_meter=index not in without_output,
            )
        )
    return out
