"""Measured and verified savings of one retrofit project (pure): IPMVP Option C/B, GB/T 28750, Guideline 14.

Avoided energy = adjusted baseline − metered use over the reporting period, where the adjusted baseline is the
baseline model (fitted on the baseline period's days with `fit_weather_baseline`: production and, where they
help, degree-days at searched balance points; accepted by `ACCEPTANCE_RULE`) applied to the reporting period's
production and weather, plus the non-routine adjustments. Per calendar month and cumulatively, with the
uncertainty of the adjusted baseline's sum at 68 % and 90 % (`prediction_uncertainty`). A baseline that is not
accepted gives no savings: the reasons and what would fix them instead. docs/savings.md explains every rule.
"""

from __future__ import annotations

import datetime as dt
import math
from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from typing import Any

import numpy as np
import pandas as pd

from analytics.calendar import month_start, next_month
from analytics.diagnosis.baseline import (
    CONFIDENCE,
    GUIDELINE_14_CONFIDENCE,
    GUIDELINE_14_FSU_MAX,
    MIN_COVERAGE,
    MIN_POINTS,
    Baseline,
    effective_sample_size,
    fit_baseline,
    t_quantile,
)
from analytics.diagnosis.weather_baseline import WeatherUse, degree_day_drivers, fit_weather_baseline
from analytics.savings.project import RetrofitProject
from analytics.savings.value import CarrierValue, worth

MONTH_MIN_COVERAGE = MIN_COVERAGE
"""A reporting month is verified only when ≥ 90 % of its reporting days can be compared (metered, predictable,
not excluded): CalTRACK 2.2.1.2's sufficiency rule applied to each reporting month (enerdiag rule)."""
NORMALISED_MIN_DAYS = 180
"""Normalised savings need a reporting-period model fitted on at least half a year of days (enerdiag rule)."""
YEAR_DAYS = 365.25
DECIMALS = 3
UNCERTAINTY_METHOD = (
    "ASHRAE Guideline 14-2014 Annex B: uncertainty of the adjusted baseline's sum over the m compared days, "
    "t·σ·√((n/n′)·(m + aᵀ(XᵀX)⁻¹a)) with σ the baseline's residual standard error, n′ = n(1 − ρ)/(1 + ρ) from the "
    "lag-1 autocorrelation of its residuals, X the baseline design matrix and a the sum of the reporting days' "
    "driver rows (the exact least-squares form; the shortcut FSU = 1.26·t·CV·√((n/n′)(1 + 2/n′)/m)/F leaves out "
    "the extrapolated coefficients' error, which over a year of reporting is as large as the day-to-day noise); "
    "t two-sided with n − p degrees of freedom; meter and adjustment uncertainty not included")


def _r(x: float | None) -> float | None:
    return None if x is None or not math.isfinite(x) else round(float(x), DECIMALS) + 0.0


@dataclass(frozen=True, slots=True)
class Uncertainty:
    """± of an avoided-energy figure at 68 % and 90 % confidence (boundary unit)."""

    u68: float
    u90: float


def prediction_uncertainty(model: Baseline, design: np.ndarray, reporting_rows: np.ndarray) -> Uncertainty:
    """The uncertainty of Σ model predictions over `reporting_rows` (each a row [1, drivers…]); `design` is the
    baseline's design matrix X (the rows it was fitted on)."""
    m = len(reporting_rows)
    n, p = design.shape
    if m == 0 or n <= p:
        return Uncertainty(math.nan, math.nan)
    a = reporting_rows.sum(axis=0)
    leverage = float(a @ np.linalg.pinv(design.T @ design) @ a)
    inflation = n / effective_sample_size(n, model.rho)
    sd = model.residual_sd * math.sqrt(inflation * (m + leverage))
    dof = max(1, n - p)
    return Uncertainty(t_quantile(0.5 + GUIDELINE_14_CONFIDENCE / 2, dof) * sd,
                       t_quantile(0.5 + CONFIDENCE / 2, dof) * sd)


