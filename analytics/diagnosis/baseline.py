"""Energy baselines per ISO 50006: energy regressed on production (and degree-days), judged by ASHRAE Guideline 14.

`fit_baseline` fits E = b0 + b1·output (+ b2·HDD + b3·CDD) by least squares on a baseline period and accepts it
by the rule of docs/diagnosis.md "Acceptance" (`ACCEPTANCE_RULE`): data sufficiency (CalTRACK 2.2.1.2), no
negative coefficient (CalTRACK 3.4.3.2), CV(RMSE) ≤ 100 % (CalTRACK 4.3.2.1) and an out-of-sample bias test
(blocked cross-validation NMBE within Guideline 14's NMBE tolerance); it says why when no baseline is accepted.
Guideline 14's regression-baseline CV(RMSE) limits apply to savings claimed *without* an uncertainty analysis, so
here they are warnings: every savings figure carries its Guideline 14 Annex B uncertainty, with the effective
sample size n′ = n(1 − ρ)/(1 + ρ) from the residuals' lag-1 autocorrelation, and says whether it meets
Guideline 14's "uncertainty < 50 % of the savings at 68 % confidence". `cusum` and `savings` apply an accepted
model to a reporting period.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from statistics import NormalDist
from typing import Literal

import numpy as np
import pandas as pd

Interval = Literal["monthly", "daily", "hourly"]

CVRMSE_MAX = 1.00
"""Hard limit on a baseline's CV(RMSE): 100 %, CalTRACK 2.0 §4.3.2.1's default building-level threshold (CalTRACK
accepts daily baselines on data sufficiency alone and recommends this threshold where portfolio confidence
matters). Above it the model explains less than its own noise and no savings figure from it is meaningful."""
GUIDELINE_14_CVRMSE: tuple[tuple[float, float], ...] = ((12.0, 0.20), (60.0, 0.25), (math.inf, 0.30))
"""ASHRAE Guideline 14-2014 whole-building (regression) baseline, savings computed *without* an uncertainty
analysis: CV(RMSE) ≤ 20 % with fewer than 12 months of reporting data, ≤ 25 % with 12-60 months, ≤ 30 % beyond
(energy; demand 30/35/40 %): the compliance requirements of Guideline 14's whole-building approach as practitioners
restate them; the clause text was not read here (confidence: unverified).
The 15 % monthly / 30 % hourly limits previously used here are Guideline 14's *calibrated-simulation* criteria."""
NMBE_CV_MAX: dict[str, float] = {"monthly": 0.05, "daily": 0.10, "hourly": 0.10}
"""Out-of-sample bias limit: |NMBE| of blocked cross-validation predictions ≤ 5 % monthly, 10 % daily/hourly.
Guideline 14 states NMBE tolerances only for calibrated simulation (±5 % monthly, ±10 % hourly), which is itself
a comparison of a model with data it was not fitted to; for a regression the in-sample NMBE (its 'net
determination bias', ≤ 0.005 % in Guideline 14) is ≈ 0 by construction and tests only the arithmetic, so the
tolerance is applied to the cross-validated predictions instead (enerdiag rule)."""
CV_FOLDS = 5
"""Blocked (contiguous) folds for the bias test: each fold is predicted by the model fitted on the other four, so
a baseline whose level drifts, or whose fit hangs on a few days, shows a bias."""
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
GUIDELINE_14_CONFIDENCE = 0.68
GUIDELINE_14_FSU_MAX = 0.50
"""Guideline 14's savings criterion: the savings uncertainty must be below 50 % of the savings at 68 % confidence
(quoted from Guideline 14 in anchors.md §1.6; confidence: reported)."""
FSU_COEFFICIENTS: dict[str, tuple[float, float, float]] = {
    "monthly": (-0.00022, 0.03306, 0.94054),
    "daily": (-0.00024, 0.03535, 1.00286),
}
"""Sun & Baltazar (2013) correction (a, b, d) of the FSU formula for autocorrelated data (CalTRACK §4.3.2.4.6)."""
ACCEPTANCE_RULE = ("accepted when ≥ 90 % of the baseline points have data and there are enough of them "
                   "(CalTRACK 2.2.1.2), no coefficient is negative (CalTRACK 3.4.3.2), CV(RMSE) ≤ 100 % (CalTRACK "
                   "4.3.2.1) and the cross-validated NMBE is within Guideline 14's NMBE tolerance; Guideline 14's "
                   "20/25/30 % CV(RMSE) limits are replaced, as Guideline 14 allows, by its savings-uncertainty test "
                   "(< 50 % of the savings at 68 % confidence, Annex B with autocorrelation)")
