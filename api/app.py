"""The FastAPI application factory: routes, problem+json errors, audit, and the app's collaborators."""

from __future__ import annotations

from typing import Any

from fastapi import FastAPI

from api import problems
from api.audit import AuditMiddleware, stream_anonymous_to_stderr
from api.context import ApiContext, Clock, system_clock
from api.egress import EgressPolicy
from api.limits import SizeLimitMiddleware
from api.models import ensure_tables
from api.problems import PROBLEM_SCHEMA
from api.ratelimit import RateLimit, RateLimiter
from api.routes import enterprises, figures, health, webhooks
from core.influx import InfluxV1
from core.registry.checkpoints import defer_checkpoints
from core.registry.db import get_engine
from core.settings import Settings, get_settings

DESCRIPTION = """Energy-backed credit data for banks (green, warehouse-receipt and order financing).

A bank reads only enterprises that consented to it, only the scopes they granted; every request to an
enterprise resource is audited. Errors are `application/problem+json` (RFC 9457). Definitions of every
figure, in Chinese and English: `docs/api.md`."""

ERROR_RESPONSES: dict[int | str, dict[str, Any]] = {
    status: PROBLEM_SCHEMA for status in (401, 403, 404, 413, 422, 429, 431, 500, 503)
}


def create_app(
    settings: Settings | None = None,
    *,
    registry_url: str | None = None,
    influx: InfluxV1 | None = None,
    clock: Clock = system_clock,
    rate_limit: RateLimit | None = None,
    allow_http_webhooks: bool = False,
    webhook_policy: EgressPolicy | None = None,
) -> FastAPI:
    """Build the API for `settings` (default: the process settings); tests pass a registry URL, clock and limit,
    and webhook allowances (`allow_http_webhooks`, or a whole `webhook_policy`) that production never has."""
    s = settings or get_settings()
    ctx = ApiContext(
        settings=s,
        registry_url=registry_url or s.registry_url,
        influx=influx or InfluxV1.from_settings(s),
        clock=clock,
        rate_limiter=RateLimiter(rate_limit or RateLimit()),
        webhook_policy=webhook_policy or EgressPolicy(allow_http=allow_http_webhooks),
    )
    ensure_tables(get_engine(ctx.registry_url))
    defer_checkpoints(get_engine(ctx.registry_url))  # audit commits never wait for a WAL checkpoint's fsync
    app = FastAPI(
        title="enerdiag bank API",
        version="1",
        description=DESCRIPTION,
        openapi_url="/openapi.json",
        docs_url="/docs",
        redoc_url=None,
        responses=ERROR_RESPONSES,
    )
    app.state.ctx = ctx
    problems.install(app)
    app.add_middleware(AuditMiddleware, ctx=ctx)
    app.add_middleware(SizeLimitMiddleware)  # added last: outermost, before audit and authentication
    app.include_router(health.router)
    app.include_router(enterprises.router)
    app.include_router(figures.router)
    app.include_router(webhooks.router)
    return app


RATE_LIMIT_ENV = "ENERDIAG_API_RATE_LIMIT"
"""Requests per minute per API key for `enerdiag api` (default 600)."""


def app_from_env() -> FastAPI:
    """The factory uvicorn calls in each worker (`api.app:app_from_env`): process settings, env rate limit."""
    import os

    stream_anonymous_to_stderr()
    raw = os.environ.get(RATE_LIMIT_ENV)
    limit = RateLimit(requests=int(raw)) if raw else None
    return create_app(rate_limit=limit)  # webhooks: https to public addresses only
