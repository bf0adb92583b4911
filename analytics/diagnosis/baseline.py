"""Energy baselines per ISO 50006: energy regressed on production (and degree-days), accepted by ASHRAE Guideline 14.

`fit_baseline` fits E = b0 + b1·output (+ b2·HDD + b3·CDD) by least squares on a baseline period, checks the
data-sufficiency rules (CalTRACK-like) and the Guideline 14 calibration criteria for the interval used, and says
why when no baseline is accepted. `cusum` and `savings` apply an accepted model to a reporting period, with the
fractional savings uncertainty of Guideline 14 (as restated in CalTRACK methods §4.3.2).
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from statistics import NormalDist
from typing import Literal

import numpy as np
import pandas as pd

Interval = Literal["monthly", "daily", "hourly"]

CVRMSE_MAX: dict[str, float] = {"monthly": 0.15, "daily": 0.30, "hourly": 0.30}
"""ASHRAE Guideline 14-2014 calibration criteria: CV(RMSE) ≤ 15 % with monthly data, ≤ 30 % with hourly data
(daily uses the hourly limit here). Source: Guideline 14 as summarised in /work/shared/research/anchors.md §1.6
(mepvault.com, calibration_plugin README)."""
NMBE_MAX: dict[str, float] = {"monthly": 0.05, "daily": 0.10, "hourly": 0.10}
"""ASHRAE Guideline 14-2014: |NMBE| ≤ 5 % monthly, ≤ 10 % hourly (same sources)."""
MIN_POINTS: dict[str, int] = {"monthly": 12, "daily": 28, "hourly": 24 * 28}
"""Fewest baseline points: 12 months (a year of a billing baseline, DOE EnPI practice 10-12 points); 4 weeks of
days or hours for short diagnostic baselines (enerdiag rule; CalTRACK asks 365 days for savings claims)."""
MIN_COVERAGE = 0.90
"""CalTRACK 2.2.1.2: at least 90 % of the baseline's days (or hours) must have data."""
CALTRACK_YEAR_DAYS = 329
"""CalTRACK/OpenDSM `MIN_BASELINE_LENGTH = ceil(0.9 × 365)`: a yearly baseline needs 329 days; shorter ones
carry a warning."""
HDD_BASE_C = 18.0
CDD_BASE_C = 24.0
"""Degree-day base temperatures (°C): 18 °C heating is the common Chinese/European base; 24 °C cooling."""
DD_MIN_SHARE = 0.10
"""Degree-days are used only when ≥ 10 % of the baseline's points have non-zero HDD (CDD) (CalTRACK §3.2.2 asks
≥ 10 days with non-zero degree-days per year)."""
CONFIDENCE = 0.90
"""Savings uncertainty is quoted at 90 % confidence (CalTRACK §4.3.2 'usually 90 %')."""
FSU_COEFFICIENTS: dict[str, tuple[float, float, float]] = {
    "monthly": (-0.00022, 0.03306, 0.94054),
    "daily": (-0.00024, 0.03535, 1.00286),
}
"""Sun & Baltazar (2013) correction (a, b, d) of the FSU formula for autocorrelated data (CalTRACK §4.3.2)."""


@dataclass(frozen=True, slots=True)
class Baseline:
    """A fitted baseline model, its fit statistics, and whether Guideline 14 accepts it (with reasons)."""

    interval: str
    variables: tuple[str, ...]
    coefficients: dict[str, float]
    n: int
    cvrmse: float
    nmbe: float
    r2: float
    accepted: bool
    reasons: tuple[str, ...] = ()
    warnings: tuple[str, ...] = ()
    period: tuple[str, str] | None = None
    residual_sd: float = 0.0
    mean_energy: float = 0.0

    def predict(self, drivers: pd.DataFrame) -> pd.Series:
        """Expected energy for the drivers (columns named as `variables`)."""
        y = pd.Series(self.coefficients["intercept"], index=drivers.index, dtype=float)
        for v in self.variables:
            y = y + self.coefficients[v] * drivers[v].astype(float)
        return y

    def as_dict(self) -> dict[str, object]:
        return {"interval": self.interval, "variables": list(self.variables), "coefficients": self.coefficients,
                "n": self.n, "cvrmse": round(self.cvrmse, 4), "nmbe": round(self.nmbe, 4), "r2": round(self.r2, 4),
                "accepted": self.accepted, "reasons": list(self.reasons), "warnings": list(self.warnings),
                "criteria": {"cvrmse_max": CVRMSE_MAX[self.interval], "nmbe_max": NMBE_MAX[self.interval]},
                "period": list(self.period) if self.period else None}


