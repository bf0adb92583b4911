"""`enerdiag scheduler`: APScheduler (3.x) fires each job on its aligned period in a thread pool; the runner
claims the slot in the registry, so replicas share the work and no slot runs twice.

APScheduler brings the triggers, one worker thread per job (a 20-minute rollup never delays the webhooks),
`max_instances=1` and coalescing of missed runs; its job store stays in memory, because the schedule is code and
the registry's `scheduler_jobs` rows are what replicas share.
"""

from __future__ import annotations

import datetime as dt
import logging
import signal
import threading
import time
from collections.abc import Callable

from apscheduler.executors.pool import ThreadPoolExecutor
from apscheduler.schedulers.background import BackgroundScheduler
from apscheduler.triggers.interval import IntervalTrigger

from enerdiag.scheduler import health
from enerdiag.scheduler.jobs import JobSpec
from enerdiag.scheduler.runner import ANCHOR, JobRunner, Outcome

log = logging.getLogger(__name__)


def build(runner: JobRunner, specs: list[JobSpec]) -> BackgroundScheduler:
    """A scheduler with one interval job per switched-on spec, the first run due now (its current slot)."""
    enabled = [s for s in specs if s.enabled]
    scheduler = BackgroundScheduler(
        executors={"default": ThreadPoolExecutor(max(1, len(enabled)))},
        job_defaults={"coalesce": True, "max_instances": 1, "misfire_grace_time": None},
        timezone=ANCHOR.tzinfo,
    )
    for spec in enabled:
        start = ANCHOR + dt.timedelta(seconds=spec.offset_s)
        scheduler.add_job(runner.run, IntervalTrigger(seconds=spec.every_s, start_date=start, timezone=ANCHOR.tzinfo),
                          args=[spec], id=spec.name, name=spec.name,
                          next_run_time=dt.datetime.now(ANCHOR.tzinfo))
    return scheduler


def run_once(runner: JobRunner, specs: list[JobSpec]) -> list[Outcome]:
    """Every switched-on job once for its current slot, one after another."""
    return [runner.run(spec) for spec in specs if spec.enabled]


def run_forever(runner: JobRunner, specs: list[JobSpec], host: str, port: int | None,
                stop: threading.Event | None = None, on_ready: Callable[[int | None], None] | None = None) -> None:
    """Run until SIGTERM/SIGINT (or `stop`); serve the health endpoint on `host:port` (None: no endpoint)."""
    stop = stop or threading.Event()
    alive = threading.Event()
    alive.set()
    started = time.time()
    if threading.current_thread() is threading.main_thread():
        signal.signal(signal.SIGTERM, lambda *_: stop.set())
        signal.signal(signal.SIGINT, lambda *_: stop.set())
    server = health.serve(runner, specs, host, port, started, alive) if port is not None else None
    scheduler = build(runner, specs)
    scheduler.start()
    names = ", ".join(f"{s.name} every {s.every_s} s" for s in specs if s.enabled)
    bound = server.server_address[1] if server is not None else None
    log.info("scheduler %s: %s; health on %s", runner.holder, names or "no job switched on",
             f"http://{host}:{bound}/health" if bound else "(off)")
    if on_ready is not None:
        on_ready(bound)
    try:
        while not stop.wait(1.0):
            pass
    finally:
        log.info("scheduler %s: stopping", runner.holder)
        runner.stop()
        scheduler.shutdown(wait=True)
        alive.clear()
        if server is not None:
            server.shutdown()
            server.server_close()