@dataclass(frozen=True, slots=True)
class Period:
    """Adjusted baseline, metered use and avoided energy over a set of compared days (a month, or to date)."""

    label: str
    first: dt.date
    last: dt.date
    days: int  # reporting days in the period
    days_used: int  # days compared (metered, predictable, not excluded)
    baseline: float | None
    adjustment: float | None  # non-routine adjustments inside `baseline`
    actual: float | None  # metered use on the compared days
    avoided: float | None
    uncertainty: Uncertainty | None
    tce: float | None = None
    tco2: float | None = None
    cny: float | None = None
    reason: str | None = None
    cumulative: float | None = None
    cumulative_u90: float | None = None

    @property
    def coverage(self) -> float:
        return self.days_used / self.days if self.days else 0.0

    def to_json(self, unit: str) -> dict[str, Any]:
        u = unit.lower()
        out: dict[str, Any] = {
            "month": self.label, "days": self.days, "days_used": self.days_used, "coverage": round(self.coverage, 4),
            f"baseline_{u}": _r(self.baseline), f"adjustment_{u}": _r(self.adjustment),
            f"actual_{u}": _r(self.actual), f"avoided_{u}": _r(self.avoided),
            f"uncertainty_{u}_68": _r(self.uncertainty.u68) if self.uncertainty else None,
            f"uncertainty_{u}_90": _r(self.uncertainty.u90) if self.uncertainty else None,
            "avoided_tce": _r(self.tce), "avoided_tco2": _r(self.tco2), "avoided_cny": _r(self.cny),
            f"cumulative_avoided_{u}": _r(self.cumulative), f"cumulative_uncertainty_{u}_90": _r(self.cumulative_u90),
        }
        if self.reason:
            out["reason"] = self.reason
        return out


@dataclass(frozen=True, slots=True)
class Normalised:
    """Savings under fixed conditions (IPMVP normalised savings): both periods' models on the same year."""

    per_year: float | None
    conditions: str
    reason: str | None = None
    reporting_model: dict[str, Any] | None = None

    def to_json(self, unit: str) -> dict[str, Any]:
        return {f"savings_{unit.lower()}_per_year": _r(self.per_year), "conditions": self.conditions,
                "reason": self.reason, "reporting_model": self.reporting_model}


