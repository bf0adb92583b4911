"""Detection quality: findings of a simulated city scored against the simulators' ground-truth manifest.

Per finding code: true/false positives and negatives (recall, precision) and, for each true positive, the
estimated magnitude against the injected one (relative error). `python -m tests.support.diagnosis_evaluation`
prints the markdown table of docs/diagnosis.md.
"""

from __future__ import annotations

import datetime as dt
import sys
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

from analytics.calendar import local_midnight_s
from analytics.diagnosis.diagnose import city_norms, diagnose
from analytics.diagnosis.finding import Finding
from analytics.diagnosis.frames import workday
from analytics.refs import Reference
from simulators.industries import INDUSTRIES, Schedule
from tests.support.diagnosis_simcity import SimPlant, simulate_city

SCORED_CODES = ("over_quota", "base_load", "low_power_factor", "peak_shift", "demand_over_capacity",
                "intensity_step", "shutdown", "cold_store_failure")
MAGNITUDE_TOLERANCE = 0.20
"""Estimated magnitudes must be within ±20 % of the injected ones (issue #6)."""


MAGNITUDES: dict[str, tuple[str, Callable[[Finding], float], Callable[[dict[str, Any], dict[str, Any]], float]]] = {
    "over_quota": ("excess over limit, kgce/t",
                   lambda f: f.evidence["intensity_kgce_per_t"] - f.evidence["limit_kgce_per_t"],
                   lambda m, p: p["intensity_kgce_per_t"] - p["quota_limit_kgce_per_t"]),
    "base_load": ("avoidable kWh/day", lambda f: f.evidence["avoidable_kwh_per_day"],
                  lambda m, p: m["extra_kwh_per_day"]),
    "low_power_factor": ("power factor", lambda f: f.evidence["power_factor"], lambda m, p: m["pf"]),
    "peak_shift": ("movable peak kWh", lambda f: f.evidence["movable_peak_kwh"], lambda m, p: m["movable_peak_kwh"]),
    "demand_over_capacity": ("max demand kW", lambda f: f.evidence["max_demand_kw"], lambda m, p: m["max_demand_kw"]),
    "intensity_step": ("step, % of intensity", lambda f: f.evidence["step_pct"], lambda m, p: m["step_pct"]),
    "shutdown": ("standby kWh/day during the stop", lambda f: f.evidence["main_kwh_per_day_during"],
                 lambda m, p: m["main_kwh_per_day_during"]),
    "cold_store_failure": ("hours without refrigeration (within the period)",
                           lambda f: f.evidence["refrigeration_stop_hours"],
                           lambda m, p: (min(m["end_epoch"], p["period_end_s"]) - m["start_epoch"]) / 3600),
}
"""Per code: what is compared, the estimate from the finding, the truth from (measured, plant truth)."""


@dataclass(slots=True)
class CodeScore:
    """Confusion counts and magnitude errors of one finding code."""

    tp: int = 0
    fp: int = 0
    fn: int = 0
    tn: int = 0
    errors: list[float] = field(default_factory=list)

    @property
    def recall(self) -> float:
        return self.tp / (self.tp + self.fn) if self.tp + self.fn else 1.0

    @property
    def precision(self) -> float:
        return self.tp / (self.tp + self.fp) if self.tp + self.fp else 1.0

    @property
    def within_tolerance(self) -> float:
        return sum(abs(e) <= MAGNITUDE_TOLERANCE for e in self.errors) / len(self.errors) if self.errors else 1.0


def _undetectable(problem: dict[str, Any], truth: dict[str, Any]) -> bool:
    """A stop of a plant that does not run 24/7 lying wholly on rest days (holidays, weekends) looks like a holiday."""
    if problem["code"] != "shutdown" or INDUSTRIES[truth["industry"]].schedule is Schedule.CONTINUOUS:
        return False
    first, last = (dt.date.fromisoformat(problem["params"][k]) for k in ("from", "to"))
    return not any(workday(first + dt.timedelta(days=i)) for i in range((last - first).days + 1))


NEEDS_OUTPUT = ("over_quota", "intensity_step")
"""Codes that are energy per unit of output: a plant without an output meter cannot get them (they are visibly
absent, never guessed)."""


