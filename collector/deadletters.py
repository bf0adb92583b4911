"""Durable dead-letter store: one SQLite file in the data dir, listable and countable per enterprise.

Written by the collector before it acknowledges the message (so a dead letter is never lost),
read by `enerdiag deadletters`. WAL mode lets the CLI read while the collector writes.
"""

from __future__ import annotations

import sqlite3
import threading
from collections.abc import Iterable
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

from core.domain import DEADLETTER_PAYLOAD_BYTES

FILENAME = "deadletters.sqlite3"
_SCHEMA = """
CREATE TABLE IF NOT EXISTS deadletters (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    received_at REAL NOT NULL,
    enterprise TEXT,
    gateway TEXT,
    topic TEXT NOT NULL,
    reason TEXT NOT NULL,
    detail TEXT NOT NULL,
    payload BLOB NOT NULL,
    payload_size INTEGER NOT NULL
);
CREATE INDEX IF NOT EXISTS ix_deadletters_enterprise_at ON deadletters (enterprise, received_at);
CREATE INDEX IF NOT EXISTS ix_deadletters_at ON deadletters (received_at);
"""


@dataclass(frozen=True, slots=True)
class DeadLetter:
    """One rejected message or reading."""

    received_at: float  # epoch seconds, when the collector received the message
    topic: str
    reason: str
    detail: str
    payload: bytes  # raw payload (or the rejected reading), truncated to 4 KiB on storage
    enterprise: str | None = None
    gateway: str | None = None
    payload_size: int | None = None  # size before truncation

    def as_json(self) -> dict[str, Any]:
        """A JSON-ready dict; the payload excerpt decoded as UTF-8 with replacement characters."""
        data = asdict(self)
        data["payload"] = self.payload.decode("utf-8", "replace")
        return data


def _safe(text: str) -> str:
    return text.encode("utf-8", "backslashreplace").decode("utf-8")


class DeadLetterStore:
    """Append and query dead letters in `<data_dir>/deadletters.sqlite3` (thread-safe)."""

    def __init__(self, path: Path) -> None:
        self.path = path
        path.parent.mkdir(parents=True, exist_ok=True)
        self._lock = threading.Lock()
        self._db = sqlite3.connect(path, check_same_thread=False, timeout=30.0, isolation_level=None)
        self._db.execute("PRAGMA journal_mode=WAL")
        self._db.execute("PRAGMA synchronous=FULL")
        self._db.executescript(_SCHEMA)

    @classmethod
    def in_dir(cls, data_dir: Path) -> DeadLetterStore:
        return cls(Path(data_dir) / FILENAME)

    def close(self) -> None:
        with self._lock:
            self._db.close()

    def add_many(self, letters: Iterable[DeadLetter]) -> int:
        """Store dead letters in one durable transaction; returns how many."""
        rows = [
            (
                d.received_at,
                d.enterprise,
                d.gateway,
                _safe(d.topic),
                d.reason,
                _safe(d.detail)[:1000],
                bytes(d.payload[:DEADLETTER_PAYLOAD_BYTES]),
                d.payload_size if d.payload_size is not None else len(d.payload),
            )
            for d in letters
        ]
        if not rows:
            return 0
        with self._lock:
            self._db.execute("BEGIN IMMEDIATE")
            try:
                self._db.executemany(
                    "INSERT INTO deadletters (received_at, enterprise, gateway, topic, reason, detail, payload,"
                    " payload_size) VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
                    rows,
                )
            except BaseException:
                self._db.execute("ROLLBACK")
                raise
            self._db.execute("COMMIT")
        return len(rows)

    def _where(self, enterprise: str | None, since: float | None) -> tuple[str, list[Any]]:
        clauses, args = [], []
        if enterprise is not None:
            clauses.append("enterprise = ?")
            args.append(enterprise)
        if since is not None:
            clauses.append("received_at >= ?")
            args.append(since)
        return (" WHERE " + " AND ".join(clauses)) if clauses else "", args

    def list(self, enterprise: str | None = None, since: float | None = None, limit: int = 1000) -> list[DeadLetter]:
        """Dead letters, newest first, optionally of one enterprise and received at or after `since`."""
        where, args = self._where(enterprise, since)
        with self._lock:
            rows = self._db.execute(
                "SELECT received_at, topic, reason, detail, payload, enterprise, gateway, payload_size"
                f" FROM deadletters{where} ORDER BY received_at DESC, id DESC LIMIT ?",
                [*args, limit],
            ).fetchall()
        return [DeadLetter(*row) for row in rows]

    def count(self, enterprise: str | None = None, since: float | None = None) -> dict[str, int]:
        """Dead letters per reason (same filters as `list`)."""
        where, args = self._where(enterprise, since)
        with self._lock:
            rows = self._db.execute(
                f"SELECT reason, COUNT(*) FROM deadletters{where} GROUP BY reason ORDER BY reason", args
            ).fetchall()
        return dict(rows)

    def count_by_enterprise(self, since: float | None = None) -> dict[str | None, int]:
        """Dead letters per enterprise (None: the topic did not name one)."""
        where, args = self._where(None, since)
        with self._lock:
            rows = self._db.execute(
                f"SELECT enterprise, COUNT(*) FROM deadletters{where} GROUP BY enterprise", args
            ).fetchall()
        return dict(rows)