@dataclass(frozen=True, slots=True)
class Verification:
    """The verified savings of one project up to a month: typed, validated on construction, `to_json()`."""

    project: RetrofitProject
    model: Baseline
    weather: WeatherUse | None
    reporting_to: dt.date
    months: tuple[Period, ...]
    total: Period | None
    fixes: tuple[str, ...] = ()
    normalised: Normalised | None = None
    expected_to_date: float | None = None
    values: Mapping[int, Mapping[str, CarrierValue]] = field(default_factory=dict)
    allocation: Mapping[str, float] = field(default_factory=dict)  # tce share per carrier (tce boundaries)
    warnings: tuple[str, ...] = ()

    def __post_init__(self) -> None:
        if not self.model.accepted and self.total is not None and self.total.avoided is not None:
            raise ValueError("savings of a baseline that is not accepted")
        if self.total is not None and self.months and self.total.days != sum(p.days for p in self.months):
            raise ValueError("total days differ from the months' days")

    @property
    def accepted(self) -> bool:
        return self.model.accepted

    @property
    def unit(self) -> str:
        return self.project.unit

    @property
    def share_of_expected(self) -> float | None:
        """Cumulative verified savings / expected savings to date (None without an expectation or savings)."""
        if self.total is None or self.total.avoided is None or not self.expected_to_date:
            return None
        return self.total.avoided / self.expected_to_date

    def to_json(self) -> dict[str, Any]:
        u = self.unit.lower()
        m = self.model
        total = self.total
        baseline = {"from": self.project.baseline_from.isoformat(), "to": self.project.baseline_to.isoformat(),
                    "model": _model_text(m, self.weather), "accepted": m.accepted,
                    "cv_rmse": _r(m.cvrmse), "nmbe_cv": _r(m.nmbe_cv), "r2": _r(m.r2), "n": m.n,
                    "n_effective": _r(m.n_effective), "reasons": list(m.reasons), "reasons_zh": list(m.reasons_zh),
                    "fixes": list(self.fixes), "warnings": list(m.warnings), "details": m.as_dict(),
                    "weather": self.weather.as_dict() if self.weather else None}
        out: dict[str, Any] = {
            "project": self.project.id, "enterprise": self.project.enterprise, "measure": self.project.measure,
            "option": self.project.option, "unit": self.unit, "retrofit": self.project.to_json(),
            "baseline": baseline, "months": [p.to_json(self.unit) for p in self.months],
            "total": None, "normalised": self.normalised.to_json(self.unit) if self.normalised else None,
            "valuation": self._valuation(), "standards": STANDARDS, "warnings": list(self.warnings),
        }
        if total is not None:
            out["total"] = {
                "reporting_from": self.project.reporting_from.isoformat(),
                "reporting_to": self.reporting_to.isoformat(),
                "days": total.days, "days_used": total.days_used, "coverage": round(total.coverage, 4),
                "months_verified": sum(1 for p in self.months if p.avoided is not None),
                "months_missing": sum(1 for p in self.months if p.avoided is None),
                f"reporting_{u}": _r(total.actual), f"baseline_{u}": _r(total.baseline),
                f"adjustment_{u}": _r(total.adjustment), f"avoided_{u}": _r(total.avoided),
                f"uncertainty_{u}_68": _r(total.uncertainty.u68) if total.uncertainty else None,
                f"uncertainty_{u}_90": _r(total.uncertainty.u90) if total.uncertainty else None,
                "avoided_tce": _r(total.tce), "avoided_tco2": _r(total.tco2), "avoided_cny": _r(total.cny),
                "fsu_68": _r(self.fsu_68), "meets_guideline_14": self.meets_guideline_14,
                "significant_90": self.significant_90,
                f"expected_{u}_to_date": _r(self.expected_to_date), "share_of_expected": _r(self.share_of_expected),
                "uncertainty_method": UNCERTAINTY_METHOD, "reason": total.reason,
            }
        return out

    @property
    def fsu_68(self) -> float | None:
        """Fractional savings uncertainty at 68 %: U68 / |avoided|."""
        t = self.total
        if t is None or t.avoided is None or t.uncertainty is None or not t.avoided:
            return None
        return t.uncertainty.u68 / abs(t.avoided)

    @property
    def meets_guideline_14(self) -> bool:
        """Guideline 14's savings criterion: uncertainty < 50 % of the savings at 68 % confidence."""
        f = self.fsu_68
        return f is not None and f < GUIDELINE_14_FSU_MAX

    @property
    def significant_90(self) -> bool:
        """Are the avoided energy's 90 % bounds both on the same side of zero?"""
        t = self.total
        return bool(t and t.avoided is not None and t.uncertainty and abs(t.avoided) > t.uncertainty.u90)

    def _valuation(self) -> dict[str, Any]:
        return {"years": {str(y): {c: {"unit": v.unit, **v.sources} for c, v in vals.items()}
                          for y, vals in self.values.items()},
                "allocation": {c: round(s, 6) for c, s in self.allocation.items()} or None,
                "allocation_rule": None if not self.allocation else (
                    "tce boundary: each carrier's adjusted baseline is the adjusted baseline's tce × the carrier's "
                    "share of the baseline period's tce; avoided quantity = that − its metered quantity")}


