"""Run one job for one slot: claim its lease in the registry, run its commands as child processes while renewing
the lease, record the outcome in the registry and as a `scheduler_job` point in InfluxDB.

A child is killed when the job's timeout passes, when the lease cannot be renewed (another replica may take the
job once it expires, so this run must end first), and when the scheduler itself dies (Linux parent-death signal).
"""

from __future__ import annotations

import contextlib
import ctypes
import datetime as dt
import logging
import os
import signal
import socket
import subprocess
import sys
import threading
import time
import uuid
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass
from typing import Final
from zoneinfo import ZoneInfo

from sqlalchemy import Engine
from sqlalchemy.exc import SQLAlchemyError

from core.domain import DEFAULT_TIMEZONE
from core.influx import InfluxError, InfluxV1, line
from core.measurements import SCHEDULER_JOB
from core.registry import jobs as leases
from enerdiag.scheduler.jobs import JobSpec

log = logging.getLogger(__name__)

ANCHOR: Final = dt.datetime(2026, 1, 1, tzinfo=ZoneInfo(DEFAULT_TIMEZONE))
"""Slots are counted from this local midnight (plus the job's offset): every replica computes the same ones."""
LEASE_S: Final = 60.0
RENEW_S: Final = 15.0
KILL_GRACE_S: Final = 10.0
TAIL_LINES: Final = 20


