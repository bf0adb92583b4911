"""Carbon budgets and green-power purchases: registry file → tables → `analyze` figures (numbers by hand)."""

from __future__ import annotations

import datetime as dt
import textwrap
from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy import select

from analytics.analyze_job import PeriodTotals, combine_periods
from analytics.carbon import budget_window, green_kwh_by_kind
from analytics.enterprise import EnterpriseInfo, GreenPurchase
from analytics.process_co2 import CarbonateInput, ClinkerInputs, ProcessInputs
from analytics.registry_view import load_enterprises
from analytics.summary import AnalyzeOptions, budget_position
from core.reference import get_reference
from core.registry.db import dispose_engines, session_scope
from core.registry.loader import RegistryFileError, load_registry_file
from core.registry.models import CarbonBudget, Enterprise
from core.registry.models import GreenPurchase as GreenRow
from tests.support.analysis_results import section6

CODE = "91140214MA0FE1KM73"
CODE2 = "91140226MA02U9AL2Q"
GRID_2023 = 0.5306  # MEE/NBS national average 2023, kgCO2/kWh
NORTH_CHINA_2023 = 0.6361  # MEE/NBS 2023, 华北 regional grid: a Shanxi (credit code 14xxxx) plant's location factor
RESIDUAL_2023 = 0.6096  # MEE/NBS 2023, national excluding market-traded non-fossil power

FILE = f"""\
enterprises:
  - code: {CODE}
    name: 示例水泥
    industry: "3011"
    county: 云冈区
    meters:
      - id: M01
        carrier: electricity
        role: main
    carbon_budgets:
      - year: 2025
        budget_t: 1200
        note: 区生态环境局分配
    green_power:
      - type: green_certificate
        from: 2025-01-01
        until: 2025-03-31
        mwh: 90
        reference: GEC-2025-0001
      - type: green_power_trade
        from: 2025-02-01
        until: 2025-02-28
        mwh: 56
carbon_budgets:
  - enterprise: {CODE}
    year: 2026
    budget_t: 1100
"""


@pytest.fixture
def db_url(tmp_path: Path) -> Iterator[str]:
    yield f"sqlite:///{tmp_path / 'registry.sqlite3'}"
    dispose_engines()


def write(tmp_path: Path, text: str, name: str = "registry.yaml") -> Path:
    path = tmp_path / name
    path.write_text(textwrap.dedent(text), encoding="utf-8")
    return path


def load(url: str, path: Path):
    with session_scope(url) as session:
        return load_registry_file(session, path, known_quota_products=None)


def errors_of(url: str, path: Path) -> list[str]:
    with pytest.raises(RegistryFileError) as info:
        load(url, path)
    return info.value.errors


def test_budgets_and_green_purchases_load_and_reload_idempotently(db_url: str, tmp_path: Path) -> None:
    path = write(tmp_path, FILE)
    first = load(db_url, path)
    assert first.counts["carbon_budgets"] == 2 and first.counts["green_purchases"] == 2
    with session_scope(db_url) as session:
        budgets = [(b.enterprise_code, b.year, b.budget_t, b.note) for b in session.scalars(select(CarbonBudget))]
        green = sorted((g.kind, g.period_from, g.period_until, g.mwh, g.reference)
                       for g in session.scalars(select(GreenRow)))
    assert sorted(budgets) == [(CODE, 2025, 1200.0, "区生态环境局分配"), (CODE, 2026, 1100.0, None)]
    assert green == [
        ("green_certificate", dt.date(2025, 1, 1), dt.date(2025, 3, 31), 90.0, "GEC-2025-0001"),
        ("green_power_trade", dt.date(2025, 2, 1), dt.date(2025, 2, 28), 56.0, ""),
    ]
    again = load(db_url, path)
    assert (again.created, again.updated) == (0, 0)
    changed = write(tmp_path, FILE.replace("mwh: 56", "mwh: 60").replace("budget_t: 1100", "budget_t: 1000"))
    third = load(db_url, changed)
    assert (third.created, third.updated) == (0, 2)
    with session_scope(db_url) as session:
        assert session.get(CarbonBudget, (CODE, 2026)).budget_t == 1000.0
        assert sorted(g.mwh for g in session.scalars(select(GreenRow))) == [60.0, 90.0]


def test_registry_view_carries_budgets_and_purchases(db_url: str, tmp_path: Path) -> None:
    load(db_url, write(tmp_path, FILE))
    with session_scope(db_url) as session:
        (info,) = load_enterprises(session)
    assert info.co2_budget(2025) == 1200.0 and info.co2_budget(2026) == 1100.0 and info.co2_budget(2024) is None
    assert GreenPurchase("green_power_trade", dt.date(2025, 2, 1), dt.date(2025, 2, 28), 56.0) in (
        info.green_purchases)


