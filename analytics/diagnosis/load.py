"""Load-profile findings: base load off shift, peak-hour load that could move to valley hours, maximum demand.

All pure: they read `PlantFrames.table` (local hourly main-meter kWh and output) and per-meter hourly rows.
"""

from __future__ import annotations

import datetime as dt

import numpy as np
import pandas as pd

from analytics.diagnosis.finding import Finding, Valuation
from analytics.diagnosis.frames import PlantFrames
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
TOU_RATIO_PEAK = 1.60
TOU_RATIO_VALLEY = 0.45
"""Fallback Shanxi TOU ratios (晋发改商品发〔2021〕479号 / 〔2026〕15号: peak 1.6, valley 0.45 of flat) when the
reference data cannot be read; normally taken from `reference.tariffs_shanxi` through `tou_period_of`."""

DEMAND_OVER_CAPACITY_RATIO = 1.0
"""Maximum 15-min demand (kW) above the contracted transformer capacity (kVA) × 1.0 means the transformer ran
beyond its rating (P ≤ S): a finding. Demand billing uses 15-min mean power (GB/T 15148 demand meters)."""


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


def base_load_share(frames: PlantFrames) -> dict[str, float] | None:
    """Off-shift base kW, producing kW, their ratio and off-shift hours; None when not judged.

    Cold-store refrigeration (electricity meters of role `warehouse`) is taken out: it must run off shift.
    """
    t = frames.table
    kw = t["kwh"].to_numpy(dtype=float)
    cold = frames.meters_where(carrier="electricity", role="warehouse")
    if cold:  # refrigeration of cold stores must run around the clock: not an idle load
        kw = kw - np.nan_to_num(frames.series(cold, "energy_kwh").to_numpy(dtype=float))
    prod = producing_mask(t)
    valid = ~np.isnan(kw)
    off = ~prod & valid
    on = prod & valid
    if off.sum() < OFFSHIFT_MIN_SHARE * valid.sum() or on.sum() < 24 or runs_around_the_clock(t, prod):
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


def _tou_ratios(reference: Reference, day: dt.date) -> tuple[float, float, str]:
    """(peak ratio, valley ratio, source) of the Shanxi TOU edition in force on `day`."""
    try:
        tariffs = reference.tariffs_shanxi  # type: ignore[attr-defined]
        _, edition = tariffs.edition_on(day)
        return edition.ratio("peak"), edition.ratio("valley"), f"{edition.number} ({edition.confidence})"
    except (AttributeError, LookupError):
        return TOU_RATIO_PEAK, TOU_RATIO_VALLEY, "enerdiag fallback ratios (Shanxi 479号)"


def peak_hours(frames: PlantFrames, reference: Reference) -> np.ndarray:
    """Per hour of `frames.table`: is it a TOU peak (or critical-peak) hour under the edition in force?"""
    t = frames.table
    cache: dict[tuple[dt.date, int], bool] = {}
    out = np.zeros(len(t), dtype=bool)
    for i, (day, hour) in enumerate(zip(t["day"], t["hour"], strict=True)):
        key = (day, hour)
        if key not in cache:
            moment = dt.datetime(day.year, day.month, day.day, hour)
            cache[key] = reference.tou_period_of(moment).value in ("peak", "critical_peak")  # type: ignore[attr-defined]
        out[i] = cache[key]
    return out


