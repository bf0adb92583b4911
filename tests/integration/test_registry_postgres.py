"""The registry on a real PostgreSQL: load, idempotent reload, whole-file rejection, keys, consent and audit."""

from __future__ import annotations

import datetime as dt
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy import create_engine, select, text
from sqlalchemy.engine import make_url

from core.registry.access import (
    active_consent,
    audit_records,
    consented_enterprises,
    issue_api_key,
    record_audit,
    revoke_api_key,
    verify_api_key,
)
from core.registry.db import dispose_engines, get_engine, init_db, session_scope
from core.registry.hashing import mosquitto_verify
from core.registry.loader import RegistryFileError, load_registry_file
from core.registry.models import Base, Enterprise, Gateway, Meter, MeterEvent

pytestmark = [pytest.mark.integration, pytest.mark.postgres]

ROOT = Path(__file__).resolve().parents[2]
EXAMPLE = ROOT / "deploy" / "registry-datong.yaml"
CEMENT = "91140214MA0FE1KM73"


@pytest.fixture
def pg_registry(postgres_url: str) -> Iterator[str]:
    """A fresh, uniquely named database on the session PostgreSQL; yields its SQLAlchemy URL."""
    name = f"registry_{uuid.uuid4().hex[:10]}"
    admin = create_engine(postgres_url, isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(text(f'CREATE DATABASE "{name}"'))
    url = make_url(postgres_url).set(database=name).render_as_string(hide_password=False)
    yield url
    dispose_engines()
    with admin.connect() as conn:
        conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
    admin.dispose()


def snapshot(url: str) -> dict[str, list[tuple[str, ...]]]:
    with session_scope(url) as session:
        return {
            t.name: sorted(tuple(map(repr, row)) for row in session.execute(select(t)).all())
            for t in Base.metadata.sorted_tables
        }


def test_load_reload_and_query_round_trip(pg_registry: str) -> None:
    assert get_engine(pg_registry).dialect.name == "postgresql"
    init_db(pg_registry)
    init_db(pg_registry)  # idempotent
    with session_scope(pg_registry) as session:
        summary = load_registry_file(session, EXAMPLE)
    assert summary.counts["enterprises"] == 6 and summary.updated == 0
    first = snapshot(pg_registry)
    with session_scope(pg_registry) as session:
        again = load_registry_file(session, EXAMPLE)
    assert (again.created, again.updated) == (0, 0)
    assert snapshot(pg_registry) == first

    with session_scope(pg_registry) as session:
        cement = session.get(Enterprise, CEMENT)
        assert cement.name == "大同市云冈示例水泥有限公司" and cement.county == "云冈区"
        assert [m.meter_id for m in cement.meters] == ["C01", "M01", "M02", "M03", "O01", "O02", "W01"]
        m01 = session.get(Meter, (CEMENT, "M01"))
        assert m01.multiplier == 132000.0 and m01.contracted_capacity_kva == 25000.0
        (event,) = m01.events
        assert event.at == dt.datetime(2026, 3, 15, 2, 0, tzinfo=dt.UTC) and event.old_reading == 183422.5
        assert mosquitto_verify("kiln-demo-2026", session.get(Gateway, (CEMENT, "gw-kiln")).password_hash)
        rows = consented_enterprises(session, "bank-datong", dt.date(2027, 7, 1))
        assert len(rows) == 3  # the coking consent ended 2027-06-30
        consent = active_consent(session, "bank-datong", CEMENT, dt.date(2027, 7, 1))
        assert consent is not None and consent.scopes == ["profile", "credit", "series"]
        assert session.scalars(select(MeterEvent)).one().kind == "replaced"


def test_bad_file_leaves_postgres_unchanged(pg_registry: str, tmp_path: Path) -> None:
    with session_scope(pg_registry) as session:
        load_registry_file(session, EXAMPLE)
    before = snapshot(pg_registry)
    last_consent = "bank: bank-datong\n    scopes: [profile, credit, series, warehouse]"
    changed = (
        EXAMPLE.read_text(encoding="utf-8")
        .replace("大同市云冈示例水泥有限公司", "改名")
        .replace(last_consent, "bank: bank-nowhere\n    scopes: [profile]")
    )
    bad = tmp_path / "bad.yaml"
    bad.write_text(changed, encoding="utf-8")
    with pytest.raises(RegistryFileError) as info, session_scope(pg_registry) as session:
        load_registry_file(session, bad)
    assert "consents[3].bank: bank 'bank-nowhere' is not in the file or the registry" in str(info.value)
    assert snapshot(pg_registry) == before


def test_keys_and_audit_on_postgres(pg_registry: str) -> None:
    with session_scope(pg_registry) as session:
        load_registry_file(session, EXAMPLE)
        key = issue_api_key(session, "bank-datong", expires=dt.datetime.now(dt.UTC) + dt.timedelta(days=1))
    with session_scope(pg_registry) as session:
        assert verify_api_key(session, key).id == "bank-datong"
        base = dt.datetime(2026, 11, 1, tzinfo=dt.UTC)
        for i, status in enumerate((200, 403, 404)):
            at = base + dt.timedelta(minutes=i)
            record_audit(session, "bank-datong", CEMENT, f"/v1/enterprises/{CEMENT}/p{i}", status, at)
    with session_scope(pg_registry) as session:
        assert [r.status for r in audit_records(session, CEMENT)] == [404, 403, 200]
        revoke_api_key(session, key)
    with session_scope(pg_registry) as session:
        assert verify_api_key(session, key) is None
