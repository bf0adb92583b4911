"""I/O edge of orderly power use: read hourly electricity and quota standing from InfluxDB, build the plan or the
verification with the pure modules, and publish them for the dashboard and the bank API.

Reads `consumption_hourly` (`energy_kwh` of the electricity meters: one hour's kWh is its mean kW) and the latest
monthly `enterprise_analysis` point (`over_quota`) before the plan date. Writes `orderly_plan` and
`orderly_compliance` points (docs/schema.md) when asked to publish.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass

import numpy as np
import pandas as pd

from analytics.calendar import local_midnight_s
from analytics.enterprise import EnterpriseInfo
from analytics.orderly.allocate import Candidate, day_windows, plan_days
from analytics.orderly.flex import EventWindow, LoadHistory, assess
from analytics.orderly.plan import OrderlyPlan, build_plan
from analytics.orderly.policy import Policy
from analytics.orderly.verify import Verification, verify
from core.influx import InfluxV1, line, quote_ident, quote_literal
from core.measurements import CONSUMPTION_HOURLY, ENTERPRISE_ANALYSIS, ORDERLY_COMPLIANCE, ORDERLY_PLAN, Field, Tag
from core.registry.fileorderly import DEFAULT_PRIORITY

HISTORY_DAYS = 35
"""Days of history read before the plan date: five weeks hold the 10 most recent working days and the 5 most
recent normal days of the verification, in the same season."""
QUERY_CHUNK = 200
"""Enterprises per InfluxQL query (keeps one answer bounded)."""
CRITICAL_ROLES = ("warehouse",)
BATCH_ROLES = ("sub", "process")


@dataclass(frozen=True, slots=True)
class OrderlyFacts:
    """The registry's orderly-use facts of one enterprise (analytics.registry_view.orderly_facts)."""

    name: str | None = None
    priority: str = DEFAULT_PRIORITY
    security_kw: float | None = None


def meter_groups(enterprise: EnterpriseInfo) -> tuple[list[str], list[str], list[str]]:
    """(site, critical, batch) electricity meters: the main meters (else every electricity meter that is not a
    sub-meter, safety or PV meter); the cold-store refrigeration meters; the sub and process meters."""
    elec = [m for m in enterprise.meters if m.carrier == "electricity"]
    site = [m.meter_id for m in elec if m.role == "main"] or [
        m.meter_id for m in elec if m.role not in ("sub", "safety", "pv", *CRITICAL_ROLES, *BATCH_ROLES)]
    critical = [m.meter_id for m in elec if m.role in CRITICAL_ROLES]
    batch = [m.meter_id for m in elec if m.role in BATCH_ROLES]
    return site, critical, batch


def hourly_query(codes: Sequence[str], lo: int, hi: int) -> str:
    """InfluxQL for the hourly `energy_kwh` of the enterprises in [lo, hi) (epoch s), per enterprise and meter."""
    who = " OR ".join(f"{quote_ident(Tag.ENTERPRISE)} = {quote_literal(c)}" for c in codes)
    return (f"SELECT {quote_ident(Field.VALUE)} FROM {quote_ident(CONSUMPTION_HOURLY)} "
            f"WHERE {quote_ident(Tag.QUANTITY)} = 'energy_kwh' AND ({who}) AND time >= {lo}s AND time < {hi}s "
            f"GROUP BY {quote_ident(Tag.ENTERPRISE)}, {quote_ident(Tag.METER)}")


def read_energy(influx: InfluxV1, codes: Sequence[str], lo: int, hi: int) -> pd.DataFrame:
    """Rows enterprise, meter, hour_s, kwh of the enterprises' electricity meters."""
    frames = []
    for i in range(0, len(codes), QUERY_CHUNK):
        for s in influx.query(hourly_query(codes[i:i + QUERY_CHUNK], lo, hi)):
            if not s.values:
                continue
            arr = np.asarray(s.values, dtype=object)
            frames.append(pd.DataFrame({"enterprise": s.tags.get(Tag.ENTERPRISE), "meter": s.tags.get(Tag.METER),
                                        "hour_s": arr[:, 0].astype(np.int64),
                                        "kwh": pd.to_numeric(arr[:, 1], errors="coerce")}))
    if not frames:
        return pd.DataFrame(columns=["enterprise", "meter", "hour_s", "kwh"])
    return pd.concat(frames, ignore_index=True)


