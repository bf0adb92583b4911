"""A change counter for the registry facts long-running readers cache (the bank API's keys, consents, objections).

Every ORM flush that adds, changes or deletes a row of a watched table increments `registry_version` in the
same transaction, so the counter moves exactly when such a change commits. A reader compares one integer
per request instead of re-reading keys, consents and objections: as exact as reading them, and cheaper.
Writes that bypass the ORM (hand-written SQL) must call `bump` themselves.
"""

from __future__ import annotations

from typing import Any, Final

from sqlalchemy import Connection
from sqlalchemy.orm import Session

from core.registry.dialects import upsert_insert
from core.registry.models import RegistryVersion

WATCHED_TABLES: Final = frozenset({
    "banks", "api_keys", "consents", "enterprises", "meters", "meter_events", "products", "gateways",
    "carbon_budgets", "green_purchases", "api_objections",
})
"""Tables whose rows the API keeps in memory (directly or through an enterprise's facts)."""

_TABLE = RegistryVersion.__table__


def _touches_watched(session: Session) -> bool:
    for obj in (*session.new, *session.dirty, *session.deleted):
        if getattr(obj, "__tablename__", None) in WATCHED_TABLES:
            return True
    return False


def bump(connection: Connection | Session) -> None:
    """Increment the counter (creating its row), inside the caller's transaction."""
    bind = connection.get_bind() if isinstance(connection, Session) else connection
    stmt = upsert_insert(bind.dialect.name)(_TABLE).values(id=1, version=1).on_conflict_do_update(
        index_elements=["id"], set_={"version": _TABLE.c.version + 1})
    connection.execute(stmt)


VERSION_SQL: Final = "SELECT version FROM registry_version WHERE id = 1"
"""Plain SQL: the bank API reads it on every request, and a driver-level statement skips the statement
compilation and cache-key work of a Core `select`."""


def read_version(connection: Connection) -> int:
    """The current counter (0 before the first change)."""
    value = connection.exec_driver_sql(VERSION_SQL).scalar()
    return int(value or 0)


def _before_flush(session: Session, _context: Any, _instances: Any) -> None:
    if _touches_watched(session):
        bump(session)


def install() -> None:
    """Listen to every ORM session of the process (idempotent)."""
    from sqlalchemy import event

    if not event.contains(Session, "before_flush", _before_flush):
        event.listen(Session, "before_flush", _before_flush)
