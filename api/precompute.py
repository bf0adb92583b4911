"""Credit indicators computed ahead of the banks' requests: after each rollup, for every consented enterprise.

`enerdiag rollup` calls `precompute_credit` once the rollups are up to date: for each enterprise that has
granted some bank the `credit` scope (active consent), the indicators on its local today are computed by
`api.figures.credit_indicators` (the endpoint's own code) and stored as JSON in `api_credit_snapshots`.
The endpoint answers a request for that day from the row; any other day is computed on request.
"""

from __future__ import annotations

import datetime as dt
import time
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any, Final
from zoneinfo import ZoneInfo

import orjson
from sqlalchemy import Connection, Engine, delete, select
from sqlalchemy.orm import Session

from analytics.enterprise import EnterpriseInfo
from analytics.refs import Reference
from api.figures import credit_indicators
from api.models import CreditSnapshot
from api.responses import dumps, merge_objects
from core.domain import DEFAULT_TIMEZONE
from core.influx import InfluxError, InfluxV1
from core.reference import ReferenceLookupError
from core.registry.dialects import upsert_insert
from core.registry.models import Consent, utcnow

KEEP_DAYS: Final = 35
"""Snapshots older than this many days are deleted (a bank asking for an older day gets it computed)."""
SCOPE: Final = "credit"


@dataclass
class PrecomputeReport:
    """What one run did."""

    enterprises: int = 0
    seconds: float = 0.0
    failed: dict[str, str] = field(default_factory=dict)


def credit_enterprises(session: Session, today: dt.date) -> list[str]:
    """Codes of enterprises with an active consent granting `credit` to at least one bank."""
    rows = session.execute(select(Consent.enterprise_code, Consent.scopes)
                           .where(Consent.revoked_at.is_(None), Consent.until >= today))
    return sorted({code for code, scopes in rows if SCOPE in scopes})


def local_today(now: dt.datetime, timezone: str) -> dt.date:
    """The enterprise's calendar day at `now`."""
    return now.astimezone(ZoneInfo(timezone)).date()


def store(connection: Connection, code: str, as_of: dt.date, body: dict[str, Any], at: dt.datetime) -> None:
    """Insert or replace the snapshot of (code, as_of)."""
    table = CreditSnapshot.__table__
    insert = upsert_insert(connection.dialect.name)
    values = {"enterprise_code": code, "as_of": as_of, "body": dumps(body).decode(), "computed_at": at}
    connection.execute(insert(table).values(**values).on_conflict_do_update(
        index_elements=["enterprise_code", "as_of"], set_={"body": values["body"], "computed_at": at}))


def read_snapshot_json(engine: Engine, code: str, as_of: dt.date) -> bytes | None:
    """The stored indicators of (code, as_of) as JSON bytes with their `computed_at`, or None."""
    with engine.connect() as connection:
        row = connection.execute(select(CreditSnapshot.body, CreditSnapshot.computed_at)
                                 .where(CreditSnapshot.enterprise_code == code, CreditSnapshot.as_of == as_of)).first()
    if row is None:
        return None
    return merge_objects(row.body.encode(), dumps({"computed_at": row.computed_at.isoformat()}))


def read_snapshot(engine: Engine, code: str, as_of: dt.date) -> dict[str, Any] | None:
    """`read_snapshot_json` as a dict."""
    raw = read_snapshot_json(engine, code, as_of)
    return None if raw is None else dict(orjson.loads(raw))


def precompute_credit(engine: Engine, session: Session, influx: InfluxV1, reference: Reference,
                      enterprises: Sequence[EnterpriseInfo], now: dt.datetime | None = None) -> PrecomputeReport:
    """Compute and store today's credit indicators of those of `enterprises` (the registry's view the caller
    already holds) that some bank may read with the `credit` scope."""
    started = time.perf_counter()
    now = now or utcnow()
    china_today = local_today(now, DEFAULT_TIMEZONE)
    wanted = set(credit_enterprises(session, china_today))
    report = PrecomputeReport()
    for enterprise in (e for e in enterprises if e.code in wanted):
        as_of = local_today(now, enterprise.timezone)
        try:
            body = credit_indicators(influx, enterprise, as_of, reference)
        except (InfluxError, ReferenceLookupError) as exc:  # one enterprise's failure must not stop the others
            report.failed[enterprise.code] = f"{exc.__class__.__name__}: {exc}"[:300]
            continue
        with engine.begin() as connection:
            store(connection, enterprise.code, as_of, body, now)
        report.enterprises += 1
    with engine.begin() as connection:
        oldest = china_today - dt.timedelta(days=KEEP_DAYS)
        connection.execute(delete(CreditSnapshot).where(CreditSnapshot.as_of < oldest))
    report.seconds = time.perf_counter() - started
    return report