def day_grid(rows: pd.DataFrame, days: Sequence[dt.date], tz: str) -> np.ndarray:
    """Rows (hour_s, kwh) summed onto a (days × 24) grid of local hours; NaN where no row (a missing hour is
    never 0). On a daylight-saving day the repeated hour adds up and the skipped one stays NaN."""
    grid = np.full((len(days), 24), np.nan)
    if rows.empty:
        return grid
    local = pd.to_datetime(rows["hour_s"].to_numpy(dtype=np.int64), unit="s", utc=True).tz_convert(tz)
    index = {d: i for i, d in enumerate(days)}
    day_idx = np.array([index.get(d, -1) for d in local.date])
    hours = np.asarray(local.hour)
    ok = day_idx >= 0
    kwh = rows["kwh"].to_numpy(dtype=float)[ok]
    flat = day_idx[ok] * 24 + hours[ok]
    sums = np.bincount(flat, weights=np.nan_to_num(kwh), minlength=len(days) * 24)
    seen = np.bincount(flat[np.isfinite(kwh)], minlength=len(days) * 24) > 0
    grid.ravel()[seen] = sums[seen]
    return grid


def histories(energy: pd.DataFrame, enterprises: Iterable[EnterpriseInfo], days: Sequence[dt.date],
              facts: Mapping[str, OrderlyFacts]) -> dict[str, LoadHistory]:
    """Each enterprise's `LoadHistory` over `days` (pure: rows in, grids out). The site grid sums its site meters
    hour by hour; an hour where one of them has no row is NaN."""
    out: dict[str, LoadHistory] = {}
    by_ent = dict(tuple(energy.groupby("enterprise"))) if not energy.empty else {}
    days = tuple(days)
    for e in enterprises:
        rows = by_ent.get(e.code, energy.iloc[:0])
        site, critical, batch = meter_groups(e)
        per_meter = {m: day_grid(rows[rows["meter"] == m], days, e.timezone) for m in {*site, *critical, *batch}}
        site_kw = np.sum([per_meter[m] for m in site], axis=0) if site else np.full((len(days), 24), np.nan)
        crit = np.sum([per_meter[m] for m in critical], axis=0) if critical else None
        out[e.code] = LoadHistory(e.code, days, site_kw, crit, {m: per_meter[m] for m in batch},
                                  facts.get(e.code, OrderlyFacts()).security_kw)
    return out


def read_over_quota(influx: InfluxV1, codes: Sequence[str], before_s: int) -> dict[str, bool]:
    """The latest monthly quota standing before `before_s` (`enterprise_analysis`.over_quota); enterprises without
    one are left out (unknown, not compliant)."""
    out: dict[str, bool] = {}
    for i in range(0, len(codes), QUERY_CHUNK):
        who = " OR ".join(f"{quote_ident(Tag.ENTERPRISE)} = {quote_literal(c)}" for c in codes[i:i + QUERY_CHUNK])
        q = (f"SELECT last(\"over_quota\") AS over FROM {quote_ident(ENTERPRISE_ANALYSIS)} "
             f"WHERE {quote_ident(Tag.PERIOD)} = 'month' AND ({who}) AND time < {before_s}s "
             f"GROUP BY {quote_ident(Tag.ENTERPRISE)}")
        for s in influx.query(q):
            for r in s.records():
                if r.get("over") is not None:
                    out[s.tags.get(Tag.ENTERPRISE, "")] = bool(r["over"])
    return out


def history_days(first: dt.date, last: dt.date, back: int = HISTORY_DAYS) -> list[dt.date]:
    """The local days [first − back, last]."""
    start = first - dt.timedelta(days=back)
    return [start + dt.timedelta(days=i) for i in range((last - start).days + 1)]


def read_histories(influx: InfluxV1, enterprises: Sequence[EnterpriseInfo], facts: Mapping[str, OrderlyFacts],
                   days: Sequence[dt.date]) -> dict[str, LoadHistory]:
    """Hourly histories of the enterprises over `days` (local days in each one's zone)."""
    if not enterprises:
        return {}
    lo = min(local_midnight_s(days[0], e.timezone) for e in enterprises)
    hi = max(local_midnight_s(days[-1] + dt.timedelta(days=1), e.timezone) for e in enterprises)
    energy = read_energy(influx, [e.code for e in enterprises], lo, hi)
    return histories(energy, enterprises, days, facts)


def make_plan(influx: InfluxV1, enterprises: Sequence[EnterpriseInfo], facts: Mapping[str, OrderlyFacts],
              policy: Policy, first: dt.date, days: int, start: int, end: int, shortfall_kw: float,
              county: str | None = None, back: int = HISTORY_DAYS) -> OrderlyPlan:
    """Read the histories and quota standing, assess every enterprise for each day, allocate (rotating over
    several days)."""
    chosen = [e for e in enterprises if county is None or e.county == county]
    windows = day_windows(first, days, start, end)
    found = read_histories(influx, chosen, facts, history_days(first, first - dt.timedelta(days=1), back))
    over = read_over_quota(influx, [e.code for e in chosen], local_midnight_s(first, "Asia/Shanghai"))
    return plan_from_histories(found, chosen, facts, over, policy, windows, shortfall_kw, county)


