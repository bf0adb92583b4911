"""The registry's `retrofits:` (issue 16): stored form, Option C/B, FILE:LINE errors, whole file rejected."""

from __future__ import annotations

from pathlib import Path

from sqlalchemy import select

from analytics.savings.job import load_project, projects
from core.registry.db import session_scope
from core.registry.models import Enterprise
from tests.unit.test_registry_loader import CODE, MINIMAL, errors_of, line_of, load, write
from tests.unit.test_registry_loader import db_url as db_url  # the fixture

METERS = """\
      - id: M02
        carrier: electricity
        role: sub
        parent: M01
      - id: C01
        carrier: coal
        role: main
"""
RETROFITS = """\
    retrofits:
      - id: vfd-fans
        measure: 窑尾风机变频改造
        meters: [M01, C01]
        baseline_from: 2025-01-01
        baseline_to: 2025-12-31
        installed_from: 2026-01-01
        installed_to: 2026-01-15
        expected_savings_tce_per_year: 50
        investment_cny: 1200000
        bank: bank-a
        non_routine:
          - {from: 2026-05-01, to: 2026-06-30, description: 新增包装线, adjustment_tce_per_day: 0.2}
          - {from: 2026-08-01, description: 窑检修}
      - id: mill-drive
        measure: 磨机电机更换
        meters: M02
        baseline_from: 2025-01-01
        baseline_to: 2025-12-31
        installed_from: 2026-02-01
        installed_to: 2026-02-01
        expected_savings_kwh_per_year: 90000
"""


def _with(block: str, meters: str = METERS) -> str:
    text = MINIMAL.replace("      - id: O01\n", meters + "      - id: O01\n", 1)
    return text.replace("    product: cement_clinker\n", "    product: cement_clinker\n" + block, 1)


def test_retrofits_load_with_their_option_unit_and_events(db_url: str, tmp_path: Path) -> None:
    load(db_url, write(tmp_path, _with(RETROFITS)))
    with session_scope(db_url) as session:
        row = session.scalars(select(Enterprise).where(Enterprise.code == CODE)).one()
        vfd, mill = row.retrofits
        assert (vfd["id"], vfd["option"], vfd["unit"], vfd["meters"]) == ("vfd-fans", "C", "tce", ["M01", "C01"])
        assert (mill["option"], mill["unit"], mill["meters"]) == ("B", "kWh", ["M02"])
        assert vfd["non_routine"] == [
            {"from": "2026-05-01", "to": "2026-06-30", "description": "新增包装线", "adjustment_per_day": 0.2},
            {"from": "2026-08-01", "to": None, "description": "窑检修", "adjustment_per_day": None}]
        info, project, tariff = load_project(session, CODE, "vfd-fans")
        assert info.code == CODE
        assert project.key == f"{CODE}/vfd-fans" and project.bank == "bank-a" and tariff.origin == "assumed"
        assert str(project.reporting_from) == "2026-01-16"
        assert [p.id for p in projects(session, CODE)] == ["vfd-fans", "mill-drive"]
    load(db_url, write(tmp_path, _with("", METERS)))  # the file no longer declares retrofits: none are kept
    with session_scope(db_url) as session:
        assert session.scalars(select(Enterprise)).one().retrofits is None


def test_bad_retrofits_reject_the_whole_file_with_file_line_errors(db_url: str, tmp_path: Path) -> None:
    bad = (RETROFITS.replace("meters: M02", "meters: [M02, X9, O01]")
           .replace("installed_from: 2026-01-01", "installed_from: 2025-12-31")
           .replace("adjustment_tce_per_day: 0.2", "adjustment_kwh_per_day: 200")
           .replace("bank: bank-a", "bank: nobody")
           .replace("expected_savings_kwh_per_year: 90000", "expected_savings_kwh_per_year: -5"))
    path = write(tmp_path, _with(bad))
    errors = errors_of(db_url, path)
    meters_line = line_of(path, "meters: [M02, X9, O01]")
    assert f"{path}:{meters_line}: enterprises[0].retrofits[1].meters: meter 'X9' is not a meter of the enterprise" \
        in errors
    assert any(e.startswith(f"{path}:{meters_line}:") and "'O01' (output, process) is not an energy meter" in e
               for e in errors)
    assert (f"{path}:{line_of(path, 'installed_from: 2025-12-31')}: enterprises[0].retrofits[0].installed_from: "
            "2025-12-31 is the same day as baseline_to 2025-12-31") in errors
    assert any(e.startswith(f"{path}:{line_of(path, 'adjustment_kwh_per_day: 200')}:") and "give adjustment_tce"
               in e for e in errors)
    assert any(e.startswith(f"{path}:{line_of(path, 'expected_savings_kwh_per_year: -5')}:") for e in errors)
    with session_scope(db_url) as session:  # nothing of the file was written
        assert session.scalars(select(Enterprise)).first() is None
    only_bank = write(tmp_path, _with(RETROFITS.replace("bank: bank-a", "bank: nobody")))
    assert errors_of(db_url, only_bank) == [f"{only_bank}:{line_of(only_bank, 'bank: nobody')}: "
                                            "enterprises[0].retrofits[0].bank: bank 'nobody' is not in the file or "
                                            "the registry"]
