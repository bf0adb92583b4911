"""Degree-day drivers from the county's weather, the CalTRACK choice of model, the report's evidence, and the
simulator's `--weather-out` file."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import typer
from typer.testing import CliRunner

from analytics.diagnosis.baseline import fit_baseline
from analytics.diagnosis.weather_baseline import (
    BASE_STEP_C,
    CDD_BASES_C,
    adjusted_r2,
    degree_day_drivers,
    fit_weather_baseline,
    reporting_days_without_weather,
    t_statistics,
)
from analytics.report.context import baseline_for, build_report
from analytics.report.render import render_html
from analytics.weather import parse_weather_csv
from core.reference import get_reference
from enerdiag.commands import simulate
from simulators import timeline
from simulators.city import CityConfig, build_city
from simulators.runner import weather_csv
from tests.support.diagnosis_simcity import plant_frames

FIRST = dt.date(2026, 11, 1)
REF = get_reference()


def _plant(n: int = 42, heating: float = 0.0, cooling_slope: float = 0.0, seed: int = 2,
           noise: float = 0.02) -> tuple[pd.DataFrame, pd.Series]:
    """Daily energy = 2 + 0.03·output (+ heating·HDD) (+ cooling_slope·T) with noise; temperatures of a cold
    autumn (15 °C falling to −10 °C with a ±4 °C day-to-day swing)."""
    rng = np.random.default_rng(seed)
    days = [FIRST + dt.timedelta(days=i) for i in range(n)]
    temps = pd.Series(np.linspace(15, -10, n) + rng.normal(0, 4, n), index=days).round(2)
    output = rng.uniform(50, 100, n)
    hdd = (18 - temps).clip(lower=0).to_numpy()
    energy = (2 + 0.03 * output + heating * hdd + cooling_slope * temps.to_numpy()) * (1 + noise * rng.normal(size=n))
    return pd.DataFrame({"energy": energy, "output": output}, index=pd.Index(days, name="day")), temps


def test_drivers_are_hdd_base_18_cdd_base_24_and_nan_without_temperature() -> None:
    days = pd.Index([dt.date(2026, 1, d) for d in (1, 2, 3)])
    temps = pd.Series({dt.date(2026, 1, 1): -2.0, dt.date(2026, 1, 3): 30.5})
    d = degree_day_drivers(days, temps)
    assert d.loc[dt.date(2026, 1, 1)].tolist() == [-2.0, 20.0, 0.0]
    assert d.loc[dt.date(2026, 1, 3)].tolist() == [30.5, 0.0, 6.5]
    assert d.loc[dt.date(2026, 1, 2)].isna().all()
    assert reporting_days_without_weather(days, temps) == [dt.date(2026, 1, 2)]


def test_without_weather_the_model_is_exactly_the_production_only_fit() -> None:
    data, _ = _plant(heating=0.2)
    model, use = fit_weather_baseline(data, "daily", len(data), None, "云冈区")
    assert model == fit_baseline(data, "daily", len(data))
    assert use.degree_days_used == () and use.days_with_weather == 0 and "no outdoor temperature" in use.note


def test_a_heating_load_keeps_hdd_with_its_slope_and_a_lower_cvrmse() -> None:
    data, temps = _plant(heating=0.2)
    model, use = fit_weather_baseline(data, "daily", len(data), temps, "云冈区")
    plain = fit_baseline(data, "daily", len(data))
    assert model.variables == ("output", "hdd") and use.degree_days_used == ("hdd",)
    assert model.coefficients["hdd"] == pytest.approx(0.2, rel=0.1)
    assert model.coefficients["output"] == pytest.approx(0.03, rel=0.1)
    assert model.cvrmse < plain.cvrmse / 2 and adjusted_r2(model) > adjusted_r2(plain)
    assert use.production_only_cvrmse == plain.cvrmse and use.days_with_weather == len(data)
    assert t_statistics(model, data.join(degree_day_drivers(data.index, temps)))["hdd"] > 10
    chosen = next(c for c in use.candidates if c["variables"] == ["output", "hdd"])
    assert chosen["qualified"] and chosen["cvrmse"] == round(model.cvrmse, 4)
    assert use.hdd_base_c is not None and abs(use.hdd_base_c - 18.0) <= 1.0  # the simulated base, ±2 grid steps
    assert chosen["bases"] == use.bases
    cdd = next(c for c in use.candidates if c["variables"] == ["output", "cdd"])
    assert not cdd["qualified"] and cdd["why_not"] == "negative coefficient for cdd"  # heating falls as T rises


def test_energy_falling_with_cold_weather_gets_a_low_cdd_base_not_a_negative_hdd() -> None:
    """A cold store's refrigeration falls as the weather cools: CalTRACK forbids a negative HDD slope, but a CDD
    base below the coldest day (searched down to −20 °C) models it."""
    data, temps = _plant(cooling_slope=0.05, noise=0.005)
    model, use = fit_weather_baseline(data, "daily", len(data), temps)
    plain = fit_baseline(data, "daily", len(data))
    assert model.variables == ("output", "cdd") and use.degree_days_used == ("cdd",)
    assert use.hdd_base_c is None and use.cdd_base_c is not None and use.cdd_base_c <= temps.quantile(0.10)
    assert model.coefficients["cdd"] == pytest.approx(0.05, rel=0.1) and model.cvrmse < plain.cvrmse / 5
    hdd = next(c for c in use.candidates if c["variables"] == ["output", "hdd"])
    assert hdd["why_not"] == "negative coefficient for hdd" and hdd["cvrmse"] < use.production_only_cvrmse


def test_weather_that_does_not_matter_is_not_chosen_by_noise() -> None:
    found = []
    for seed in range(12):
        data, temps = _plant(seed=seed)
        model, use = fit_weather_baseline(data, "daily", len(data), temps)
        found.append(use.degree_days_used)
        assert use.degree_days_used or (model == fit_baseline(data, "daily", len(data)) and use.bases == {})
    assert found.count(()) >= 10  # p < 0.10 over each term's searched bases lets about one in ten noise fits through


def _season(kind: str, seed: int = 1, n: int = 120) -> tuple[pd.DataFrame, pd.Series]:
    """Daily energy = 2 + 0.03·output (+ 0.08·max(0, T + 5) for a cold store, + 0.1·max(0, 12 − T) for a plant
    heated below 12 °C) with 2 % noise, over a season of daily means rising from −15 to +25 °C (±3 °C)."""
    rng = np.random.default_rng(seed)
    days = [dt.date(2026, 1, 1) + dt.timedelta(days=i) for i in range(n)]
    temps = pd.Series(np.linspace(-15, 25, n) + rng.normal(0, 3, n), index=days).round(2)
    t_c, output = temps.to_numpy(), rng.uniform(50, 100, n)
    energy = 2 + 0.03 * output
    energy = energy + {"cold": 0.08 * np.clip(t_c + 5, 0, None), "heat": 0.1 * np.clip(12 - t_c, 0, None),
                       "none": 0.0}[kind]
    energy = energy * (1 + 0.02 * rng.normal(size=n))
    return pd.DataFrame({"energy": energy, "output": output}, index=pd.Index(days, name="day")), temps


def test_a_cold_store_balance_point_is_found_near_minus_5() -> None:
    data, temps = _season("cold")
    model, use = fit_weather_baseline(data, "daily", len(data), temps)
    plain = fit_baseline(data, "daily", len(data))
    assert use.degree_days_used == ("cdd",) and use.hdd_base_c is None
    assert use.cdd_base_c is not None and abs(use.cdd_base_c - (-5)) <= 2
    assert model.accepted and model.cvrmse < plain.cvrmse / 5  # 1.8 % against 16 %
    assert model.coefficients["cdd"] == pytest.approx(0.08, rel=0.1)
    assert "cdd base" in use.note and use.as_dict()["bases"] == {"cdd": use.cdd_base_c}
    cdd = next(c for c in use.candidates if c["variables"] == ["output", "cdd"])
    assert cdd["bases"] == {"cdd": use.cdd_base_c} and cdd["qualified"] and 10 <= cdd["bases_tried"] <= len(CDD_BASES_C)
    hdd = next(c for c in use.candidates if c["variables"] == ["output", "hdd"])
    assert hdd["why_not"] == "negative coefficient for hdd" and set(hdd["bases"]) == {"hdd"}
    print(f"cold store: CDD base {use.cdd_base_c} °C, CV(RMSE) {model.cvrmse:.4f} vs {plain.cvrmse:.4f}")


def test_heating_below_12_degrees_is_found_near_12() -> None:
    data, temps = _season("heat")
    model, use = fit_weather_baseline(data, "daily", len(data), temps)
    plain = fit_baseline(data, "daily", len(data))
    assert "hdd" in use.degree_days_used and use.hdd_base_c is not None and abs(use.hdd_base_c - 12) <= 2
    assert model.accepted and model.cvrmse < plain.cvrmse / 5
    assert model.coefficients["hdd"] == pytest.approx(0.1, rel=0.15)
    print(f"heating: bases {use.bases}, CV(RMSE) {model.cvrmse:.4f} vs {plain.cvrmse:.4f}")


def test_a_plant_without_weather_dependence_keeps_production_only_at_every_seed() -> None:
    found = []
    for seed in range(10):
        data, temps = _season("none", seed=seed)
        model, use = fit_weather_baseline(data, "daily", len(data), temps)
        found.append(use.bases)
        searched = [c for c in use.candidates if c["variables"] != ["output"]]
        assert len(searched) == 3 and all(c["bases"] and c["bases_tried"] > 10 for c in searched)
        if not use.bases:
            assert model == fit_baseline(data, "daily", len(data)) and use.degree_days_used == ()
    print(f"noise: bases chosen per seed {found}")
    assert found.count({}) >= 9


def test_degree_days_zero_at_every_base_say_so() -> None:
    """A hot spell (33-38 °C): no heating base of the grid (≤ 32 °C) gives a non-zero HDD."""
    data, _ = _plant()
    hot = pd.Series(np.linspace(33, 38, len(data)), index=data.index)
    _, use = fit_weather_baseline(data, "daily", len(data), hot)
    hdd = next(c for c in use.candidates if c["variables"] == ["output", "hdd"])
    assert hdd["bases_tried"] == 0 and hdd["why_not"] == "hdd non-zero on too few days at every base tried"


def test_weather_on_too_few_baseline_days_is_not_used() -> None:
    data, temps = _plant(heating=0.2)
    model, use = fit_weather_baseline(data, "daily", len(data), temps.iloc[: int(len(temps) * 0.85)])
    assert model == fit_baseline(data, "daily", len(data)) and use.degree_days_used == ()
    assert use.days_with_weather == int(len(temps) * 0.85) and "fewer than 90%" in use.note


@pytest.fixture(scope="module")
def food_winter():
    """A simulated meat plant (steam-boiler gas rises below 10 °C) over November-December in Datong."""
    tl = timeline.build(FIRST, 56, 900, 6)
    spec = build_city(CityConfig(plants=1, seed=6, days=tl.days, problem_share=0.0, industries=("food",)))[0]
    frames = plant_frames(spec, tl)[0]
    return frames, pd.Series(parse_weather_csv(weather_csv(tl)).temps)


def test_report_of_a_simulated_boiler_plant_uses_hdd_and_says_so(food_winter) -> None:
    frames, temps = food_winter
    plain, _, _, without = baseline_for(frames, REF, None)
    assert plain is not None and without is not None and plain.variables == ("output",)
    frames.outdoor_c = temps
    try:
        model, table, _, use = baseline_for(frames, REF, None)
        context = build_report(frames, REF, findings=[])
    finally:
        frames.outdoor_c = None
    assert model is not None and use is not None and table is not None
    assert model.variables == ("output", "hdd") and model.cvrmse < plain.cvrmse
    assert len(table) == 56  # every day has weather: the CUSUM covers the period
    weather = context["baseline"]["weather"]
    assert weather["degree_days_used"] == ["hdd"] and weather["county"] == frames.enterprise.county
    assert weather["production_only_cvrmse"] == round(plain.cvrmse, 4)
    html = render_html(context)
    assert f"采用度日 degree-days used hdd (HDD 平衡点 base {use.hdd_base_c:g} °C;" in html and "× hdd" in html


def test_days_without_temperature_after_the_baseline_leave_the_cusum_and_are_counted(food_winter) -> None:
    frames, temps = food_winter
    frames.outdoor_c = temps.iloc[:-5]
    try:
        model, table, _, use = baseline_for(frames, REF, None)
    finally:
        frames.outdoor_c = None
    assert model is not None and use is not None and table is not None
    assert use.degree_days_used == ("hdd",) and len(table) == 56 - 5
    assert use.note.endswith("; 5 day(s) without temperature left out of the CUSUM")


def test_report_without_weather_says_production_only(food_winter) -> None:
    frames, _ = food_winter
    context = build_report(frames, REF, findings=[])
    assert context["baseline"]["variables"] == ["output"]
    assert context["baseline"]["weather"]["days_with_weather"] == 0
    assert "无气温数据，基线仅按产量" in render_html(context)


def test_simulate_weather_out_writes_the_timelines_daily_means(tmp_path: Path) -> None:
    root = typer.Typer()
    root.callback()(lambda: None)
    simulate.register(root)
    out = tmp_path / "weather.csv"
    result = CliRunner().invoke(root, ["simulate", "city", "--plants", "1", "--days", "3", "--end", "2026-01-04",
                                       "--step", "3600", "--dry-run", "--weather-out", str(out)])
    assert result.exit_code == 0, result.output
    days = parse_weather_csv(out.read_text(encoding="utf-8"))
    tl = timeline.build(dt.date(2026, 1, 1), 3, 3600, 1)
    expected = [round(float(tl.outdoor_c[tl.day_index == i].mean()), 2) for i in range(3)]
    assert list(days.temps) == list(tl.days) and list(days.temps.values()) == pytest.approx(expected, abs=0.006)
    assert all(-25 < v < 5 for v in days.temps.values())  # Datong in early January


def test_report_of_a_simulated_cold_store_uses_a_low_cdd_base_and_claims_no_false_savings() -> None:
    """The simulated cold store (refrigeration +2.5 %/°C at every temperature) from mid-November to mid-January:
    production-only reads the colder second month as savings; the searched CDD base does not."""
    tl = timeline.build(dt.date(2025, 11, 15), 60, 3600, 5)
    temps = pd.Series(parse_weather_csv(weather_csv(tl)).temps)
    spec = build_city(CityConfig(plants=1, seed=5, days=tl.days, problem_share=0.0, industries=("cold_store",)))[0]
    frames = plant_frames(spec, tl)[0]
    plain, _, plain_saved, _ = baseline_for(frames, REF, None)
    frames.outdoor_c = temps
    model, table, saved, use = baseline_for(frames, REF, None)
    context = build_report(frames, REF, findings=[])
    assert plain is not None and plain_saved is not None and model is not None and saved is not None
    assert use is not None and table is not None and len(table) == 60
    assert model.variables == ("output", "cdd") and use.cdd_base_c is not None
    # the load rises with the weather on every baseline day (within one 0.5 °C step of the coldest day's sliver)
    assert use.cdd_base_c <= temps.iloc[:30].min() + BASE_STEP_C
    assert model.cvrmse < plain.cvrmse / 5 and model.accepted
    assert plain_saved.fraction > 0.10 and abs(saved.fraction) < 0.01
    assert f"采用度日 degree-days used cdd (CDD 平衡点 base {use.cdd_base_c:g} °C;" in render_html(context)
    print(f"simulated cold store: CDD base {use.cdd_base_c} °C, CV(RMSE) {model.cvrmse:.4f} vs {plain.cvrmse:.4f}, "
          f"savings {saved.fraction:.4f} vs production-only {plain_saved.fraction:.4f}")
