"""Load-profile findings: base load off shift, peak-hour load that could move to valley hours, maximum demand.

All pure: they read `PlantFrames.table` (local hourly main-meter kWh and output) and per-meter hourly rows.
"""

from __future__ import annotations

import datetime as dt
import math
from dataclasses import dataclass

import numpy as np
import pandas as pd

from analytics.billing import DemandRules, cheapest_basic
from analytics.diagnosis.bill import (
    UNKNOWN,
    TouHours,
    demand_rules,
    max_demand_kw,
    measured_pf,
    period_months,
    tariff_evidence,
    tou_hours,
)
from analytics.diagnosis.finding import Finding, Valuation
from analytics.diagnosis.frames import PlantFrames, Shift
from analytics.refs import Reference

PRODUCING_OUTPUT_SHARE = 0.05
"""An hour is 'producing' when its output is at least 5 % of the median producing hour's (enerdiag rule)."""
OFFSHIFT_MIN_SHARE = 0.15
"""Base load is only judged when at least 15 % of the period's hours are off shift (not for 24/7 plants)."""
CONTINUOUS_NIGHT_SHARE = 0.7
"""A plant producing in ≥ 70 % of the night hours (00-06) of its production days runs 24/7: no off-shift base."""
BASE_LOAD_QUANTILE = 0.25
"""Off-shift base load = the 25th percentile of off-shift hourly kW: robust to batch loads run at night."""
BASE_LOAD_DEFAULT_SHARE = 0.30
"""Expected off-shift load as a share of producing load when fewer than `peers.MIN_PEERS` same-industry
enterprises give a norm (enerdiag assumption, deliberately loose: refrigeration, kilns on hold and standby
utilities legitimately run at night, so without peers only gross idle loads are reported)."""
BASE_LOAD_MARGIN = 0.08
"""A finding needs the off-shift share to exceed the expected share by 8 percentage points (noise margin)."""
BASE_LOAD_MIN_KWH_PER_DAY = 20.0
"""…and the avoidable base load to be worth at least 20 kWh per day."""

PEAK_CONCENTRATION = 0.60
"""A sub-meter using ≥ 60 % of its energy in TOU peak hours (which are ≤ 40 % of the day) runs a batch load in
peak hours: that energy is movable (enerdiag rule)."""
PEAK_HOURS_MAX_SHARE = 0.40
PEAK_MIN_KWH_PER_DAY = 20.0
"""Movable peak energy below 20 kWh per day is not reported."""

DEMAND_OVER_CAPACITY_RATIO = 1.0
"""Maximum 15-min demand in kVA (kW ÷ power factor) above the contracted transformer capacity (kVA) × 1.0 means the
transformer ran beyond its rating: a finding. Demand billing uses 15-min mean power (GB/T 15148 demand meters)."""


def producing_mask(table: pd.DataFrame) -> np.ndarray:
    """Hours with output (the plant is producing); all True when the enterprise has no output meter."""
    out = table["output"].to_numpy(dtype=float)
    if np.all(np.isnan(out)):
        return np.ones(len(table), dtype=bool)
    pos = out[out > 0]
    if not len(pos):
        return np.zeros(len(table), dtype=bool)
    return np.nan_to_num(out) >= PRODUCING_OUTPUT_SHARE * float(np.median(pos))


def runs_around_the_clock(table: pd.DataFrame, producing: np.ndarray) -> bool:
    """A 24/7 plant: it produces in most night hours (00-06) of the days it produces at all.

    Its off-shift hours are stops (the shutdown finding), not a base load.
    """
    day_on = pd.Series(producing).groupby(table["day"].to_numpy()).transform("any").to_numpy()
    night = (table["hour"].to_numpy() < 6) & day_on
    return bool(night.any()) and float(producing[night].mean()) >= CONTINUOUS_NIGHT_SHARE


PROFILE_MIN_SEPARATION = 4.0
"""A load profile has two states (operating, idle) only when the gap between the two levels of its best two-level
split is at least 4 pooled within-level standard deviations (a clear step, not noise; enerdiag rule)."""
PROFILE_IDLE_MAX_RATIO = 0.70
"""…and the idle level is at most 70 % of the operating level: a heavy idle load (simulated workshops: up to about
60 %) still counts, while a 24/7 plant whose load only breathes, or steps up by an intensity change of up to 25 %
(ratio ≥ 0.8), does not have an idle state (a simulated coke plant's +25 % step read as 13 stop days at 0.85)."""
PROFILE_MIN_STATE_SHARE = 0.05
"""…and each state holds at least 5 % of the hours."""
PROFILE_TRIM = 0.02
"""Share of hours winsorised at each end before the split (a simulated cold store's 30-60 min demand spikes on a
few days otherwise made a 'level' of under 1 % of the hours and hid its one-shift dock load)."""


