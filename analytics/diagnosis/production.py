"""Production-side findings: over-quota intensity, step changes in intensity, shutdowns and abnormal stops."""

from __future__ import annotations

import contextlib
import datetime as dt

import numpy as np
import pandas as pd

from analytics.diagnosis.finding import Finding, Valuation
from analytics.diagnosis.frames import PlantFrames, workday
from analytics.diagnosis.load import operating_hours, profile_operating, runs_every_day, site_load_kwh
from analytics.energy import comprehensive_energy
from analytics.enterprise import enterprise_daily
from analytics.quota import OVER_QUOTA, assess_quota
from analytics.refs import Reference

SHUTDOWN_OUTPUT_SHARE = 0.10
"""A day whose output is below 10 % of the median producing day's is a stop (enerdiag rule)."""
SHUTDOWN_AVOIDABLE_SHARE = 0.5
"""Half of the standby energy used during a stop is counted as avoidable (switch-off discipline; enerdiag rule)."""

STEP_MIN_PCT = 8.0
"""An intensity step must be at least 8 % of the baseline intensity (about 3× the day-to-day noise)."""
STEP_MIN_T = 4.0
"""…and significant: Welch t-statistic ≥ 4 between the days before and after."""
STEP_MIN_DAYS = 3
"""Each side of a step needs at least 3 producing days."""
STEP_DAY_OUTPUT_SHARE = 0.5
"""Days with less than half the median output (start-ups, part days) are left out of the intensity series."""
STEP_HOUR_OUTPUT_SHARE = 0.5
"""Hours with less than half the median hourly output (shift edges) are left out of the step's size."""
STEP_SHORT_AFTER_DAYS = 5
"""Fewer producing days than this after a step: the finding says its size rests on a short window."""


def daily_energy(frames: PlantFrames, reference: Reference) -> pd.DataFrame:
    """Per local day: tce (GB/T 2589 equivalent value), electricity kWh and output."""
    t = frames.daily_totals
    if t.empty:
        return pd.DataFrame(columns=["tce", "kwh", "output"])
    rows = []
    for day, row in t.iterrows():
        totals = {k: float(v) for k, v in row.items() if pd.notna(v)}
        acc = comprehensive_energy(totals, reference)
        rows.append({"day": day, "tce": acc.tce, "kwh": totals.get("electricity", 0.0),
                     "output": totals.get("output", 0.0)})
    return pd.DataFrame(rows).set_index("day")


def detect_over_quota(frames: PlantFrames, value: Valuation, reference: Reference) -> Finding | None:
    """Unit-product consumption above the quota limit (grade 3): reduction to the limit and to grade 2.

    Same boundary as `enerdiag analyze`: the meters the registry maps to the product when there are any, else
    the site.
    """
    totals = frames.period_totals()
    if not totals:
        return None
    boundary = frames.boundary_totals()
    scoped = {**boundary, "output": totals.get("output", 0.0)} if boundary else totals
    acc = comprehensive_energy(scoped, reference)
    last = frames.end_day - dt.timedelta(days=1)
    result = assess_quota(frames.enterprise.quota_key, acc.tce, acc.output, last, reference)
    if result.status != OVER_QUOTA or result.quota is None or not acc.output:
        return None
    grade2 = float(result.quota.grade_2.value)
    to_limit_tce = float(result.gap_tce or 0.0)
    to_grade2_tce = (float(result.value) - grade2) * acc.output / 1000.0
    share = to_limit_tce / acc.tce if acc.tce else 0.0
    kwh = acc.electricity.used_kwh * share  # electricity part of a proportional reduction
    fields = value.electricity(kwh)
    fields["savings_tce"] = round(to_limit_tce, 3)
    fuel_co2 = 0.0
    for line in acc.lines:
        if line.carrier != "electricity":
            with contextlib.suppress(LookupError):
                fuel_co2 += line.quantity * share * float(reference.fuel_emission_factor(line.carrier).value) / 1000
    fields["savings_co2_t"] = round(fields["savings_co2_t"] + fuel_co2, 3)
    cny, priced, unpriced = value.carriers_cny({ln.carrier: ln.quantity * share for ln in acc.lines})
    fields["savings_cny"] = round(cny, 3)  # every carrier of the reduction, each at its price (see evidence)
    evidence = {
        "period": [frames.first_day.isoformat(), frames.end_day.isoformat()],
        "product": result.product, "standard": result.standard, "edition": result.edition,
        "scope": "process_meters" if boundary else "site",
        "intensity_kgce_per_t": round(float(result.value), 2), "limit_kgce_per_t": result.limit,
        "grade_2_kgce_per_t": grade2, "output_t": round(acc.output, 3), "tce": round(acc.tce, 3),
        "reduction_to_limit_tce": round(to_limit_tce, 3), "reduction_to_grade_2_tce": round(to_grade2_tce, 3),
        "reduction_to_limit_pct": round(100 * share, 2),
        "quota_source": result.quota.source, "quota_confidence": result.quota.confidence,
        "savings_cny_by_carrier": priced,
    }
    return Finding(
        "over_quota", "单位产品能耗超过限额", "Unit-product energy above the quota limit",
        **fields, evidence=evidence,
        recommendation_zh=(f"单位产品综合能耗 {result.value:.1f} kgce/t 高于 {result.standard} "
                           f"限定值 {result.limit:g}：需降低 {to_limit_tce:.1f} tce 才达限额，"
                           f"降低 {to_grade2_tce:.1f} tce 可达 2 级；"
                           "重点：余热回收、窑炉/电机系统节能改造、变频调速。"),
        recommendation_en=(f"{result.value:.1f} kgce/t is above the {result.standard} limit {result.limit:g}: "
                           f"cut {to_limit_tce:.1f} tce to meet the limit, {to_grade2_tce:.1f} tce to reach grade 2; "
                           "waste-heat recovery, kiln/motor-system retrofits, variable-speed drives."),
        severity="high", sources=(*value.sources(), result.quota.source), warnings=unpriced)


