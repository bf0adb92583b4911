"""Degree-day drivers from the county's outdoor temperature, and the CalTRACK choice of baseline model (pure).

Without temperatures the baseline is exactly `fit_baseline` on output alone. With them, the candidates
output + HDD, output + CDD and output + HDD + CDD are fitted at every balance point of `HDD_BASES_C` /
`CDD_BASES_C` (CalTRACK §3.4.3.1 searches the base temperatures); a candidate qualifies when its degree-days are
non-zero on enough days at that base (`DD_MIN_SHARE`), no coefficient is negative (CalTRACK §3.4.3.2) and its
degree-day coefficients are significant (`DD_MAX_P_VALUE`, held over the whole base search); the qualified model
with the highest adjusted R² is used (CalTRACK §3.4.3.3; production-only is always a candidate).
"""

from __future__ import annotations

import datetime as dt
import math
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd

from analytics.diagnosis.baseline import (
    CDD_BASE_C,
    DD_MIN_SHARE,
    HDD_BASE_C,
    MIN_COVERAGE,
    Baseline,
    Interval,
    fit_baseline,
    t_quantile,
)

PRODUCTION_ONLY: tuple[str, ...] = ("output",)
WEATHER_CANDIDATES: tuple[tuple[str, ...], ...] = (("output", "hdd"), ("output", "cdd"), ("output", "hdd", "cdd"))
DD_MAX_P_VALUE = 0.10
"""A degree-day coefficient must be significant at p < 0.10 (two-sided t-test): CalTRACK 1.0's rule, kept in
eemeter as `beta_*_maximum_p_value`; with diagnostic baselines of 4-8 weeks it stops a weather term that only
fits noise from being chosen by a hair of adjusted R²."""
BASE_STEP_C = 0.5
"""Balance points are searched every 0.5 °C (the issue's 1 °F / 0.5 °C; CalTRACK 2.0 §3.2.3 allows at most 3 °F)."""
HDD_BASES_C: tuple[float, ...] = tuple(b * BASE_STEP_C for b in range(0, int(32 / BASE_STEP_C) + 1))
"""Heating balance points searched (°C): CalTRACK's 30-90 °F (−1..32 °C) from 0 °C, every 0.5 °C; 18 °C is on the
grid."""
CDD_BASES_C: tuple[float, ...] = tuple(b * BASE_STEP_C for b in range(int(-20 / BASE_STEP_C),
                                                                   int(32 / BASE_STEP_C) + 1))
"""Cooling balance points searched (°C), every 0.5 °C: CalTRACK's range (up to 32 °C; 24 °C on the grid) extended
down to −20 °C because a refrigerated store (frozen rooms at −18..−25 °C) gains heat through its envelope and rejects
it at its condensers at every outdoor temperature above the room's, so its load rises with the weather well below
0 °C; a floor above a Datong winter's coldest days (−16 °C) would extrapolate a flat load to them (false savings)."""
THIN_KINK_MIN_GAIN = 0.001
"""A base whose kink rests on fewer than `DD_MIN_SHARE` of the days (one or two days on its flat side) is used only
when it beats the best base without such a kink by more than 0.001 in adjusted R² (enerdiag rule): on the 0.5 °C
grid the simulated cold store otherwise took −9.5 °C from a single −9.8 °C baseline day (+0.00025) and read its
colder reporting month as 5.6 % savings, while a real heating kink at 18 °C with one warmer day wins clearly."""
INDEPENDENT_BASE_SPACING_C = 2.0
"""For the search-wide significance level, bases closer than 2 °C count as one test: neighbouring bases give nearly
the same degree-days and the same fit, so refining the grid adds look-alike fits, not new chances for noise (the
Bonferroni count of the 2 °C grid used before is kept; see `_p_limit`)."""


def degree_day_drivers(days: pd.Index, outdoor_c: pd.Series, hdd_base_c: float = HDD_BASE_C,
                       cdd_base_c: float = CDD_BASE_C) -> pd.DataFrame:
    """Per day of `days`: mean outdoor `temp_c` and its `hdd`, `cdd` (°C·day) at the given bases; NaN where the
    day has none."""
    temps = pd.Series([outdoor_c.get(d, float("nan")) for d in days], index=days, dtype=float)
    return pd.DataFrame({"temp_c": temps, "hdd": (hdd_base_c - temps).clip(lower=0),
                         "cdd": (temps - cdd_base_c).clip(lower=0)}, index=days)