def test_unknown_keys_and_bad_values_name_their_lines_and_nothing_is_written(db_url: str, tmp_path: Path) -> None:
    bad = (FILE.replace("        reference: GEC-2025-0001", "        reference: GEC-2025-0001\n        price: 30")
           .replace("type: green_power_trade", "type: green_bond")
           .replace("until: 2025-02-28", "until: 2025-01-28")
           .replace("year: 2026", "year: 26"))
    path = write(tmp_path, bad)
    lines = path.read_text(encoding="utf-8").splitlines()
    errors = errors_of(db_url, path)

    def line(needle: str) -> int:
        return next(i for i, text in enumerate(lines, start=1) if needle in text)

    assert f"{path}:{line('price: 30')}: enterprises[0].green_power[0].price: unknown key 'price'" in errors[0]
    assert any(f":{line('green_bond')}: enterprises[0].green_power[1].type: 'green_bond' is not one of" in e
               for e in errors)
    assert any(f":{line('year: 26')}: carbon_budgets[0].year: 26 is not a year" in e for e in errors)
    assert any(f":{line('until: 2025-01-28')}: enterprises[0].green_power[1].until: 2025-01-28 is before from "
               "(2025-02-01)" in e for e in errors)
    assert len(errors) == 4
    with session_scope(db_url) as session:
        assert session.scalars(select(Enterprise)).first() is None  # rejected whole


CARBON_FACTS = """\
enterprises:
  - code: {code}
    name: 示例熟料
    industry: "3011"
    county: 云冈区
    product: cement_clinker
    ets: true
    process_co2:
      clinker: {{cao: 0.652, mgo: 0.024, dust_t_per_t: 0.01}}
      source: 2025 化验室年报
    meters:
      - {{id: M01, carrier: electricity, role: main}}
  - code: {code2}
    name: 示例陶瓷
    industry: "3071"
    county: 广灵县
    province: hebei
    process_co2:
      carbonates:
        - {{mineral: calcite, t_per_output: 0.0015, fraction: 0.9}}
        - {{mineral: dolomite, t_per_output: 0.0005}}
"""


def test_province_ets_and_process_co2_reach_the_analytics(db_url: str, tmp_path: Path) -> None:
    load(db_url, write(tmp_path, CARBON_FACTS.format(code=CODE, code2=CODE2)))
    with session_scope(db_url) as session:
        cement, tiles = load_enterprises(session)
    assert cement.ets and cement.province is None  # province from the credit code (14: Shanxi)
    assert cement.process_co2 == ProcessInputs(clinker=ClinkerInputs(cao=0.652, mgo=0.024, dust_t_per_t=0.01),
                                               source="2025 化验室年报")
    assert not tiles.ets and tiles.province == "hebei"
    assert tiles.process_co2 is not None and tiles.process_co2.carbonates == (
        CarbonateInput("calcite", 0.0015, 0.9, 1.0), CarbonateInput("dolomite", 0.0005, 1.0, 1.0))
    obj, _ = section6(cement, dt.date(2024, 3, 1), dt.date(2024, 4, 1),
                      {"electricity": 100_000.0, "output": 1_000.0}, {"electricity": 1.0}, get_reference())
    assert obj["co2"]["grid_factor"]["basis"] == "carbon_market" and obj["co2"]["scope2_t"] == pytest.approx(57.03)
    assert obj["co2"]["scope1_process_t"] == pytest.approx(1_010 * ((0.652 * 44 / 56) + 0.024 * 44 / 40))
    assert obj["co2_t"] == pytest.approx(obj["co2"]["scope1_t"] + obj["co2"]["scope2_t"])


def test_bad_carbon_facts_name_their_lines(db_url: str, tmp_path: Path) -> None:
    bad = (CARBON_FACTS.format(code=CODE, code2=CODE2).replace("cao: 0.652", "cao: 65.2")
           .replace("province: hebei", "province: atlantis").replace("mineral: dolomite", "mineral: chalk")
           .replace("ets: true", "ets: yes please"))
    path = write(tmp_path, bad)
    errors = errors_of(db_url, path)
    assert any("process_co2.clinker.cao: 65.2 is not a mass fraction" in e for e in errors)
    assert any("enterprises[1].province: 'atlantis' is not one of" in e for e in errors)
    assert any("carbonates[1].mineral: 'chalk' is not one of" in e for e in errors)
    assert any("enterprises[0].ets: 'yes please' is not true or false" in e for e in errors)
    assert len(errors) == 4


