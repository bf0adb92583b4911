"""Orderly power use scored against the simulator's ground truth (issue 18; docs/orderly.md "Quality").

A county of simulated plants (`simulators.orderly`): the plan for a shortfall on the last day is made from the
days before it, the plants answer it (followers and ignorers), and the verification is scored: does the plan meet
the shortfall, keep everyone above its security load and respect the priority order, and does verification find
the plants that ignored it (recall, precision)? Pure: no MQTT, no database (the integration test covers those).

    .venv/bin/python -m tests.support.orderly_evaluation            # the table in docs/orderly.md
"""

from __future__ import annotations

import datetime as dt
import sys
from dataclasses import dataclass
from typing import Any

import numpy as np

from analytics.orderly.allocate import MIN_ASK_KW, MIN_ASK_SD
from analytics.orderly.flex import EventWindow, LoadHistory
from analytics.orderly.job import OrderlyFacts, meter_groups, plan_from_histories, planned_from_json
from analytics.orderly.policy import read_policy
from analytics.orderly.verify import verify
from simulators.orderly import Scenario, build_scenario, hourly_kwh, respond
from tests.support.diagnosis_simcity import enterprise_info

FIRST = dt.date(2026, 10, 26)  # a Monday; 2026-10-26 .. 2026-11-24 holds no public holiday
DAYS = 30  # 29 days of history, the event on the 30th (Tuesday 2026-11-24)
MONTH_STEP_FIRST = dt.date(2026, 11, 2)
"""A harder placement: the event on 2026-12-01, where the simulator's monthly season factors step (e.g. cement ×0.9
from November to December); the baseline of November days cannot know that."""
HOURS = (9, 12)
_SIMULATED: dict[tuple[str, dt.date, int], dict[str, np.ndarray]] = {}


@dataclass(frozen=True, slots=True)
class Outcome:
    plants: int
    asked: int
    ignorers_asked: int
    shortfall_kw: float
    planned_kw: float
    delivered_kw: float
    recall: float
    precision: float
    below_security: int
    order_violations: int
    statuses: dict[str, int]


def history(code: str, info: Any, kwh: dict[str, np.ndarray], days: tuple[dt.date, ...],
            declared: float | None) -> LoadHistory:
    site, critical, batch = meter_groups(info)
    return LoadHistory(code, days, np.sum([kwh[m] for m in site], axis=0),
                       np.sum([kwh[m] for m in critical], axis=0) if critical else None,
                       {m: kwh[m] for m in batch if m in kwh}, declared)


def order_violations(plan: dict[str, Any]) -> int:
    """Plants asked to curtail while a plant of an earlier step (lower rank, or unprotected before protected) still
    had curtailable kW worth asking left, or while any plant of the same or an earlier protection group still had
    shiftable kW worth asking left (worth asking: at least `ask_floor` for a plant not asked yet; 0.2 kW of
    rounding)."""
    rows = [r for r in plan["enterprises"] if r["reason"] is None]
    protected = {k for k, c in plan["policy"]["classes"].items() if c["protected"]}

    def key(r: dict[str, Any]) -> tuple[bool, int]:
        return (r["priority"] in protected, r["rank"] or 0)

    def floor(r: dict[str, Any]) -> float:
        return 0.2 if r["reduce_kw"] > 0 else max(MIN_ASK_KW, MIN_ASK_SD * r["expected_sd_kw"])

    bad = 0
    for r in rows:
        if r["curtail_kw"] > 0.05:
            spare = [o for o in rows if key(o) < key(r)
                     and o["shiftable_kw"] + o["curtailable_kw"] - o["reduce_kw"] > floor(o)]
            unshifted = [o for o in rows if key(o)[0] <= key(r)[0] and o["shiftable_kw"] - o["shift_kw"] > floor(o)]
            bad += bool(spare) or bool(unshifted)
    return bad


def evaluate(scenario: Scenario, share_of_reducible: float = 0.5, adjust: str = "before") -> Outcome:
    days = scenario.day_list
    event = days[-1]
    window = EventWindow(event, *HOURS)
    policy = read_policy()
    infos, facts, kwh = {}, {}, {}
    for p in scenario.plants:
        code = p.spec.code
        infos[code] = enterprise_info(p.spec)
        facts[code] = OrderlyFacts(p.spec.name, p.priority, p.declared_security_kw)
        key = (code, scenario.first_day, scenario.days)
        if key not in _SIMULATED:
            _SIMULATED[key] = hourly_kwh(p.spec, scenario.first_day, scenario.days)
        kwh[code] = _SIMULATED[key]
    before = {c: history(c, infos[c], {m: a[:-1] for m, a in kwh[c].items()}, days[:-1],
                         facts[c].security_kw) for c in kwh}
    probe = plan_from_histories(before, list(infos.values()), facts, {}, policy, [window], 1.0)
    reducible = probe.first.reducible_kw
    shortfall = round(share_of_reducible * reducible, -1)
    plan = plan_from_histories(before, list(infos.values()), facts, {}, policy, [window], shortfall,
                               scenario.county).to_json()
    rows = {r["enterprise"]: r for r in plan["enterprises"]}
    rng = np.random.default_rng(18)
    after = {}
    for p in scenario.plants:
        code = p.spec.code
        answered = respond(kwh[code], rows[code], len(days) - 1, HOURS, not p.ignores, rng)
        after[code] = history(code, infos[code], answered, days, facts[code].security_kw)
    _, planned, security = planned_from_json(plan, event)
    result = verify(after, window, planned, security=security, adjust=adjust)
    asked = [r for r in result.results if r.planned_kw > 0]
    truth = scenario.truth()
    ignorers = {r.code for r in asked if truth[r.code] == "ignores"}
    flagged = {r.code for r in asked if r.status == "not_followed"}
    hit = len(flagged & ignorers)
    below = sum(1 for r in plan["enterprises"] if r["reason"] is None and r["reduce_kw"] > 0
                and r["expected_min_hour_kw"] - r["reduce_kw"] < r["security_kw"] - 0.2)
    doc = result.to_json()
    return Outcome(len(scenario.plants), len(asked), len(ignorers), shortfall, plan["planned_kw"],
                   doc["delivered_kw"] or 0.0, hit / len(ignorers) if ignorers else 1.0,
                   hit / len(flagged) if flagged else 1.0, below, order_violations(plan), doc["counts"])


def main() -> None:  # pragma: no cover - prints the docs table
    print("| event | seed | plants | adjust | share of reducible | shortfall kW | planned kW | asked | ignorers asked "
          "| delivered kW | recall | precision | below security | order violations |")
    print("|---|---|---|---|---|---|---|---|---|---|---|---|---|---|")
    runs = [(first, seed, adjust, share) for first in (FIRST, MONTH_STEP_FIRST) for seed in (7, 8, 9)
            for adjust, share in (("before", 0.3), ("before", 0.6), ("none", 0.3), ("none", 0.6))]
    for first, seed, adjust, share in runs:
        o = evaluate(build_scenario(60, seed, first, DAYS), share, adjust)
        print(f"| {first + dt.timedelta(days=DAYS - 1)} | {seed} | {o.plants} | {adjust} | {share} | "
              f"{o.shortfall_kw:.0f} | {o.planned_kw:.0f} | {o.asked} | {o.ignorers_asked} | {o.delivered_kw:.0f} | "
              f"{o.recall:.2f} | {o.precision:.2f} | {o.below_security} | {o.order_violations} |")
        sys.stdout.flush()


if __name__ == "__main__":  # pragma: no cover
    main()
