"""Degree-day drivers from the county's outdoor temperature, and the CalTRACK choice of baseline model (pure).

Without temperatures the baseline is exactly `fit_baseline` on output alone. With them, the candidates
output + HDD, output + CDD and output + HDD + CDD are fitted too; a candidate qualifies when its degree-days
were kept (`DD_MIN_SHARE`), no coefficient is negative (CalTRACK §3.4.3.2) and its degree-day coefficients are
significant (`DD_MAX_P_VALUE`); the model with the highest adjusted R² is used (CalTRACK §3.4.3.3;
production-only is always a candidate).
"""

from __future__ import annotations

import datetime as dt
import math
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd

from analytics.diagnosis.baseline import MIN_COVERAGE, Baseline, Interval, degree_days, fit_baseline, t_quantile

PRODUCTION_ONLY: tuple[str, ...] = ("output",)
WEATHER_CANDIDATES: tuple[tuple[str, ...], ...] = (("output", "hdd"), ("output", "cdd"), ("output", "hdd", "cdd"))
DD_MAX_P_VALUE = 0.10
"""A degree-day coefficient must be significant at p < 0.10 (two-sided t-test): CalTRACK 1.0's rule, kept in
eemeter as `beta_*_maximum_p_value`; with diagnostic baselines of 4-8 weeks it stops a weather term that only
fits noise from being chosen by a hair of adjusted R²."""


def degree_day_drivers(days: pd.Index, outdoor_c: pd.Series) -> pd.DataFrame:
    """Per day of `days`: mean outdoor `temp_c` and its `hdd`, `cdd` (°C·day); NaN where the day has none."""
    temps = pd.Series([outdoor_c.get(d, float("nan")) for d in days], index=days, dtype=float)
    return pd.concat([temps.rename("temp_c"), degree_days(temps)], axis=1)


def adjusted_r2(model: Baseline) -> float:
    """R²_adj = 1 − (1 − R²)(n − 1)/(n − p − 1), p = drivers (CalTRACK §3.4.3.3)."""
    p = len(model.variables)
    if model.n - p - 1 <= 0:
        return float("-inf")
    return 1 - (1 - model.r2) * (model.n - 1) / (model.n - p - 1)


@dataclass(frozen=True, slots=True)
class WeatherUse:
    """What the outdoor temperature did to the baseline: the evidence the report shows."""

    county: str | None
    days_with_weather: int
    days: int
    degree_days_used: tuple[str, ...] = ()
    production_only_cvrmse: float | None = None
    candidates: tuple[dict[str, Any], ...] = field(default_factory=tuple)
    note: str = ""

    def as_dict(self) -> dict[str, Any]:
        return {"county": self.county, "days_with_weather": self.days_with_weather, "days": self.days,
                "degree_days_used": list(self.degree_days_used),
                "production_only_cvrmse": None if self.production_only_cvrmse is None
                else round(self.production_only_cvrmse, 4),
                "candidates": list(self.candidates), "note": self.note}


def _candidate_row(model: Baseline, wanted: tuple[str, ...], why: str | None) -> dict[str, Any]:
    return {"variables": list(wanted), "cvrmse": round(model.cvrmse, 4), "adj_r2": round(adjusted_r2(model), 4),
            "qualified": why is None, "why_not": why}


def t_statistics(model: Baseline, data: pd.DataFrame, energy: str = "energy") -> dict[str, float]:
    """Each driver's coefficient / its standard error (ordinary least squares on the model's rows)."""
    rows = data.dropna(subset=[energy, *model.variables])
    x = np.column_stack([np.ones(len(rows)), *[rows[v].to_numpy(dtype=float) for v in model.variables]])
    y = rows[energy].to_numpy(dtype=float)
    beta = np.array([model.coefficients["intercept"], *[model.coefficients[v] for v in model.variables]])
    dof = len(rows) - x.shape[1]
    if dof <= 0:
        return dict.fromkeys(model.variables, 0.0)
    sigma2 = float(((y - x @ beta) ** 2).sum()) / dof
    cov = sigma2 * np.linalg.pinv(x.T @ x)
    se = np.sqrt(np.clip(np.diag(cov)[1:], 0, None))
    return {v: (float(b / s) if s > 0 else math.inf) for v, b, s in zip(model.variables, beta[1:], se, strict=True)}