def test_duplicates_and_references_to_nothing(db_url: str, tmp_path: Path) -> None:
    dup = FILE.replace("year: 2026", "year: 2025")
    path = write(tmp_path, dup)
    (error,) = errors_of(db_url, path)
    assert f"budget of {CODE} for 2025 given twice (first on line 11)" in error
    stranger = FILE + f"green_power:\n  - {{enterprise: {CODE2}, type: green_certificate, from: 2025-05-01, " \
                      "until: 2025-05-31, mwh: 1}\n"
    path = write(tmp_path, stranger)
    (error,) = errors_of(db_url, path)
    assert error.startswith(f"{path}:29: green_power[0].enterprise: enterprise {CODE2} is not in the file")


def test_top_level_entries_may_name_an_enterprise_already_in_the_registry(db_url: str, tmp_path: Path) -> None:
    load(db_url, write(tmp_path, FILE))
    notice = write(tmp_path, f"""\
        carbon_budgets:
          - {{enterprise: {CODE}, year: 2027, budget_t: 900}}
        green_power:
          - {{enterprise: {CODE}, type: green_certificate, from: 2027-01-01, until: 2027-12-31, mwh: 365,
              reference: 7001}}
        """, "notice.yaml")
    summary = load(db_url, notice)
    assert summary.created == 2
    with session_scope(db_url) as session:
        assert session.get(CarbonBudget, (CODE, 2027)).budget_t == 900.0
        assert session.scalars(select(GreenRow).where(GreenRow.reference == "7001")).one().mwh == 365.0


# ---------------------------------------------------------------- analytics


def test_purchases_are_counted_pro_rata_by_days() -> None:
    cert = GreenPurchase("green_certificate", dt.date(2025, 1, 1), dt.date(2025, 3, 31), 90.0)  # 90 days
    trade = GreenPurchase("green_power_trade", dt.date(2025, 2, 1), dt.date(2025, 2, 28), 56.0)
    assert cert.kwh_in(dt.date(2025, 2, 1), dt.date(2025, 3, 1)) == pytest.approx(28_000.0)
    assert cert.kwh_in(dt.date(2025, 3, 31), dt.date(2025, 5, 1)) == pytest.approx(1_000.0)  # its last day
    assert cert.kwh_in(dt.date(2025, 4, 1), dt.date(2025, 5, 1)) == 0.0
    assert green_kwh_by_kind([cert, trade], dt.date(2025, 2, 15), dt.date(2025, 3, 15)) == pytest.approx(
        {"green_certificate": 28_000.0, "green_power_trade": 28_000.0})


PLANT = EnterpriseInfo(
    code=CODE,
    co2_budgets=((2023, 1000.0),),
    green_purchases=(GreenPurchase("green_certificate", dt.date(2023, 6, 1), dt.date(2023, 6, 30), 30.0),),
)


def test_green_certificates_make_scope2_market_based() -> None:
    obj, _ = section6(PLANT, dt.date(2023, 6, 1), dt.date(2023, 7, 1), {"electricity": 150_000.0},
                      {"electricity": 1.0}, get_reference())
    co2 = obj["co2"]
    assert co2["scope2_method"] == "market_based"
    assert co2["green_purchased_kwh"] == 30_000.0
    assert co2["green_share"] == pytest.approx(0.2)
    assert co2["scope2_t"] == pytest.approx(120_000 * RESIDUAL_2023 / 1000)  # 73.152 t
    assert co2["scope2_location_t"] == pytest.approx(150_000 * NORTH_CHINA_2023 / 1000)  # 95.415 t
    assert co2["scope2_national_t"] == pytest.approx(150_000 * GRID_2023 / 1000)  # 79.59 t
    assert co2["grid_factor"]["basis"] == "residual" and co2["grid_factor"]["value"] == RESIDUAL_2023
    assert obj["co2_t"] == pytest.approx(73.152)
    assert obj["evidence"]["green_power"]["purchased_kwh"] == {"green_certificate": 30_000.0}
    assert "market-based" in obj["evidence"]["green_power"]["method"]
    assert co2["budget_status"] == "n/a" and co2["budget_t"] is None  # no position passed


