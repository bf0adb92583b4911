"""Where alarms go: InfluxDB measurement `safety_alarm` (dashboards, alert rules) and a local SQLite store
(`enerdiag alarms`). Both are idempotent per alarm id, so replays and batch re-runs are safe.

InfluxDB schema (docs/safety.md): tags enterprise, meter, rule, severity (all bounded); fields state
("open" | "escalate" | "closed"), open (1/0), peak, value, threshold, start_s, alarm_id; time = the
reading time of the event, second precision.
"""

from __future__ import annotations

import datetime as dt
import sqlite3
import threading
from collections.abc import Iterable
from pathlib import Path
from typing import Final

import orjson

from analytics.safety.alarms import Alarm, AlarmEvent
from analytics.safety.rules import Severity
from core.influx import line
from core.measurements import SAFETY_ALARM

FILENAME: Final = "safety_alarms.sqlite3"
_STATE: Final = {"open": "open", "escalate": "escalate", "close": "closed"}


def event_line(event: AlarmEvent) -> str:
    """One line-protocol point for an alarm event."""
    a = event.alarm
    fields: dict[str, float | int | str | bool] = {
        "state": _STATE[event.kind],
        "open": 0 if event.kind == "close" else 1,
        "peak": float(a.peak),
        "value": float(a.value),
        "threshold": float(a.threshold),
        "start_s": int(a.start.timestamp()),
        "alarm_id": a.id,
    }
    if a.end is not None:
        fields["end_s"] = int(a.end.timestamp())
    tags = {"enterprise": a.enterprise, "meter": a.meter, "rule": a.rule, "severity": a.severity.label}
    return line(SAFETY_ALARM, tags, fields, event.at)


def alarm_lines(alarms: Iterable[Alarm]) -> list[str]:
    """Points for alarms found by the batch detector: an open point at start, a closed point at end."""
    out: list[str] = []
    for a in alarms:
        out.append(event_line(AlarmEvent("open", int(a.start.timestamp()), a)))
        if a.end is not None:
            out.append(event_line(AlarmEvent("close", int(a.end.timestamp()), a)))
    return out


_SCHEMA: Final = """
CREATE TABLE IF NOT EXISTS safety_alarms (
    id TEXT PRIMARY KEY,
    enterprise TEXT NOT NULL,
    meter TEXT NOT NULL,
    rule TEXT NOT NULL,
    severity TEXT NOT NULL,
    start_s INTEGER NOT NULL,
    end_s INTEGER,
    peak REAL NOT NULL,
    value REAL NOT NULL,
    threshold REAL NOT NULL,
    evidence TEXT NOT NULL,
    updated_s INTEGER NOT NULL
);
CREATE INDEX IF NOT EXISTS ix_safety_alarms_enterprise_start ON safety_alarms (enterprise, start_s);
CREATE INDEX IF NOT EXISTS ix_safety_alarms_open ON safety_alarms (end_s) WHERE end_s IS NULL;
"""


class AlarmStore:
    """The durable local list of alarms (SQLite, WAL), one row per alarm id, upserted on every event."""

    def __init__(self, path: Path) -> None:
        path.parent.mkdir(parents=True, exist_ok=True)
        self.path = path
        self._db = sqlite3.connect(path, check_same_thread=False, timeout=10.0)
        self._lock = threading.Lock()
        self._db.execute("PRAGMA journal_mode=WAL")
        self._db.executescript(_SCHEMA)

    @classmethod
    def in_dir(cls, data_dir: Path) -> AlarmStore:
        return cls(data_dir / FILENAME)

    def close(self) -> None:
        self._db.close()

    def upsert(self, alarms: Iterable[Alarm]) -> int:
        """Insert or update alarms by id; the number written."""
        now = int(dt.datetime.now(dt.UTC).timestamp())
        rows = [
            (a.id, a.enterprise, a.meter, a.rule, a.severity.label, int(a.start.timestamp()),
             None if a.end is None else int(a.end.timestamp()), float(a.peak), float(a.value),
             float(a.threshold), orjson.dumps(a.evidence).decode(), now)
            for a in alarms
        ]
        with self._lock, self._db:
            self._db.executemany(
                "INSERT INTO safety_alarms VALUES (?,?,?,?,?,?,?,?,?,?,?,?) ON CONFLICT(id) DO UPDATE SET "
                "severity=excluded.severity, end_s=excluded.end_s, peak=excluded.peak, value=excluded.value, "
                "threshold=excluded.threshold, evidence=excluded.evidence, updated_s=excluded.updated_s",
                rows,
            )
        return len(rows)

    def list(
        self, enterprise: str | None = None, open_only: bool = False, since_s: int | None = None, limit: int = 10000
    ) -> list[Alarm]:
        """Alarms, newest start first, filtered by enterprise, open state and start time."""
        sql = "SELECT * FROM safety_alarms WHERE 1=1"
        args: list[object] = []
        if enterprise:
            sql += " AND enterprise = ?"
            args.append(enterprise)
        if open_only:
            sql += " AND end_s IS NULL"
        if since_s is not None:
            sql += " AND (start_s >= ? OR end_s IS NULL OR end_s >= ?)"
            args += [since_s, since_s]
        sql += " ORDER BY start_s DESC, meter, rule LIMIT ?"
        args.append(limit)
        with self._lock:
            rows = self._db.execute(sql, args).fetchall()
        return [_row_alarm(r) for r in rows]


def _row_alarm(row: tuple) -> Alarm:
    (_id, enterprise, meter, rule, severity, start_s, end_s, peak, value, threshold, evidence, _u) = row
    utc = dt.UTC
    return Alarm(
        enterprise, meter, rule, Severity.from_label(severity), dt.datetime.fromtimestamp(start_s, utc),
        None if end_s is None else dt.datetime.fromtimestamp(end_s, utc), peak, value, threshold,
        orjson.loads(evidence),
    )
