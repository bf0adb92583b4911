"""Allocating a power shortfall across enterprises (有序用电方案): pure, flexibilities and a policy in, a plan out.

The order follows the national rule as reported (《有序用电管理办法》, 发改运行〔2011〕832号:
先错峰、后避峰、再限电) and the bureau's policy file (`analytics.orderly.policy`):

1. shifting (错峰) of the unprotected classes, rank by rank (rank 1 first);
2. curtailment (避峰/限电) of the unprotected classes, rank by rank;
3. shifting, then curtailment, of the protected classes (保供/民生), rank by rank.

Within one step the need is shared in proportion to capacity × weight (class weight × the over-quota weight),
never above a plant's capacity (water-filling), so nobody is planned below its security load. A shortfall of
several days curtails in rotating rounds (轮休): each day's curtailment is taken whole from the plants that have
carried the least so far (kWh per weight), so the same plants do not stop every day.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, Final

from analytics.orderly.flex import EventWindow, Flexibility
from analytics.orderly.policy import Policy
from core.registry.fileorderly import DEFAULT_PRIORITY

TOLERANCE_KW: Final = 1e-6
MIN_ASK_KW: Final = 10.0
MIN_ASK_SD: Final = 4.0
"""No enterprise is asked for less than 10 kW, nor for less than four times the day-to-day spread of its expected
load in the event hours: a smaller ask cannot be told from normal variation by the meters (a follower's measured
reduction scatters by about 1.1-1.5 spreads around its ask), so it could not be verified; the plan asks the others
instead (docs/orderly.md "Quality")."""
ACTIONS: Final = ("shift", "curtail", "none")


@dataclass(frozen=True, slots=True)
class Candidate:
    """One enterprise as the plan sees it."""

    code: str
    flex: Flexibility
    priority: str = DEFAULT_PRIORITY
    over_quota: bool = False
    name: str | None = None
    county: str | None = None


@dataclass(frozen=True, slots=True)
class Share:
    """What one enterprise is asked for: kW shifted out of and kW curtailed in the event hours."""

    code: str
    shift_kw: float = 0.0
    curtail_kw: float = 0.0
    rank: int = 0

    @property
    def reduce_kw(self) -> float:
        return self.shift_kw + self.curtail_kw

    @property
    def action(self) -> str:
        """`curtail` when any of it is curtailed (the stronger measure), `shift` when only shifted, else `none`."""
        if self.curtail_kw > TOLERANCE_KW:
            return "curtail"
        return "shift" if self.shift_kw > TOLERANCE_KW else "none"


@dataclass(frozen=True, slots=True)
class Allocation:
    """The plan of one event window: every candidate's share and why the total falls short, if it does."""

    window: EventWindow
    shortfall_kw: float
    shares: tuple[Share, ...]
    reducible_kw: float
    not_assessed: tuple[str, ...] = ()
    reason: str | None = None
    steps: tuple[dict[str, Any], ...] = field(default=())

    def __post_init__(self) -> None:
        if self.planned_kw < self.shortfall_kw - 1e-3 and not self.reason:
            raise ValueError("a plan below the shortfall must say why")

    @property
    def planned_kw(self) -> float:
        return sum(s.reduce_kw for s in self.shares)

    @property
    def met(self) -> bool:
        return self.planned_kw >= self.shortfall_kw - 1e-3

    def share_of(self, code: str) -> Share:
        return next((s for s in self.shares if s.code == code), Share(code))


def ask_floor(flex: Flexibility) -> float:
    """The smallest reduction worth asking of this enterprise (`MIN_ASK_KW`, `MIN_ASK_SD`)."""
    return max(MIN_ASK_KW, MIN_ASK_SD * (flex.expected_sd_kw or 0.0))