"""The rule in one sentence, carried by every baseline's `as_dict()` and printed in the report."""
ACCEPTANCE_RULE_ZH = ("采用条件：基线期 ≥ 90 % 的数据点有数据且点数足够（CalTRACK 2.2.1.2），系数均非负（CalTRACK "
                      "3.4.3.2），CV(RMSE) ≤ 100 %（CalTRACK 4.3.2.1），交叉验证 NMBE 在 Guideline 14 容差内；"
                      "Guideline 14 的 20/25/30 % CV(RMSE) 限值按其允许改用节能量不确定度检验（68 % 置信度下"
                      "不确定度 < 节能量的 50 %，附录 B，计自相关）")


def guideline_14_cvrmse_limit(reporting_months: float) -> float:
    """Guideline 14's CV(RMSE) limit for savings claimed without an uncertainty analysis, by reporting months."""
    return next(limit for months, limit in GUIDELINE_14_CVRMSE if reporting_months < months)


@dataclass(frozen=True, slots=True)
class Baseline:
    """A fitted baseline model, its fit statistics, and whether it is accepted (with reasons, English and Chinese).

    `nmbe` is the in-sample NMBE (Guideline 14's definition; ≈ 0 for least squares with an intercept), `nmbe_cv`
    the out-of-sample one that the bias test uses (None when too few points to cross-validate), `rho` the lag-1
    autocorrelation of the residuals in time order (the effective sample size of the savings uncertainty).
    """

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
    nmbe_cv: float | None = None
    rho: float = 0.0
    reasons_zh: tuple[str, ...] = ()

    @property
    def n_effective(self) -> float:
        """n′ = n(1 − ρ)/(1 + ρ) (Guideline 14 Annex B), ρ floored at 0: never more than n independent points."""
        return effective_sample_size(self.n, self.rho)

    def predict(self, drivers: pd.DataFrame) -> pd.Series:
        """Expected energy for the drivers (columns named as `variables`)."""
        y = pd.Series(self.coefficients["intercept"], index=drivers.index, dtype=float)
        for v in self.variables:
            y = y + self.coefficients[v] * drivers[v].astype(float)
        return y

    def as_dict(self) -> dict[str, object]:
        return {"interval": self.interval, "variables": list(self.variables), "coefficients": self.coefficients,
                "n": self.n, "cvrmse": round(self.cvrmse, 4), "nmbe": round(self.nmbe, 4),
                "nmbe_cv": None if self.nmbe_cv is None else round(self.nmbe_cv, 4), "r2": round(self.r2, 4),
                "rho": round(self.rho, 4), "n_effective": round(self.n_effective, 1),
                "accepted": self.accepted, "reasons": list(self.reasons), "reasons_zh": list(self.reasons_zh),
                "warnings": list(self.warnings),
                "criteria": {"cvrmse_max": CVRMSE_MAX, "cvrmse_max_source": "CalTRACK 2.0 §4.3.2.1",
                             "nmbe_cv_max": NMBE_CV_MAX[self.interval], "cv_folds": CV_FOLDS,
                             "guideline_14_cvrmse_without_uncertainty": [
                                 {"reporting_months_below": None if math.isinf(m) else m, "cvrmse_max": v}
                                 for m, v in GUIDELINE_14_CVRMSE],
                             "guideline_14_fsu_max": GUIDELINE_14_FSU_MAX,
                             "guideline_14_confidence": GUIDELINE_14_CONFIDENCE,
                             "rule": ACCEPTANCE_RULE, "rule_zh": ACCEPTANCE_RULE_ZH},
                "period": list(self.period) if self.period else None}


