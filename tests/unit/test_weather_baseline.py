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
    cdd = next(c for c in use.candidates if c["variables"] == ["output", "cdd"])
    assert not cdd["qualified"] and "cdd non-zero on too few days" in cdd["why_not"]


def test_energy_falling_with_cold_weather_is_not_given_a_negative_hdd() -> None:
    """A cold store's refrigeration falls as the weather cools: CalTRACK forbids a negative HDD slope."""
    data, temps = _plant(cooling_slope=0.05, noise=0.005)
    model, use = fit_weather_baseline(data, "daily", len(data), temps)
    assert model == fit_baseline(data, "daily", len(data)) and use.degree_days_used == ()
    hdd = next(c for c in use.candidates if c["variables"] == ["output", "hdd"])
    assert hdd["why_not"] == "negative coefficient for hdd" and hdd["cvrmse"] < use.production_only_cvrmse


def test_weather_that_does_not_matter_is_not_chosen_by_noise() -> None:
    found = []
    for seed in range(12):
        data, temps = _plant(seed=seed)
        model, use = fit_weather_baseline(data, "daily", len(data), temps)
        found.append(use.degree_days_used)
        assert use.degree_days_used or model == fit_baseline(data, "daily", len(data))
    assert found.count(()) >= 10  # p < 0.10 lets about one in ten noise fits through


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
    assert "采用度日 degree-days used hdd" in html and "× hdd" in html


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