def adjusted_r2(model: Baseline) -> float:
    """R²_adj = 1 − (1 − R²)(n − 1)/(n − p − 1), p = drivers (CalTRACK §3.4.3.3)."""
    return _adjusted(model.r2, model.n, len(model.variables))


def _adjusted(r2: float, n: int, p: int) -> float:
    return 1 - (1 - r2) * (n - 1) / (n - p - 1) if n - p - 1 > 0 else float("-inf")


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
    hdd_base_c: float | None = None
    cdd_base_c: float | None = None

    @property
    def bases(self) -> dict[str, float]:
        """The chosen balance point of each degree-day term used (°C)."""
        chosen = {"hdd": self.hdd_base_c, "cdd": self.cdd_base_c}
        return {k: v for k, v in chosen.items() if v is not None}

    def as_dict(self) -> dict[str, Any]:
        return {"county": self.county, "days_with_weather": self.days_with_weather, "days": self.days,
                "degree_days_used": list(self.degree_days_used), "bases": self.bases,
                "production_only_cvrmse": None if self.production_only_cvrmse is None
                else round(self.production_only_cvrmse, 4),
                "candidates": list(self.candidates), "note": self.note}


def _candidate_row(model: Baseline, wanted: tuple[str, ...], why: str | None, bases: dict[str, float],
                   tried: int) -> dict[str, Any]:
    return {"variables": list(wanted), "bases": bases, "bases_tried": tried, "cvrmse": round(model.cvrmse, 4),
            "adj_r2": round(adjusted_r2(model), 4), "qualified": why is None, "why_not": why}


def t_statistics(model: Baseline, data: pd.DataFrame, energy: str = "energy") -> dict[str, float]:
    """Each driver's coefficient / its standard error (ordinary least squares on the model's rows)."""
    rows = data.dropna(subset=[energy, *model.variables])
    x = np.column_stack([np.ones(len(rows)), *[rows[v].to_numpy(dtype=float) for v in model.variables]])
    y = rows[energy].to_numpy(dtype=float)
    beta = np.array([model.coefficients["intercept"], *[model.coefficients[v] for v in model.variables]])
    return dict(zip(model.variables, _t_values(x, y, beta).tolist(), strict=True))


def _t_values(x: np.ndarray, y: np.ndarray, beta: np.ndarray) -> np.ndarray:
    """t of each non-intercept coefficient (inf where its standard error is 0; 0 without degrees of freedom)."""
    dof = len(y) - x.shape[1]
    if dof <= 0:
        return np.zeros(x.shape[1] - 1)
    sigma2 = float(((y - x @ beta) ** 2).sum()) / dof
    se = np.sqrt(np.clip(np.diag(sigma2 * np.linalg.pinv(x.T @ x))[1:], 0, None))
    with np.errstate(divide="ignore", invalid="ignore"):
        return np.where(se > 0, beta[1:] / np.where(se > 0, se, 1.0), math.inf)


def _p_limit(searched: int, terms: int = 1) -> float:
    """The p-value one base must beat so that the search over `searched` bases (of `terms` degree-day terms) stays
    at `DD_MAX_P_VALUE` (Bonferroni over the bases `INDEPENDENT_BASE_SPACING_C` apart: the best of many noise fits
    passes p < 0.10 far more often than one in ten)."""
    independent = math.ceil(max(1, searched) * (BASE_STEP_C / INDEPENDENT_BASE_SPACING_C) ** max(1, terms))
    return DD_MAX_P_VALUE / max(1, independent)