def detect_peak_shift(frames: PlantFrames, value: Valuation, reference: Reference) -> Finding | None:
    """Batch loads (sub-meters) running in TOU peak hours: their peak energy could move to valley hours."""
    peak = peak_hours(frames, reference)
    if peak.mean() > PEAK_HOURS_MAX_SHARE:
        return None
    subs = [m.meter_id for m in frames.enterprise.meters if m.carrier == "electricity" and m.role not in
            ("main", "safety", "pv")]
    movable: dict[str, float] = {}
    shares: dict[str, float] = {}
    for meter in subs:
        kwh = frames.series([meter], "energy_kwh").to_numpy(dtype=float)
        total = np.nansum(kwh)
        if total <= 0:
            continue
        in_peak = float(np.nansum(kwh[peak]))
        if in_peak / total >= PEAK_CONCENTRATION:
            movable[meter] = in_peak
            shares[meter] = in_peak / total
    kwh_total = sum(movable.values())
    if kwh_total / frames.days < PEAK_MIN_KWH_PER_DAY:
        return None
    p, v, src = _tou_ratios(reference, frames.first_day)
    cny = kwh_total * value.prices.flat_cny_per_kwh * (p - v)
    evidence = {
        "period": [frames.first_day.isoformat(), frames.end_day.isoformat()],
        "meters": sorted(movable),
        "peak_share_by_meter": {k: round(s, 3) for k, s in shares.items()},
        "movable_peak_kwh": round(kwh_total, 1),
        "movable_peak_kwh_per_day": round(kwh_total / frames.days, 1),
        "peak_hours_share_of_day": round(float(peak.mean()), 3),
        "tou_ratio_peak": p, "tou_ratio_valley": v, "tou_source": src,
        "flat_price_cny_per_kwh": value.prices.flat_cny_per_kwh,
    }
    fields = value.electricity(0.0, cny)
    return Finding(
        "peak_shift", "高峰时段可转移负荷", "Peak-hour load movable to valley hours",
        **fields, evidence=evidence,
        recommendation_zh=(f"{'、'.join(sorted(movable))} 的批次负荷主要在峰段运行"
                           f"（日均 {kwh_total / frames.days:.0f} kWh）：调整排产到谷段"
                           "（如 11:00-15:00、02:00-05:00），电量不变、电费按峰谷价差节约。"),
        recommendation_en=(f"Batch loads on {', '.join(sorted(movable))} run mostly in peak hours "
                           f"({kwh_total / frames.days:.0f} kWh/day): reschedule them into valley hours; same kWh, "
                           "lower price."),
        severity="medium", sources=(*value.sources(), f"TOU: {src}"))


def max_demand_kw(frames: PlantFrames) -> float | None:
    """Highest 15-min mean demand of the main meter(s): from `demand_kw`, else hourly kWh (a lower bound)."""
    if frames.demand_kw is not None and len(frames.demand_kw):
        return float(frames.demand_kw.max())
    kwh = frames.table["kwh"]
    return None if kwh.isna().all() else float(kwh.max())


def detect_demand_over_capacity(frames: PlantFrames, value: Valuation) -> Finding | None:
    """Maximum demand above the contracted capacity; and the cheaper of capacity- or demand-based basic charges."""
    kva = frames.facts.contracted_kva
    peak_kw = max_demand_kw(frames)
    if not kva or peak_kw is None:
        return None
    if peak_kw <= DEMAND_OVER_CAPACITY_RATIO * kva:
        return None
    months = frames.days / 30.4375
    prices = value.prices
    capacity_cost = kva * prices.capacity_cny_per_kva_month
    demand_cost = peak_kw * prices.demand_cny_per_kw_month
    over_windows: list[str] = []
    if frames.demand_kw is not None:
        over = frames.demand_kw[frames.demand_kw > kva]
        over_windows = [dt.datetime.fromtimestamp(int(s), dt.UTC).isoformat() for s in over.index[:20]]
    # keeping demand under the contracted capacity: the excess kW billed at the demand rate is avoidable
    cny = (peak_kw - kva) * prices.demand_cny_per_kw_month * months
    cheaper = "capacity" if capacity_cost <= demand_cost else "demand"
    evidence = {
        "period": [frames.first_day.isoformat(), frames.end_day.isoformat()],
        "meters": frames.main_electricity_meters(),
        "max_demand_kw": round(peak_kw, 1),
        "contracted_kva": kva,
        "ratio": round(peak_kw / kva, 3),
        "windows_over_capacity": over_windows,
        "monthly_capacity_charge_cny": round(capacity_cost, 0),
        "monthly_demand_charge_cny": round(demand_cost, 0),
        "cheaper_billing": cheaper,
        "prices": prices.as_dict(),
    }
    return Finding(
        "demand_over_capacity", "最大需量超过合同容量", "Maximum demand above contracted capacity",
        **value.electricity(0.0, cny), evidence=evidence,
        recommendation_zh=(f"15 分钟最大需量 {peak_kw:.0f} kW 超过变压器合同容量 {kva:.0f} kVA："
                           "错峰启动大设备、加装需量控制；"
                           f"按当前负荷，{'按容量' if cheaper == 'capacity' else '按需量'}计收基本电费更省。"),
        recommendation_en=(f"15-min maximum demand {peak_kw:.0f} kW exceeds the contracted {kva:.0f} kVA: "
                           f"stagger large starts, add demand control; {cheaper}-based basic charging is cheaper "
                           "at this load."),
        severity="high", sources=(*value.sources(), "two-part tariff rates: " + prices.source))
