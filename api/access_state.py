"""The registry facts every bank request needs (keys, consents, open objections), kept in memory per version.

`core.registry.changes` moves one counter in the same transaction as any change to keys, consents,
objections, enterprises or meters. Each request reads that counter (one indexed row) and, when it moved,
forgets everything it kept; so a revoked key or consent is refused by the next request, exactly as if the
rows were read every time, while an unchanged registry costs one tiny query per request instead of
three ORM round trips. Expiry (keys' `expires_at`, consents' `until`) is checked against the clock on
every request, never cached.
"""

from __future__ import annotations

import datetime as dt
import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any, Final

from sqlalchemy import Connection, Engine, select
from sqlalchemy.exc import DBAPIError

from api.models import Objection
from core.registry.changes import read_version
from core.registry.models import ApiKey, Consent

MAX_ENTRIES: Final = 100_000
"""Consent answers (including "none") kept per version; a bank probing random codes cannot grow it further."""


@dataclass(frozen=True, slots=True)
class KeyFacts:
    """An API key row: whose it is, its argon2id hash, and when it stops working."""

    key_id: str
    bank_id: str
    secret_hash: str
    expires_at: dt.datetime | None
    revoked_at: dt.datetime | None

    def usable(self, now: dt.datetime) -> bool:
        """Not revoked and not expired at `now` (ApiKey.is_usable)."""
        return self.revoked_at is None and (self.expires_at is None or now < self.expires_at)


@dataclass(frozen=True, slots=True)
class ConsentFacts:
    """A bank's open (not revoked) consent to one enterprise: scopes and last day."""

    scopes: tuple[str, ...]
    until: dt.date

    def active(self, today: dt.date) -> bool:
        """Not past `until` on `today` (Consent.is_active; revoked consents are never kept)."""
        return today <= self.until


_NONE: Final = object()


class AccessState:
    """Per-process memory of keys, consents and objections, valid while the registry's version does not move.

    A fill stores its answer only if the version did not move while it read the database, so an answer read
    before a change can never be kept after the request that noticed the change.
    """

    def __init__(self, engine: Engine) -> None:
        self.engine = engine
        self.version: int | None = None
        self._keys: dict[str, KeyFacts] = {}
        self._consents: dict[tuple[str, str], Any] = {}
        self._objections: dict[str, tuple[dict[str, Any], ...]] = {}
        self._lock = threading.Lock()
        self._on_change: list[Callable[[], None]] = []
        self._thread = threading.local()

    def on_change(self, callback: Callable[[], None]) -> None:
        """Call `callback` whenever the version moves (e.g. to clear caches of enterprise facts)."""
        self._on_change.append(callback)

    @contextmanager
    def connection(self) -> Iterator[Connection]:
        """A registry connection for reads: the syncing thread's own (held open in autocommit, so no pool
        checkout or liveness ping per request, and never a stale snapshot), other threads' from the pool."""
        held: Connection | None = getattr(self._thread, "connection", None)
        if held is None:
            with self.engine.connect() as pooled:
                yield pooled
            return
        try:
            yield held
        except DBAPIError as exc:
            if exc.connection_invalidated or held.invalidated or held.closed:
                self._thread.connection = None  # the database restarted: a new connection next time
            raise

    def _read_version(self) -> int:
        """The registry's version through this thread's held connection (opened on first use)."""
        if getattr(self._thread, "connection", None) is None:
            self._thread.connection = self.engine.connect().execution_options(isolation_level="AUTOCOMMIT")
        try:
            with self.connection() as connection:
                return read_version(connection)
        except DBAPIError:
            with self.engine.connect() as pooled:  # this request still gets its answer (or the real error)
                return read_version(pooled)

    def sync(self) -> int:
        """Read the registry's version; forget everything kept when it moved. Call once per request."""
        version = self._read_version()
        if version != self.version:
            with self._lock:
                self._keys.clear()
                self._consents.clear()
                self._objections.clear()
                self.version = version
            for callback in self._on_change:
                callback()
        return version

    def key(self, key_id: str) -> KeyFacts | None:
        """The key row with this id (unknown ids are looked up every time, never remembered)."""
        facts = self._keys.get(key_id)
        if facts is not None:
            return facts
        seen = self.version
        with self.connection() as connection:
            row = connection.execute(
                select(ApiKey.key_id, ApiKey.bank_id, ApiKey.secret_hash, ApiKey.expires_at, ApiKey.revoked_at)
                .where(ApiKey.key_id == key_id)).first()
        if row is None:
            return None
        facts = KeyFacts(*row)
        self._keep(self._keys, key_id, facts, seen)
        return facts

    def consent(self, bank_id: str, code: str) -> ConsentFacts | None:
        """The newest open consent of `code` to `bank_id`, or None (core.registry.access._open_consent)."""
        facts = self._consents.get((bank_id, code))
        if facts is not None:
            return None if facts is _NONE else facts
        seen = self.version
        with self.connection() as connection:
            row = connection.execute(
                select(Consent.scopes, Consent.until)
                .where(Consent.enterprise_code == code, Consent.bank_id == bank_id, Consent.revoked_at.is_(None))
                .order_by(Consent.granted_at.desc(), Consent.id.desc())).first()
        found = ConsentFacts(tuple(row.scopes), row.until) if row is not None else None
        self._keep(self._consents, (bank_id, code), _NONE if found is None else found, seen)
        return found

    def objections(self, code: str, indicators: tuple[str, ...] | frozenset[str]) -> list[dict[str, Any]]:
        """The open objections of `code` to any of `indicators`, oldest first, as shown next to the figures."""
        rows = self._objections.get(code)
        if rows is None:
            seen = self.version
            with self.connection() as connection:
                found = connection.execute(
                    select(Objection.id, Objection.indicator, Objection.period, Objection.text, Objection.opened_at)
                    .where(Objection.enterprise_code == code, Objection.resolved_at.is_(None))
                    .order_by(Objection.opened_at, Objection.id)).all()
            rows = tuple({"id": r.id, "indicator": r.indicator, "period": r.period, "text": r.text,
                          "opened_at": r.opened_at.isoformat()} for r in found)
            self._keep(self._objections, code, rows, seen)
        return [dict(r) for r in rows if r["indicator"] in indicators]

    def _keep(self, memory: dict[Any, Any], key: Any, value: Any, seen: int | None) -> None:
        """Remember `value` only if the version is still the one `seen` before the database was read."""
        with self._lock:
            if self.version == seen and len(memory) < MAX_ENTRIES:
                memory[key] = value