@dataclass(frozen=True, slots=True)
class OperatingHours:
    """Which hours of `frames.table` the plant operates, and how that was read (evidence for the findings)."""

    mask: np.ndarray
    source: str  # "output meter" | "shift calendar" | "load profile" | "load profile: one level"
    threshold_kwh: float | None = None
    idle_kwh: float | None = None
    operating_kwh: float | None = None

    def evidence(self) -> dict[str, object]:
        out: dict[str, object] = {"operating_hours_from": self.source}
        if self.threshold_kwh is not None:
            out["operating_threshold_kwh_per_hour"] = round(self.threshold_kwh, 1)
            out["idle_level_kwh_per_hour"] = round(float(self.idle_kwh or 0.0), 1)
            out["operating_level_kwh_per_hour"] = round(float(self.operating_kwh or 0.0), 1)
        return out


def two_level_split(kwh: np.ndarray) -> tuple[float, float, float, float] | None:
    """Otsu's split of hourly kWh into two levels: (threshold, idle mean, operating mean, separation in pooled
    within-level standard deviations); None with fewer than 48 valid hours or a single value.

    The hours are winsorised at their 2nd and 98th percentiles first (`PROFILE_TRIM`), so that a few demand spikes
    or an outage hour do not become a "level" of their own."""
    x = kwh[np.isfinite(kwh)]
    if len(x) < 48:
        return None
    x = np.sort(np.clip(x, *np.quantile(x, [PROFILE_TRIM, 1 - PROFILE_TRIM])))
    n = len(x)
    if x[0] == x[-1]:
        return None
    csum = np.cumsum(x)
    k = np.arange(1, n)  # split after k values: low = x[:k], high = x[k:]
    m0 = csum[:-1] / k
    m1 = (csum[-1] - csum[:-1]) / (n - k)
    between = k * (n - k) * (m1 - m0) ** 2
    best = int(np.argmax(between))
    lo, hi = x[: best + 1], x[best + 1:]
    within = (float(((lo - lo.mean()) ** 2).sum()) + float(((hi - hi.mean()) ** 2).sum())) / max(1, n - 2)
    sd = math.sqrt(within)
    sep = (hi.mean() - lo.mean()) / sd if sd > 0 else math.inf
    return float((lo[-1] + hi[0]) / 2), float(lo.mean()), float(hi.mean()), float(sep)


def profile_operating(kwh: np.ndarray) -> OperatingHours:
    """Operating hours read from the main meter's load profile: the hours above a two-level split, when the profile
    has two clear levels (`PROFILE_*`); otherwise every hour operates (one level: no idle state to judge)."""
    split = two_level_split(kwh)
    if split is not None:
        threshold, idle, operating, sep = split
        above = np.nan_to_num(kwh, nan=-np.inf) > threshold
        share = float(above[np.isfinite(kwh)].mean())
        if (sep >= PROFILE_MIN_SEPARATION and idle <= PROFILE_IDLE_MAX_RATIO * operating
                and PROFILE_MIN_STATE_SHARE <= share <= 1 - PROFILE_MIN_STATE_SHARE):
            return OperatingHours(above | ~np.isfinite(kwh), "load profile", threshold, idle, operating)
    return OperatingHours(np.ones(len(kwh), dtype=bool), "load profile: one level")


def calendar_operating(table: pd.DataFrame, shifts: tuple[Shift, ...]) -> OperatingHours:
    """Operating hours from the declared shift calendar (registry `shifts:`)."""
    mask = np.array([any(s.covers(d, int(h)) for s in shifts) for d, h in zip(table["day"], table["hour"],
                                                                              strict=True)], dtype=bool)
    return OperatingHours(mask, "shift calendar")


def operating_hours(frames: PlantFrames) -> OperatingHours:
    """The plant's operating hours: from its output meter when it has one, else from its declared shift calendar,
    else from its main meter's load profile (how an auditor reads a plant without a production counter)."""
    t = frames.table
    if not np.all(np.isnan(t["output"].to_numpy(dtype=float))):
        return OperatingHours(producing_mask(t), "output meter")
    if frames.facts.shifts:
        return calendar_operating(t, frames.facts.shifts)
    return profile_operating(site_load_kwh(frames))