def fill_above_floors(need: float, caps: Sequence[float], weights: Sequence[float], floors: Sequence[float],
                      fill: Any) -> list[float]:
    """`fill(need, caps)` without the enterprises that cannot be asked their floor (capacity below it), and again
    without those whose share would fall below their floor (the smallest share first) until every share is 0 or at
    least its floor; need still left afterwards goes whole to the ones left out on the way (largest first) where
    that reaches their floor."""
    usable = [c if c >= floors[i] - TOLERANCE_KW else 0.0 for i, c in enumerate(caps)]
    removed: list[int] = []
    while True:
        got = fill(need, usable)
        small = [i for i, g in enumerate(got) if TOLERANCE_KW < g < floors[i] - TOLERANCE_KW]
        if not small:
            break
        i = min(small, key=lambda i: got[i])
        usable[i] = 0.0
        removed.append(i)
    left = need - sum(got)
    for i in sorted(removed, key=lambda i: -caps[i]):
        take = min(caps[i], left)
        if take >= floors[i] - TOLERANCE_KW and take > TOLERANCE_KW:
            got[i] = take
            left -= take
    return got


def water_fill(need: float, caps: Sequence[float], weights: Sequence[float]) -> list[float]:
    """Shares r_i = cap_i · min(1, λ·w_i) with Σ r_i = min(need, Σ cap_i): in proportion to capacity × weight, no
    one above its capacity."""
    out = [0.0] * len(caps)
    active = [i for i, c in enumerate(caps) if c > TOLERANCE_KW]
    if need <= TOLERANCE_KW or not active:
        return out
    if need >= sum(caps[i] for i in active) - TOLERANCE_KW:
        for i in active:
            out[i] = caps[i]
        return out
    left = need
    while active:
        lam = left / sum(weights[i] * caps[i] for i in active)
        full = [i for i in active if lam * weights[i] >= 1.0]
        if not full:
            for i in active:
                out[i] = caps[i] * lam * weights[i]
            return out
        for i in full:
            out[i] = caps[i]
            left -= caps[i]
        active = [i for i in active if i not in full]
    return out


def rotate_fill(need: float, caps: Sequence[float], weights: Sequence[float], burden: Sequence[float],
                codes: Sequence[str]) -> list[float]:
    """Whole capacities from the least-burdened plants (burden ÷ weight, then code) until the need is met; the
    last one partly (轮休 round)."""
    out = [0.0] * len(caps)
    left = need
    for i in sorted(range(len(caps)), key=lambda i: (burden[i] / weights[i], codes[i])):
        if left <= TOLERANCE_KW:
            break
        if caps[i] <= TOLERANCE_KW:
            continue
        out[i] = min(caps[i], left)
        left -= out[i]
    return out


