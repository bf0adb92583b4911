"""Shared set-up for the API tests: a SQLite registry with banks, enterprises, consents and keys; a moving clock.

Holds no tests itself; the `test_api_*` modules import `World` and `make_world`.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from sqlalchemy import func, select

from api.models import ensure_tables
from core.influx import Series
from core.registry.access import add_bank, grant_consent, issue_api_key
from core.registry.creditcode import complete_credit_code
from core.registry.db import get_engine, session_scope
from core.registry.models import AuditRecord, Enterprise, Gateway, Meter

E1 = complete_credit_code("91140200", "MA0H2KX1")  # consented to bank-a: series, profile
E2 = complete_credit_code("91140200", "MA0H2KX2")  # consented to bank-b only
E3 = complete_credit_code("91140200", "MA0H2KX3")  # consented to bank-a, but revoked
E4 = complete_credit_code("91140200", "MA0H2KX4")  # consented to bank-a, expired
GHOST = complete_credit_code("91140200", "MA0H2KX9")  # valid code, not registered
UNTIL = dt.date(2027, 6, 30)
START = dt.datetime(2026, 11, 26, 4, 0, tzinfo=dt.UTC)


class Clock:
    """A clock tests can move."""

    def __init__(self, now: dt.datetime) -> None:
        self.now = now

    def __call__(self) -> dt.datetime:
        return self.now


class FakeInflux:
    """Unit-test stand-in for InfluxV1: answers `query` with canned series (integration tests use the real one)."""

    raw_source = '"reading"'  # raw readings in the default retention policy, as InfluxV1 without raw_rp

    def __init__(self, series: list[Series] | None = None, up: bool = True) -> None:
        self.series = series or []
        self.up = up
        self.queries: list[str] = []

    def ping(self) -> bool:
        return self.up

    def query(self, q: str) -> list[Series]:
        self.queries.append(q)
        return self.series


@dataclass
class World:
    url: str
    keys: dict[str, str] = field(default_factory=dict)

    def audit(self, code: str, status: int | None = None, bank: str | Any | None = ...) -> int:
        """Number of audit rows for `code` (optionally with this status and bank)."""
        query = select(func.count()).select_from(AuditRecord).where(AuditRecord.enterprise_code == code)
        if status is not None:
            query = query.where(AuditRecord.status == status)
        if bank is not ...:
            query = query.where(AuditRecord.bank_id.is_(None) if bank is None else AuditRecord.bank_id == bank)
        with session_scope(self.url) as session:
            return int(session.scalar(query) or 0)


def add_enterprise(session: Any, code: str, name: str, tz: str = "Asia/Shanghai") -> None:
    session.add(Enterprise(code=code, name=name, industry="3011", county="云冈区", timezone=tz))
    session.add(Gateway(enterprise_code=code, gateway_id="gw1"))
    session.flush()
    session.add(Meter(enterprise_code=code, meter_id="M01", gateway_id="gw1", carrier="electricity", role="main",
                      unit="kWh", multiplier=1.0))
    session.add(Meter(enterprise_code=code, meter_id="T01", gateway_id="gw1", carrier="temperature",
                      role="warehouse", unit="degC", multiplier=1.0))


def make_world(tmp_path: Path, url: str | None = None) -> World:
    """Banks a and b; E1..E4 registered with the consents described next to their codes; one key per bank.

    The registry is a SQLite file in `tmp_path` unless `url` names an (empty) database.
    """
    url = url or f"sqlite:///{tmp_path / 'registry.sqlite3'}"
    ensure_tables(get_engine(url))
    world = World(url)
    with session_scope(url) as s:
        add_bank(s, "bank-a", "示例银行甲")
        add_bank(s, "bank-b", "示例银行乙")
        for code, name in ((E1, "甲公司"), (E2, "乙公司"), (E3, "丙公司"), (E4, "丁公司")):
            add_enterprise(s, code, name)
        grant_consent(s, E1, "bank-a", ["series", "profile"], UNTIL)
        grant_consent(s, E2, "bank-b", ["series", "profile", "credit", "warehouse", "orders"], UNTIL)
        grant_consent(s, E3, "bank-a", ["series"], UNTIL)
        grant_consent(s, E4, "bank-a", ["series"], dt.date(2026, 11, 1))
        world.keys["a"] = issue_api_key(s, "bank-a")
        world.keys["b"] = issue_api_key(s, "bank-b")
    from core.registry.access import revoke_consent

    with session_scope(url) as s:
        revoke_consent(s, E3, "bank-a")
    return world


def bearer(key: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {key}"}