STANDARDS = [
    {"id": "IPMVP Core Concepts 2022, Option C / Option B",
     "verified": "avoided energy = adjusted baseline − reporting-period energy ± non-routine adjustments; Option C "
                 "measures the whole facility's energy meters, Option B the measure's isolated sub-meters "
                 "(boundary chosen in the registry's meters)", "confidence": "reported (clause text not read here)"},
    {"id": "GB/T 28750-2012 节能量测量和验证技术通则",
     "verified": "节能量 = 基期能耗按报告期条件调整后的值 − 报告期能耗 (the adjusted-baseline method); measurement "
                 "boundary, baseline period and reporting period stated; 'routine adjustments' by the model, "
                 "'non-routine adjustments' stated per event", "confidence": "reported (clause numbers not read here)"},
    {"id": "ASHRAE Guideline 14-2014 Annex B", "verified": UNCERTAINTY_METHOD,
     "confidence": "reported (Annex B text not read here)"},
    {"id": "CalTRACK 2.0", "verified": "data sufficiency 90 % (2.2.1.2), balance-point search (3.4.3), model "
                                       "selection by adjusted R² (3.4.3.3)", "confidence": "read (CalTRACK methods)"},
]


def _model_text(model: Baseline, weather: WeatherUse | None) -> str:
    terms = [f"{model.coefficients.get('intercept', 0.0):.4g}"]
    bases = weather.bases if weather else {}
    for v in model.variables:
        name = f"{v}({bases[v]:g} °C)" if v in bases else v
        terms.append(f"{model.coefficients[v]:.4g}·{name}")
    return "E/day = " + " + ".join(terms)


@dataclass(frozen=True, slots=True)
class BoundaryDays:
    """Per local day from the baseline's first day to the reporting end: energy in the boundary's unit (NaN =
    missing), each carrier's quantity (for valuation), output (NaN where the plant has no production counter or
    it sent nothing) and the county's mean outdoor temperature (None: no weather)."""

    energy: pd.Series
    carriers: pd.DataFrame
    output: pd.Series
    outdoor_c: pd.Series | None = None
    county: str | None = None


def _fixes(model: Baseline, has_output: bool, has_weather: bool, baseline_days: int) -> tuple[str, ...]:
    """What would let the baseline be accepted, from its reasons."""
    if model.accepted:
        return ()
    text = " ".join(model.reasons)
    fixes = []
    if "have data" in text or "fewer than" in text or "too few" in text:
        fixes.append(f"more months: the baseline needs ≥ {MIN_COVERAGE:.0%} of its days metered and at least "
                     f"{MIN_POINTS['daily']} days (CalTRACK asks a year; {baseline_days} days were given)")
    if not has_output:
        fixes.append("a production meter (output counter) in the boundary's plant, so the baseline follows output")
    if not has_weather:
        fixes.append("the county's outdoor temperature (`enerdiag weather import`), so heating and cooling loads "
                     "are modelled")
    if "CV(RMSE)" in text or "NMBE" in text or "negative" in text:
        fixes.append("a narrower boundary (Option B: sub-meters of the retrofitted equipment) or a longer baseline "
                     "covering every operating mode")
    return tuple(fixes)


