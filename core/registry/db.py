"""Engine and sessions of the registry: SQLite under ENERDIAG_DATA_DIR by default, PostgreSQL by URL."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from sqlalchemy import Engine, create_engine, event
from sqlalchemy.engine import make_url
from sqlalchemy.orm import Session, sessionmaker

from core.registry import changes
from core.registry.schema import upgrade_schema

changes.install()

_engines: dict[str, Engine] = {}
_initialised: set[str] = set()
_lock = threading.Lock()


def registry_url(url: str | None = None) -> str:
    """The URL given, else the settings' registry URL (`ENERDIAG_DB_URL`, else SQLite in the data dir)."""
    if url:
        return url
    from core.settings import get_settings

    return get_settings().registry_url


def _sqlite_pragmas(dbapi_connection: Any, _record: Any) -> None:
    cursor = dbapi_connection.cursor()
    cursor.execute("PRAGMA foreign_keys=ON")
    cursor.execute("PRAGMA busy_timeout=5000")  # the collector reads while the CLI writes
    cursor.execute("PRAGMA journal_mode=WAL")  # readers never block the writer (no-op for :memory:)
    cursor.execute("PRAGMA synchronous=NORMAL")  # WAL: fsync at checkpoints only; a commit survives a crash of the
    # process, the last commits may be lost on power loss (audit and rate-limit writes per API request)
    cursor.close()


SQLITE_POOL_SIZE = 40
"""Pooled SQLite connections kept open: as many as the API's worker threads (anyio's default 40), so busy
request threads reuse connections instead of opening overflow ones (and re-running the pragmas) each time."""


def _sqlite_pool(database: str | None) -> dict[str, Any]:
    """Pool settings for a file database; in-memory ones keep SQLAlchemy's default (one shared connection)."""
    if not database or database == ":memory:":
        return {}
    return {"pool_size": SQLITE_POOL_SIZE, "max_overflow": 10}


def get_engine(url: str | None = None) -> Engine:
    """One engine per URL for the process (SQLite: parent directory created, foreign keys on)."""
    resolved = registry_url(url)
    with _lock:
        engine = _engines.get(resolved)
        if engine is None:
            parsed = make_url(resolved)
            if parsed.get_backend_name() == "sqlite":
                if parsed.database and parsed.database != ":memory:":
                    Path(parsed.database).parent.mkdir(parents=True, exist_ok=True)
                engine = create_engine(resolved, **_sqlite_pool(parsed.database))
                event.listen(engine, "connect", _sqlite_pragmas)
            else:
                engine = create_engine(resolved, pool_pre_ping=True)
            _engines[resolved] = engine
    return engine


def init_db(url: str | None = None) -> Engine:
    """Bring the registry schema to the current revision (create, adopt or migrate: core.registry.schema)."""
    engine = get_engine(url)
    upgrade_schema(engine)
    _initialised.add(str(engine.url))
    return engine


def dispose_engines() -> None:
    """Close every pooled connection (tests, and before a process forks)."""
    with _lock:
        for engine in _engines.values():
            engine.dispose()
        _engines.clear()
        _initialised.clear()


@contextmanager
def session_scope(url: str | None = None) -> Iterator[Session]:
    """A session that commits when the block ends normally and rolls back when it raises."""
    engine = get_engine(url)
    if str(engine.url) not in _initialised:
        init_db(url)
    factory = sessionmaker(bind=engine, expire_on_commit=False)
    session = factory()
    try:
        yield session
        session.commit()
    except BaseException:
        session.rollback()
        raise
    finally:
        session.close()