def stop_days(frames: PlantFrames, reference: Reference) -> tuple[list[dt.date], pd.DataFrame, bool]:
    """Days expected to produce that did not, the daily table, and 24/7-ness.

    With an output meter a stop is a day with output < 10 % of a normal day's; without one, a day with fewer
    operating hours read from the load profile than 10 % of a normal day's (the table's `output` column then holds
    those hours, not tonnes). A declared shift calendar says when the plant should operate (24/7 or not), not
    whether it did, so its days are still judged on the load profile."""
    days = daily_energy(frames, reference)
    operating = operating_hours(frames)
    refrigeration_out: set[dt.date] = set()
    if operating.source != "output meter" and not days.empty:
        refrigeration_out = refrigeration_outage_days(frames)
        ran = profile_operating(site_load_kwh(frames)) if operating.source == "shift calendar" else operating
        per_day = pd.Series(ran.mask.astype(float)).groupby(frames.table["day"].to_numpy()).sum()
        days = days.assign(output=per_day.reindex(days.index).fillna(0.0).to_numpy())
        if ran.source.endswith("one level"):  # no idle state read from the profile: no stop can be told
            return [], days, True
    if days.empty or days["output"].max() <= 0:
        return [], days, False
    normal = float(days.loc[days["output"] > 0, "output"].median())
    producing = days["output"] >= SHUTDOWN_OUTPUT_SHARE * normal
    continuous = runs_every_day(frames, operating)
    expected = [d for d in days.index if (continuous or workday(d)) and d not in refrigeration_out]
    return [d for d in expected if not producing[d]], days, continuous


REFRIGERATION_OUT_SHARE = 0.5
"""Without an output meter, a day whose cold-store refrigeration used < 50 % of its median day is not judged as a
stop: the load profile of such a day drops with the refrigeration outage (`cold_store_failure` reports it)."""


def refrigeration_outage_days(frames: PlantFrames) -> set[dt.date]:
    """Days on which the `warehouse` electricity meters used less than `REFRIGERATION_OUT_SHARE` of their median day."""
    cold = frames.meters_where(carrier="electricity", role="warehouse")
    if not cold:
        return set()
    kwh = pd.Series(frames.series(cold, "energy_kwh").to_numpy(dtype=float)).groupby(
        frames.table["day"].to_numpy()).sum(min_count=1).dropna()
    if kwh.empty or float(kwh.median()) <= 0:
        return set()
    return set(kwh.index[kwh < REFRIGERATION_OUT_SHARE * float(kwh.median())])


def _runs(days: list[dt.date], continuous: bool) -> list[list[dt.date]]:
    """Group stop days into stops; non-working days in between do not break a stop of a non-24/7 plant."""
    runs: list[list[dt.date]] = []
    for d in sorted(days):
        if runs:
            gap = [runs[-1][-1] + dt.timedelta(days=i) for i in range(1, (d - runs[-1][-1]).days)]
            if not gap or (not continuous and all(not workday(g) for g in gap)):
                runs[-1].append(d)
                continue
        runs.append([d])
    return runs