def _disqualified(model: Baseline, wanted: tuple[str, ...], data: pd.DataFrame) -> str | None:
    """Why a degree-day candidate cannot be used (None when it qualifies)."""
    if set(model.variables) != set(wanted):
        return f"{', '.join(sorted(set(wanted) - set(model.variables)))} non-zero on too few days"
    negative = [v for v in model.variables if model.coefficients[v] < 0]
    if negative:
        return f"negative coefficient for {', '.join(negative)}"
    limit = t_quantile(1 - DD_MAX_P_VALUE / 2, max(1, model.n - len(model.variables) - 1))
    weak = [v for v, t in t_statistics(model, data).items() if v in ("hdd", "cdd") and abs(t) < limit]
    if weak:
        return f"{', '.join(weak)} not significant (p ≥ {DD_MAX_P_VALUE})"
    return None


def fit_weather_baseline(data: pd.DataFrame, interval: Interval = "daily", expected_points: int | None = None,
                         outdoor_c: pd.Series | None = None,
                         county: str | None = None) -> tuple[Baseline, WeatherUse]:
    """The baseline of `data` (columns energy, output; index = local days), using degree-days when they help.

    `outdoor_c` (date → mean °C) must cover ≥ 90 % of the baseline days (CalTRACK 2.2.1.2) for degree-day
    candidates to be tried; otherwise, or without it, the production-only model is returned unchanged.
    """
    base = fit_baseline(data, interval, expected_points)
    if outdoor_c is None or outdoor_c.empty:
        return base, WeatherUse(county, 0, len(data), note="no outdoor temperature for the county")
    drivers = degree_day_drivers(data.index, outdoor_c)
    with_weather = int(drivers["temp_c"].notna().sum())
    evidence = {"county": county, "days_with_weather": with_weather, "days": len(data),
                "production_only_cvrmse": base.cvrmse}
    if not len(data) or with_weather / len(data) < MIN_COVERAGE:
        return base, WeatherUse(**evidence, note=f"outdoor temperature on {with_weather} of {len(data)} baseline "
                                f"days, fewer than {MIN_COVERAGE:.0%}: degree-days not used")
    joined = data.drop(columns=["hdd", "cdd"], errors="ignore").join(drivers[["hdd", "cdd"]])
    rows = [_candidate_row(base, PRODUCTION_ONLY, None)]
    best, best_score = base, adjusted_r2(base)
    for wanted in WEATHER_CANDIDATES:
        model = fit_baseline(joined, interval, expected_points, drivers=wanted)
        why = _disqualified(model, wanted, joined)
        rows.append(_candidate_row(model, wanted, why))
        if why is None and adjusted_r2(model) > best_score:
            best, best_score = model, adjusted_r2(model)
    used = tuple(v for v in best.variables if v in ("hdd", "cdd"))
    note = (f"degree-days used: {', '.join(used)} (highest adjusted R²)" if used
            else "degree-days tried, production-only kept (no qualified degree-day model fits better)")
    return best, WeatherUse(**evidence, degree_days_used=used, candidates=tuple(rows), note=note)


def reporting_days_without_weather(days: pd.Index, outdoor_c: pd.Series | None) -> list[dt.date]:
    """Days of the period with no temperature: a degree-day model cannot predict them (left out of CUSUM)."""
    if outdoor_c is None:
        return list(days)
    return [d for d in days if d not in outdoor_c.index or pd.isna(outdoor_c.get(d))]