def effective_sample_size(n: int, rho: float) -> float:
    """n′ = n(1 − ρ)/(1 + ρ) with ρ the residuals' lag-1 autocorrelation (Guideline 14 Annex B; CalTRACK
    4.3.2.4 P′). ρ < 0 is floored at 0 (enerdiag: a weekly pattern can make daily residuals alternate, which
    must not claim more than n independent points); ρ is capped at 0.99 and n′ at least 1."""
    r = min(max(rho, 0.0), 0.99)
    return max(1.0, n * (1 - r) / (1 + r))


def lag1_autocorrelation(residuals: np.ndarray) -> float:
    """Lag-1 autocorrelation of residuals in time order (0 when undefined)."""
    if len(residuals) < 3:
        return 0.0
    a, b = residuals[:-1], residuals[1:]
    if np.std(a) == 0 or np.std(b) == 0:
        return 0.0
    return float(np.corrcoef(a, b)[0, 1])


def cross_validated_nmbe(x: np.ndarray, y: np.ndarray, folds: int = CV_FOLDS) -> float | None:
    """NMBE of blocked k-fold predictions: Σ(y − ŷ_out-of-fold)/(n·ȳ), each contiguous block predicted by the least
    squares fit on the others (None when a training set would not leave a degree of freedom)."""
    n, p = x.shape
    if n < folds * 2 or n - math.ceil(n / folds) <= p or not y.mean():
        return None
    predicted = np.empty(n)
    for block in np.array_split(np.arange(n), folds):
        train = np.ones(n, dtype=bool)
        train[block] = False
        beta, *_ = np.linalg.lstsq(x[train], y[train], rcond=None)
        predicted[block] = x[block] @ beta
    return float((y - predicted).sum() / (n * y.mean()))


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
    """Fit energy on drivers over the baseline rows of `data` (NaN rows are missing points; rows in time order).

    Degree-day columns `hdd`/`cdd` in `drivers` are kept only when they matter (DD_MIN_SHARE). The model is
    accepted by `ACCEPTANCE_RULE`; each failed condition is a reason (English and Chinese).
    """
    reasons: list[tuple[str, str]] = []
    warnings: list[str] = []
    rows = data.dropna(subset=[energy, *drivers])
    expected = expected_points or len(data)
    coverage = len(rows) / expected if expected else 0.0
    if coverage < MIN_COVERAGE:
        reasons.append((f"only {coverage:.0%} of the baseline points have data (CalTRACK needs ≥ {MIN_COVERAGE:.0%})",
                        f"基线期仅 {coverage:.0%} 的数据点有数据（CalTRACK 要求 ≥ {MIN_COVERAGE:.0%}）"))
    if len(rows) < MIN_POINTS[interval]:
        reasons.append((f"{len(rows)} {interval} points, fewer than the {MIN_POINTS[interval]} required",
                        f"仅 {len(rows)} 个数据点，少于所需的 {MIN_POINTS[interval]} 个"))
    if interval == "daily" and len(rows) < CALTRACK_YEAR_DAYS:
        warnings.append(f"{len(rows)} days: shorter than CalTRACK's {CALTRACK_YEAR_DAYS}-day yearly baseline, "
                        "so seasons outside the baseline are extrapolated")
    used = [d for d in drivers if d not in ("hdd", "cdd") or (rows[d] > 0).mean() >= DD_MIN_SHARE]
    dropped = sorted(set(drivers) - set(used))
    if dropped:
        warnings.append(f"{', '.join(dropped)} left out: non-zero on fewer than {DD_MIN_SHARE:.0%} of the points")
    if len(rows) <= len(used) + 1:
        reasons.append(("too few points to fit", "数据点过少，无法拟合"))
        return Baseline(interval, tuple(used), {"intercept": 0.0, **dict.fromkeys(used, 0.0)}, len(rows), math.inf,
                        math.inf, 0.0, False, tuple(r[0] for r in reasons), tuple(warnings),
                        reasons_zh=tuple(r[1] for r in reasons))
    x = np.column_stack([np.ones(len(rows)), *[rows[d].to_numpy(dtype=float) for d in used]])
    y = rows[energy].to_numpy(dtype=float)
    beta, *_ = np.linalg.lstsq(x, y, rcond=None)
    fitted = x @ beta
    cvrmse, nmbe, r2 = fit_statistics(y, fitted, x.shape[1])
    nmbe_cv = cross_validated_nmbe(x, y)
    if cvrmse > CVRMSE_MAX:
        reasons.append((f"CV(RMSE) {cvrmse:.1%} above {CVRMSE_MAX:.0%} (CalTRACK 4.3.2.1): the model explains less "
                        "than its own noise",
                        f"CV(RMSE) {cvrmse:.1%} 超过 {CVRMSE_MAX:.0%}（CalTRACK 4.3.2.1）：模型误差大于其解释的变化"))
    elif cvrmse > GUIDELINE_14_CVRMSE[0][1]:
        warnings.append(f"CV(RMSE) {cvrmse:.1%} above Guideline 14's {GUIDELINE_14_CVRMSE[0][1]:.0%} for savings "
                        "without an uncertainty analysis: savings count only where their uncertainty meets Guideline "
                        f"14 (< {GUIDELINE_14_FSU_MAX:.0%} at {GUIDELINE_14_CONFIDENCE:.0%} confidence)")
    if nmbe_cv is not None and abs(nmbe_cv) > NMBE_CV_MAX[interval]:
        reasons.append((f"cross-validated NMBE {nmbe_cv:+.1%} outside ±{NMBE_CV_MAX[interval]:.0%} ({CV_FOLDS} "
                        "contiguous folds): the model is biased on days it was not fitted to",
                        f"交叉验证 NMBE {nmbe_cv:+.1%} 超出 ±{NMBE_CV_MAX[interval]:.0%}（{CV_FOLDS} 段连续分组）："
                        "模型对未参与拟合的数据有系统偏差"))
    negative = [d for d, b in zip(used, beta[1:], strict=True) if b < 0]
    if negative:
        reasons.append((f"negative coefficient for {', '.join(negative)} (energy cannot fall as the driver grows)",
                        f"{', '.join(negative)} 的系数为负（能耗不应随驱动变量增加而下降）"))
    coefficients = {"intercept": float(beta[0]), **{d: float(b) for d, b in zip(used, beta[1:], strict=True)}}
    period = (str(rows.index[0]), str(rows.index[-1])) if len(rows) else None
    resid_sd = math.sqrt(float(((y - fitted) ** 2).sum()) / max(1, len(y) - x.shape[1]))
    return Baseline(interval, tuple(used), coefficients, len(rows), cvrmse, nmbe, r2, not reasons,
                    tuple(r[0] for r in reasons), tuple(warnings), period, resid_sd, float(y.mean()), nmbe_cv,
                    lag1_autocorrelation(y - fitted), tuple(r[1] for r in reasons))


