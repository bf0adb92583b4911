"""`enerdiag api` (serve the bank API), `enerdiag objection add|list|resolve` (异议), `enerdiag webhooks run`."""

from __future__ import annotations

import json
import os
import sys
from typing import Annotated

import typer
from sqlalchemy.exc import SQLAlchemyError

from core.registry.db import session_scope
from enerdiag.errors import EXIT_BAD_INPUT, fail

objection_app = typer.Typer(
    help="Objections (异议) of an enterprise to a figure the API serves; open ones are shown to every bank.",
    no_args_is_help=True,
)


webhooks_app = typer.Typer(help="Post-loan monitoring webhooks (贷后监测): detect events and deliver them.",
                           no_args_is_help=True)


@webhooks_app.command("run")
def webhooks_run(
    once: Annotated[bool, typer.Option("--once", help="one pass (scan + deliver), then exit")] = False,
    every: Annotated[int, typer.Option("--every", min=1, max=3600, help="seconds between passes")] = 60,
) -> None:
    """Queue yesterday's events for every webhook's consented enterprises and deliver what is due, with retries."""
    import datetime as dt
    import time

    from api.context import CONSENT_TIMEZONE
    from api.models import ensure_tables
    from api.webhook_jobs import deliver_due, scan
    from core.influx import InfluxError, InfluxV1
    from core.registry.db import get_engine

    try:
        ensure_tables(get_engine())
        with InfluxV1.from_settings() as influx:
            while True:
                now = dt.datetime.now(dt.UTC).replace(microsecond=0)
                today = now.astimezone(CONSENT_TIMEZONE).date()
                with session_scope() as session:
                    queued = scan(session, influx, today, now)
                with session_scope() as session:
                    report = deliver_due(session, now, today)
                print(f"webhooks: {queued} queued, {report.delivered} delivered, {report.retried} to retry, "
                      f"{report.failed} failed", file=sys.stderr)
                if once:
                    return
                time.sleep(every)
    except KeyboardInterrupt:
        return
    except InfluxError as exc:
        fail(str(exc))
    except SQLAlchemyError as exc:
        fail(f"registry unavailable: {type(exc).__name__}")


def serve(host: str, port: int, workers: int, rate_limit: int | None) -> None:
    """Run uvicorn on the app factory; each worker builds its own app from the process settings."""
    import uvicorn

    from api.app import RATE_LIMIT_ENV

    if rate_limit is not None:
        os.environ[RATE_LIMIT_ENV] = str(rate_limit)
    uvicorn.run(
        "api.app:app_from_env",
        factory=True,
        host=host,
        port=port,
        workers=workers,
        access_log=False,
        log_level="warning",
    )


@objection_app.command("add")
def objection_add(
    code: Annotated[str, typer.Argument(help="the enterprise's unified social credit code")],
    indicator: Annotated[str, typer.Option("--indicator", help="the figure objected to, e.g. utilisation")],
    text: Annotated[str, typer.Option("--text", help="what is wrong with it, in the enterprise's words")],
    period: Annotated[str | None, typer.Option("--period", help="the period concerned, e.g. 2026-10")] = None,
) -> None:
    """Record an open objection; prints its id."""
    from api.objections import ObjectionError, add_objection

    try:
        with session_scope() as session:
            row = add_objection(session, code.strip().upper(), indicator.strip(), text, period)
            print(row.id)
    except ObjectionError as exc:
        fail(str(exc), EXIT_BAD_INPUT)
    except SQLAlchemyError as exc:
        fail(f"registry unavailable: {type(exc).__name__}")


@objection_app.command("resolve")
def objection_resolve(
    objection_id: Annotated[int, typer.Argument(help="the id `objection add` printed")],
    resolution: Annotated[str, typer.Option("--resolution", help="outcome of the review")],
) -> None:
    """Close an objection with its outcome; banks no longer see it."""
    from api.objections import ObjectionError, resolve_objection

    try:
        with session_scope() as session:
            resolve_objection(session, objection_id, resolution)
    except ObjectionError as exc:
        fail(str(exc), EXIT_BAD_INPUT)
    except SQLAlchemyError as exc:
        fail(f"registry unavailable: {type(exc).__name__}")


@objection_app.command("list")
def objection_list(
    code: Annotated[str, typer.Argument(help="the enterprise's unified social credit code")],
    open_only: Annotated[bool, typer.Option("--open", help="only objections not yet resolved")] = False,
    as_json: Annotated[bool, typer.Option("--json", help="print a JSON array")] = False,
) -> None:
    """An enterprise's objections, oldest first."""
    from api.objections import list_objections

    try:
        with session_scope() as session:
            rows = list_objections(session, code.strip().upper(), open_only=open_only)
    except SQLAlchemyError as exc:
        fail(f"registry unavailable: {type(exc).__name__}")
    items = [
        {"id": r.id, "indicator": r.indicator, "period": r.period, "text": r.text,
         "opened_at": r.opened_at.isoformat(), "resolved_at": r.resolved_at.isoformat() if r.resolved_at else None,
         "resolution": r.resolution}
        for r in rows
    ]
    if as_json:
        print(json.dumps(items, ensure_ascii=False))
        return
    for item in items:
        state = "open" if item["resolved_at"] is None else f"resolved {item['resolved_at']}"
        print(f"{item['id']}\t{item['indicator']}\t{item['period'] or '-'}\t{state}\t{item['text']}")


def register(app: typer.Typer) -> None:
    """Attach `api` and `objection` to the root app."""

    @app.command("api")
    def api_command(
        host: Annotated[str, typer.Option("--host", help="address to listen on")] = "127.0.0.1",
        port: Annotated[int, typer.Option("--port", min=1, max=65535, help="TCP port")] = 8000,
        workers: Annotated[int, typer.Option("--workers", min=1, max=64, help="worker processes")] = 1,
        rate_limit: Annotated[
            int | None, typer.Option("--rate-limit", min=1, help="requests per minute per API key (default 600)")
        ] = None,
    ) -> None:
        """Serve the bank HTTP API (CONTRACTS.md section 5) with uvicorn until SIGINT/SIGTERM."""
        serve(host, port, workers, rate_limit)

    app.add_typer(objection_app, name="objection")
    app.add_typer(webhooks_app, name="webhooks")