def site_load_kwh(frames: PlantFrames) -> np.ndarray:
    """Main-meter kWh per hour without cold-store refrigeration (`warehouse` electricity meters): it runs around the
    clock whether the plant works or not, so it is neither operating nor idle load."""
    kw = frames.table["kwh"].to_numpy(dtype=float)
    cold = frames.meters_where(carrier="electricity", role="warehouse")
    if cold:
        kw = kw - np.nan_to_num(frames.series(cold, "energy_kwh").to_numpy(dtype=float))
    return kw


CONTINUOUS_REST_DAY_RATIO = 0.85
"""Without an output meter, a plant whose rest days use ≥ 85 % of a working day's electricity (upper quartile of
rest days against the median working day, robust to a stop on a few rest days) runs every day: its load profile's
low level is a batch load's pause (e.g. a mill kept out of TOU peak hours), not an idle plant (enerdiag rule)."""


REST_DAY_TOP_HOURS = 2
"""Hours of each day left out of the rest-day comparison: its two highest."""


def runs_every_day(frames: PlantFrames, operating: OperatingHours) -> bool:
    """A 24/7 plant: producing in most night hours (`runs_around_the_clock`) or, when the operating hours are not
    read from an output meter, using as much electricity (`site_load_kwh`) on rest days as on working days."""
    t = frames.table
    if runs_around_the_clock(t, operating.mask):
        return True
    if operating.source == "output meter":
        return False
    site = pd.DataFrame({"day": t["day"], "kwh": site_load_kwh(frames), "workday": t["workday"]})
    daily = site.groupby("day").agg(kwh=("kwh", _day_without_top_hours), workday=("workday", "first")).dropna()
    rest, work = daily.loc[~daily["workday"], "kwh"], daily.loc[daily["workday"], "kwh"]
    if len(rest) < 2 or len(work) < 2 or float(work.median()) <= 0:
        return False
    return float(rest.quantile(0.75)) >= CONTINUOUS_REST_DAY_RATIO * float(work.median())


def _day_without_top_hours(kwh: pd.Series) -> float:
    """A day's kWh without its `REST_DAY_TOP_HOURS` highest hours (a demand spike of up to an hour on a rest day
    must not make it look worked); NaN without data."""
    v = np.sort(kwh.dropna().to_numpy(dtype=float))
    return float(v[:-REST_DAY_TOP_HOURS].sum()) if len(v) > REST_DAY_TOP_HOURS else float("nan")


def base_load_share(frames: PlantFrames) -> dict[str, float] | None:
    """Off-shift base kW, operating kW, their ratio and off-shift hours; None when not judged.

    Operating hours come from `operating_hours` (output meter, shift calendar or load profile). Cold-store
    refrigeration (electricity meters of role `warehouse`) is taken out: it must run off shift.
    """
    t = frames.table
    kw = site_load_kwh(frames)
    operating = operating_hours(frames)
    prod = operating.mask
    valid = ~np.isnan(kw)
    off = ~prod & valid
    on = prod & valid
    if off.sum() < OFFSHIFT_MIN_SHARE * valid.sum() or on.sum() < 24 or runs_every_day(frames, operating):
        return None
    base_kw = float(np.quantile(kw[off], BASE_LOAD_QUANTILE))
    on_kw = float(np.median(kw[on]))
    if on_kw <= 0:
        return None
    return {"base_kw": base_kw, "producing_kw": on_kw, "share": base_kw / on_kw, "offshift_hours": float(off.sum()),
            "rest_day_hours": float((off & ~t["workday"].to_numpy()).sum())}