def test_purchases_beyond_net_purchase_are_capped_with_a_warning() -> None:
    obj, _ = section6(PLANT, dt.date(2023, 6, 1), dt.date(2023, 7, 1), {"electricity": 20_000.0},
                      {"electricity": 1.0}, get_reference())
    assert obj["co2"]["green_purchased_kwh"] == 20_000.0 and obj["co2"]["scope2_t"] == 0.0
    assert obj["co2"]["green_share"] == 1.0
    assert any("exceed the net purchased" in w for w in obj["warnings"])


def test_no_purchase_in_the_period_stays_location_based() -> None:
    obj, _ = section6(PLANT, dt.date(2023, 7, 1), dt.date(2023, 8, 1), {"electricity": 10_000.0},
                      {"electricity": 1.0}, get_reference())
    assert obj["co2"]["scope2_method"] == "location_based"
    assert obj["co2"]["scope2_t"] == obj["co2"]["scope2_location_t"] == pytest.approx(10 * NORTH_CHINA_2023)
    assert obj["co2"]["scope2_national_t"] == pytest.approx(10 * GRID_2023)
    assert "green_power" not in obj["evidence"]


def test_budget_window() -> None:
    today = dt.date(2023, 11, 26)
    assert budget_window(dt.date(2023, 7, 1), today) == (dt.date(2023, 1, 1), dt.date(2023, 7, 1))
    assert budget_window(dt.date(2024, 1, 1), today) == (dt.date(2023, 1, 1), dt.date(2023, 11, 26))
    assert budget_window(dt.date(2024, 1, 1), dt.date(2024, 3, 1)) == (dt.date(2023, 1, 1), dt.date(2024, 1, 1))
    assert budget_window(dt.date(2023, 1, 1), today) == (dt.date(2022, 1, 1), dt.date(2023, 1, 1))
    assert budget_window(dt.date(2023, 12, 1), dt.date(2023, 1, 1)) is None  # nothing of the year has passed


def test_budget_position_projects_year_to_date_linearly() -> None:
    # 1 Jan .. 1 Jul 2023 = 181 days; 800,000 kWh imported, 30,000 kWh of it green (June's certificates)
    window = (dt.date(2023, 1, 1), dt.date(2023, 7, 1))
    position = budget_position(PLANT, window, {"electricity": 800_000.0}, get_reference())
    assert position is not None
    ytd = 770_000 * RESIDUAL_2023 / 1000  # 469.392 t
    assert position.projection.year_to_date_t == pytest.approx(ytd)
    assert position.projection.projected_t == pytest.approx(ytd * 365 / 181)  # 946.564 t
    assert position.projection.status == "within"
    obj, _ = section6(PLANT, dt.date(2023, 6, 1), dt.date(2023, 7, 1), {"electricity": 150_000.0},
                      {"electricity": 1.0}, get_reference(), budget=position)
    assert obj["co2"]["budget_t"] == 1000.0 and obj["co2"]["budget_year"] == 2023
    assert obj["co2"]["projected_year_t"] == pytest.approx(946.564, abs=1e-3)
    assert obj["co2"]["budget_status"] == "within"
    assert obj["evidence"]["budget"]["days_elapsed"] == 181
    heavier = budget_position(PLANT, window, {"electricity": 900_000.0}, get_reference())
    assert heavier is not None and heavier.projection.status == "projected_over"  # 530.4 t → 1,069.6 t
    over = budget_position(PLANT, window, {"electricity": 1_800_000.0}, get_reference())
    assert over is not None and over.projection.status == "over"
    assert budget_position(PLANT, (dt.date(2024, 1, 1), dt.date(2024, 2, 1)), {"electricity": 1.0},
                           get_reference()) is None  # no budget for 2024


def test_extra_green_option_adds_to_the_registry_purchases() -> None:
    options = AnalyzeOptions(green_purchased_kwh=10_000.0)
    obj, _ = section6(PLANT, dt.date(2023, 6, 1), dt.date(2023, 7, 1), {"electricity": 150_000.0},
                      {"electricity": 1.0}, get_reference(), options)
    assert obj["co2"]["green_purchased_kwh"] == 40_000.0


def test_adjacent_periods_combine_with_day_weighted_completeness() -> None:
    before = PeriodTotals({"electricity": 1_000.0}, {"electricity": 1.0})
    period = PeriodTotals({"electricity": 500.0, "natural_gas": 20.0}, {"electricity": 0.5, "natural_gas": 1.0})
    both = combine_periods(before, 3, period, 1)
    assert both.totals == {"electricity": 1_500.0, "natural_gas": 20.0}
    assert both.completeness == pytest.approx({"electricity": 3.5 / 4, "natural_gas": 0.25})
