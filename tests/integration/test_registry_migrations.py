"""Registry migrations on a real PostgreSQL: chain = models = fast path, adoption of a `create_all` database,
a second revision over rows, `registry schema-check`, and concurrent upgraders serialised by the advisory lock."""

from __future__ import annotations

import os
import subprocess
import sys
import time
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy import create_engine, inspect, text
from sqlalchemy.engine import make_url
from typer.testing import CliRunner

from core.registry import schema
from core.registry.db import dispose_engines, get_engine, init_db
from core.registry.migrations import HEAD
from core.settings import get_settings
from enerdiag.cli import app
from tests.unit.test_registry_migrations import (
    CEMENT,
    describe_schema,
    differences,
    legacy_database,
    revision_of,
    second_revision_scripts,
    seed,
    snapshot,
)

pytestmark = [pytest.mark.integration, pytest.mark.postgres]

ROOT = Path(__file__).resolve().parents[2]
ENERDIAG = Path(sys.executable).with_name("enerdiag")


def new_database(postgres_url: str) -> str:
    """A fresh, uniquely named database on the session PostgreSQL; its SQLAlchemy URL."""
    name = f"migr_{uuid.uuid4().hex[:10]}"
    admin = create_engine(postgres_url, isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(text(f'CREATE DATABASE "{name}"'))
    admin.dispose()
    return make_url(postgres_url).set(database=name).render_as_string(hide_password=False)


def drop_database(postgres_url: str, url: str) -> None:
    dispose_engines()
    admin = create_engine(postgres_url, isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(text(f'DROP DATABASE IF EXISTS "{make_url(url).database}" WITH (FORCE)'))
    admin.dispose()


@pytest.fixture
def pg_url(postgres_url: str) -> Iterator[str]:
    url = new_database(postgres_url)
    yield url
    drop_database(postgres_url, url)


@pytest.fixture
def second_pg_url(postgres_url: str) -> Iterator[str]:
    url = new_database(postgres_url)
    yield url
    drop_database(postgres_url, url)


def test_chain_on_empty_postgres_equals_the_models_and_the_fast_path(pg_url: str, second_pg_url: str) -> None:
    chain = create_engine(pg_url)
    try:
        with chain.connect() as conn:
            schema.run_alembic(conn, "upgrade")
        assert revision_of(chain) == HEAD
        assert differences(chain) == []

        fast = get_engine(second_pg_url)
        assert fast.dialect.name == "postgresql"
        assert schema.upgrade_schema(fast) == "created"
        assert differences(fast) == []
        described = describe_schema(fast)
        assert len(described) == 18 and described == describe_schema(chain)
    finally:
        chain.dispose()


def test_a_create_all_postgres_with_data_is_adopted_and_keeps_its_rows(pg_url: str) -> None:
    legacy = legacy_database(pg_url)
    try:
        seed(legacy)
        before = snapshot(legacy)
        assert len(before["meters"]) == 34 and len(before["consents"]) == 4
    finally:
        legacy.dispose()
    engine = init_db(pg_url)
    assert revision_of(engine) == HEAD
    assert snapshot(engine) == before
    assert differences(engine) == []


def test_a_second_revision_upgrades_postgres_holding_rows(
    pg_url: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    engine = init_db(pg_url)
    seed(engine)
    before = snapshot(engine)
    dispose_engines()

    second = second_revision_scripts(tmp_path, monkeypatch)
    engine = get_engine(pg_url)
    assert schema.upgrade_schema(engine) == "upgraded"
    assert revision_of(engine) == second
    columns = {c["name"]: c for c in inspect(engine).get_columns("enterprises")}
    assert str(columns["address"]["type"]) == "VARCHAR(600)"
    with engine.connect() as conn:
        district = conn.execute(text("SELECT district_code FROM enterprises WHERE code = :c"), {"c": CEMENT}).scalar()
    assert district == CEMENT[2:8] == "140214"
    after = snapshot(engine)
    assert {k: v for k, v in after.items() if k != "enterprises"} == {k: v for k, v in before.items()
                                                                       if k != "enterprises"}
    assert len(after["enterprises"]) == 6


runner = CliRunner()


def test_schema_check_on_postgres_names_a_column_dropped_by_hand(pg_url: str, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("ENERDIAG_DB_URL", pg_url)
    get_settings.cache_clear()
    try:
        assert runner.invoke(app, ["registry", "migrate"]).exit_code == 0
        ok = runner.invoke(app, ["registry", "schema-check"])
        assert ok.exit_code == 0, ok.output
        dispose_engines()
        plain = create_engine(pg_url)
        with plain.begin() as conn:
            conn.execute(text("ALTER TABLE api_webhooks DROP COLUMN revoked_at"))
        plain.dispose()
        bad = runner.invoke(app, ["registry", "schema-check"])
        assert bad.exit_code == 1
        assert bad.stdout.splitlines() == ["api_webhooks.revoked_at: column missing in the database"]
        sql = runner.invoke(app, ["registry", "migrate", "--sql"])
        assert sql.stdout.strip() == f"-- registry schema already at {HEAD}: nothing to do"
    finally:
        get_settings.cache_clear()


def test_migrate_sql_on_postgres_prints_postgres_ddl(pg_url: str, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("ENERDIAG_DB_URL", pg_url)
    get_settings.cache_clear()
    try:
        printed = runner.invoke(app, ["registry", "migrate", "--sql"])
    finally:
        get_settings.cache_clear()
    assert printed.exit_code == 0, printed.output
    assert "BEGIN;" in printed.stdout and printed.stdout.rstrip().endswith("COMMIT;")
    assert "created_at TIMESTAMP WITHOUT TIME ZONE NOT NULL" in printed.stdout
    assert printed.stdout.count("CREATE TABLE") == 19  # 18 registry tables + alembic_version
    plain = create_engine(pg_url)
    assert inspect(plain).get_table_names() == []
    plain.dispose()


def _waiting_for_lock(admin_url: str) -> int:
    engine = create_engine(admin_url)
    try:
        with engine.connect() as conn:
            return int(conn.execute(text(
                "SELECT count(*) FROM pg_locks WHERE locktype = 'advisory' AND NOT granted")).scalar() or 0)
    finally:
        engine.dispose()


@pytest.mark.parametrize("start", ["empty", "create_all"])
def test_two_upgraders_starting_together_on_postgres_migrate_once(pg_url: str, start: str) -> None:
    if start == "create_all":
        legacy = legacy_database(pg_url)
        seed(legacy)
        legacy.dispose()
    env = {**os.environ, "ENERDIAG_DB_URL": pg_url}
    holder = create_engine(pg_url)
    try:
        with holder.connect() as lock:
            lock.exec_driver_sql(f"SELECT pg_advisory_lock({schema.ADVISORY_LOCK_KEY})")
            workers = [subprocess.Popen([str(ENERDIAG), "registry", "migrate"], cwd=ROOT, env=env, text=True,
                                        stdout=subprocess.PIPE, stderr=subprocess.PIPE) for _ in range(2)]
            deadline = time.monotonic() + 60
            while _waiting_for_lock(pg_url) < 2:  # both processes are queued on the lock: they start "together"
                assert time.monotonic() < deadline, [w.poll() for w in workers]
                time.sleep(0.1)
            lock.exec_driver_sql(f"SELECT pg_advisory_unlock({schema.ADVISORY_LOCK_KEY})")
            outputs = [w.communicate(timeout=60) for w in workers]
    finally:
        holder.dispose()
    assert [w.returncode for w in workers] == [0, 0], outputs
    said = sorted(out.split(" (")[0] for out, _ in outputs)
    first = "registry schema created at" if start == "empty" else "registry schema adopted and migrated to"
    assert said == sorted([f"{first} {HEAD}", f"registry schema already at {HEAD}"])
    engine = create_engine(pg_url)
    try:
        assert differences(engine) == []
        if start == "create_all":
            assert len(snapshot(engine, ["meters"])["meters"]) == 34
    finally:
        engine.dispose()
