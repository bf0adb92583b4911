"""Data-quality findings: missing data, flat lines and counter roll-backs/resets that weaken the other figures."""

from __future__ import annotations

import numpy as np

from analytics.diagnosis.finding import Finding, Valuation
from analytics.diagnosis.frames import PlantFrames

MIN_COMPLETENESS = 0.90
"""Below 90 % measured coverage a counter's figures are flagged (CalTRACK: ≥ 90 % of hours present per month)."""
FLAT_LINE_HOURS = 24
"""A main electricity counter that does not move for 24 h or more while the site's other meters do is stuck;
any counter that does not move in the whole period while others do is dead (sub-meters of batch loads may rest
over a weekend, so they are not held to the 24 h rule)."""


def _longest_zero_run(values: np.ndarray) -> int:
    best = run = 0
    for v in values:
        run = run + 1 if v == 0 else 0
        best = max(best, run)
    return best


def detect_data_quality(frames: PlantFrames, value: Valuation) -> Finding | None:
    """Counters with missing hours, flat lines or flagged anomalies (reset, wrap, roll-back, jumps)."""
    h = frames.hourly
    n_hours = len(frames.hour_grid)
    problems: list[dict[str, object]] = []
    active_hours = set(h.loc[h["value"] > 0, "hour_s"].tolist())
    mains = set(frames.main_electricity_meters())
    for (meter, quantity), rows in h.groupby(["meter", "quantity"]):
        completeness = float(rows["completeness"].sum()) / n_hours if "completeness" in rows else len(rows) / n_hours
        anomalies = int(rows["anomalies"].sum()) if "anomalies" in rows else 0
        series = rows.set_index("hour_s")["value"].reindex(frames.hour_grid, fill_value=0.0).to_numpy()
        others_move = np.array([hh in active_hours for hh in frames.hour_grid])
        flat = 0
        if quantity == "energy_kwh" and meter in mains:
            flat = _longest_zero_run(np.where(others_move, series, 1.0))
        elif not series.any() and others_move.any():
            flat = n_hours  # a counter that never moved in the period while others did: dead or disconnected
        issue: dict[str, object] = {}
        if completeness < MIN_COMPLETENESS:
            issue["completeness"] = round(completeness, 3)
        if anomalies:
            issue["anomalies"] = anomalies
        if flat >= FLAT_LINE_HOURS:
            issue["flat_hours"] = int(flat)
        if issue:
            problems.append({"meter": meter, "quantity": quantity, **issue})
    if not problems:
        return None
    return Finding(
        "data_quality", "数据质量问题", "Data-quality problems",
        **value.electricity(0.0),
        evidence={"period": [frames.first_day.isoformat(), frames.end_day.isoformat()], "counters": problems,
                  "min_completeness": MIN_COMPLETENESS, "flat_line_hours": FLAT_LINE_HOURS},
        recommendation_zh="检查采集网关通信、表计接线与倍率；缺测或异常时段的结论可信度降低，基线不使用这些时段。",
        recommendation_en="Check gateway links, meter wiring and multipliers; figures over the affected hours are "
                          "weaker and baselines leave them out.",
        severity="medium", sources=())