def slot_start(spec: JobSpec, when: float) -> float:
    """Start (epoch s) of the period of `spec` that contains `when`."""
    anchor = ANCHOR.timestamp() + spec.offset_s
    return anchor + ((when - anchor) // spec.every_s) * spec.every_s


def replica_id() -> str:
    """This scheduler process: host, pid and a random suffix (a restarted container never reuses one)."""
    return f"{socket.gethostname()}:{os.getpid()}:{uuid.uuid4().hex[:6]}"


@dataclass(frozen=True)
class Outcome:
    """What one attempt at a job did: ran (with its result) or skipped (another replica has or had the slot)."""

    job: str
    slot: float
    ran: bool
    exit_code: int | None = None
    error: str | None = None
    duration_s: float | None = None

    @property
    def ok(self) -> bool:
        return self.ran and self.error is None

    def to_json(self) -> dict[str, object]:
        return {"job": self.job, "slot": self.slot, "ran": self.ran, "exit_code": self.exit_code,
                "error": self.error, "duration_s": self.duration_s}


def _die_with_parent() -> None:  # pragma: no cover - runs in the child between fork and exec
    """Linux: SIGKILL this child when the thread that started it dies (the scheduler killed outright)."""
    with contextlib.suppress(Exception):
        ctypes.CDLL("libc.so.6", use_errno=True).prctl(1, signal.SIGKILL)  # PR_SET_PDEATHSIG


class JobRunner:
    """Runs jobs for this replica; thread-safe (APScheduler calls `run` from its worker threads)."""

    def __init__(self, engine: Engine, influx: Callable[[], InfluxV1] | None, holder: str | None = None,
                 lease_s: float = LEASE_S, renew_s: float = RENEW_S,
                 on_outcome: Callable[[Outcome], None] | None = None) -> None:
        self.engine = engine
        self.influx = influx
        self.holder = holder or replica_id()
        self.lease_s = lease_s
        self.renew_s = renew_s
        self.on_outcome = on_outcome
        self.stopping = threading.Event()
        self.local: dict[str, Outcome] = {}
        """The last attempt of each job by this replica (the health endpoint shows it beside the registry's)."""
        self.db_error: str | None = None
        self._children: set[subprocess.Popen[bytes]] = set()
        self._lock = threading.Lock()

    # --- one attempt -----------------------------------------------------------------------------------------

    def run(self, spec: JobSpec, when: float | None = None) -> Outcome:
        """Claim `spec`'s current slot and run it, or skip it; never raises."""
        slot = slot_start(spec, time.time() if when is None else when)
        if self.stopping.is_set():
            return self._done(Outcome(spec.name, slot, ran=False))
        try:
            with self.engine.connect() as conn:
                claimed = leases.claim(conn, spec.name, slot, self.holder, self.lease_s)
            self.db_error = None
        except SQLAlchemyError as exc:
            self.db_error = _one_line(exc)
            log.error("scheduler: %s: registry unavailable, not run: %s", spec.name, self.db_error)
            return self._done(Outcome(spec.name, slot, ran=False, error=f"registry unavailable: {self.db_error}"))
        if claimed is None:
            return self._done(Outcome(spec.name, slot, ran=False))
        log.info("scheduler: %s: started (slot %s)", spec.name, _local(slot))
        exit_code, error = self._run_commands(spec, slot)
        duration = None
        try:
            with self.engine.connect() as conn:
                duration = leases.finish(conn, spec.name, self.holder, exit_code, error)
        except SQLAlchemyError as exc:
            log.error("scheduler: %s: outcome not recorded: %s", spec.name, _one_line(exc))
        outcome = Outcome(spec.name, slot, ran=True, exit_code=exit_code, error=error, duration_s=duration)
        log.log(logging.INFO if error is None else logging.ERROR, "scheduler: %s: %s in %.1f s%s", spec.name,
                "done" if error is None else "FAILED", duration or 0.0, f": {error}" if error else "")
        self._write_status(outcome)
        return self._done(outcome)

    def _done(self, outcome: Outcome) -> Outcome:
        self.local[outcome.job] = outcome
        if self.on_outcome is not None:
            self.on_outcome(outcome)
        return outcome

    def _run_commands(self, spec: JobSpec, slot: float) -> tuple[int, str | None]:
        """Run the job's commands in order, stopping at the first failure: (exit code, error or None)."""
        try:
            commands = spec.commands()
        except Exception as exc:  # a bad configuration file, e.g. the weather sources
            return 2, _one_line(exc)
        deadline = time.monotonic() + spec.timeout_s
        for argv in commands:
            code, error = self._run_child(spec, argv, slot, deadline)
            if error is not None:
                return code, error
        return 0, None

    def _run_child(self, spec: JobSpec, argv: list[str], slot: float, deadline: float) -> tuple[int, str | None]:
        env = {**os.environ, "ENERDIAG_JOB": spec.name, "ENERDIAG_JOB_SLOT": f"{slot:.0f}"}
        try:
            child = subprocess.Popen(argv, stdin=subprocess.DEVNULL, stdout=subprocess.PIPE,
                                     stderr=subprocess.STDOUT, env=env, preexec_fn=_die_with_parent)
        except OSError as exc:
            return 127, f"cannot start {argv[0]}: {exc.strerror}"
        with self._lock:
            self._children.add(child)
        tail: deque[str] = deque(maxlen=TAIL_LINES)
        reader = threading.Thread(target=_forward, args=(child, spec.name, tail), daemon=True)
        reader.start()
        reason = None
        renewed = time.monotonic()
        try:
            while True:
                try:
                    child.wait(timeout=max(0.05, min(self.renew_s, deadline - time.monotonic())))
                    break
                except subprocess.TimeoutExpired:
                    pass
                if self.stopping.is_set():
                    reason = "stopped: the scheduler is shutting down"
                elif time.monotonic() >= deadline:
                    reason = f"timed out after {spec.timeout_s} s"
                else:
                    kept = self._renew(spec)
                    if kept is False:
                        reason = "lease lost to another replica"
                    elif kept is True:
                        renewed = time.monotonic()
                    elif time.monotonic() - renewed > self.lease_s * 0.75:
                        reason = "lease not renewable (registry unavailable)"
                if reason:
                    _stop(child)
                    break
        finally:
            reader.join(timeout=5)
            with self._lock:
                self._children.discard(child)
        code = child.returncode if child.returncode is not None else -9
        if reason is None and code != 0 and self.stopping.is_set():
            reason = "stopped: the scheduler is shutting down"
        if reason:
            return code, reason
        if code != 0:
            said = next((t for t in reversed(tail) if t.startswith("enerdiag:")), tail[-1] if tail else "")
            return code, f"exit {code}" + (f": {said}" if said else "")
        return 0, None

    def _renew(self, spec: JobSpec) -> bool | None:
        """True renewed, False lost, None the registry did not answer."""
        try:
            with self.engine.connect() as conn:
                return leases.renew(conn, spec.name, self.holder, self.lease_s)
        except SQLAlchemyError as exc:
            log.warning("scheduler: %s: lease renewal failed: %s", spec.name, _one_line(exc))
            return None

    def _write_status(self, outcome: Outcome) -> None:
        if self.influx is None:
            return
        fields: dict[str, object] = {"duration_s": float(outcome.duration_s or 0.0), "ok": int(outcome.ok),
                                     "exit_code": int(outcome.exit_code or 0)}
        if outcome.error:
            fields["error"] = outcome.error[:500]
        host = self.holder.split(":", 1)[0]
        try:
            with self.influx() as influx:
                influx.write([line(SCHEDULER_JOB, {"job": outcome.job, "replica": host}, fields,
                                   int(time.time()))])
        except (InfluxError, OSError) as exc:
            log.warning("scheduler: %s: status not written to InfluxDB: %s", outcome.job, exc)

    def stop(self) -> None:
        """Stop starting work and end the running children (their runs are recorded as stopped)."""
        self.stopping.set()
        with self._lock:
            children = list(self._children)
        for child in children:
            with contextlib.suppress(ProcessLookupError):
                child.terminate()


def _forward(child: subprocess.Popen[bytes], job: str, tail: deque[str]) -> None:
    """Copy the child's output to the scheduler's stderr, each line prefixed with the job; keep the last lines."""
    assert child.stdout is not None
    for raw in child.stdout:
        text = raw.decode("utf-8", "replace").rstrip()
        if text:
            tail.append(text)
            print(f"[{job}] {text}", file=sys.stderr, flush=True)


def _stop(child: subprocess.Popen[bytes]) -> None:
    child.terminate()
    try:
        child.wait(timeout=KILL_GRACE_S)
    except subprocess.TimeoutExpired:
        child.kill()
        child.wait()


def _one_line(exc: BaseException) -> str:
    text = " ".join(str(exc).split())
    return f"{type(exc).__name__}: {text[:300]}"


def _local(epoch: float) -> str:
    return dt.datetime.fromtimestamp(epoch, ZoneInfo(DEFAULT_TIMEZONE)).strftime("%Y-%m-%d %H:%M:%S")
