"""The `tariff:` block of the registry file: an enterprise's electricity bill → the table → the diagnosis's facts."""

from __future__ import annotations

import textwrap
from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy import select

from analytics.billing import ENTERPRISE, ElectricityTariff
from analytics.report.job import registry_facts
from core.registry.db import dispose_engines, session_scope
from core.registry.loader import RegistryFileError, load_registry_file
from core.registry.models import Enterprise

CODE = "91140214MA0FE1KM73"
HEAD = f"""\
enterprises:
  - code: {CODE}
    name: 示例铸造
    industry: "3391"
    county: 云冈区
    contracted_capacity_kva: 1000
    meters:
      - id: M01
        carrier: electricity
        role: main
"""
TARIFF = """\
    tariff:
      source: 国网大同供电公司 2026年12月电费通知单
      voltage_class: 1-10kV
      tou_edition: auto
      components: {energy: 0.40, transmission: 0.12, system: 0.02, line_loss: 0.01, funds: 0.03}
      basic_charge: {basis: demand, demand_cny_per_kw_month: 38.4, capacity_cny_per_kva_month: 24}
      pf_standard: 0.85
      fuel_prices: {natural_gas: 3.2}
"""


@pytest.fixture
def db_url(tmp_path: Path) -> Iterator[str]:
    yield f"sqlite:///{tmp_path / 'registry.sqlite3'}"
    dispose_engines()


def _load(url: str, tmp_path: Path, text: str) -> None:
    path = tmp_path / "registry.yaml"
    path.write_text(textwrap.dedent(text), encoding="utf-8")
    with session_scope(url) as session:
        load_registry_file(session, path, known_quota_products=None)


def _errors(url: str, tmp_path: Path, text: str) -> list[str]:
    with pytest.raises(RegistryFileError) as info:
        _load(url, tmp_path, text)
    return info.value.errors


def test_a_bills_tariff_is_stored_and_reaches_the_diagnosis(db_url: str, tmp_path: Path) -> None:
    _load(db_url, tmp_path, HEAD + TARIFF)
    with session_scope(db_url) as session:
        row = session.scalars(select(Enterprise)).one()
        assert row.tariff["components"]["energy"] == 0.40 and row.tariff["pf_standard"] == 0.85
        assert row.tariff["basic_charge"] == {"basis": "demand", "capacity_cny_per_kva_month": 24.0,
                                              "demand_cny_per_kw_month": 38.4, "contract_demand_kw": None}
        facts = registry_facts(session, CODE, 2026)
    tariff = ElectricityTariff.from_registry(facts.tariff)
    assert tariff.origin == ENTERPRISE and tariff.flat_cny_per_kwh == pytest.approx(0.58)
    assert tariff.label()["source"] == "国网大同供电公司 2026年12月电费通知单"
    assert tariff.fuel_price("natural_gas") == (3.2, ENTERPRISE)
    _load(db_url, tmp_path, HEAD)  # the block removed from the file: the enterprise has no tariff again
    with session_scope(db_url) as session:
        assert session.scalars(select(Enterprise)).one().tariff is None


@pytest.mark.parametrize(("block", "message"), [
    ("    tariff: {voltage_class: 10kV, components: {energy: 0.4}}\n", "voltage_class: '10kV' is not one of"),
    ("    tariff: {voltage_class: 1-10kV}\n", "give the bill's energy_prices per period or its price components"),
    ("    tariff: {voltage_class: 1-10kV, components: {energy: 0.4}, pf_standard: 0.88}\n",
     "pf_standard: 0.88 is not one of the power-factor standards"),
    ("    tariff: {voltage_class: 1-10kV, components: {energy: 0.4}, tou_edition: sx_1999}\n",
     "tou_edition: 'sx_1999' is not 'auto', 'none' or an edition"),
    ("    tariff: {voltage_class: 1-10kV, energy_prices: {peak: 0.9, flat: 0.6}}\n",
     "a time-of-use tariff needs peak, flat and valley prices"),
    ("    tariff: {voltage_class: 1-10kV, energy_prices: {flat: 0.6, peak: 0.9}, tou_edition: none}\n",
     "without a time-of-use edition give only the flat price"),
    ("    tariff: {voltage_class: 1-10kV, components: {energy: -0.4}}\n", "components.energy: must be greater than 0"),
    ("    tariff: {voltage_class: 1-10kV, components: {energy: 0.4, vat: 0.1}}\n", "unknown key 'vat'"),
    ("    tariff: {voltage_class: 1-10kV, components: {energy: 0.4}, basic_charge: {basis: demand}}\n",
     "demand_cny_per_kw_month: required for basis demand"),
    ("    tariff: {voltage_class: 1-10kV, components: {energy: 0.4}, fuel_prices: {output: 3}}\n",
     "unknown key 'output'"),
])
def test_a_bad_tariff_is_refused_with_its_line(db_url: str, tmp_path: Path, block: str, message: str) -> None:
    errors = _errors(db_url, tmp_path, HEAD + block)
    assert any(message in e for e in errors), errors
    assert all(e.split(":")[1] == "11" for e in errors), errors  # the tariff block's line in the file