def verify(project: RetrofitProject, data: BoundaryDays, reporting_to: dt.date,
           values: Mapping[int, Mapping[str, CarrierValue]]) -> Verification:
    """Verify `project`'s savings from its baseline to `reporting_to` (inclusive; the reporting months end there).

    `values` gives each carrier's tce/CO2/CNY worth per year of the reporting months (`analytics.savings.value`).
    """
    days = pd.date_range(project.baseline_from, reporting_to, freq="D").date
    energy = data.energy.reindex(days).astype(float)
    output = data.output.reindex(days).astype(float)
    has_output = bool(output.notna().any())
    temps = None if data.outdoor_c is None or data.outdoor_c.empty else data.outdoor_c
    base_days = [d for d in days if project.baseline_from <= d <= project.baseline_to]
    rep_days = [d for d in days if d >= project.reporting_from]
    events = project.non_routine
    in_event = {d for d in days for e in events if e.covers(d)}
    excluded = {d for d in days for e in events if e.adjustment_per_day is None and e.covers(d)}
    adjustment = pd.Series([sum(e.adjustment_per_day or 0.0 for e in events if e.covers(d)) for d in days],
                           index=days, dtype=float)
    frame = pd.DataFrame({"energy": energy, "output": output if has_output else 1.0}, index=days)
    frame.loc[list(in_event & set(base_days)), "energy"] = math.nan  # baseline days under an event: not fitted
    base = frame.loc[base_days]
    warnings: list[str] = []
    expected_points = len(base_days) - len(in_event & set(base_days))
    if has_output:
        model, weather = fit_weather_baseline(base, "daily", expected_points, temps, data.county)
    else:
        model, weather = _fit_without_output(base, expected_points, temps, data.county)
        warnings.append("no production data in the boundary's plant: the baseline has no production term "
                        "(a production meter would let it follow output)")
    drivers = _drivers(frame, temps, weather, model)
    fixes = _fixes(model, has_output, temps is not None, len(base_days))
    unit = project.unit
    kgce_e = values[min(values)]["electricity"].kgce_per_unit if values and "electricity" in values[min(values)] \
        else 0.0
    expected_year = project.expected_per_year(kgce_e)
    expected_to_date = None if expected_year is None else expected_year * len(rep_days) / YEAR_DAYS
    allocation = _allocation(data.carriers.reindex(base_days), values) if unit == "tce" else {}
    if not model.accepted:
        months = tuple(_refused_month(project, m0, m1, energy) for m0, m1 in _months(project.reporting_from,
                                                                                      reporting_to))
        total = Period("total", project.reporting_from, reporting_to, len(rep_days), 0, None, None,
                       _sum_if_complete(energy, rep_days), None, None, reason="baseline not accepted: "
                       + "; ".join(model.reasons))
        return Verification(project, model, weather, reporting_to, months, total, fixes, None, expected_to_date,
                            values, allocation, tuple(warnings))
    design = _design(model, drivers.loc[[d for d in base_days if d not in in_event]].join(frame["energy"]))
    predicted = model.predict(drivers.dropna(subset=list(model.variables)))
    usable = {d for d in rep_days if not math.isnan(energy[d]) and d in predicted.index and d not in excluded}
    months = []
    cumulative, cum_days = 0.0, []
    for m0, m1 in _months(project.reporting_from, reporting_to):
        in_month = [d for d in rep_days if m0 <= d <= m1]
        period = _period(m0.strftime("%Y-%m"), m0, m1, in_month, usable, energy, predicted, adjustment, drivers,
                         model, design, excluded, data.carriers, allocation, values, unit)
        if period.avoided is not None:
            cumulative += period.avoided
            cum_days += [d for d in in_month if d in usable]
            u = prediction_uncertainty(model, design, _rows(drivers, model, cum_days))
            period = _replace(period, cumulative=cumulative, cumulative_u90=u.u90)
        months.append(period)
    verified_days = [d for p in months if p.avoided is not None for d in rep_days if p.first <= d <= p.last]
    total = _period("total", project.reporting_from, reporting_to, verified_days, usable, energy, predicted,
                    adjustment, drivers, model, design, excluded, data.carriers, allocation, values, unit,
                    min_coverage=0.0)
    total = _replace(total, days=len(rep_days))
    normalised = _normalised(model, frame, drivers, adjustment, base_days, rep_days, usable)
    return Verification(project, model, weather, reporting_to, tuple(months), total, fixes, normalised,
                        expected_to_date, values, allocation, tuple(warnings))