def expected_codes(truth: dict[str, Any]) -> dict[str, dict[str, Any]]:
    """Codes the diagnosis should report: the injected problems (but a non-24/7 plant's stop wholly on rest days,
    and the intensity codes of a plant without an output meter), plus over_quota / demand_over_capacity when the
    measured period intensity / maximum demand is above the limit / contracted capacity anyway (e.g. after an
    injected intensity step that scales every load)."""
    metered = truth.get("output_meter", True)
    out = {p["code"]: p for p in truth["problems"]
           if not _undetectable(p, truth) and (metered or p["code"] not in NEEDS_OUTPUT)}
    period, limit = truth.get("period", {}), truth.get("quota_limit_kgce_per_t")
    if metered and "over_quota" not in out and limit and (period.get("intensity_kgce_per_t") or 0) > limit:
        out["over_quota"] = {"code": "over_quota", "params": {}, "measured": {}}
    kva = truth.get("contracted_kva")
    peak_kva = (period.get("max_demand_kw") or 0) / (period.get("pf") or 1.0)  # the transformer's load is kVA
    if "demand_over_capacity" not in out and kva and peak_kva > kva:
        out["demand_over_capacity"] = {"code": "demand_over_capacity", "params": {},
                                       "measured": {"max_demand_kw": period["max_demand_kw"]}}
    return out


def score(plants: Sequence[SimPlant], findings: Sequence[Sequence[Finding]]) -> dict[str, CodeScore]:
    """Confusion counts per code over the city, and each true positive's relative magnitude error."""
    scores = {code: CodeScore() for code in SCORED_CODES}
    for plant, found in zip(plants, findings, strict=True):
        want = expected_codes(plant.truth)
        got: dict[str, Finding] = {}
        for f in found:
            got.setdefault(f.code, f)
        for code, s in scores.items():
            if code in want and code in got:
                s.tp += 1
                _, est, true = MAGNITUDES[code]
                facts = {**want[code].get("params", {}), **want[code].get("measured", {})}
                end_s = local_midnight_s(plant.frames.end_day, plant.frames.tz)
                t = true(facts, {**plant.truth["period"], **plant.truth, "period_end_s": end_s})
                if t:
                    s.errors.append((est(got[code]) - t) / abs(t))
            elif code in got:
                s.fp += 1
            elif code in want:
                s.fn += 1
            else:
                s.tn += 1
    return scores


def run_city(reference: Reference, plants: int = 60, seed: int = 7, first_day: dt.date = dt.date(2026, 9, 21),
             n_days: int = 21, problem_share: float = 0.6,
             no_output_share: float = 0.0) -> tuple[list[SimPlant], list[list[Finding]]]:
    """Simulate a city and diagnose every plant (peer norms from the city itself)."""
    city = simulate_city(plants, seed, first_day, n_days, problem_share=problem_share,
                         no_output_share=no_output_share)
    norms = city_norms([p.frames for p in city])
    return city, [diagnose(p.frames, reference, norms=norms) for p in city]


def markdown(scores: dict[str, CodeScore]) -> str:
    """The confusion table of docs/diagnosis.md."""
    lines = ["| code | TP | FP | FN | TN | recall | precision | magnitude compared | max abs. error | within ±20 % |",
             "|---|---:|---:|---:|---:|---:|---:|---|---:|---:|"]
    for code, s in scores.items():
        worst = max((abs(e) for e in s.errors), default=0.0)
        lines.append(f"| `{code}` | {s.tp} | {s.fp} | {s.fn} | {s.tn} | {s.recall:.2f} | {s.precision:.2f} | "
                     f"{MAGNITUDES[code][0]} | {100 * worst:.1f} % | {100 * s.within_tolerance:.0f} % |")
    return "\n".join(lines)


def main(argv: Sequence[str] | None = None) -> int:
    from core.reference import get_reference

    args = list(argv if argv is not None else sys.argv[1:])
    plants = int(args[0]) if args else 60
    seed = int(args[1]) if len(args) > 1 else 7
    no_output = float(args[2]) if len(args) > 2 else 0.0
    print(markdown(score(*run_city(get_reference(), plants, seed, no_output_share=no_output))))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
