"""Builders shared by the simulator tests (no tests here): a small city over a fixed autumn period."""

from __future__ import annotations

import dataclasses
import datetime as dt

from simulators import timeline
from simulators.city import CityConfig, build_city
from simulators.plant import PlantData, PlantSpec, simulate
from simulators.timeline import Timeline

FIRST_DAY = dt.date(2026, 9, 21)  # covers the National Day holiday (Oct 1-7) and its adjusted working days
DAYS = tuple(FIRST_DAY + dt.timedelta(days=i) for i in range(21))


def make_timeline(step_s: int = 900, days: tuple[dt.date, ...] = DAYS, seed: int = 11) -> Timeline:
    return timeline.build(days[0], len(days), step_s, seed)


def plant_with(industry: str, kinds: tuple[str, ...] = (), seed: int = 11, index: int = 0) -> PlantSpec:
    """A plant of `industry`, with exactly `kinds` injected (none: healthy)."""
    share = 1.0 if kinds else 0.0
    config = CityConfig(
        plants=index + 1, seed=seed, days=DAYS, problem_share=share, problem_kinds=kinds or None, industries=(industry,)
    )
    spec = build_city(config)[index]
    assert tuple(sorted(p.kind for p in spec.problems)) == tuple(sorted(kinds)), spec.problems
    return spec


def healthy(spec: PlantSpec) -> PlantSpec:
    return dataclasses.replace(spec, problems=())


def run(spec: PlantSpec, tl: Timeline) -> PlantData:
    return simulate(spec, tl)