def _fit_without_output(base: pd.DataFrame, expected: int, temps: pd.Series | None,
                        county: str | None) -> tuple[Baseline, WeatherUse | None]:
    """Without production: degree-days at the 18/24 °C bases when the weather covers the baseline, else the mean."""
    if temps is None:
        return fit_baseline(base, "daily", expected, drivers=()), None
    joined = base.join(degree_day_drivers(base.index, temps)[["hdd", "cdd"]])
    with_weather = int(joined["hdd"].notna().sum())
    if with_weather < MIN_COVERAGE * len(base):
        return fit_baseline(base, "daily", expected, drivers=()), None
    model = fit_baseline(joined, "daily", expected, drivers=("hdd", "cdd"))
    use = WeatherUse(county, with_weather, len(base), tuple(v for v in model.variables if v in ("hdd", "cdd")),
                     note="no production term: degree-days at the fixed 18/24 °C bases",
                     hdd_base_c=18.0 if "hdd" in model.variables else None,
                     cdd_base_c=24.0 if "cdd" in model.variables else None)
    return model, use


def _drivers(frame: pd.DataFrame, temps: pd.Series | None, weather: WeatherUse | None,
             model: Baseline) -> pd.DataFrame:
    """Every day's drivers of the model: output and degree-days at the chosen bases (NaN where unknown)."""
    out = frame[["output"]].copy()
    if temps is not None and any(v in ("hdd", "cdd") for v in model.variables):
        bases = weather.bases if weather else {}
        dd = degree_day_drivers(frame.index, temps, bases.get("hdd", 18.0), bases.get("cdd", 24.0))
        out = out.join(dd[["hdd", "cdd"]])
    return out


def _design(model: Baseline, rows: pd.DataFrame) -> np.ndarray:
    used = rows.dropna(subset=["energy", *model.variables])
    return np.column_stack([np.ones(len(used)), *[used[v].to_numpy(dtype=float) for v in model.variables]])


def _rows(drivers: pd.DataFrame, model: Baseline, days: list[dt.date]) -> np.ndarray:
    sel = drivers.loc[days]
    return np.column_stack([np.ones(len(sel)), *[sel[v].to_numpy(dtype=float) for v in model.variables]])


def _months(first: dt.date, last: dt.date) -> list[tuple[dt.date, dt.date]]:
    out = []
    m = month_start(first)
    while m <= last:
        out.append((max(m, first), min(next_month(m) - dt.timedelta(days=1), last)))
        m = next_month(m)
    return out


def _sum_if_complete(energy: pd.Series, days: list[dt.date]) -> float | None:
    vals = energy.reindex(days)
    return None if vals.isna().any() or not len(vals) else float(vals.sum())


def _refused_month(project: RetrofitProject, m0: dt.date, m1: dt.date, energy: pd.Series) -> Period:
    days = [d for d in pd.date_range(m0, m1, freq="D").date]
    return Period(m0.strftime("%Y-%m"), m0, m1, len(days), 0, None, None, _sum_if_complete(energy, days), None,
                  None, reason="baseline not accepted")


def _allocation(carriers: pd.DataFrame, values: Mapping[int, Mapping[str, CarrierValue]]) -> dict[str, float]:
    """Each carrier's share of the baseline period's tce."""
    if carriers.empty or not values:
        return {}
    coef = {c: v.kgce_per_unit for c, v in values[min(values)].items()}
    tce = {c: float(carriers[c].sum()) * coef[c] / 1000 for c in carriers.columns if c in coef}
    total = sum(tce.values())
    return {c: t / total for c, t in tce.items()} if total else {}