def _disqualified(model: Baseline, wanted: tuple[str, ...], data: pd.DataFrame, searched: int = 1) -> str | None:
    """Why a degree-day candidate cannot be used (None when it qualifies); `searched` = bases tried for it."""
    if set(model.variables) != set(wanted):
        return f"{', '.join(sorted(set(wanted) - set(model.variables)))} non-zero on too few days"
    negative = [v for v in model.variables if model.coefficients[v] < 0]
    if negative:
        return f"negative coefficient for {', '.join(negative)}"
    p = _p_limit(searched, len(wanted) - 1)
    limit = t_quantile(1 - p / 2, max(1, model.n - len(model.variables) - 1))
    weak = [v for v, t in t_statistics(model, data).items() if v in ("hdd", "cdd") and abs(t) < limit]
    if weak:
        over = f" over {searched} bases" if searched > 1 else ""
        return f"{', '.join(weak)} not significant (p ≥ {DD_MAX_P_VALUE}{over})"
    return None


@dataclass(frozen=True, slots=True)
class _Trial:
    """One form at one pair of bases, scored by plain least squares (the search's fast pass)."""

    bases: dict[str, float]
    adj_r2: float
    qualified: bool
    thin: bool = False  # a kink resting on fewer than DD_MIN_SHARE of the days


def _bases_of(wanted: tuple[str, ...]) -> list[dict[str, float]]:
    """Every base (pair) searched for a form; HDD + CDD needs the heating base ≤ the cooling base (CalTRACK)."""
    if wanted == ("output", "hdd"):
        return [{"hdd": h} for h in HDD_BASES_C]
    if wanted == ("output", "cdd"):
        return [{"cdd": c} for c in CDD_BASES_C]
    return [{"hdd": h, "cdd": c} for h in HDD_BASES_C for c in CDD_BASES_C if h <= c]


def _dd_columns(temps: np.ndarray, bases: dict[str, float]) -> dict[str, np.ndarray]:
    return {k: np.clip(b - temps, 0, None) if k == "hdd" else np.clip(temps - b, 0, None) for k, b in bases.items()}


def _supported(degree_days: np.ndarray) -> bool:
    """A base with degree-days non-zero on ≥ `DD_MIN_SHARE` of the days (CalTRACK §3.2.2.2)."""
    return float((degree_days > 0).mean()) >= DD_MIN_SHARE


def _thin_kink(temps: np.ndarray, bases: dict[str, float]) -> bool:
    """Is a kink of these bases resting on fewer than `DD_MIN_SHARE` of the days (its flat side thin, not empty)?"""
    flats = [float((col == 0).mean()) for col in _dd_columns(temps, bases).values()]
    return any(0 < f < DD_MIN_SHARE for f in flats)


def _search(wanted: tuple[str, ...], y: np.ndarray, output: np.ndarray, temps: np.ndarray) -> tuple[list[_Trial], int]:
    """Fit the form at every base with enough non-zero degree-days; also how many bases those were."""
    eligible = [b for b in _bases_of(wanted) if all(_supported(col) for col in _dd_columns(temps, b).values())]
    limit = t_quantile(1 - _p_limit(len(eligible), len(wanted) - 1) / 2, max(1, len(y) - len(wanted) - 1))
    trials = []
    for bases in eligible:
        x = np.column_stack([np.ones(len(y)), output, *_dd_columns(temps, bases).values()])
        beta, *_ = np.linalg.lstsq(x, y, rcond=None)
        resid = y - x @ beta
        ss_tot = float(((y - y.mean()) ** 2).sum())
        r2 = 1 - float((resid**2).sum()) / ss_tot if ss_tot else 0.0
        t = _t_values(x, y, beta)
        qualified = bool((beta[1:] >= 0).all() and (np.abs(t[1:]) >= limit).all())
        trials.append(_Trial(bases, _adjusted(r2, len(y), len(wanted)), qualified, _thin_kink(temps, bases)))
    return trials, len(eligible)


def _with_bases(data: pd.DataFrame, temps: pd.Series, bases: dict[str, float]) -> pd.DataFrame:
    """`data` with its hdd/cdd columns at `bases` (the fixed 18/24 °C ones for a term not in `bases`)."""
    drivers = degree_day_drivers(data.index, temps, bases.get("hdd", HDD_BASE_C), bases.get("cdd", CDD_BASE_C))
    return data.drop(columns=["hdd", "cdd"], errors="ignore").join(drivers[["hdd", "cdd"]])