def cusum(model: Baseline, data: pd.DataFrame, energy: str = "energy") -> pd.DataFrame:
    """Per point: actual, expected, difference (actual − expected: + is waste) and its running sum (CUSUM)."""
    rows = data.dropna(subset=[energy, *model.variables])
    expected = model.predict(rows)
    diff = rows[energy].astype(float) - expected
    return pd.DataFrame({"actual": rows[energy].astype(float), "expected": expected, "difference": diff,
                         "cusum": diff.cumsum()})


@dataclass(frozen=True, slots=True)
class Savings:
    """Savings (+) or waste (−) over a reporting period against an accepted baseline, with its uncertainty.

    `fsu_68` is the fractional savings uncertainty at Guideline 14's 68 % confidence and `meets_guideline_14`
    whether it is below `GUIDELINE_14_FSU_MAX` (the savings are distinguishable from the model's noise).
    """

    expected: float
    actual: float
    savings: float
    fraction: float
    uncertainty: float  # absolute, at CONFIDENCE
    fsu: float  # fractional savings uncertainty (uncertainty / |savings|)
    confidence: float = CONFIDENCE
    notes: tuple[str, ...] = field(default_factory=tuple)
    fsu_68: float = math.inf
    meets_guideline_14: bool = False
    n_effective: float = 0.0