def detect_shutdowns(frames: PlantFrames, value: Valuation, reference: Reference) -> list[Finding]:
    """Production stops on days the plant should produce, with the standby energy they still used."""
    stops, days, continuous = stop_days(frames, reference)
    metered = not frames.table["output"].isna().all()
    out = []
    for run in _runs(stops, continuous):
        span = [d for d in days.index if run[0] <= d <= run[-1]]  # calendar days of the stop, rest days included
        kwh = float(days.loc[span, "kwh"].sum())
        normal_kwh = float(days.loc[days["output"] > 0, "kwh"].median())
        evidence = {
            "from": run[0].isoformat(), "to": run[-1].isoformat(), "days": len(span),
            "working_days_lost": len(run), "meters": frames.main_electricity_meters(),
            **({"output_t_during": round(float(days.loc[span, "output"].sum()), 3)} if metered else
               {"operating_hours_during": float(days.loc[span, "output"].sum()),
                **operating_hours(frames).evidence()}),
            "main_kwh_per_day_during": round(kwh / len(span), 1),
            "main_kwh_per_normal_day": round(normal_kwh, 1),
            "schedule": "24/7" if continuous else "working days (chinese_calendar)",
        }
        out.append(Finding(
            "shutdown", "生产停机/异常停产", "Production shutdown or abnormal stop",
            **value.electricity(SHUTDOWN_AVOIDABLE_SHARE * kwh), evidence=evidence,
            recommendation_zh=(f"{run[0]} 至 {run[-1]} 在应生产日停产 {len(run)} 天，"
                               f"期间日均仍耗电 {kwh / len(span):.0f} kWh：核实停产原因（设备故障、订单、限电）；"
                               "停产期间执行关断清单，减少待机能耗。"),
            recommendation_en=(f"Production stopped on {len(run)} expected working day(s) {run[0]} to {run[-1]} while "
                               f"{kwh / len(span):.0f} kWh/day was still used: confirm the cause; use a switch-off "
                               "checklist during stops."),
            severity="medium", sources=value.sources()))
    return out


def intensity_series(frames: PlantFrames, reference: Reference) -> pd.Series:
    """Daily kgce per unit of output on normal production days (start-ups and part days left out)."""
    days = daily_energy(frames, reference)
    if days.empty or days["output"].max() <= 0:
        return pd.Series(dtype=float)
    normal = float(days.loc[days["output"] > 0, "output"].median())
    ok = days[days["output"] >= STEP_DAY_OUTPUT_SHARE * normal]
    return ok["tce"] * 1000.0 / ok["output"]


def hourly_tce(frames: PlantFrames, reference: Reference) -> pd.DataFrame:
    """Per hour (index `hour_s`): tce (GB/T 2589 equivalent value) and output, by the same meter rules as days."""
    h = frames.hourly
    if h.empty:
        return pd.DataFrame(columns=["tce", "output"])
    h = h.assign(day=h["hour_s"], **{c: d for c, d in (("estimated", 0.0), ("completeness", 1.0)) if c not in h})
    t = enterprise_daily(h, frames.enterprise)
    wide = t.pivot_table(index="day", columns="carrier", values="value", aggfunc="sum")
    rows = [{"hour_s": int(hour), "tce": comprehensive_energy(
                 {k: float(v) for k, v in row.items() if pd.notna(v)}, reference).tce,
             "output": float(row.get("output", 0.0)) if pd.notna(row.get("output", 0.0)) else 0.0}
            for hour, row in wide.iterrows()]
    return pd.DataFrame(rows).set_index("hour_s")


def production_hour_levels(frames: PlantFrames, reference: Reference, days: pd.Index) -> pd.Series:
    """Per day in `days`: the median kgce/t of its producing hours (a robust intensity level).

    Off-shift energy (a base load, the base-load finding's own subject) and short events inside a day (a demand
    spike, a start-up hour) move a day's total intensity but hardly its median producing hour.
    """
    h = hourly_tce(frames, reference)
    h = h[h["output"] > 0]
    if h.empty:
        return pd.Series(np.nan, index=days)
    h = h[h["output"] >= STEP_HOUR_OUTPUT_SHARE * float(h["output"].median())]
    local = pd.to_datetime(h.index.to_numpy(), unit="s", utc=True).tz_convert(frames.tz)
    level = (h["tce"] * 1000.0 / h["output"]).groupby(np.asarray(local.date)).median()
    return level.reindex(days)


def robust_step_pct(levels: pd.Series, k: int) -> float | None:
    """Step size in % from the robust daily levels: mean level after split `k` over the mean level before."""
    a, b = levels.iloc[:k].dropna(), levels.iloc[k:].dropna()
    if a.empty or b.empty or float(a.mean()) <= 0:
        return None
    return 100 * (float(b.mean()) / float(a.mean()) - 1)