def plan_from_histories(found: Mapping[str, LoadHistory], enterprises: Sequence[EnterpriseInfo],
                        facts: Mapping[str, OrderlyFacts], over_quota: Mapping[str, bool], policy: Policy,
                        windows: Sequence[EventWindow], shortfall_kw: float,
                        county: str | None = None) -> OrderlyPlan:
    """The plan from histories already read (pure)."""
    per_day = []
    for w in windows:
        per_day.append([Candidate(e.code, assess(found[e.code], w), facts.get(e.code, OrderlyFacts()).priority,
                                  bool(over_quota.get(e.code, False)), facts.get(e.code, OrderlyFacts()).name,
                                  e.county) for e in enterprises])
    return build_plan(plan_days(windows, shortfall_kw, per_day, policy), per_day, policy, county)


def planned_from_json(plan: Mapping[str, object], day: dt.date) -> tuple[EventWindow, dict[str, tuple[float, str]],
                                                                         dict[str, float | None]]:
    """(event window, code → (planned kW, action), code → security kW) of one day of a plan's JSON
    (`enerdiag orderly plan --json`)."""
    hours = str(plan["hours"])
    start, end = (int(x) for x in hours.split("-"))
    window = EventWindow(day, start, end)
    rows = plan.get("enterprises") or []
    security = {str(r["enterprise"]): r.get("security_kw") for r in rows}  # type: ignore[union-attr]
    if plan.get("rounds"):
        rnd = next((r for r in plan["rounds"] if r["date"] == day.isoformat()), None)  # type: ignore[union-attr]
        if rnd is None:
            raise ValueError(f"the plan has no round on {day}")
        planned = {str(r["enterprise"]): (float(r["reduce_kw"] or 0.0), str(r["action"])) for r in rnd["enterprises"]}
        for code in security:
            planned.setdefault(code, (0.0, "none"))
        return window, planned, security
    if plan.get("date") != day.isoformat():
        raise ValueError(f"the plan is for {plan.get('date')}, not {day}")
    planned = {str(r["enterprise"]): (float(r.get("reduce_kw") or 0.0), str(r["action"]))
               for r in rows}  # type: ignore[union-attr]
    return window, planned, security


def make_verification(influx: InfluxV1, enterprises: Sequence[EnterpriseInfo], facts: Mapping[str, OrderlyFacts],
                      window: EventWindow, planned: Mapping[str, tuple[float, str]],
                      security: Mapping[str, float | None], exclude: Sequence[dt.date] = (),
                      adjust: str = "before", back: int = HISTORY_DAYS) -> Verification:
    """Read the event day and its history, verify every enterprise of the plan."""
    chosen = [e for e in enterprises if e.code in planned]
    found = read_histories(influx, chosen, facts, history_days(window.day, window.day, back))
    return verify(found, window, planned, security=security, exclude=exclude, adjust=adjust)


def plan_lines(plan: OrderlyPlan) -> list[str]:
    """`orderly_plan` points: one per enterprise asked and day, at the local event start; tag enterprise; fields
    action, reduce_kw, shift_kw, curtail_kw, expected_kw, security_kw, hours."""
    out = []
    for alloc, candidates in zip(plan.allocations, plan.candidates, strict=True):
        w = alloc.window
        for c in candidates:
            s = alloc.share_of(c.code)
            if s.action == "none":
                continue
            at = local_midnight_s(w.day, "Asia/Shanghai") + w.start * 3600
            out.append(line(ORDERLY_PLAN, {Tag.ENTERPRISE: c.code},
                            {"action": s.action, "reduce_kw": float(s.reduce_kw), "shift_kw": float(s.shift_kw),
                             "curtail_kw": float(s.curtail_kw), "expected_kw": float(c.flex.expected_kw or 0.0),
                             "security_kw": float(c.flex.security_kw or 0.0), "hours": int(w.hours)}, at))
    return out


def compliance_lines(result: Verification) -> list[str]:
    """`orderly_compliance` points: one per enterprise asked, at the local event start; tag enterprise; fields
    status, action, planned_kw, delivered_kw, baseline_kw, actual_kw, ratio (fields without a value are left out)."""
    w = result.window
    at = local_midnight_s(w.day, "Asia/Shanghai") + w.start * 3600
    out = []
    for r in result.asked:
        fields: dict[str, float | int | str] = {"status": r.status, "action": r.action,
                                                "planned_kw": float(r.planned_kw), "hours": int(w.hours)}
        for key in ("delivered_kw", "baseline_kw", "actual_kw", "ratio"):
            value = getattr(r, key)
            if value is not None:
                fields[key] = float(value)
        out.append(line(ORDERLY_COMPLIANCE, {Tag.ENTERPRISE: r.code}, fields, at))
    return out
