"""Registry migrations on SQLite: chain = models, fast path = chain, adoption of `create_all` databases,
a second revision that keeps rows, `registry migrate|schema-check`, and the cheap at-head start."""

from __future__ import annotations

import datetime as dt
import multiprocessing
import shutil
import subprocess
import sys
import textwrap
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from alembic.script import ScriptDirectory
from sqlalchemy import Engine, create_engine, inspect, text
from sqlalchemy.orm import Session
from typer.testing import CliRunner

from core.registry import schema
from core.registry.db import dispose_engines, get_engine, init_db
from core.registry.loader import load_registry_file
from core.registry.migrations import BASELINE, HEAD, SCRIPT_LOCATION, target_metadata
from core.registry.models import Enterprise
from core.settings import get_settings
from enerdiag.cli import app

ROOT = Path(__file__).resolve().parents[2]
EXAMPLE = ROOT / "deploy" / "registry-datong.yaml"
CEMENT = "91140214MA0FE1KM73"

SECOND_REVISION = '''
"""Test revision: enterprises gain `district_code` (filled from the credit code), `address` widens."""

import sqlalchemy as sa
from alembic import op

revision = "0002_district"
down_revision = "{down}"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("enterprises") as batch:  # SQLite: the type change copies the table
        batch.add_column(sa.Column("district_code", sa.String(6), nullable=True))
        batch.alter_column("address", existing_type=sa.String(300), type_=sa.String(600))
    op.execute("UPDATE enterprises SET district_code = substr(code, 3, 6)")


def downgrade() -> None:
    with op.batch_alter_table("enterprises") as batch:
        batch.drop_column("district_code")
'''


@pytest.fixture(autouse=True)
def _fresh_engines() -> Iterator[None]:
    yield
    dispose_engines()


def sqlite_url(path: Path) -> str:
    return f"sqlite:///{path}"


def describe_schema(engine: Engine) -> dict[str, Any]:
    """Every table's columns (type, nullability), primary key, foreign keys and indexes, as reflected."""
    inspector = inspect(engine)
    found: dict[str, Any] = {}
    for table in sorted(set(inspector.get_table_names()) - {schema.VERSION_TABLE}):
        found[table] = {
            "columns": [(c["name"], str(c["type"]), c["nullable"]) for c in inspector.get_columns(table)],
            "pk": inspector.get_pk_constraint(table)["constrained_columns"],
            "fks": sorted((fk["name"], tuple(fk["constrained_columns"]), fk["referred_table"],
                           tuple(fk["referred_columns"]), fk["options"].get("ondelete"))
                          for fk in inspector.get_foreign_keys(table)),
            "indexes": sorted((ix["name"], tuple(ix["column_names"]), bool(ix["unique"]))
                              for ix in inspector.get_indexes(table)),
        }
    return found


def seed(engine: Engine) -> None:
    """The Datong example registry plus rows in two API tables (objection, credit snapshot)."""
    from api.models import CreditSnapshot, Objection

    with Session(engine) as session:
        load_registry_file(session, EXAMPLE)
        session.add(Objection(enterprise_code=CEMENT, indicator="utilisation", period="2026-10", text="停产检修"))
        session.add(CreditSnapshot(enterprise_code=CEMENT, as_of=dt.date(2026, 11, 1), body='{"x": 1}'))
        session.commit()


def snapshot(engine: Engine, tables: list[str] | None = None) -> dict[str, list[tuple[Any, ...]]]:
    """Every row of every registry table (or of `tables`), sorted."""
    names = tables or [t.name for t in target_metadata().sorted_tables if t.name not in AFTER_BASELINE]
    with engine.connect() as conn:
        return {name: sorted(tuple(map(repr, row)) for row in conn.execute(text(f'SELECT * FROM "{name}"')))
                for name in names}


def revision_of(engine: Engine) -> str | None:
    with engine.connect() as conn:
        return schema.read_revision(conn)


def differences(engine: Engine) -> list[str]:
    return schema.schema_differences(engine)


def last_statement(sql: str) -> str:
    """The last SQL statement of a printed script (the one that records the revision reached)."""
    return sql.strip().rstrip(";").rsplit(";", 1)[-1]


AFTER_BASELINE = {"scheduler_jobs"}
"""Tables that revisions after the baseline create."""