def _period(label: str, first: dt.date, last: dt.date, days: list[dt.date], usable: set[dt.date],
            energy: pd.Series, predicted: pd.Series, adjustment: pd.Series, drivers: pd.DataFrame, model: Baseline,
            design: np.ndarray, excluded: set[dt.date], carriers: pd.DataFrame, allocation: Mapping[str, float],
            values: Mapping[int, Mapping[str, CarrierValue]], unit: str,
            min_coverage: float = MONTH_MIN_COVERAGE) -> Period:
    used = [d for d in days if d in usable]
    n_days = len(days)
    if not used or len(used) < min_coverage * n_days:
        missing = sum(1 for d in days if math.isnan(energy[d]))
        unpredicted = sum(1 for d in days if d not in predicted.index)
        out = sum(1 for d in days if d in excluded)
        why = [f"{missing} day(s) without metered data"] if missing else []
        why += [f"{unpredicted} day(s) without the model's drivers (production or temperature)"] if unpredicted else []
        why += [f"{out} day(s) excluded by a non-routine event without an adjustment"] if out else []
        actual = _sum_if_complete(energy, days)
        return Period(label, first, last, n_days, len(used), None, None, actual, None, None,
                      reason=f"only {len(used)} of {n_days} days can be compared (≥ {min_coverage:.0%} needed): "
                             + ", ".join(why))
    adj = float(adjustment.reindex(used).sum())
    base = float(predicted.reindex(used).sum()) + adj
    actual = float(energy.reindex(used).sum())
    avoided = base - actual
    u = prediction_uncertainty(model, design, _rows(drivers, model, used))
    year = first.year
    vals = (values.get(year) or values[max(values)]) if values else None
    if vals is None:
        return Period(label, first, last, n_days, len(used), base, adj, actual, avoided, u)
    w = worth(_avoided_quantities(unit, used, base, actual, carriers, allocation, vals), vals)
    return Period(label, first, last, n_days, len(used), base, adj, actual, avoided, u, w.tce, w.tco2, w.cny,
                  reason="; ".join(w.warnings) if w.warnings else None)


def _avoided_quantities(unit: str, used: list[dt.date], base: float, actual: float, carriers: pd.DataFrame,
                        allocation: Mapping[str, float], vals: Mapping[str, CarrierValue]) -> dict[str, float]:
    """Avoided quantity per carrier (its own unit): the whole avoided kWh for an electricity boundary; for a tce
    boundary, each carrier's share of the adjusted baseline (baseline-period tce shares) minus its metered use."""
    if unit == "kWh":
        return {"electricity": base - actual}
    metered = carriers.reindex(used).sum()
    return {c: allocation.get(c, 0.0) * base * 1000 / vals[c].kgce_per_unit - float(metered[c])
            for c in carriers.columns if c in vals}


def _replace(p: Period, **kw: Any) -> Period:
    return replace(p, **kw)


def _normalised(model: Baseline, frame: pd.DataFrame, drivers: pd.DataFrame, adjustment: pd.Series,
                base_days: list[dt.date], rep_days: list[dt.date], usable: set[dt.date]) -> Normalised:
    conditions = ("the baseline period's production and weather (IPMVP 'fixed conditions'; a typical "
                  "meteorological year for the county is not in the data)")
    used = [d for d in rep_days if d in usable]
    if len(used) < NORMALISED_MIN_DAYS:
        return Normalised(None, conditions, f"{len(used)} compared reporting days: a reporting-period model needs "
                                            f"≥ {NORMALISED_MIN_DAYS}")
    rep = drivers.loc[used].copy()
    rep["energy"] = frame.loc[used, "energy"] - adjustment.reindex(used)  # back to the baseline's static factors
    if "output" not in model.variables:
        rep = rep.drop(columns=["output"])
    rep_model = fit_baseline(rep, "daily", len(used), drivers=model.variables) if model.variables else \
        fit_baseline(rep, "daily", len(used), drivers=())
    if not rep_model.accepted or rep_model.variables != model.variables:
        return Normalised(None, conditions, "the reporting-period model is not accepted: "
                          + "; ".join(rep_model.reasons or ("a driver dropped out",)))
    cond = drivers.loc[base_days].dropna(subset=list(model.variables))
    if cond.empty:
        return Normalised(None, conditions, "no baseline day with every driver")
    per_year = float((model.predict(cond) - rep_model.predict(cond)).sum()) * YEAR_DAYS / len(cond)
    return Normalised(per_year, conditions, None, {"coefficients": rep_model.coefficients,
                                                   "cv_rmse": _r(rep_model.cvrmse), "n": rep_model.n})
