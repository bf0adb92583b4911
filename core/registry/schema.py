"""Registry schema at process start: create it, adopt a pre-migration database, or migrate it to `HEAD`.

Every process that opens the registry calls `upgrade_schema` once per engine. At head that is one read of
`alembic_version` and no Alembic import; otherwise the work runs under a lock (PostgreSQL advisory lock,
SQLite file lock beside the database) so two processes starting together never both migrate.
"""

from __future__ import annotations

import contextlib
import logging
import threading
import weakref
from collections.abc import Iterable, Iterator
from typing import IO, TYPE_CHECKING, Any, Final, Literal

from sqlalchemy import Column, Connection, Engine, MetaData, String, Table, inspect, select

from core.registry.dialects import sqlite_file_lock
from core.registry.migrations import BASELINE, HEAD, SCRIPT_LOCATION, target_metadata

if TYPE_CHECKING:
    from alembic.config import Config

log = logging.getLogger(__name__)

Outcome = Literal["current", "created", "adopted", "upgraded"]

VERSION_TABLE: Final = "alembic_version"
ADVISORY_LOCK_KEY: Final = 0x656E_6572_6469_6167  # "enerdiag" in ASCII; advisory locks are per database
LOCK_SUFFIX: Final = ".migrate.lock"

_version_table = Table(VERSION_TABLE, MetaData(), Column("version_num", String(32), primary_key=True))
"""Alembic's own bookkeeping table, as Alembic creates it (for the fresh-database fast path)."""

_current: weakref.WeakSet[Engine] = weakref.WeakSet()
_guard = threading.Lock()


class SchemaError(RuntimeError):
    """The registry database cannot be brought to the current schema; the message says why and what to do."""


def upgrade_schema(engine: Engine) -> Outcome:
    """Bring the registry on `engine` to `HEAD` once per process and engine; say what was done."""
    if engine in _current:
        return "current"
    with _guard:
        if engine in _current:
            return "current"
        with engine.connect() as conn:
            at_head = read_revision(conn) == HEAD
        outcome: Outcome = "current"
        if not at_head:
            with migration_lock(engine) as conn:
                outcome = _bring_to_head(conn)
            log.info("registry schema %s: now at %s", outcome, HEAD)
        _current.add(engine)
        return outcome


def forget(engine: Engine | None = None) -> None:
    """Re-check the schema at the next `upgrade_schema` (tests that drop tables under a live engine)."""
    if engine is None:
        _current.clear()
    else:
        _current.discard(engine)


def read_revision(conn: Connection) -> str | None:
    """The revision recorded in `alembic_version`, None when the table is missing or empty."""
    if not inspect(conn).has_table(VERSION_TABLE):
        return None
    rows = conn.execute(select(_version_table.c.version_num)).scalars().all()
    conn.rollback()
    if len(rows) > 1:
        raise SchemaError(f"{VERSION_TABLE} holds {len(rows)} revisions ({', '.join(rows)}): branched history")
    return rows[0] if rows else None


@contextlib.contextmanager
def migration_lock(engine: Engine) -> Iterator[Connection]:
    """A connection held under the registry's migration lock (waits for another process's migration)."""
    with engine.connect() as conn:
        if engine.dialect.name == "postgresql":
            conn.exec_driver_sql(f"SELECT pg_advisory_lock({ADVISORY_LOCK_KEY})")
            conn.commit()
            try:
                yield conn
            finally:
                conn.rollback()
                try:
                    conn.exec_driver_sql(f"SELECT pg_advisory_unlock({ADVISORY_LOCK_KEY})")
                    conn.commit()
                except Exception:  # broken session: closing it releases the lock too
                    conn.invalidate()
            return
        with sqlite_file_lock(engine, LOCK_SUFFIX):
            yield conn


def _bring_to_head(conn: Connection) -> Outcome:
    """Under the lock: re-read the revision (another process may have migrated), then create/adopt/upgrade."""
    revision = read_revision(conn)
    if revision == HEAD:
        return "current"
    if revision is None:
        present = set(inspect(conn).get_table_names())
        conn.rollback()
        if not present & registry_tables():
            create_fresh(conn)
            return "created"
        check_adoptable(existing_columns(conn, present))
        run_alembic(conn, "upgrade", existing_tables=present)  # the baseline creates only missing tables
        return "adopted"
    run_alembic(conn, "upgrade")
    return "upgraded"


def registry_tables() -> set[str]:
    """Names of every table of the models (core + API)."""
    return set(target_metadata().tables)


def create_fresh(conn: Connection) -> None:
    """An empty database: the models' `create_all` and `HEAD` recorded (a test proves the chain gives the same)."""
    target_metadata().create_all(conn)
    _version_table.create(conn)
    conn.execute(_version_table.insert().values(version_num=HEAD))
    conn.commit()


def existing_columns(conn: Connection, tables: Iterable[str]) -> dict[str, set[str]]:
    """Column names of the given tables of the live database."""
    inspector = inspect(conn)
    found = {name: {c["name"] for c in inspector.get_columns(name)} for name in tables}
    conn.rollback()
    return found


def check_adoptable(found: dict[str, set[str]]) -> None:
    """Refuse a pre-migration database whose tables lack a baseline column (it predates the baseline)."""
    expected = baseline_columns()
    missing = sorted(f"{t}.{c}" for t, cols in found.items() if t in expected for c in expected[t] - cols)
    if missing:
        raise SchemaError(
            f"the registry database has no {VERSION_TABLE} and lacks baseline column(s) {', '.join(missing)}: "
            "it predates release 0001_baseline; add them with the ALTER TABLEs of the release notes, then retry")