def legacy_database(url: str, *, with_api_tables: bool = True) -> Engine:
    """A registry as the old code made it: plain `create_all` (core tables only if the API was never imported)."""
    from core.registry.models import Base

    engine = create_engine(url)
    metadata = target_metadata()
    api_tables = {m.local_table for m in Base.registry.mappers if m.class_.__module__ == "api.models"}
    assert len(api_tables) == 5
    tables = [t for t in metadata.sorted_tables if t.name not in AFTER_BASELINE  # newer than any create_all database
              and (with_api_tables or t not in api_tables)]
    metadata.create_all(engine, tables=tables)
    return engine


def second_revision_scripts(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> str:
    """A copy of the migrations with an add-column revision on top; the schema module pointed at it."""
    scripts = tmp_path / "migrations"
    shutil.copytree(SCRIPT_LOCATION, scripts, ignore=shutil.ignore_patterns("__pycache__"))
    (scripts / "versions" / "0002_district.py").write_text(SECOND_REVISION.format(down=HEAD))
    monkeypatch.setattr(schema, "SCRIPT_LOCATION", scripts)
    monkeypatch.setattr(schema, "HEAD", "0002_district")
    return "0002_district"


# --- the revisions themselves -------------------------------------------------------------------------------


def test_head_constant_is_the_single_head_of_the_versions_dir() -> None:
    scripts = ScriptDirectory(str(SCRIPT_LOCATION))
    assert scripts.get_heads() == [HEAD]
    assert scripts.get_bases() == [BASELINE]


def test_baseline_has_every_table_of_the_models_including_the_newest() -> None:
    baseline = schema.baseline_columns()
    models = {t.name: {c.name for c in t.columns} for t in target_metadata().sorted_tables
              if t.name not in AFTER_BASELINE}
    assert set(baseline) == set(models)
    assert all(baseline[t] <= models[t] for t in baseline)  # later revisions only add columns
    assert {"registry_version", "api_credit_snapshots"} <= set(baseline)


def test_migration_chain_on_empty_sqlite_equals_the_models(tmp_path: Path) -> None:
    engine = create_engine(sqlite_url(tmp_path / "chain.sqlite3"))
    with engine.connect() as conn:
        schema.run_alembic(conn, "upgrade")
    assert revision_of(engine) == HEAD
    assert differences(engine) == []


def test_fast_path_for_an_empty_database_gives_the_chains_exact_schema(tmp_path: Path) -> None:
    chain = create_engine(sqlite_url(tmp_path / "chain.sqlite3"))
    with chain.connect() as conn:
        schema.run_alembic(conn, "upgrade")
    fast = get_engine(sqlite_url(tmp_path / "fast.sqlite3"))
    assert schema.upgrade_schema(fast) == "created"
    assert revision_of(fast) == HEAD
    described = describe_schema(fast)
    assert len(described) == len(target_metadata().tables) == 18
    assert described == describe_schema(chain)


def test_downgrade_of_the_baseline_drops_every_table(tmp_path: Path) -> None:
    engine = create_engine(sqlite_url(tmp_path / "down.sqlite3"))
    with engine.connect() as conn:
        schema.run_alembic(conn, "upgrade")
        schema.run_alembic(conn, "downgrade", target="base")
    assert set(inspect(engine).get_table_names()) == {schema.VERSION_TABLE}


# --- starting a process on a registry -----------------------------------------------------------------------


def test_init_db_creates_then_is_current(tmp_path: Path) -> None:
    url = sqlite_url(tmp_path / "r.sqlite3")
    engine = init_db(url)
    assert revision_of(engine) == HEAD
    assert schema.upgrade_schema(engine) == "current"
    dispose_engines()
    assert schema.upgrade_schema(get_engine(url)) == "current"  # a new engine re-reads the revision


def test_at_head_a_new_process_reads_the_revision_without_importing_alembic(tmp_path: Path) -> None:
    url = sqlite_url(tmp_path / "r.sqlite3")
    init_db(url)
    probe = textwrap.dedent(f"""
        import sys
        from core.registry.db import init_db, session_scope
        from core.registry.models import Enterprise
        init_db({url!r})
        with session_scope({url!r}) as session:
            session.query(Enterprise).count()
        print("alembic" in sys.modules, "mako" in sys.modules)
    """)
    done = subprocess.run([sys.executable, "-c", probe], cwd=ROOT, capture_output=True, text=True, check=True)
    assert done.stdout.split() == ["False", "False"]


def test_a_create_all_database_with_data_is_adopted_and_keeps_its_rows(tmp_path: Path) -> None:
    url = sqlite_url(tmp_path / "legacy.sqlite3")
    legacy = legacy_database(url)
    seed(legacy)
    before = snapshot(legacy)
    assert len(before["meters"]) == 34 and len(before["api_credit_snapshots"]) == 1
    assert revision_of(legacy) is None

    engine = get_engine(url)
    assert schema.upgrade_schema(engine) == "adopted"
    assert revision_of(engine) == HEAD
    assert snapshot(engine) == before
    assert differences(engine) == []


def test_a_create_all_database_without_the_api_tables_gets_them_on_adoption(tmp_path: Path) -> None:
    url = sqlite_url(tmp_path / "core-only.sqlite3")
    legacy = legacy_database(url, with_api_tables=False)
    with Session(legacy) as session:
        load_registry_file(session, EXAMPLE)
        session.commit()
    assert {"api_keys", "audit_log"} <= set(inspect(legacy).get_table_names())
    assert "api_objections" not in inspect(legacy).get_table_names()
    engine = init_db(url)
    assert {"api_objections", "api_webhooks", "api_credit_snapshots"} <= set(inspect(engine).get_table_names())
    assert len(snapshot(engine, ["enterprises"])["enterprises"]) == 6
    assert differences(engine) == []


def test_a_create_all_database_missing_a_baseline_column_is_refused_by_name(tmp_path: Path) -> None:
    url = sqlite_url(tmp_path / "old.sqlite3")
    legacy = legacy_database(url)
    with legacy.begin() as conn:
        conn.exec_driver_sql("ALTER TABLE meters DROP COLUMN register_max")
    with pytest.raises(schema.SchemaError, match=r"meters\.register_max"):
        init_db(url)
    assert revision_of(legacy) is None  # nothing recorded: the operator fixes it and retries


def test_a_second_revision_upgrades_a_database_holding_rows(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    url = sqlite_url(tmp_path / "r.sqlite3")
    engine = init_db(url)
    seed(engine)
    before = snapshot(engine)
    dispose_engines()

    second = second_revision_scripts(tmp_path, monkeypatch)
    engine = get_engine(url)
    assert schema.upgrade_schema(engine) == "upgraded"
    assert revision_of(engine) == second
    columns = {c["name"]: c for c in inspect(engine).get_columns("enterprises")}
    assert "district_code" in columns and str(columns["address"]["type"]) == "VARCHAR(600)"
    with engine.connect() as conn:
        codes = conn.execute(text("SELECT code, district_code FROM enterprises")).all()
    assert len(codes) == 6 and all(district == code[2:8] for code, district in codes)
    after = snapshot(engine)
    # the copied table keeps every child row: foreign keys were off while SQLite copied `enterprises`
    assert {k: v for k, v in after.items() if k != "enterprises"} == {k: v for k, v in before.items()
                                                                       if k != "enterprises"}
    with Session(engine) as session:
        assert session.get(Enterprise, CEMENT).name == "大同市云冈示例水泥有限公司"
    assert sorted(differences(engine)) == ["enterprises.address: type is VARCHAR(length=600) in the database, "
                                           "String(length=300) in the models",
                                           "enterprises.district_code: column not in the models"]


def _start(url: str, queue: Any) -> None:
    from core.registry.db import get_engine as engine_of
    from core.registry.schema import upgrade_schema

    queue.put(upgrade_schema(engine_of(url)))


def test_two_processes_starting_on_one_empty_sqlite_migrate_once(tmp_path: Path) -> None:
    url = sqlite_url(tmp_path / "r.sqlite3")
    context = multiprocessing.get_context("spawn")
    queue = context.Queue()
    workers = [context.Process(target=_start, args=(url, queue)) for _ in range(2)]
    for worker in workers:
        worker.start()
    for worker in workers:
        worker.join(60)
    assert [w.exitcode for w in workers] == [0, 0]
    assert sorted(queue.get(timeout=5) for _ in workers) == ["created", "current"]
    assert differences(create_engine(url)) == []
    assert (tmp_path / f"r.sqlite3{schema.LOCK_SUFFIX}").exists()


# --- the command line ---------------------------------------------------------------------------------------

runner = CliRunner()


@pytest.fixture
def cli_registry(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[str]:
    url = sqlite_url(tmp_path / "cli.sqlite3")
    monkeypatch.setenv("ENERDIAG_DB_URL", url)
    get_settings.cache_clear()
    yield url
    get_settings.cache_clear()


def test_registry_migrate_then_schema_check_names_a_dropped_column(cli_registry: str) -> None:
    migrated = runner.invoke(app, ["registry", "migrate"])
    assert migrated.exit_code == 0, migrated.output
    assert f"created at {HEAD}" in migrated.stdout
    ok = runner.invoke(app, ["registry", "schema-check"])
    assert ok.exit_code == 0 and f"up to date (revision {HEAD})" in ok.stdout

    with create_engine(cli_registry).begin() as conn:
        conn.exec_driver_sql("ALTER TABLE enterprises DROP COLUMN address")
    dispose_engines()
    bad = runner.invoke(app, ["registry", "schema-check"])
    assert bad.exit_code == 1
    assert bad.stdout.splitlines() == ["enterprises.address: column missing in the database"]
    assert "differs from the models in 1 place(s)" in bad.stderr


def test_schema_check_of_an_unmigrated_database_says_to_migrate(cli_registry: str) -> None:
    legacy_database(cli_registry)
    bad = runner.invoke(app, ["registry", "schema-check"])
    assert bad.exit_code == 1
    assert bad.stdout.splitlines() == [f"alembic_version: at no revision, the code's head is {HEAD}",
                                       *(f"{t}: table missing in the database" for t in sorted(AFTER_BASELINE))]
    assert "registry migrate" in bad.stderr
    migrated = runner.invoke(app, ["registry", "migrate"])
    assert migrated.stdout.startswith(f"registry schema adopted and migrated to {HEAD}")
    assert runner.invoke(app, ["registry", "schema-check"]).exit_code == 0


def test_migrate_sql_prints_the_ddl_and_changes_nothing(cli_registry: str) -> None:
    printed = runner.invoke(app, ["registry", "migrate", "--sql"])
    assert printed.exit_code == 0, printed.output
    assert printed.stdout.count("CREATE TABLE") == 19  # 18 registry tables + alembic_version
    assert f"'{HEAD}'" in last_statement(printed.stdout)
    assert inspect(create_engine(cli_registry)).get_table_names() == []
    runner.invoke(app, ["registry", "migrate"])
    again = runner.invoke(app, ["registry", "migrate", "--sql"])
    assert again.stdout.strip() == f"-- registry schema already at {HEAD}: nothing to do"


def test_migrate_sql_for_a_create_all_database_only_records_the_revision(cli_registry: str) -> None:
    legacy_database(cli_registry)
    printed = runner.invoke(app, ["registry", "migrate", "--sql"])
    assert printed.exit_code == 0, printed.output
    assert printed.stdout.count("CREATE TABLE") == 1 + len(AFTER_BASELINE)  # alembic_version + later tables
    assert f"'{HEAD}'" in last_statement(printed.stdout)


def test_autogenerate_writes_timestamps_without_importing_the_models() -> None:
    from alembic.autogenerate import produce_migrations, render_python_code
    from alembic.migration import MigrationContext

    from core.registry.migrations import render_item

    with create_engine("sqlite://").connect() as conn:
        context = MigrationContext.configure(conn, opts={"render_item": render_item, "render_as_batch": True})
        code = render_python_code(produce_migrations(context, target_metadata()).upgrade_ops,
                                  render_item=render_item)
    assert "sa.Column('created_at', sa.DateTime(), nullable=False)" in code
    assert "core.registry" not in code and "UTCDateTime" not in code


def test_a_database_migrated_by_newer_code_is_refused_with_its_revision(tmp_path: Path) -> None:
    url = sqlite_url(tmp_path / "r.sqlite3")
    init_db(url)
    with create_engine(url).begin() as conn:
        conn.execute(text("UPDATE alembic_version SET version_num = '0099_future'"))
    dispose_engines()
    with pytest.raises(schema.SchemaError, match=rf"0099_future.*up to {HEAD}"):
        init_db(url)
