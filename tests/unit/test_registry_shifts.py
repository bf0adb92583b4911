"""The registry's `shifts:` (declared shift calendar, issue 14): FILE:LINE errors, stored form, the diagnosis facts."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import pytest
from sqlalchemy import select

from analytics.diagnosis.frames import Shift
from analytics.report.job import registry_facts
from core.registry.db import session_scope
from core.registry.fileshifts import clock_time, format_shifts, parse_shifts
from core.registry.models import Enterprise
from tests.unit.test_registry_loader import CODE, MINIMAL, errors_of, line_of, load, write
from tests.unit.test_registry_loader import db_url as db_url  # the fixture

SHIFTS = """\
    shifts:
      - {from: "08:00", to: "17:30"}
      - from: "22:00"
        to: "06:00"
        days: every_day
"""


def _with(block: str) -> str:
    return MINIMAL.replace("    product: cement_clinker\n", "    product: cement_clinker\n" + block, 1)


def test_shifts_load_into_the_registry_and_the_diagnosis_facts(db_url: str, tmp_path: Path) -> None:
    load(db_url, write(tmp_path, _with(SHIFTS)))
    with session_scope(db_url) as session:
        row = session.scalars(select(Enterprise).where(Enterprise.code == CODE)).one()
        assert row.shifts == "workdays 08:00-17:30; every_day 22:00-06:00"
        facts = registry_facts(session, CODE, 2026)
    assert facts.shifts == (Shift(dt.time(8), dt.time(17, 30), "workdays"), Shift(dt.time(22), dt.time(6), "every_day"))
    load(db_url, write(tmp_path, MINIMAL))  # the file no longer declares shifts: none are kept
    with session_scope(db_url) as session:
        assert registry_facts(session, CODE, 2026).shifts == ()


def test_shift_errors_name_file_line_and_field(db_url: str, tmp_path: Path) -> None:
    bad = """\
    shifts:
      - {from: 8:00, to: "17:30"}
      - {from: "25:00", to: "06:00"}
      - {from: "08:00", to: "08:00"}
      - {from: "09:00", to: "12:00", days: weekends}
      - {from: "10:00"}
      - {from: "13:00", to: "16:00", break: 30}
"""
    path = write(tmp_path, _with(bad))
    joined = "\n".join(errors_of(db_url, path))
    assert (f"{path}:{line_of(path, 'from: 8:00')}: enterprises[0].shifts[0].from: 480 is not a time \"HH:MM\" "
            "(YAML reads an unquoted 8:00 as the number 480: quote it)") in joined
    assert f"{path}:{line_of(path, '25:00')}: enterprises[0].shifts[1].from: '25:00' is not a time" in joined
    same, only_from = line_of(path, 'to: "08:00"'), line_of(path, 'from: "10:00"')
    assert f"{path}:{same}: enterprises[0].shifts[2]: from and to are the same" in joined
    assert f"{path}:{line_of(path, 'weekends')}: enterprises[0].shifts[3].days: 'weekends' is not one of" in joined
    assert f"{path}:{only_from}: enterprises[0].shifts[4].to: required key missing" in joined
    assert f"{path}:{line_of(path, 'break')}: enterprises[0].shifts[5]" in joined and "break" in joined
    with session_scope(db_url) as session:  # a bad file loads nothing
        assert session.scalars(select(Enterprise)).first() is None


def test_stored_form_round_trip_and_midnight() -> None:
    shifts = [(dt.time(16), clock_time("24:00"), "workdays"), (dt.time(0), dt.time(8), "every_day")]
    assert format_shifts(shifts) == "workdays 16:00-00:00; every_day 00:00-08:00"
    assert parse_shifts(format_shifts(shifts)) == shifts
    assert parse_shifts(None) == [] and parse_shifts("") == []
    with pytest.raises(ValueError, match="24:30"):
        clock_time("24:30")
    evening = Shift(dt.time(16), dt.time(0))
    monday = dt.date(2026, 9, 21)
    assert [h for h in range(24) if evening.covers(monday, h)] == list(range(16, 24))
