"""SQLite write path of the API: checkpoints off the commit path, writers taking turns on an OS lock."""

from __future__ import annotations

import datetime as dt
import fcntl
import threading
from pathlib import Path

from sqlalchemy import text

from api.audit import WRITE_LOCK_SUFFIX, registry_writer
from core.registry import checkpoints
from core.registry.db import dispose_engines, get_engine, session_scope
from core.registry.dialects import sqlite_file_lock
from core.registry.models import AuditRecord


def test_deferred_checkpoints_leave_commits_alone_and_copy_the_wal_back(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'r.sqlite3'}"
    engine = get_engine(url)
    try:
        with session_scope(url):
            pass  # creates the tables
        assert checkpoints.defer_checkpoints(engine)
        assert str(tmp_path / "r.sqlite3") in checkpoints._paths  # the background thread will copy it back
        # ... but here the explicit checkpoint below does: the thread (already running, from earlier tests, at any
        # phase of its 1-s sleep) would otherwise checkpoint during the writes and race the assertions (busy 1)
        with checkpoints._lock:
            checkpoints._paths.discard(str(tmp_path / "r.sqlite3"))
        with engine.connect() as connection:
            assert connection.execute(text("PRAGMA wal_autocheckpoint")).scalar() == 0
        at = dt.datetime(2026, 11, 26, tzinfo=dt.UTC)
        write = registry_writer(engine)
        for i in range(300):  # well past 1,000 pages would checkpoint on its own; here nothing may
            write([("bank-a", "X" * 18, f"/p{i}" + "x" * 900, 200, at)] * 10)
        wal = Path(f"{tmp_path / 'r.sqlite3'}-wal")
        busy, frames, copied = checkpoints.checkpoint(str(tmp_path / "r.sqlite3"))
        assert busy == 0 and frames > 1000 and copied == frames  # all of it was still in the WAL
        assert wal.exists()
        with session_scope(url) as session:
            assert session.query(AuditRecord).count() == 3000
    finally:
        dispose_engines()


def test_memory_and_postgresql_engines_are_left_as_they_are() -> None:
    assert not checkpoints.defer_checkpoints(get_engine("sqlite://"))


def test_audit_writers_take_turns_on_the_lock_beside_the_database(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'r.sqlite3'}"
    engine = get_engine(url)
    try:
        with session_scope(url):
            pass
        write = registry_writer(engine)
        done = threading.Event()
        with open(tmp_path / "r.sqlite3-writelock", "a+b") as held:
            fcntl.flock(held, fcntl.LOCK_EX)  # another API process is writing
            writer = threading.Thread(target=lambda: (write([("b", "Y" * 18, "/p", 200,
                                                               dt.datetime(2026, 11, 26, tzinfo=dt.UTC))]),
                                                       done.set()))
            writer.start()
            assert not done.wait(0.3)  # waits for its turn
            fcntl.flock(held, fcntl.LOCK_UN)
        assert done.wait(5)
        writer.join()
        with sqlite_file_lock(engine, WRITE_LOCK_SUFFIX), session_scope(url) as session:
            assert session.query(AuditRecord).count() == 1
    finally:
        dispose_engines()
