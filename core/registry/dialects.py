"""What differs between the registry's two databases, in one place: the insert that can upsert, and the file
(and OS lock beside it) of a SQLite database."""

from __future__ import annotations

import contextlib
import fcntl
from collections.abc import Callable, Iterator
from typing import Any

from sqlalchemy import Engine
from sqlalchemy.dialects import postgresql, sqlite


def upsert_insert(dialect: str) -> Callable[..., Any]:
    """The `insert` with `on_conflict_do_update` of the registry's dialect (SQLite ≥ 3.24 or PostgreSQL)."""
    if dialect == "sqlite":
        return sqlite.insert
    if dialect == "postgresql":
        return postgresql.insert
    raise RuntimeError(f"the registry needs SQLite or PostgreSQL, not {dialect}")


def sqlite_file(engine: Engine) -> str | None:
    """The database file of a SQLite engine; None for PostgreSQL, in-memory and `file:` URI databases."""
    database = engine.url.database if engine.dialect.name == "sqlite" else None
    if not database or database == ":memory:" or database.startswith("file:"):
        return None
    return database


@contextlib.contextmanager
def sqlite_file_lock(engine: Engine, suffix: str) -> Iterator[None]:
    """Hold an exclusive OS lock on `<database file><suffix>` (processes queue on it and are woken at once);
    nothing for databases that are not SQLite files."""
    database = sqlite_file(engine)
    if database is None:
        yield
        return
    with open(f"{database}{suffix}", "a+b") as handle:
        fcntl.flock(handle, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(handle, fcntl.LOCK_UN)
