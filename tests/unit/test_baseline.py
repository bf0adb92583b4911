"""Baselines: regression on production, ASHRAE Guideline 14 acceptance, CUSUM and savings uncertainty."""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
import pytest

from analytics.diagnosis.baseline import (
    CVRMSE_MAX,
    GUIDELINE_14_CVRMSE,
    NMBE_CV_MAX,
    cross_validated_nmbe,
    degree_days,
    effective_sample_size,
    fit_baseline,
    fit_statistics,
    fractional_savings_uncertainty,
    guideline_14_cvrmse_limit,
    lag1_autocorrelation,
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


def test_noisy_data_calTRACK_accepts_is_accepted_with_a_guideline_14_warning() -> None:
    """CV(RMSE) ≈ 45 %: above Guideline 14's 20-30 % limits for savings without an uncertainty analysis, but CalTRACK
    accepts such a daily baseline; it is accepted and its savings must pass the uncertainty test instead."""
    b = fit_baseline(_days(60, noise=0.5))
    assert 0.30 < b.cvrmse < CVRMSE_MAX
    assert b.accepted and b.reasons == ()
    assert any("Guideline 14's 20%" in w for w in b.warnings)
    report = _days(30, seed=2)
    report["energy"] *= 0.97  # 3 % savings: far inside the model's noise
    s = savings(b, report)
    assert not s.meets_guideline_14 and s.fsu_68 > 0.5
    assert any("not below Guideline 14's 50%" in n for n in s.notes)
    assert any("above Guideline 14's 20% for 1 reporting month" in n for n in s.notes)


def test_a_model_worse_than_its_noise_is_rejected_with_the_reason_in_both_languages() -> None:
    b = fit_baseline(_days(60, noise=1.5))
    assert b.cvrmse > CVRMSE_MAX and not b.accepted
    assert any("CalTRACK 4.3.2.1" in r for r in b.reasons)
    assert len(b.reasons_zh) == len(b.reasons) and any("超过 100%" in r for r in b.reasons_zh)
    assert b.as_dict()["criteria"]["rule_zh"]


def test_the_bias_test_is_out_of_sample_and_can_fail() -> None:
    """Heating seen in one spell only (the last 12 of 60 days): in-sample NMBE is 0 as always with least squares,
    but the block holding that spell cannot be predicted by the other blocks: the cross-validated NMBE is the share
    of that heating energy (12 × 2,800 / 288,600 ≈ 11.6 %), beyond the 10 % tolerance."""
    data = _days(60)
    temps = pd.Series([20.0] * 48 + [-10.0] * 12, index=data.index)
    dd = degree_days(temps)
    data = data.assign(energy=data["energy"] + 100.0 * dd["hdd"]).join(dd)
    b = fit_baseline(data, drivers=("output", "hdd"))
    assert b.nmbe == pytest.approx(0.0, abs=1e-9)
    heating = 12 * 100.0 * 28.0
    assert b.nmbe_cv == pytest.approx(heating / data["energy"].sum(), rel=0.02)
    assert b.nmbe_cv > NMBE_CV_MAX["daily"] and not b.accepted
    assert any("cross-validated NMBE +11." in r for r in b.reasons)
    spread = pd.Series(np.tile([20.0, 20.0, 20.0, 20.0, -10.0], 12), index=data.index)  # cold days in every block
    dd = degree_days(spread)
    ok = _days(60).assign(energy=lambda d: d["energy"] + 100.0 * dd["hdd"]).join(dd)
    good = fit_baseline(ok, drivers=("output", "hdd"))
    assert good.accepted and abs(good.nmbe_cv) < 1e-6


def test_cross_validated_nmbe_by_hand() -> None:
    """Intercept-only: each contiguous fold is predicted by the other folds' mean."""
    # folds [1, 1, 1] and [3, 3]: predicted 3 and 1 → residuals −2, −2, −2, +2, +2: Σ = −2, ȳ = 1.8
    y = np.array([1.0, 1.0, 1.0, 3.0, 3.0])
    assert cross_validated_nmbe(np.ones((5, 1)), y, folds=2) == pytest.approx(-2 / (5 * 1.8))
    assert cross_validated_nmbe(np.ones((4, 1)), np.array([1.0, 1.0, 3.0, 3.0]), folds=2) == pytest.approx(0.0)
    assert cross_validated_nmbe(np.ones((3, 1)), np.array([1.0, 2.0, 3.0]), folds=5) is None


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


def test_effective_sample_size_follows_annex_b() -> None:
    assert effective_sample_size(100, 0.5) == pytest.approx(100 * 0.5 / 1.5)
    assert effective_sample_size(100, -0.3) == 100  # never more than n
    assert effective_sample_size(100, 0.9) == pytest.approx(100 * 0.1 / 1.9)
    assert effective_sample_size(100, 1.0) == 1.0
    r = np.array([1.0, 2.0, 3.0, 4.0, 5.0])
    assert lag1_autocorrelation(r) == pytest.approx(1.0)
    assert lag1_autocorrelation(np.array([1.0, -1.0, 1.0, -1.0, 1.0])) == pytest.approx(-1.0)


def test_fsu_with_autocorrelation_by_hand() -> None:
    """ρ = 0.6: n′ = 60·0.4/1.6 = 15, so √((n/n′)(1 + 2/n′)/m) = √(4·(1 + 2/15)/30)."""
    months = 30 / 30.4375
    poly = -0.00024 * months**2 + 0.03535 * months + 1.00286
    want = t_quantile(0.95, 58) * poly * 0.05 * math.sqrt(4 * (1 + 2 / 15) / 30) / 0.1
    assert fractional_savings_uncertainty(0.05, 60, 30, 0.1, "daily", rho=0.6) == pytest.approx(want)
    assert fractional_savings_uncertainty(0.05, 60, 30, 0.1, "daily", rho=0.6) > \
        1.9 * fractional_savings_uncertainty(0.05, 60, 30, 0.1, "daily")


def test_autocorrelated_residuals_widen_the_savings_uncertainty() -> None:
    """A slow wander in the baseline (AR(1) noise, φ = 0.8) gives ρ ≈ 0.8 and an FSU ≈ 2.5× the n′ = n one."""
    rng = np.random.default_rng(4)
    data = _days(120)
    e = np.zeros(120)
    for i in range(1, 120):
        e[i] = 0.8 * e[i - 1] + rng.normal(0, 0.03)
    data["energy"] *= 1 + e
    b = fit_baseline(data)
    assert 0.6 < b.rho < 0.95 and b.n_effective < 120 / 4
    report = _days(30, seed=2)
    report["energy"] *= 0.9
    s = savings(b, report)
    naive = fractional_savings_uncertainty(b.cvrmse, b.n, 30, s.fraction, "daily", 2)
    assert s.fsu == pytest.approx(fractional_savings_uncertainty(b.cvrmse, b.n, 30, s.fraction, "daily", 2,
                                                                 rho=b.rho))
    assert s.fsu > 2.3 * naive and s.n_effective == pytest.approx(b.n_effective)


def test_guideline_14_cvrmse_limits_by_reporting_months() -> None:
    assert [guideline_14_cvrmse_limit(m) for m in (1, 11.9, 12, 59, 60, 120)] == [0.2, 0.2, 0.25, 0.25, 0.3, 0.3]
    assert GUIDELINE_14_CVRMSE[0] == (12.0, 0.20)