def degree_days(mean_temp_c: pd.Series, hours_per_point: float = 24.0) -> pd.DataFrame:
    """HDD and CDD (°C·day) per point from the points' mean outdoor temperature."""
    scale = hours_per_point / 24.0
    return pd.DataFrame({"hdd": (HDD_BASE_C - mean_temp_c).clip(lower=0) * scale,
                         "cdd": (mean_temp_c - CDD_BASE_C).clip(lower=0) * scale}, index=mean_temp_c.index)


def fit_statistics(actual: np.ndarray, fitted: np.ndarray, n_params: int) -> tuple[float, float, float]:
    """CV(RMSE), NMBE (Guideline 14 definitions, n − p degrees of freedom) and R²."""
    n = len(actual)
    mean = float(actual.mean())
    resid = actual - fitted
    dof = max(1, n - n_params)
    cvrmse = math.sqrt(float((resid**2).sum()) / dof) / mean if mean else math.inf
    nmbe = float(resid.sum()) / (dof * mean) if mean else math.inf
    ss_tot = float(((actual - mean) ** 2).sum())
    r2 = 1 - float((resid**2).sum()) / ss_tot if ss_tot else 0.0
    return cvrmse, nmbe, r2


def fit_baseline(data: pd.DataFrame, interval: Interval = "daily", expected_points: int | None = None,
                 energy: str = "energy", drivers: tuple[str, ...] = ("output",)) -> Baseline:
    """Fit energy on drivers over the baseline rows of `data` (NaN rows are missing points).

    Degree-day columns `hdd`/`cdd` in `drivers` are kept only when they matter (DD_MIN_SHARE). The model is
    accepted only when data sufficiency and Guideline 14's CV(RMSE) and NMBE limits for `interval` are met.
    """
    reasons: list[str] = []
    warnings: list[str] = []
    rows = data.dropna(subset=[energy, *drivers])
    expected = expected_points or len(data)
    coverage = len(rows) / expected if expected else 0.0
    if coverage < MIN_COVERAGE:
        reasons.append(f"only {coverage:.0%} of the baseline points have data (CalTRACK needs ≥ {MIN_COVERAGE:.0%})")
    if len(rows) < MIN_POINTS[interval]:
        reasons.append(f"{len(rows)} {interval} points, fewer than the {MIN_POINTS[interval]} required")
    if interval == "daily" and len(rows) < CALTRACK_YEAR_DAYS:
        warnings.append(f"{len(rows)} days: shorter than CalTRACK's {CALTRACK_YEAR_DAYS}-day yearly baseline, "
                        "so seasons outside the baseline are extrapolated")
    used = [d for d in drivers if d not in ("hdd", "cdd") or (rows[d] > 0).mean() >= DD_MIN_SHARE]
    dropped = sorted(set(drivers) - set(used))
    if dropped:
        warnings.append(f"{', '.join(dropped)} left out: non-zero on fewer than {DD_MIN_SHARE:.0%} of the points")
    if len(rows) <= len(used) + 1:
        return Baseline(interval, tuple(used), {"intercept": 0.0, **dict.fromkeys(used, 0.0)}, len(rows), math.inf,
                        math.inf, 0.0, False, (*reasons, "too few points to fit"), tuple(warnings))
    x = np.column_stack([np.ones(len(rows)), *[rows[d].to_numpy(dtype=float) for d in used]])
    y = rows[energy].to_numpy(dtype=float)
    beta, *_ = np.linalg.lstsq(x, y, rcond=None)
    fitted = x @ beta
    cvrmse, nmbe, r2 = fit_statistics(y, fitted, x.shape[1])
    if cvrmse > CVRMSE_MAX[interval]:
        reasons.append(f"CV(RMSE) {cvrmse:.1%} above ASHRAE Guideline 14's {CVRMSE_MAX[interval]:.0%} ({interval})")
    if abs(nmbe) > NMBE_MAX[interval]:
        reasons.append(f"NMBE {nmbe:.1%} outside ASHRAE Guideline 14's ±{NMBE_MAX[interval]:.0%} ({interval})")
    negative = [d for d, b in zip(used, beta[1:], strict=True) if b < 0]
    if negative:
        reasons.append(f"negative coefficient for {', '.join(negative)} (energy cannot fall as the driver grows)")
    coefficients = {"intercept": float(beta[0]), **{d: float(b) for d, b in zip(used, beta[1:], strict=True)}}
    period = (str(rows.index[0]), str(rows.index[-1])) if len(rows) else None
    resid_sd = math.sqrt(float(((y - fitted) ** 2).sum()) / max(1, len(y) - x.shape[1]))
    return Baseline(interval, tuple(used), coefficients, len(rows), cvrmse, nmbe, r2, not reasons, tuple(reasons),
                    tuple(warnings), period, resid_sd, float(y.mean()))