def t_quantile(p: float, dof: int) -> float:
    """Student t quantile by the Cornish-Fisher expansion (error < 0.5 % for dof ≥ 5; no SciPy needed)."""
    z = NormalDist().inv_cdf(p)
    v = float(dof)
    return (z + (z**3 + z) / (4 * v) + (5 * z**5 + 16 * z**3 + 3 * z) / (96 * v**2)
            + (3 * z**7 + 19 * z**5 + 17 * z**3 - 15 * z) / (384 * v**3))


def fractional_savings_uncertainty(cvrmse: float, n_baseline: int, m_reporting: int, fraction: float,
                                   interval: Interval = "daily", n_params: int = 2,
                                   confidence: float = CONFIDENCE, rho: float = 0.0) -> float:
    """FSU = t·(aM² + bM + d)·CV(RMSE)·√((n/n′)(1 + 2/n′)(1/m)) / F: Guideline 14 Annex B with the Sun & Baltazar
    polynomial (CalTRACK 2.0 §4.3.2.4).

    n′ = n(1 − ρ)/(1 + ρ) from the baseline residuals' lag-1 autocorrelation `rho` (`effective_sample_size`); t
    two-sided at `confidence` with n − p degrees of freedom; M = reporting months; the polynomial applies to
    monthly and daily data (1 for hourly).
    """
    if fraction == 0:
        return math.inf
    t = t_quantile(0.5 + confidence / 2, max(1, n_baseline - n_params))
    months = m_reporting if interval == "monthly" else m_reporting / (30.4375 if interval == "daily" else 730.5)
    a, b, d = FSU_COEFFICIENTS.get(interval, (0.0, 0.0, 1.0))
    poly = a * months**2 + b * months + d
    n = n_baseline
    n_eff = effective_sample_size(n, rho)
    return t * poly * cvrmse * math.sqrt((n / n_eff) * (1 + 2 / n_eff) * (1 / m_reporting)) / abs(fraction)


def savings(model: Baseline, reporting: pd.DataFrame, energy: str = "energy") -> Savings:
    """Avoided energy = Σ expected − Σ actual over the reporting rows, with its 90 % uncertainty and Guideline 14's
    68 % test."""
    c = cusum(model, reporting, energy)
    exp_total, act_total = float(c["expected"].sum()), float(c["actual"].sum())
    saved = exp_total - act_total
    fraction = saved / exp_total if exp_total else 0.0
    notes: list[str] = []
    if not model.accepted:
        notes.append("baseline not accepted: " + "; ".join(model.reasons))
    interval: Interval = model.interval  # type: ignore[assignment]
    args = (model.cvrmse, model.n, len(c), fraction, interval, 1 + len(model.variables))
    fsu = fractional_savings_uncertainty(*args, rho=model.rho)
    fsu_68 = fractional_savings_uncertainty(*args, confidence=GUIDELINE_14_CONFIDENCE, rho=model.rho)
    meets = math.isfinite(fsu_68) and fsu_68 < GUIDELINE_14_FSU_MAX
    if not meets:
        notes.append(f"savings uncertainty {fsu_68:.0%} of the savings at {GUIDELINE_14_CONFIDENCE:.0%} confidence: "
                     f"not below Guideline 14's {GUIDELINE_14_FSU_MAX:.0%}, so the savings are within the model's "
                     "noise")
    months = len(c) if interval == "monthly" else len(c) / (30.4375 if interval == "daily" else 730.5)
    if model.cvrmse > guideline_14_cvrmse_limit(months):
        notes.append(f"CV(RMSE) {model.cvrmse:.1%} above Guideline 14's {guideline_14_cvrmse_limit(months):.0%} for "
                     f"{months:.0f} reporting month(s): the savings stand only with the uncertainty test above")
    return Savings(exp_total, act_total, saved, fraction, abs(saved) * fsu if math.isfinite(fsu) else math.inf, fsu,
                   notes=tuple(notes), fsu_68=fsu_68, meets_guideline_14=meets, n_effective=model.n_effective)