def fit_weather_baseline(data: pd.DataFrame, interval: Interval = "daily", expected_points: int | None = None,
                         outdoor_c: pd.Series | None = None,
                         county: str | None = None) -> tuple[Baseline, WeatherUse]:
    """The baseline of `data` (columns energy, output; index = local days), using degree-days when they help.

    `outdoor_c` (date → mean °C) must cover ≥ 90 % of the baseline days (CalTRACK 2.2.1.2) for degree-day
    candidates to be tried; otherwise, or without it, the production-only model is returned unchanged. Each
    degree-day form is searched over its balance points; its evidence row is its best qualified base (or, when
    none qualifies, its best-fitting base and why it fails).
    """
    base = fit_baseline(data, interval, expected_points)
    if outdoor_c is None or outdoor_c.empty:
        return base, WeatherUse(county, 0, len(data), note="no outdoor temperature for the county")
    temps_by_day = degree_day_drivers(data.index, outdoor_c)["temp_c"]
    with_weather = int(temps_by_day.notna().sum())
    evidence = {"county": county, "days_with_weather": with_weather, "days": len(data),
                "production_only_cvrmse": base.cvrmse}
    if not len(data) or with_weather / len(data) < MIN_COVERAGE:
        return base, WeatherUse(**evidence, note=f"outdoor temperature on {with_weather} of {len(data)} baseline "
                                f"days, fewer than {MIN_COVERAGE:.0%}: degree-days not used")
    rows_ok = data["energy"].notna() & data["output"].notna() & temps_by_day.notna()
    y = data.loc[rows_ok, "energy"].to_numpy(dtype=float)
    output = data.loc[rows_ok, "output"].to_numpy(dtype=float)
    temps = temps_by_day[rows_ok].to_numpy(dtype=float)
    rows = [_candidate_row(base, PRODUCTION_ONLY, None, {}, 0)]
    best, best_score, best_bases = base, adjusted_r2(base), {}
    for wanted in WEATHER_CANDIDATES:
        trials, searched = _search(wanted, y, output, temps)
        qualified = [tr for tr in trials if tr.qualified]
        # bases above every day's temperature (HDD) fit alike: the tie goes to the first, lowest one
        pick = max(qualified or trials, key=lambda tr: round(tr.adj_r2, 9), default=None)
        if pick is not None and pick.thin:  # a kink on one or two days must beat the best base without it clearly
            plain = [tr for tr in (qualified or trials) if not tr.thin]
            rival = max(plain, key=lambda tr: round(tr.adj_r2, 9), default=None)
            if rival is not None and rival.adj_r2 >= pick.adj_r2 - THIN_KINK_MIN_GAIN:
                pick = rival
        bases = pick.bases if pick else {k: (HDD_BASE_C if k == "hdd" else CDD_BASE_C) for k in wanted[1:]}
        joined = _with_bases(data, outdoor_c, bases)
        model = fit_baseline(joined, interval, expected_points, drivers=wanted)
        why = _disqualified(model, wanted, joined, max(1, searched))
        if pick is None:
            why = f"{why} at every base tried" if why else why
        rows.append(_candidate_row(model, wanted, why, bases, searched))
        if why is None and adjusted_r2(model) > best_score:
            best, best_score, best_bases = model, adjusted_r2(model), bases
    used = tuple(v for v in best.variables if v in ("hdd", "cdd"))
    where = ", ".join(f"{k} base {v:g} °C" for k, v in best_bases.items())
    note = (f"degree-days used: {where} (highest adjusted R² over the searched bases)" if used
            else "degree-days tried at every base, production-only kept (no qualified degree-day model fits better)")
    return best, WeatherUse(**evidence, degree_days_used=used, candidates=tuple(rows), note=note,
                            hdd_base_c=best_bases.get("hdd"), cdd_base_c=best_bases.get("cdd"))


def reporting_days_without_weather(days: pd.Index, outdoor_c: pd.Series | None) -> list[dt.date]:
    """Days of the period with no temperature: a degree-day model cannot predict them (left out of CUSUM)."""
    if outdoor_c is None:
        return list(days)
    return [d for d in days if d not in outdoor_c.index or pd.isna(outdoor_c.get(d))]
