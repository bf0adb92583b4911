"""Energy problems injected into plants, with the parameters the ground-truth manifest reports.

Each kind matches a finding code of CONTRACTS.md section 6. `draw_problems` picks them per plant from
the plant's own seeded generator; `plant.simulate` applies them and measures their realised size.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from simulators.industries import Industry

PROBLEM_KINDS: tuple[str, ...] = (
    "over_quota",
    "base_load",
    "low_power_factor",
    "peak_shift",
    "demand_over_capacity",
    "intensity_step",
    "shutdown",
    "cold_store_failure",
)
"""Injectable problems; each is the finding code the diagnosis should report."""


@dataclass(frozen=True, slots=True)
class Problem:
    """One injected problem: its kind (= finding code) and the parameters that drive it."""

    kind: str
    params: dict[str, Any] = field(default_factory=dict)


@dataclass(frozen=True, slots=True)
class Effects:
    """What a plant's problems change in the physics (neutral values mean a healthy plant)."""

    fuel_factor: float = 1.0
    elec_factor: float = 1.0
    pf: float | None = None
    offshift_extra_kw: float = 0.0
    flexible_in_peak: bool = False
    spike_days: tuple[dt.date, ...] = ()
    spike_ratio: float = 0.0
    spike_minutes: int = 0
    step_from: dt.date | None = None
    step_factor: float = 1.0
    shutdown: tuple[dt.date, dt.date] | None = None  # [first, last] day, inclusive
    cold_failure: tuple[int, int] | None = None  # epoch seconds [start, end)


def effects_of(problems: tuple[Problem, ...]) -> Effects:
    """Fold a plant's problems into the parameters the physics reads."""
    kw: dict[str, Any] = {}
    for p in problems:
        q = p.params
        if p.kind == "over_quota":
            kw["fuel_factor"], kw["elec_factor"] = q["fuel_factor"], q["elec_factor"]
        elif p.kind == "base_load":
            kw["offshift_extra_kw"] = q["extra_kw"]
        elif p.kind == "low_power_factor":
            kw["pf"] = q["pf_target"]
        elif p.kind == "peak_shift":
            kw["flexible_in_peak"] = True
        elif p.kind == "demand_over_capacity":
            kw["spike_days"] = tuple(dt.date.fromisoformat(d) for d in q["days"])
            kw["spike_ratio"], kw["spike_minutes"] = q["ratio"], q["minutes"]
        elif p.kind == "intensity_step":
            kw["step_from"], kw["step_factor"] = dt.date.fromisoformat(q["date"]), 1 + q["step_pct"] / 100
        elif p.kind == "shutdown":
            kw["shutdown"] = (dt.date.fromisoformat(q["from"]), dt.date.fromisoformat(q["to"]))
        elif p.kind == "cold_store_failure":
            kw["cold_failure"] = (q["start_epoch"], q["end_epoch"])
    return Effects(**kw)


def draw_problems(
    rng: np.random.Generator,
    industry: Industry,
    days: tuple[dt.date, ...],
    nominal_kgce_per_t: tuple[float, float],
    quota_limit: float | None,
    full_load_kw: float,
    tz_offset_s: int = 8 * 3600,
    kinds: tuple[str, ...] | None = None,
) -> tuple[Problem, ...]:
    """Pick 1-3 problems that fit the industry and the period, with their sizes.

    `nominal_kgce_per_t` is (electricity, fuels) of a healthy plant, to size an over-quota case.
    `full_load_kw` sizes a base-load case. `kinds` forces the given kinds (those that do not fit the
    industry are skipped).
    """
    fitting = [k for k in industry.problems if k != "over_quota" or quota_limit is not None]
    if kinds is None:
        n = int(rng.integers(1, min(3, len(fitting)) + 1))
        kinds = tuple(sorted(rng.choice(fitting, size=n, replace=False).tolist()))
    else:
        kinds = tuple(k for k in kinds if k in fitting)
    n_days = len(days)
    out: list[Problem] = []
    for kind in kinds:
        if kind == "over_quota" and quota_limit is not None:
            elec, fuel = nominal_kgce_per_t
            over = float(rng.uniform(1.06, 1.20))
            elec_factor = 1.05
            fuel_factor = (quota_limit * over - elec * elec_factor) / fuel
            out.append(
                Problem(
                    kind,
                    {
                        "target_ratio_to_limit": round(over, 3),
                        "fuel_factor": round(fuel_factor, 4),
                        "elec_factor": elec_factor,
                    },
                )
            )
        elif kind == "base_load":
            share = float(rng.uniform(0.15, 0.35))
            out.append(
                Problem(kind, {"extra_kw": round(share * full_load_kw, 1), "share_of_full_load": round(share, 3)})
            )
        elif kind == "low_power_factor":
            out.append(Problem(kind, {"pf_target": round(float(rng.uniform(0.78, 0.86)), 3)}))
        elif kind == "peak_shift":
            out.append(Problem(kind, {}))
        elif kind == "demand_over_capacity":
            n_spikes = max(1, min(n_days, int(rng.integers(2, 6))))
            picked = sorted(rng.choice(n_days, size=n_spikes, replace=False).tolist())
            out.append(
                Problem(
                    kind,
                    {
                        "days": [days[i].isoformat() for i in picked],
                        "ratio": round(float(rng.uniform(1.10, 1.30)), 3),
                        "minutes": int(rng.choice([30, 45, 60])),
                    },
                )
            )
        elif kind == "intensity_step" and n_days >= 6:
            at = days[int(rng.integers(n_days // 3, max(n_days // 3 + 1, 2 * n_days // 3)))]
            out.append(Problem(kind, {"date": at.isoformat(), "step_pct": round(float(rng.uniform(12, 25)), 1)}))
        elif kind == "shutdown" and n_days >= 5:
            length = int(rng.integers(2, min(8, n_days // 2) + 1))
            first = int(rng.integers(1, n_days - length))
            out.append(
                Problem(
                    kind, {"from": days[first].isoformat(), "to": days[first + length - 1].isoformat(), "days": length}
                )
            )
        elif kind == "cold_store_failure":
            day = days[int(rng.integers(0, n_days))]
            start_local = dt.datetime.combine(day, dt.time(int(rng.integers(0, 24))))
            start = int(start_local.replace(tzinfo=dt.UTC).timestamp()) - tz_offset_s
            hours = int(rng.integers(6, 37))
            out.append(Problem(kind, {"start_epoch": start, "end_epoch": start + hours * 3600, "hours": hours}))
    return tuple(out)
