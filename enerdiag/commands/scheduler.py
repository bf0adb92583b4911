"""`enerdiag scheduler`: one long-running process running every periodic job on its cadence (docs/operations.md)."""

from __future__ import annotations

import json
import sys
import time
from typing import Annotated

import typer

from enerdiag.errors import EXIT_BAD_INPUT, fail
from enerdiag.logs import configure_logging


def register(app: typer.Typer) -> None:
    """Attach `scheduler` to the root app."""

    @app.command()
    def scheduler(
        once: Annotated[bool, typer.Option("--once", help="run every switched-on job once for its current slot "
                                           "(skipped when another replica already has it), then exit")] = False,
        job: Annotated[list[str] | None, typer.Option("--job", help="only this job (repeatable)")] = None,
        status: Annotated[bool, typer.Option("--status", help="print the jobs' last runs from the registry (the "
                                             "health endpoint's JSON); exit 1 if unhealthy")] = False,
        host: Annotated[str, typer.Option("--health-host", help="address of the health endpoint")] = "127.0.0.1",
        port: Annotated[int, typer.Option("--health-port", min=0, max=65535, help="port of GET /health "
                                          "(0: any free port)", envvar="ENERDIAG_SCHEDULER_PORT")] = 8010,
        verbose: Annotated[bool, typer.Option("--verbose", "-v")] = False,
    ) -> None:
        """Run rollups, the dashboard feed, webhooks, weather import, downsampling and the broker's accounts on
        their periods; replicas share the jobs through leases in the registry (定时任务)."""
        from sqlalchemy.exc import SQLAlchemyError

        from core.influx import InfluxV1
        from core.registry.db import init_db
        from enerdiag.scheduler import health, service
        from enerdiag.scheduler.jobs import JOB_NAMES, JobConfigError, SchedulerEnv, default_jobs
        from enerdiag.scheduler.runner import JobRunner

        configure_logging(verbose)
        unknown = sorted(set(job or ()) - set(JOB_NAMES))
        if unknown:
            fail(f"--job {', '.join(unknown)}: the jobs are {', '.join(JOB_NAMES)}", EXIT_BAD_INPUT)
        try:
            specs = default_jobs(SchedulerEnv.from_environ())
        except JobConfigError as exc:
            fail(str(exc), EXIT_BAD_INPUT)
        if job:
            specs = [s for s in specs if s.name in job]
        try:
            engine = init_db()
        except SQLAlchemyError as exc:
            fail(f"registry database error: {exc.__class__.__name__}: {str(exc).splitlines()[0]}")
        runner = JobRunner(engine, InfluxV1.from_settings)
        if status:
            healthy, body = health.report(runner, specs, started=time.time())
            print(json.dumps(body, ensure_ascii=False, indent=2))
            raise typer.Exit(0 if healthy else 1)
        if once:
            outcomes = service.run_once(runner, specs)
            for outcome in outcomes:
                print(json.dumps(outcome.to_json(), ensure_ascii=False))
            failed = [o.job for o in outcomes if o.ran and not o.ok]
            if failed:
                fail(f"job(s) failed: {', '.join(failed)}")
            return
        service.run_forever(runner, specs, host, port, on_ready=lambda bound: print(
            json.dumps({"replica": runner.holder, "health_port": bound, "started": time.time()}), file=sys.stderr,
            flush=True))
