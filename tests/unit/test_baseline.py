"""Baselines: regression on production, ASHRAE Guideline 14 acceptance, CUSUM and savings uncertainty."""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
import pytest

from analytics.diagnosis.baseline import (
    CVRMSE_MAX,
    degree_days,
    fit_baseline,
    fit_statistics,
    fractional_savings_uncertainty,
    savings,
    t_quantile,
)


def _days(n: int, seed: int = 1, noise: float = 0.0) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    output = rng.uniform(50, 100, n)
    energy = 2000.0 + 30.0 * output
    energy = energy * (1 + noise * rng.standard_normal(n))
    return pd.DataFrame({"energy": energy, "output": output}, index=pd.date_range("2026-01-01", periods=n))


def test_exact_linear_data_gives_the_coefficients_and_is_accepted() -> None:
    b = fit_baseline(_days(40))
    assert b.accepted and b.reasons == ()
    assert b.coefficients["intercept"] == pytest.approx(2000.0)
    assert b.coefficients["output"] == pytest.approx(30.0)
    assert b.cvrmse == pytest.approx(0.0, abs=1e-9) and b.r2 == pytest.approx(1.0)
    assert any("329" in w for w in b.warnings)


def test_noisy_data_is_rejected_by_guideline_14_with_the_reason() -> None:
    b = fit_baseline(_days(60, noise=0.5))
    assert not b.accepted
    assert b.cvrmse > CVRMSE_MAX["daily"]
    assert any("CV(RMSE)" in r for r in b.reasons)


def test_thin_data_is_rejected_for_sufficiency() -> None:
    data = _days(40)
    data.iloc[:15, 0] = np.nan  # 62.5 % coverage, 25 points
    b = fit_baseline(data)
    assert not b.accepted
    assert any("90%" in r for r in b.reasons)
    assert any("fewer than the 28" in r for r in b.reasons)


def test_fit_statistics_follow_guideline_14_definitions() -> None:
    actual = np.array([10.0, 12.0, 14.0, 16.0])
    fitted = np.array([11.0, 11.0, 15.0, 15.0])
    cv, nmbe, _ = fit_statistics(actual, fitted, 2)
    assert cv == pytest.approx(math.sqrt(4 / 2) / 13.0)
    assert nmbe == pytest.approx(0.0)


def test_degree_days_only_kept_when_they_matter() -> None:
    data = _days(40)
    dd = degree_days(pd.Series(20.0, index=data.index))
    b = fit_baseline(data.join(dd), drivers=("output", "hdd"))
    assert b.variables == ("output",) and any("hdd" in w for w in b.warnings)
    temps = pd.Series(np.linspace(-10, 15, 40), index=data.index)
    dd = degree_days(temps)
    assert dd["hdd"].iloc[0] == pytest.approx(28.0) and dd["cdd"].sum() == 0.0
    data = data.assign(energy=data["energy"] + 50.0 * dd["hdd"]).join(dd)
    b = fit_baseline(data, drivers=("output", "hdd"))
    assert b.accepted and b.coefficients["hdd"] == pytest.approx(50.0)


def test_cusum_and_savings_of_a_10_percent_cut() -> None:
    base = fit_baseline(_days(60, noise=0.02))
    report = _days(30, seed=2)
    report["energy"] *= 0.9
    s = savings(base, report)
    expected = float(base.predict(report).sum())
    assert s.expected == pytest.approx(expected)
    assert s.savings == pytest.approx(expected - float(report["energy"].sum()))
    assert 0.08 < s.fraction < 0.12
    assert 0 < s.fsu < 0.5 and s.uncertainty == pytest.approx(abs(s.savings) * s.fsu)


def test_t_quantile_and_fsu_formula() -> None:
    assert t_quantile(0.95, 10) == pytest.approx(1.8125, abs=1e-3)
    assert t_quantile(0.95, 30) == pytest.approx(1.6973, abs=1e-3)
    # daily: n = 60, m = 30, F = 0.1, CV = 0.05 → t·poly·CV·√((1+2/60)/30)/F
    months = 30 / 30.4375
    poly = -0.00024 * months**2 + 0.03535 * months + 1.00286
    want = t_quantile(0.95, 58) * poly * 0.05 * math.sqrt((1 + 2 / 60) / 30) / 0.1
    assert fractional_savings_uncertainty(0.05, 60, 30, 0.1, "daily") == pytest.approx(want)