def detect_base_load(frames: PlantFrames, value: Valuation, expected_share: float | None = None) -> Finding | None:
    """Idle load at nights, weekends and China's holidays above what the industry needs."""
    stats = base_load_share(frames)
    if stats is None:
        return None
    expected = BASE_LOAD_DEFAULT_SHARE if expected_share is None else expected_share
    excess_share = stats["share"] - expected
    avoidable_kw = excess_share * stats["producing_kw"]
    kwh = avoidable_kw * stats["offshift_hours"]
    if excess_share < BASE_LOAD_MARGIN or kwh / frames.days < BASE_LOAD_MIN_KWH_PER_DAY:
        return None
    evidence = {
        "period": [frames.first_day.isoformat(), frames.end_day.isoformat()],
        "meters": frames.main_electricity_meters(),
        "offshift_base_kw": round(stats["base_kw"], 1),
        "producing_kw": round(stats["producing_kw"], 1),
        "offshift_share": round(stats["share"], 3),
        "expected_share": round(expected, 3),
        "expected_share_from": "industry peers (median)" if expected_share is not None else "enerdiag default",
        "avoidable_kw": round(avoidable_kw, 1),
        "offshift_hours": stats["offshift_hours"],
        "rest_day_hours": stats["rest_day_hours"],
        "avoidable_kwh_per_day": round(kwh / frames.days, 1),
        **operating_hours(frames).evidence(),
    }
    return Finding(
        "base_load", "非生产时段基础负荷偏高", "High base load off shift",
        **value.electricity(kwh), evidence=evidence,
        recommendation_zh=(f"夜间、周末和节假日停产时仍有约 {avoidable_kw:.0f} kW 负荷未关断："
                           "排查空压机、冷却水泵、照明、待机设备，加装定时/联锁停机控制，空压系统查漏。"),
        recommendation_en=(f"About {avoidable_kw:.0f} kW stays on when the plant is not producing: check "
                           "compressors, cooling pumps, lighting and idle machines; add timers/interlocks; fix "
                           "compressed-air leaks."),
        severity="high" if excess_share > 0.2 else "medium", sources=value.sources())


def peak_hours(frames: PlantFrames, reference: Reference, value: Valuation | None = None) -> TouHours:
    """Per hour of `frames.table`: its TOU period under the tariff's edition (the one in force by default); days
    without an edition have none (see the warnings)."""
    tariff = value.tariff if value is not None else Valuation(reference, frames.first_day.year).tariff
    return tou_hours(frames, tariff, reference)


def detect_peak_shift(frames: PlantFrames, value: Valuation, reference: Reference) -> Finding | None:
    """Batch loads (sub-meters) running in TOU peak hours: their peak energy could move to valley hours.

    Priced per hour at (the period's price − the valley price) of the edition pricing that day: critical-peak hours
    at their own ratio (1.92 under 479号 and 〔2026〕15号), and only the components that float under the edition
    (under 〔2026〕15号 the energy price alone). Days without a TOU edition have no peak hours (warned).
    """
    hours = peak_hours(frames, reference, value)
    peak = np.isin(hours.periods, ("peak", "critical_peak"))
    covered = hours.periods != UNKNOWN
    if not peak.any() or peak[covered].mean() > PEAK_HOURS_MAX_SHARE:
        return None
    spread = np.zeros(len(peak))
    for i in np.flatnonzero(peak):
        prices = hours.prices[hours.editions[i]]
        spread[i] = prices.price(hours.periods[i]) - prices.price("valley")
    subs = [m.meter_id for m in frames.enterprise.meters if m.carrier == "electricity" and m.role not in
            ("main", "safety", "pv")]
    movable: dict[str, float] = {}
    shares: dict[str, float] = {}
    by_period: dict[str, float] = {}
    cny = 0.0
    for meter in subs:
        kwh = frames.series([meter], "energy_kwh").to_numpy(dtype=float)
        total = np.nansum(kwh[covered])
        if total <= 0:
            continue
        in_peak = float(np.nansum(kwh[peak]))
        if in_peak / total >= PEAK_CONCENTRATION:
            movable[meter] = in_peak
            shares[meter] = in_peak / total
            cny += float(np.nansum(kwh[peak] * spread[peak]))
            for period in ("peak", "critical_peak"):
                sel = hours.periods == period
                by_period[period] = by_period.get(period, 0.0) + float(np.nansum(kwh[sel]))
    kwh_total = sum(movable.values())
    if kwh_total / frames.days < PEAK_MIN_KWH_PER_DAY:
        return None
    tariff = value.tariff
    evidence = {
        "period": [frames.first_day.isoformat(), frames.end_day.isoformat()],
        "meters": sorted(movable),
        "peak_share_by_meter": {k: round(s, 3) for k, s in shares.items()},
        "movable_peak_kwh": round(kwh_total, 1),
        "movable_kwh_by_period": {k: round(v, 1) for k, v in by_period.items() if v},
        "movable_peak_kwh_per_day": round(kwh_total / frames.days, 1),
        "peak_hours_share_of_day": round(float(peak[covered].mean()), 3),
        "spread_cny_per_kwh": round(cny / kwh_total, 4),
        "tou_source": "; ".join(hours.sources()),
        **tariff_evidence(tariff, hours),
    }
    return Finding(
        "peak_shift", "高峰时段可转移负荷", "Peak-hour load movable to valley hours",
        **value.electricity(0.0, cny), evidence=evidence,
        recommendation_zh=(f"{'、'.join(sorted(movable))} 的批次负荷主要在峰段运行"
                           f"（日均 {kwh_total / frames.days:.0f} kWh）：调整排产到谷段"
                           "（如 11:00-15:00、02:00-05:00），电量不变、电费按峰谷价差节约。"),
        recommendation_en=(f"Batch loads on {', '.join(sorted(movable))} run mostly in peak hours "
                           f"({kwh_total / frames.days:.0f} kWh/day): reschedule them into valley hours; same kWh, "
                           "lower price."),
        severity="medium", sources=(*value.sources(), f"TOU: {evidence['tou_source']}"), warnings=hours.warnings)