def cusum(model: Baseline, data: pd.DataFrame, energy: str = "energy") -> pd.DataFrame:
    """Per point: actual, expected, difference (actual − expected: + is waste) and its running sum (CUSUM)."""
    rows = data.dropna(subset=[energy, *model.variables])
    expected = model.predict(rows)
    diff = rows[energy].astype(float) - expected
    return pd.DataFrame({"actual": rows[energy].astype(float), "expected": expected, "difference": diff,
                         "cusum": diff.cumsum()})


@dataclass(frozen=True, slots=True)
class Savings:
    """Savings (+) or waste (−) over a reporting period against an accepted baseline, with its uncertainty."""

    expected: float
    actual: float
    savings: float
    fraction: float
    uncertainty: float  # absolute, at CONFIDENCE
    fsu: float  # fractional savings uncertainty (uncertainty / |savings|)
    confidence: float = CONFIDENCE
    notes: tuple[str, ...] = field(default_factory=tuple)


def t_quantile(p: float, dof: int) -> float:
    """Student t quantile by the Cornish-Fisher expansion (error < 0.5 % for dof ≥ 5; no SciPy needed)."""
    z = NormalDist().inv_cdf(p)
    v = float(dof)
    return (z + (z**3 + z) / (4 * v) + (5 * z**5 + 16 * z**3 + 3 * z) / (96 * v**2)
            + (3 * z**7 + 19 * z**5 + 17 * z**3 - 15 * z) / (384 * v**3))


def fractional_savings_uncertainty(cvrmse: float, n_baseline: int, m_reporting: int, fraction: float,
                                   interval: Interval = "daily", n_params: int = 2,
                                   confidence: float = CONFIDENCE) -> float:
    """ASHRAE Guideline 14 FSU = t·(aM² + bM + d)·CV(RMSE)·√((n/n′)(1 + 2/n′)(1/m)) / F (CalTRACK §4.3.2).

    n′ is taken as n (no autocorrelation correction beyond the polynomial); M = reporting months; the
    polynomial applies to monthly and daily data (1 for hourly).
    """
    if fraction == 0:
        return math.inf
    t = t_quantile(0.5 + confidence / 2, max(1, n_baseline - n_params))
    months = m_reporting if interval == "monthly" else m_reporting / (30.4375 if interval == "daily" else 730.5)
    a, b, d = FSU_COEFFICIENTS.get(interval, (0.0, 0.0, 1.0))
    poly = a * months**2 + b * months + d
    n = n_baseline
    return t * poly * cvrmse * math.sqrt((n / n) * (1 + 2 / n) * (1 / m_reporting)) / abs(fraction)


def savings(model: Baseline, reporting: pd.DataFrame, energy: str = "energy") -> Savings:
    """Avoided energy = Σ expected − Σ actual over the reporting rows, with its 90 % uncertainty."""
    c = cusum(model, reporting, energy)
    exp_total, act_total = float(c["expected"].sum()), float(c["actual"].sum())
    saved = exp_total - act_total
    fraction = saved / exp_total if exp_total else 0.0
    notes: list[str] = []
    if not model.accepted:
        notes.append("baseline not accepted: " + "; ".join(model.reasons))
    fsu = fractional_savings_uncertainty(model.cvrmse, model.n, len(c), fraction, model.interval,  # type: ignore[arg-type]
                                         1 + len(model.variables))
    return Savings(exp_total, act_total, saved, fraction, abs(saved) * fsu if math.isfinite(fsu) else math.inf, fsu,
                   notes=tuple(notes))
