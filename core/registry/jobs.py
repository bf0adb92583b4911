"""Periodic jobs' leases and last outcomes in the registry database: one row per job (table `scheduler_jobs`).

Several scheduler replicas share one registry. Before running a job for a scheduled *slot* (the start of its
period), a replica claims the job's row with one conditional UPDATE: it wins only if no live lease is held and
the slot is newer than the last one claimed. So a slot runs at most once and two runs of a job never overlap,
on SQLite and PostgreSQL alike (the UPDATE is atomic on both; no advisory-lock dialect needed). The holder
renews its lease while the job runs; a replica that dies loses it when `lease_until` passes.

Times are epoch seconds from the *database's* clock (`db_now`), so replicas with skewed clocks agree.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Final

from sqlalchemy import Connection, Float, Integer, String, Text, select, update
from sqlalchemy.orm import Mapped, mapped_column

from core.registry.dialects import upsert_insert
from core.registry.models import Base

MAX_ERROR_CHARS: Final = 2000


class ScheduledJob(Base):
    """A periodic job's lease and the outcome of its last finished run (`enerdiag scheduler`)."""

    __tablename__ = "scheduler_jobs"

    job: Mapped[str] = mapped_column(String(64), primary_key=True)
    holder: Mapped[str | None] = mapped_column(String(200))
    """The replica running it now (None when idle)."""
    lease_until: Mapped[float | None] = mapped_column(Float)
    """Epoch seconds (database clock) until which `holder`'s claim stands without renewal."""
    slot: Mapped[float | None] = mapped_column(Float)
    """Start (epoch s) of the last scheduled period a replica claimed."""
    started_at: Mapped[float | None] = mapped_column(Float)
    finished_at: Mapped[float | None] = mapped_column(Float)
    duration_s: Mapped[float | None] = mapped_column(Float)
    exit_code: Mapped[int | None] = mapped_column(Integer)
    error: Mapped[str | None] = mapped_column(Text)
    """The last run's failure (None when it succeeded)."""
    last_ok_at: Mapped[float | None] = mapped_column(Float)
    """When a run last finished successfully (epoch s)."""
    last_holder: Mapped[str | None] = mapped_column(String(200))
    """The replica that ran the last finished run."""
    runs: Mapped[int] = mapped_column(Integer, default=0, nullable=False)


_T = ScheduledJob.__table__
_c = _T.c


def db_now(connection: Connection) -> float:
    """The database's clock, epoch seconds (SQLite: millisecond resolution)."""
    return float(connection.exec_driver_sql(_NOW_SQL[connection.dialect.name]).scalar_one())


_NOW_SQL: Final = {
    "sqlite": "SELECT (julianday('now') - 2440587.5) * 86400.0",
    "postgresql": "SELECT EXTRACT(EPOCH FROM clock_timestamp())::float8",
}


def claim(connection: Connection, job: str, slot: float, holder: str, lease_s: float) -> float | None:
    """Take `job` for `slot` unless a live lease is held or `slot` was already claimed; commit.

    Returns the database time of the claim (the run's start), None when another replica has it or had it.
    """
    connection.execute(upsert_insert(connection.dialect.name)(_T).values(job=job, runs=0).on_conflict_do_nothing(
        index_elements=["job"]))
    now = db_now(connection)
    taken = connection.execute(
        update(_T)
        .where(_c.job == job, (_c.lease_until.is_(None)) | (_c.lease_until < now),
               (_c.slot.is_(None)) | (_c.slot < slot))
        .values(holder=holder, lease_until=now + lease_s, slot=slot, started_at=now)
    ).rowcount
    connection.commit()
    return now if taken == 1 else None


def renew(connection: Connection, job: str, holder: str, lease_s: float) -> bool:
    """Extend `holder`'s lease on `job`; False when it no longer holds it (the run must stop)."""
    now = db_now(connection)
    kept = connection.execute(
        update(_T).where(_c.job == job, _c.holder == holder).values(lease_until=now + lease_s)).rowcount
    connection.commit()
    return kept == 1


def finish(connection: Connection, job: str, holder: str, exit_code: int, error: str | None) -> float | None:
    """Record the run's outcome and free the lease; returns the run's duration (None if the lease was lost)."""
    now = db_now(connection)
    started = connection.execute(select(_c.started_at).where(_c.job == job, _c.holder == holder)).scalar()
    if started is None:
        connection.rollback()
        return None
    values: dict[str, Any] = {
        "holder": None, "lease_until": None, "finished_at": now, "duration_s": now - started,
        "exit_code": exit_code, "error": None if error is None else error[:MAX_ERROR_CHARS],
        "last_holder": holder, "runs": _c.runs + 1,
    }
    if error is None:
        values["last_ok_at"] = now
    connection.execute(update(_T).where(_c.job == job, _c.holder == holder).values(**values))
    connection.commit()
    return now - started


@dataclass(frozen=True)
class JobState:
    """A job's row as the health endpoint reports it."""

    job: str
    holder: str | None
    lease_until: float | None
    slot: float | None
    started_at: float | None
    finished_at: float | None
    duration_s: float | None
    exit_code: int | None
    error: str | None
    last_ok_at: float | None
    last_holder: str | None
    runs: int

    @property
    def running(self) -> bool:
        return self.holder is not None


def read_states(connection: Connection) -> tuple[float, dict[str, JobState]]:
    """The database time and every job's row."""
    now = db_now(connection)
    rows = connection.execute(select(*_T.columns)).mappings().all()
    connection.rollback()
    return now, {row["job"]: JobState(**row) for row in rows}
