"""The orderly-use plan as issued (有序用电方案): allocations plus each enterprise's figures, effect and notice.

`OrderlyPlan.to_json()` is the JSON of `enerdiag orderly plan --json` (docs/contracts.md "Orderly-use plan").
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any, Final

from analytics.orderly.allocate import Allocation, Candidate, Share
from analytics.orderly.flex import EventWindow
from analytics.orderly.notice import notice_zh
from analytics.orderly.policy import Policy

DECIMALS: Final = 1
PRIORITY_ZH: Final = {"livelihood": "保供/民生", "strategic": "战略性新兴产业", "normal": "一般",
                      "high_intensity": "高耗能/超限额"}


def _r(value: float | None) -> float | None:
    return None if value is None else round(float(value), DECIMALS) + 0.0


def output_effect(candidate: Candidate, share: Share, window: EventWindow) -> dict[str, Any]:
    """Expected effect on output: shifting keeps the day's output (the batch runs in other hours); curtailing
    loses the production the curtailed kW would have made, as a share of the event hours' production (production
    load = expected − idle level). Without an idle level the share is unknown (null, with the reason)."""
    flex = candidate.flex
    out: dict[str, Any] = {"shifted_output_loss": 0.0, "curtailed_share_of_event_output": None,
                           "production_hours_lost": None, "basis": None}
    if share.curtail_kw <= 0 or not flex.assessed:
        out["curtailed_share_of_event_output"] = 0.0
        out["production_hours_lost"] = 0.0
        out["basis"] = "no curtailment"
        return out
    if flex.idle_kw is None or flex.expected_kw is None or flex.expected_kw - flex.idle_kw <= 0:
        out["basis"] = "no idle level in the load profile: production load unknown"
        return out
    share_lost = min(1.0, share.curtail_kw / (flex.expected_kw - flex.idle_kw))
    out["curtailed_share_of_event_output"] = round(share_lost, 3)
    out["production_hours_lost"] = round(share_lost * window.hours, 2)
    out["basis"] = "curtailed kW ÷ (expected − idle kW) over the event hours"
    return out


@dataclass(frozen=True, slots=True)
class OrderlyPlan:
    """A plan over one or more days for one area (a county, or the whole city when `county` is None)."""

    allocations: tuple[Allocation, ...]
    candidates: tuple[tuple[Candidate, ...], ...]  # per day, in the allocations' order
    policy: Policy
    county: str | None = None

    def __post_init__(self) -> None:
        if not self.allocations or len(self.allocations) != len(self.candidates):
            raise ValueError("a plan needs one candidate list per allocation (at least one day)")

    @property
    def first(self) -> Allocation:
        return self.allocations[0]

    def enterprise_rows(self, day: int = 0) -> list[dict[str, Any]]:
        alloc, window = self.allocations[day], self.allocations[day].window
        rows = []
        for c in self.candidates[day]:
            share = alloc.share_of(c.code)
            f = c.flex
            rows.append({
                "enterprise": c.code, "name": c.name, "county": c.county, "priority": c.priority,
                "priority_zh": PRIORITY_ZH.get(c.priority), "over_quota": c.over_quota, "rank": share.rank or None,
                "day_type": f.day_type, "expected_kw": _r(f.expected_kw), "expected_sd_kw": _r(f.expected_sd_kw),
                "expected_min_hour_kw": _r(f.expected_min_hour_kw), "security_kw": _r(f.security_kw),
                "security_from": list(f.security_from), "idle_kw": _r(f.idle_kw),
                "shiftable_kw": _r(f.shiftable_kw), "shiftable_sd_kw": _r(f.shiftable_sd_kw),
                "shiftable_meters": list(f.shiftable_meters), "curtailable_kw": _r(f.curtailable_kw),
                "reduce_kw": _r(share.reduce_kw) if f.assessed else None,
                "shift_kw": _r(share.shift_kw) if f.assessed else None,
                "curtail_kw": _r(share.curtail_kw) if f.assessed else None,
                "action": share.action, "date": window.day.isoformat(), "hours": window.label,
                "planned_load_kw": _r(f.expected_kw - share.reduce_kw) if f.assessed else None,
                "output_effect": output_effect(c, share, window),
                "similar_days": len(f.similar_days), "reason": f.reason, "warnings": list(f.warnings),
                "notice_zh": notice_zh(c, share, window) if share.action != "none" else None,
            })
        return rows

    def to_json(self) -> dict[str, Any]:
        first = self.first
        out: dict[str, Any] = {
            "date": first.window.day.isoformat(), "hours": first.window.label, "days": len(self.allocations),
            "county": self.county, "shortfall_kw": _r(first.shortfall_kw), "planned_kw": _r(first.planned_kw),
            "met": first.met, "reason": first.reason, "reducible_kw": _r(first.reducible_kw),
            "shift_kw": _r(sum(s.shift_kw for s in first.shares)),
            "curtail_kw": _r(sum(s.curtail_kw for s in first.shares)),
            "enterprises_asked": sum(1 for s in first.shares if s.action != "none"),
            "not_assessed": list(first.not_assessed), "steps": list(first.steps), "policy": self.policy.to_json(),
            "enterprises": self.enterprise_rows(0),
        }
        if len(self.allocations) > 1:
            out["rounds"] = [{
                "date": a.window.day.isoformat(), "hours": a.window.label, "planned_kw": _r(a.planned_kw),
                "met": a.met, "reason": a.reason,
                "enterprises": [{"enterprise": s.code, "reduce_kw": _r(s.reduce_kw), "shift_kw": _r(s.shift_kw),
                                 "curtail_kw": _r(s.curtail_kw), "action": s.action}
                                for s in a.shares if s.action != "none"],
            } for a in self.allocations]
        return out


def build_plan(allocations: Sequence[Allocation], candidates: Sequence[Sequence[Candidate]], policy: Policy,
               county: str | None = None) -> OrderlyPlan:
    return OrderlyPlan(tuple(allocations), tuple(tuple(c) for c in candidates), policy, county)
