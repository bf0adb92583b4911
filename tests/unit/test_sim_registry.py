"""The simulated city's registry file loads with the project's own loader; calendar and quota tables agree."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import pytest
import yaml

from core.registry.creditcode import is_valid_credit_code
from core.registry.loader import parse_registry
from simulators import calendar
from simulators.city import CityConfig
from simulators.quota import KGCE_PER_UNIT, QUOTA_EDITIONS, quota_limit
from simulators.registry import dump
from simulators.runner import Backfill, FaultConfig
from tests.unit.test_sim_support import DAYS

REFERENCE = Path(__file__).resolve().parents[2] / "core" / "reference" / "data"


def test_registry_yaml_parses_with_the_registry_loader(tmp_path: Path) -> None:
    run = Backfill.plan(
        CityConfig(plants=60, seed=8, days=DAYS[:3], problem_share=0.3), 900, FaultConfig(("meter_replacement",), 0.2)
    )
    path = tmp_path / "city.yaml"
    path.write_text(dump(run.registry()), encoding="utf-8")
    quota_products = set(yaml.safe_load((REFERENCE / "quota_standards.yaml").read_text())["products"])
    spec = parse_registry(path, quota_products)
    assert len(spec.enterprises) == 60
    codes = [e["code"] for e in run.registry()["enterprises"]]
    assert len(set(codes)) == 60 and all(is_valid_credit_code(c) for c in codes)
    assert all(c[2:6] == "1402" for c in codes)  # Datong's districts and counties
    events = [m for e in run.registry()["enterprises"] for m in e["meters"] if m.get("events")]
    assert len(events) == 12


def test_calendar_covers_the_librarys_years_and_falls_back_to_weekends_outside() -> None:
    cov = calendar.coverage()
    assert cov.first_year <= 2018 and cov.last_year >= 2026
    assert not calendar.is_workday(dt.date(2026, 10, 1))
    assert calendar.is_workday(dt.date(2026, 2, 14)) is True  # an adjusted working Saturday (Spring Festival)
    outside = dt.date(cov.last_year + 1, 1, 4)
    assert calendar.uncovered_days([outside, dt.date(2026, 3, 2)]) == [outside]
    assert calendar.is_workday(outside) is (outside.weekday() < 5)
    sunday = outside + dt.timedelta(days=6 - outside.weekday())
    assert calendar.is_workday(sunday) is False


def test_kgce_coefficients_and_quota_limits_agree_with_the_reference_data() -> None:
    coal = yaml.safe_load((REFERENCE / "coal_equivalents.yaml").read_text())["carriers"]
    assert KGCE_PER_UNIT["electricity"] == coal["electricity"]["kgce_per_unit"]
    assert KGCE_PER_UNIT["natural_gas"] == coal["natural_gas"]["kgce_per_unit"]
    assert KGCE_PER_UNIT["coal"] == pytest.approx(coal["raw_coal"]["kgce_per_unit"] * 1000)
    assert KGCE_PER_UNIT["steam"] == pytest.approx(coal["steam_low_pressure"]["kgce_per_unit"] * 1000)
    products = yaml.safe_load((REFERENCE / "quota_standards.yaml").read_text())["products"]
    for key, editions in QUOTA_EDITIONS.items():
        ref = sorted(products[key]["editions"].values(), key=lambda e: e["valid_from"])
        assert [(e["valid_from"], e.get("valid_to"), e["grades"]["grade_3"]) for e in ref] == list(editions)
    assert quota_limit("coke_top_charged", [dt.date(2026, 4, 20), dt.date(2026, 5, 10)]) == 150
    assert quota_limit("coke_top_charged", [dt.date(2026, 6, 1)]) == 135
    assert quota_limit("meat_products", [dt.date(2026, 6, 1)]) is None


def test_manifest_names_the_days_simulated_without_holiday_data() -> None:
    last = calendar.coverage().last_year
    days = tuple(dt.date(last, 12, 30) + dt.timedelta(days=i) for i in range(5))
    run = Backfill.plan(CityConfig(plants=2, seed=1, days=days, problem_share=0.0), 3600)
    doc = run.manifest()
    assert doc["holiday_calendar"]["weekend_rule_only_for"] == [d.isoformat() for d in days[2:]]
    assert doc["from"] == days[0].isoformat() and doc["to"] == (days[-1] + dt.timedelta(days=1)).isoformat()
