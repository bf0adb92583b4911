"""Carbon budget and green certificates end to end: registry file on PostgreSQL → rollup on InfluxDB → analyze."""

from __future__ import annotations

import json
import uuid
from collections.abc import Iterator
from pathlib import Path

import numpy as np
import pytest
import typer
from sqlalchemy import create_engine, text
from sqlalchemy.engine import make_url
from typer.testing import CliRunner

from core.influx import InfluxV1, line
from core.registry.db import dispose_engines
from core.settings import get_settings
from enerdiag.commands import analyze as analyze_commands
from enerdiag.commands import registry as registry_commands

pytestmark = [pytest.mark.integration, pytest.mark.postgres]

CODE = "91140200MA0H2KXX88"
DAY0 = 1_735_660_800  # 2025-01-01 00:00 Asia/Shanghai
RESIDUAL_2023 = 0.6096  # MEE/NBS 2023 national factor excluding market-traded non-fossil power (2025 falls back)
GRID_2023 = 0.5306  # MEE/NBS 2023 national average
NORTH_CHINA_2023 = 0.6361  # MEE/NBS 2023 华北 regional grid: this Shanxi (1402xx) plant's location-based factor

REGISTRY = f"""
enterprises:
  - code: {CODE}
    name: 大同示例水泥有限公司
    industry: "3011"
    county: 云冈区
    gateways: [{{id: gw1}}]
    meters:
      - {{id: M01, gateway: gw1, carrier: electricity, role: main}}
    green_power:
      - {{type: green_certificate, from: 2025-01-01, until: 2025-01-10, mwh: 100, reference: GEC-0001}}
carbon_budgets:
  - {{enterprise: {CODE}, year: 2025, budget_t: 3000}}
"""


@pytest.fixture
def cli(services, influx_db, postgres_url: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Path]:
    name = f"budget_{uuid.uuid4().hex[:10]}"
    admin = create_engine(postgres_url, isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(text(f'CREATE DATABASE "{name}"'))
    monkeypatch.setenv("ENERDIAG_INFLUX_DB", influx_db)
    monkeypatch.setenv("ENERDIAG_DB_URL", make_url(postgres_url).set(database=name).render_as_string(False))
    get_settings.cache_clear()
    registry = tmp_path / "registry.yaml"
    registry.write_text(REGISTRY, encoding="utf-8")
    yield registry
    dispose_engines()
    get_settings.cache_clear()
    with admin.connect() as conn:
        conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
    admin.dispose()


def app() -> typer.Typer:
    root = typer.Typer()
    registry_commands.register(root)
    analyze_commands.register(root)
    return root


def test_green_certificates_and_budget_position_through_the_real_services(services, influx_db, cli: Path) -> None:
    runner = CliRunner()
    for expected in ("1 carbon_budget, 1 green_purchase (5 created, 0 updated)",
                     "(0 created, 0 updated)"):  # the second load changes nothing
        loaded = runner.invoke(app(), ["registry", "load", str(cli)])
        assert loaded.exit_code == 0, loaded.output
        assert expected in loaded.output + loaded.stderr
    # two local days (1 and 2 January 2025) at 15-minute readings of 250 kWh: 24,000 kWh a day
    influx = InfluxV1(services.influx_url, influx_db)
    influx.write([line("reading", {"enterprise": CODE, "gateway": "gw1", "meter": "M01"},
                       {"energy_kwh": 1_000.0 + 250.0 * k}, int(DAY0 + 900 * k)) for k in np.arange(193)])
    rolled = runner.invoke(app(), ["rollup", "--since", "2024-12-30"])
    assert rolled.exit_code == 0, rolled.output
    result = runner.invoke(app(), ["analyze", "--from", "2025-01-02", "--to", "2025-01-03", "--as-of", "2025-06-01",
                                   "--json"])
    assert result.exit_code == 0, result.output
    (obj,) = json.loads(result.stdout)
    co2 = obj["co2"]
    # 100 MWh of certificates over 10 days: 10,000 kWh on 2 January, deducted at 0; the rest at the residual factor
    assert obj["energy"] == {"electricity": 24_000.0}
    assert co2["green_purchased_kwh"] == 10_000.0
    assert co2["green_share"] == pytest.approx(10_000 / 24_000, abs=1e-6)
    assert co2["scope2_method"] == "market_based"
    assert co2["scope2_t"] == pytest.approx(14_000 * RESIDUAL_2023 / 1000, abs=1e-6)  # 8.5344 t
    assert co2["scope2_location_t"] == pytest.approx(24_000 * NORTH_CHINA_2023 / 1000, abs=1e-6)  # 15.2664 t
    assert co2["scope2_national_t"] == pytest.approx(24_000 * GRID_2023 / 1000, abs=1e-6)  # 12.7344 t
    assert obj["co2_t"] == pytest.approx(8.5344, abs=1e-6)
    # year to date = 1..2 January: 48,000 kWh − 20,000 kWh green = 28,000 kWh → 17.0688 t, × 365 / 2 days
    assert co2["budget_year"] == 2025 and co2["budget_t"] == 3000.0
    assert co2["year_to_date_t"] == pytest.approx(28_000 * RESIDUAL_2023 / 1000, abs=1e-6)
    assert co2["projected_year_t"] == pytest.approx(17.0688 * 365 / 2, abs=1e-6)  # 3,115.056 t
    assert co2["budget_status"] == "projected_over"
    assert obj["evidence"]["budget"] == {
        "from": "2025-01-01", "to": "2025-01-03", "days_elapsed": 2, "days_in_year": 365, "completeness": 1.0,
        "method": "linear: year-to-date tCO2 × days in year / days elapsed (registry carbon_budgets)"}
    assert obj["evidence"]["green_power"]["purchased_kwh"] == {"green_certificate": 10_000.0}
    # the whole two days as the period: the year-to-date is the period itself
    both = runner.invoke(app(), ["analyze", "--from", "2025-01-01", "--to", "2025-01-03", "--as-of", "2025-06-01",
                                 "--json"])
    (whole,) = json.loads(both.stdout)
    assert whole["co2_t"] == pytest.approx(whole["co2"]["year_to_date_t"]) == pytest.approx(17.0688, abs=1e-6)
    # a period running past --as-of: the year to date is read on its own, [1 Jan, 2 Jan)
    early = runner.invoke(app(), ["analyze", "--from", "2025-01-01", "--to", "2025-02-01", "--as-of", "2025-01-02",
                                  "--json"])
    (month,) = json.loads(early.stdout)
    assert month["co2"]["year_to_date_t"] == pytest.approx(14_000 * RESIDUAL_2023 / 1000, abs=1e-6)
    assert month["co2"]["projected_year_t"] == pytest.approx(8.5344 * 365, abs=1e-6)
    assert month["evidence"]["budget"]["to"] == "2025-01-02"