def detect_demand_over_capacity(frames: PlantFrames, value: Valuation, reference: Reference | None = None,
                                ) -> Finding | None:
    """Maximum demand in kVA (the 15-min kW ÷ the period's measured power factor) above the contracted transformer
    capacity; saving = the basic charge on the tariff's basis minus the cheaper basis (capacity kVA × rate, or demand
    kW × rate with the 40 % floor, the contract rule and the demand discount). On capacity billing the excess
    costs no basic charge: the finding then saves no CNY, it reports an overloaded transformer."""
    kva = frames.facts.contracted_kva
    peak_kw = max_demand_kw(frames)
    if not kva or peak_kw is None:
        return None
    pf = measured_pf(frames)
    peak_kva = peak_kw / pf if pf else peak_kw
    if peak_kva <= DEMAND_OVER_CAPACITY_RATIO * kva:
        return None
    tariff = value.tariff
    months = period_months(frames)
    kwh = float(np.nansum(frames.table["kwh"]))
    rules = demand_rules(reference, frames.first_day) if reference is not None else DemandRules()
    charges = cheapest_basic(tariff, kva, peak_kw, months, kwh, rules)
    current = charges.get(tariff.basis or "")
    cheaper = min(charges, key=lambda b: charges[b].cny) if charges else None
    cny = current.cny - charges[cheaper].cny if current is not None and cheaper is not None else 0.0
    over_windows: list[str] = []
    if frames.demand_kw is not None:
        over = frames.demand_kw[frames.demand_kw / (pf or 1.0) > kva]
        over_windows = [dt.datetime.fromtimestamp(int(s), dt.UTC).isoformat() for s in over.index[:20]]
    evidence = {
        "period": [frames.first_day.isoformat(), frames.end_day.isoformat()],
        "meters": frames.main_electricity_meters(),
        "max_demand_kw": round(peak_kw, 1),
        "power_factor": None if pf is None else round(pf, 4),
        "max_demand_kva": round(peak_kva, 1),
        "kva_from": "kW ÷ the period's measured power factor" if pf else "kW (no reactive energy: a lower bound)",
        "contracted_kva": kva,
        "ratio": round(peak_kva / kva, 3),
        "windows_over_capacity": over_windows,
        "basic_charge_by_basis": {b: c.to_json() for b, c in charges.items()},
        "current_basis": tariff.basis,
        "cheaper_billing": cheaper,
        "demand_rules": rules.source,
        **tariff_evidence(tariff),
    }
    advice_zh = {"capacity": "按容量计收基本电费更省", "demand": "按需量计收基本电费更省"}.get(cheaper or "", "")
    return Finding(
        "demand_over_capacity", "最大需量超过合同容量", "Maximum demand above contracted capacity",
        **value.electricity(0.0, cny), evidence=evidence,
        recommendation_zh=(f"15 分钟最大需量 {peak_kw:.0f} kW（约 {peak_kva:.0f} kVA）"
                           f"超过变压器合同容量 {kva:.0f} kVA："
                           f"错峰启动大设备、加装需量控制或增容；按当前负荷，{advice_zh}。"),
        recommendation_en=(f"15-min maximum demand {peak_kw:.0f} kW (about {peak_kva:.0f} kVA) exceeds the contracted "
                           f"{kva:.0f} kVA: stagger large starts, add demand control or more capacity; "
                           f"{cheaper}-based basic charging is cheaper at this load."),
        severity="high", sources=(*value.sources(), f"demand billing rules: {rules.source}"))
