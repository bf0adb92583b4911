"""Order verification (订单融资): output in a period against the output an order needs, with method and uncertainty.

Pure. Measured: the output counters' total from `enerdiag analyze` when they cover the period (≥ 90 %).
Otherwise estimated from electricity: the period's kWh over the specific electricity of the twelve
months before (Σ kWh / Σ t of months with output), ± one standard deviation of those months' kWh/t.
Missing data never reads as no production: the estimate needs the period's electricity ≥ 80 % complete,
and a baseline month enters only with electricity and output each ≥ 80 % complete (the credit indicators'
`MONTH_COMPLETE`).
"""

from __future__ import annotations

import math
import statistics
from collections.abc import Mapping, Sequence
from typing import Any, Final

from analytics.result import AnalysisResult
from api.indicators import MONTH_COMPLETE, PERIOD_COMPLETE

MEASURED_COVERAGE: Final = 0.9
"""Output counters must cover this share of the period for the output to count as measured."""
MIN_BASELINE_MONTHS: Final = 3
"""Months with both output and electricity needed to estimate output from electricity."""
DECIMALS: Final = 6


def _r(value: float | None) -> float | None:
    return None if value is None or not math.isfinite(value) else round(value, DECIMALS) + 0.0


def verify_order(period: AnalysisResult, baseline_months: Sequence[Mapping[str, Any]],
                 expected_output_t: float) -> dict[str, Any]:
    """The verification object from the period's `analyze` result and the preceding months' profile entries."""
    coverage = period.completeness.get("output")
    measured = period.output_t
    electricity = period.energy.get("electricity")
    electricity_completeness = period.completeness.get("electricity")
    electricity_ok = electricity is not None and (electricity_completeness or 0.0) >= PERIOD_COMPLETE
    usable = [m for m in baseline_months if _month_usable(m)]
    ratios = [m["energy"]["electricity"] / m["output_t"] for m in usable]
    baseline = {
        "months": [{"month": m["month"], "electricity_kwh": m["energy"]["electricity"], "output_t": m["output_t"],
                    "kwh_per_t": _r(m["energy"]["electricity"] / m["output_t"])} for m in usable],
        "kwh_per_t": _r(sum(m["energy"]["electricity"] for m in usable) / sum(m["output_t"] for m in usable))
        if usable else None,
    }
    if measured is not None and coverage is not None and coverage >= MEASURED_COVERAGE:
        output, method = float(measured), "measured"
        uncertainty = output * (1.0 - float(coverage))  # the part spread across gaps in the counters
    elif len(usable) >= MIN_BASELINE_MONTHS and baseline["kwh_per_t"] and electricity_ok:
        output, method = float(electricity or 0.0) / baseline["kwh_per_t"], "estimated_from_electricity"
        spread = statistics.stdev(ratios) / statistics.fmean(ratios) if len(ratios) >= 2 else 0.0
        uncertainty = output * spread
    else:
        output, method, uncertainty = None, "unavailable", None
    ratio = output / expected_output_t if output is not None else None
    why = []
    if method != "measured":
        why.append(f"output counters cover {coverage or 0.0:.0%} of the period (measured needs "
                   f"≥ {MEASURED_COVERAGE:.0%})")
    if method == "unavailable":
        if not electricity_ok:
            why.append(f"electricity {electricity_completeness or 0.0:.0%} complete in the period (the estimate "
                       f"needs ≥ {PERIOD_COMPLETE:.0%})")
        if len(usable) < MIN_BASELINE_MONTHS:
            why.append(f"{len(usable)} baseline month(s) with output and electricity each ≥ "
                       f"{MONTH_COMPLETE:.0%} complete (the estimate needs {MIN_BASELINE_MONTHS})")
    return {
        "expected_output_t": expected_output_t,
        "method": method,
        "output_t": _r(output),
        "uncertainty_t": _r(uncertainty),
        "ratio_to_expected": _r(ratio),
        "shortfall_t": _r(max(expected_output_t - output, 0.0)) if output is not None else None,
        "evidence": {
            "period": {"from": period.period_from.isoformat(), "to": period.period_to.isoformat()},
            "measured_output_t": measured,
            "output_coverage": coverage,
            "electricity_kwh": electricity,
            "electricity_completeness": electricity_completeness,
            "baseline": baseline,
            "insufficient": why,
            "rules": {"measured_coverage": MEASURED_COVERAGE, "min_baseline_months": MIN_BASELINE_MONTHS,
                      "estimate_electricity_completeness": PERIOD_COMPLETE,
                      "baseline_month_completeness": MONTH_COMPLETE,
                      "uncertainty": "measured: output × (1 − coverage); estimated: output × CV of monthly kWh/t"},
        },
    }


def _month_usable(month: Mapping[str, Any]) -> bool:
    """A baseline month enters the specific electricity with output and electricity, each ≥ `MONTH_COMPLETE`."""
    by_carrier = (month.get("evidence") or {}).get("completeness_by_carrier") or {}
    electricity = (month.get("energy") or {}).get("electricity") or 0
    return ((month.get("output_t") or 0) > 0 and electricity > 0
            and all((by_carrier.get(c) or 0.0) >= MONTH_COMPLETE for c in ("electricity", "output")))
