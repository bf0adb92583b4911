"""The registry's `orderly:` block (priority class, declared security load; issue 18): FILE:LINE errors, stored."""

from __future__ import annotations

from pathlib import Path

from sqlalchemy import select

from analytics.orderly.job import OrderlyFacts
from analytics.registry_view import orderly_facts
from core.registry.db import session_scope
from core.registry.models import Enterprise
from tests.unit.test_registry_loader import CODE, MINIMAL, errors_of, line_of, load, write
from tests.unit.test_registry_loader import db_url as db_url  # the fixture


def _with(block: str) -> str:
    return MINIMAL.replace("    product: cement_clinker\n", "    product: cement_clinker\n" + block, 1)


def test_orderly_block_loads_and_reads_back(db_url: str, tmp_path: Path) -> None:
    load(db_url, write(tmp_path, _with("    orderly: {priority: livelihood, security_kw: 180}\n")))
    with session_scope(db_url) as session:
        row = session.scalars(select(Enterprise).where(Enterprise.code == CODE)).one()
        assert (row.orderly_priority, row.security_kw) == ("livelihood", 180.0)
        facts = orderly_facts(session)
    assert facts[CODE].priority == "livelihood" and facts[CODE].security_kw == 180.0
    load(db_url, write(tmp_path, MINIMAL))  # no block: normal, nothing declared
    with session_scope(db_url) as session:
        assert orderly_facts(session)[CODE] == OrderlyFacts(facts[CODE].name, "normal", None)


def test_orderly_errors_name_file_line_and_field(db_url: str, tmp_path: Path) -> None:
    path = write(tmp_path, _with("    orderly:\n      priority: vip\n      security_kw: -5\n      cut: 1\n"))
    joined = "\n".join(errors_of(db_url, path))
    assert f"{path}:{line_of(path, 'vip')}: enterprises[0].orderly.priority: 'vip' is not one of" in joined
    assert f"{path}:{line_of(path, 'cut: 1')}: enterprises[0].orderly.cut: unknown key" in joined
    path = write(tmp_path, _with("    orderly:\n      priority: normal\n      security_kw: -5\n"))
    joined = "\n".join(errors_of(db_url, path))
    assert f"{path}:{line_of(path, '-5')}: enterprises[0].orderly.security_kw: must be greater than 0" in joined
    with session_scope(db_url) as session:  # a bad file loads nothing
        assert session.scalars(select(Enterprise)).first() is None