def find_step(series: pd.Series) -> dict[str, float | dt.date] | None:
    """The split of a daily series into before/after with the largest Welch t-statistic (a single step)."""
    v = series.to_numpy(dtype=float)
    n = len(v)
    best: dict[str, float | dt.date] | None = None
    for k in range(STEP_MIN_DAYS, n - STEP_MIN_DAYS + 1):
        a, b = v[:k], v[k:]
        se = np.sqrt(a.var(ddof=1) / len(a) + b.var(ddof=1) / len(b))
        diff = float(b.mean() - a.mean())
        t = diff / se if se > 0 else (0.0 if diff == 0 else float(np.copysign(np.inf, diff)))
        if best is None or abs(t) > abs(float(best["t"])):
            best = {"t": float(t), "at": series.index[k], "before": float(a.mean()), "after": float(b.mean()),
                    "k": k}
    return best


def production_normalised(fit_days: pd.DataFrame, days: pd.DataFrame) -> pd.Series:
    """Expected daily tce of `days` from tce = a + b·output fitted on `fit_days` (ISO 50006 style EnB).

    Falls back to the mean intensity × output when the fit is degenerate (too few days, or a or b negative).
    """
    x, y = fit_days["output"].to_numpy(dtype=float), fit_days["tce"].to_numpy(dtype=float)
    mean_ratio = float(y.sum() / x.sum())
    if len(x) >= 3 and np.ptp(x) > 0:
        b, a = np.polyfit(x, y, 1)
        if a >= 0 and b > 0:
            return a + b * days["output"]
    return mean_ratio * days["output"]


def detect_intensity_step(frames: PlantFrames, value: Valuation, reference: Reference) -> Finding | None:
    """A lasting step increase in energy per unit of output (degradation) against the days before it."""
    series = intensity_series(frames, reference)
    if len(series) < 2 * STEP_MIN_DAYS:
        return None
    step = find_step(series)
    if step is None:
        return None
    before, after, t = float(step["before"]), float(step["after"]), float(step["t"])
    daily_pct = 100 * (after - before) / before
    if daily_pct < STEP_MIN_PCT or t < STEP_MIN_T:
        return None
    k = int(step["k"])
    robust = robust_step_pct(production_hour_levels(frames, reference, series.index), k)
    pct = daily_pct if robust is None else robust
    days = daily_energy(frames, reference)
    at = step["at"]
    after_days = days[days.index >= at]
    expected = production_normalised(days.loc[series.index][series.index < at], after_days)
    excess_tce = float(after_days["tce"].sum() - expected.sum())
    share = excess_tce / float(after_days["tce"].sum()) if float(after_days["tce"].sum()) else 0.0
    kwh = float(after_days["kwh"].sum()) * share
    fields = value.electricity(kwh)
    fields["savings_tce"] = round(excess_tce, 3)
    days_after = len(series) - k
    evidence = {
        "from": at.isoformat() if isinstance(at, dt.date) else str(at),
        "intensity_before_kgce_per_t": round(before, 2), "intensity_after_kgce_per_t": round(after, 2),
        "step_pct": round(pct, 1), "step_pct_daily_totals": round(daily_pct, 1), "t_statistic": round(t, 1),
        "days_before": k, "days_after": days_after,
        "excess_tce_since": round(excess_tce, 3),
        "method": ("step day by maximum Welch t on daily kgce/t of normal production days; step size from the "
                   "median kgce/t of each day's producing hours (robust to off-shift base load and short events), "
                   "mean after over mean before; excess tce against tce = a + b·output fitted on the days before"),
    }
    if days_after < STEP_SHORT_AFTER_DAYS:
        evidence["short_window"] = (f"only {days_after} producing day(s) after the step: its size is an early "
                                    "estimate; confirm with the next days' data")
    short = days_after < STEP_SHORT_AFTER_DAYS
    note_zh = f"；阶跃后仅 {days_after} 个生产日，幅度为初步估计" if short else ""
    note_en = f"; only {days_after} producing day(s) after it, an early estimate" if short else ""
    return Finding(
        "intensity_step", "单位产品能耗阶跃上升", "Step increase in energy intensity",
        **fields, evidence=evidence,
        recommendation_zh=(f"自 {evidence['from']} 起单位产品能耗由 {before:.1f} 升至 {after:.1f} kgce/t"
                           f"（生产时段 +{pct:.0f}%{note_zh}）：检查该日前后的设备故障、保温/密封损坏、"
                           "工艺参数或原料变化，恢复后可节约上述能耗。"),
        recommendation_en=(f"From {evidence['from']} intensity rose from {before:.1f} to {after:.1f} kgce/t "
                           f"(+{pct:.0f} % in producing hours{note_en}): check equipment faults, insulation/seals, "
                           "process settings or raw material changes around that day."),
        severity="high" if pct > 15 else "medium", sources=value.sources())