def allocate(window: EventWindow, shortfall_kw: float, candidates: Sequence[Candidate], policy: Policy, *,
             rotate: bool = False, burden: Mapping[str, float] | None = None) -> Allocation:
    """The plan for one event window (see the module doc). `rotate`: curtail in rotating rounds, least `burden`
    (kWh curtailed so far, by code) first."""
    if shortfall_kw < 0:
        raise ValueError(f"shortfall must be >= 0 kW, got {shortfall_kw}")
    seen: set[str] = set()
    for c in candidates:
        if c.code in seen:
            raise ValueError(f"enterprise {c.code} given twice")
        seen.add(c.code)
        if c.priority not in policy.classes:
            raise ValueError(f"{c.code}: unknown priority class {c.priority!r}")
    burden = burden or {}
    assessed = [c for c in candidates if c.flex.assessed]
    rank = {c.code: policy.rank_of(c.priority, c.over_quota) for c in assessed}
    weight = {c.code: policy.weight_of(c.priority, c.over_quota) for c in assessed}
    protected = {c.code: policy.classes[c.priority].protected for c in assessed}
    shift = {c.code: 0.0 for c in assessed}
    curtail = {c.code: 0.0 for c in assessed}
    ranks = sorted(set(rank.values()))
    steps: list[tuple[bool, int, str]] = []
    for guarded in (False, True):
        steps += [(guarded, r, "shift") for r in ranks] + [(guarded, r, "curtail") for r in ranks]
    left = shortfall_kw
    log: list[dict[str, Any]] = []
    for guarded, r, kind in steps:
        group = [c for c in assessed if rank[c.code] == r and protected[c.code] == guarded]
        if left <= TOLERANCE_KW or not group:
            continue
        if kind == "shift":
            caps = [c.flex.shiftable_kw or 0.0 for c in group]
        else:
            caps = [c.flex.reducible_kw - shift[c.code] for c in group]
        weights = [weight[c.code] for c in group]
        floors = [ask_floor(c.flex) if shift[c.code] + curtail[c.code] <= 0 else 0.0 for c in group]
        if kind == "curtail" and rotate:
            carried = [burden.get(c.code, 0.0) for c in group]
            codes = [c.code for c in group]
            got = fill_above_floors(left, caps, weights, floors,
                                    lambda n, k: rotate_fill(n, k, weights, carried, codes))  # noqa: B023
        else:
            got = fill_above_floors(left, caps, weights, floors, lambda n, k: water_fill(n, k, weights))  # noqa: B023
        target = shift if kind == "shift" else curtail
        for c, g in zip(group, got, strict=True):
            target[c.code] += g
        taken = sum(got)
        left -= taken
        if taken > TOLERANCE_KW:
            log.append({"step": kind, "rank": r, "protected": guarded, "enterprises": sum(g > 0 for g in got),
                        "kw": round(taken, 1)})
    shares = tuple(Share(c.code, shift.get(c.code, 0.0), curtail.get(c.code, 0.0), rank.get(c.code, 0))
                   for c in candidates)
    reducible = sum(c.flex.reducible_kw for c in assessed)
    missing = tuple(c.code for c in candidates if not c.flex.assessed)
    reason = None
    if left > 1e-3:
        planned = shortfall_kw - left
        small = reducible - planned
        reason = (f"可调负荷不足：在不低于各企业保安负荷的前提下，{len(assessed)} 家可评估企业"
                  f"在 {window.label} 时段最多可安排 {planned:.0f} kW，缺口 {left:.0f} kW 无法安排"
                  + (f"（另有 {small:.0f} kW 分散在低于可核验最小申请量的企业）" if small > 0.5 else "")
                  + (f"；另有 {len(missing)} 家企业数据不足、未计入" if missing else "")
                  + f" / Not enough flexible load: without cutting security loads, the {len(assessed)} assessed "
                  f"enterprises can give at most {planned:.0f} kW in hours {window.label}; {left:.0f} kW cannot "
                  "be planned" + (f" ({small:.0f} kW more is spread in asks below what the meters can verify)"
                                  if small > 0.5 else "")
                  + (f"; {len(missing)} enterprise(s) without enough data are not counted" if missing else ""))
    return Allocation(window, shortfall_kw, shares, reducible, missing, reason, tuple(log))


def plan_days(windows: Sequence[EventWindow], shortfall_kw: float,
              candidates_by_day: Sequence[Sequence[Candidate]], policy: Policy) -> list[Allocation]:
    """A shortfall lasting several days: one allocation per day, curtailment in rotating rounds (轮休) when there
    is more than one day; the burden carried is kWh curtailed (kW × event hours)."""
    if len(windows) != len(candidates_by_day):
        raise ValueError("one candidate list per day")
    rotate = len(windows) > 1
    burden: dict[str, float] = {}
    out = []
    for window, candidates in zip(windows, candidates_by_day, strict=True):
        alloc = allocate(window, shortfall_kw, candidates, policy, rotate=rotate, burden=burden)
        for s in alloc.shares:
            burden[s.code] = burden.get(s.code, 0.0) + s.curtail_kw * window.hours
        out.append(alloc)
    return out


def day_windows(first: dt.date, days: int, start: int, end: int) -> list[EventWindow]:
    """The event windows of `days` consecutive days."""
    if days < 1:
        raise ValueError(f"days must be >= 1, got {days}")
    return [EventWindow(first + dt.timedelta(days=i), start, end) for i in range(days)]