_baseline_cache: dict[str, set[str]] = {}


def baseline_columns() -> dict[str, set[str]]:
    """Table → column names the baseline revision creates (run once on an in-memory SQLite, then cached)."""
    if not _baseline_cache:
        from sqlalchemy import create_engine

        scratch = create_engine("sqlite://")
        try:
            with scratch.connect() as conn:
                run_alembic(conn, "upgrade", target=BASELINE)
                inspector = inspect(conn)
                _baseline_cache.update({t: {c["name"] for c in inspector.get_columns(t)}
                                        for t in inspector.get_table_names() if t != VERSION_TABLE})
        finally:
            scratch.dispose()
    return _baseline_cache


def alembic_config(**attributes: Any) -> Config:
    """Alembic's config for the registry, built in code (no alembic.ini needed at run time)."""
    from alembic.config import Config

    config = Config()
    config.set_main_option("script_location", str(SCRIPT_LOCATION))
    config.set_main_option("path_separator", "os")
    config.attributes.update(attributes)
    return config


def run_alembic(conn: Connection, action: Literal["upgrade", "downgrade", "stamp"], *, target: str = "head",
                existing_tables: Iterable[str] = ()) -> None:
    """Run an Alembic command on `conn` and commit; SQLite: foreign keys off meanwhile.

    Batch ALTERs on SQLite copy a table and drop the old one; with foreign keys on, that DROP would cascade
    into the children's rows (ON DELETE CASCADE), so they are off while migrating and checked afterwards.
    """
    from alembic import command
    from alembic.util import CommandError

    config = alembic_config(connection=conn, existing_tables=frozenset(existing_tables))
    sqlite = conn.dialect.name == "sqlite"
    conn.rollback()
    if sqlite:
        conn.exec_driver_sql("PRAGMA foreign_keys=OFF")
    try:
        getattr(command, action)(config, target)
        conn.commit()
    except CommandError as exc:
        conn.rollback()
        raise SchemaError(f"registry migration failed: {exc} (a newer enerdiag migrated this database? "
                          f"this code knows revisions up to {HEAD})") from exc
    except BaseException:
        conn.rollback()
        raise
    finally:
        if sqlite:
            _foreign_keys_back_on(conn)


def _foreign_keys_back_on(conn: Connection) -> None:
    """Re-enable SQLite foreign keys on the pooled connection (or discard it) and report violating rows."""
    try:
        violations = conn.exec_driver_sql("PRAGMA foreign_key_check").fetchall()
        conn.rollback()
        conn.exec_driver_sql("PRAGMA foreign_keys=ON")
    except Exception:
        conn.invalidate()  # never hand a connection with foreign keys off back to the pool
        raise
    if violations:
        log.warning("registry: %d row(s) violate a foreign key after migrating, e.g. %s", len(violations),
                    violations[0])


def migration_sql(engine: Engine, out: IO[str]) -> str | None:
    """Write the SQL that would bring `engine`'s database to `HEAD` (for a DBA); return its revision now."""
    from alembic import command

    with engine.connect() as conn:
        revision = read_revision(conn)
        present = set(inspect(conn).get_table_names()) if revision is None else set()
        if revision == HEAD:
            return revision
        if present & registry_tables():
            check_adoptable(existing_columns(conn, present))
        else:
            present = set()
    config = alembic_config(url=engine.url, existing_tables=frozenset(present))
    config.output_buffer = out
    command.upgrade(config, f"{revision}:head" if revision else "head", sql=True)
    return revision


def schema_differences(engine: Engine) -> list[str]:
    """What differs between the live database and the models, one line each (empty: up to date)."""
    from alembic.autogenerate import compare_metadata
    from alembic.migration import MigrationContext

    with engine.connect() as conn:
        revision = read_revision(conn)
        context = MigrationContext.configure(conn, opts={"compare_type": True})
        diffs = compare_metadata(context, target_metadata())
    lines = [] if revision == HEAD else [f"{VERSION_TABLE}: at {revision or 'no revision'}, the code's head is {HEAD}"]
    for diff in diffs:
        lines.extend(describe(diff))
    return lines


def describe(diff: Any) -> list[str]:
    """Readable lines for one `compare_metadata` entry (a tuple, or a list of column modifications)."""
    if isinstance(diff, list):
        return [line for item in diff for line in describe(item)]
    kind = diff[0]
    if kind in ("add_table", "remove_table"):
        table = diff[1]
        return [f"{table.name}: table {'missing in the database' if kind == 'add_table' else 'not in the models'}"]
    if kind in ("add_column", "remove_column"):
        _, _, table, column = diff
        where = "missing in the database" if kind == "add_column" else "not in the models"
        return [f"{table}.{column.name}: column {where}"]
    if kind in ("add_index", "remove_index", "add_constraint", "remove_constraint", "add_fk", "remove_fk"):
        obj = diff[1]
        table = obj.table.name
        what = kind.split("_", 1)[1].replace("fk", "foreign key")
        where = "missing in the database" if kind.startswith("add") else "not in the models"
        return [f"{table}: {what} {obj.name or '(unnamed)'} {where}"]
    if kind.startswith("modify_"):
        _, _, table, column, _info, live, model = diff
        what = kind.removeprefix("modify_")
        return [f"{table}.{column}: {what} is {live!r} in the database, {model!r} in the models"]
    return [repr(diff)]
