"""Figure endpoints computed by the analytics package: profile, credit indicators, warehouse, order verification.

Energy, carbon, output and quota figures come from `analytics.analyze_job.analyze` (the code of `enerdiag
analyze`); the API only arranges them per month or per indicator. Warehouse monitoring is computed by
`analytics.warehouse` from the rollups and the raw temperatures (`api.warehouse` reads them).
"""

from __future__ import annotations

import contextlib
import datetime as dt
from collections.abc import Callable
from typing import Annotated, Any

from fastapi import APIRouter, Query, Request
from starlette.concurrency import run_in_threadpool
from starlette.responses import Response

from analytics.enterprise import EnterpriseInfo
from analytics.registry_view import load_enterprises
from api.auth import EnterpriseAccess, require_scope
from api.context import ApiContext, context_of
from api.figure_schemas import CreditIndicators, OrderVerification, Profile, Warehouse, documented
from api.figures import (
    CREDIT_FIGURES,
    ORDER_FIGURES,
    PROFILE_FIGURES,
    credit_indicators,
    monthly_profile,
    order_verification,
    total_meters,
)
from api.params import MONTH_PATTERN, IsoDate, check_date, check_period, invalid, next_month, parse_month
from api.precompute import read_snapshot_json
from api.problems import ProblemError
from api.responses import dumps, spliced_response
from api.warehouse import warehouse_figures, warehouse_meters
from core.influx import InfluxError
from core.reference import ReferenceLookupError, get_reference

router = APIRouter(tags=["figures"])
WAREHOUSE_FIGURES = ("warehouse",)


def reference() -> Any:
    """The cited reference data of the process (coefficients, emission factors, quotas)."""
    return get_reference()


def enterprise_of(ctx: ApiContext, code: str) -> EnterpriseInfo:
    """The analytics' view of an enterprise (meters, roles, product) read from the registry, kept per registry
    version (a row read while the registry changed is stored under the old version, never served after it)."""
    def load() -> EnterpriseInfo:
        with ctx.session() as session:
            return load_enterprises(session, [code])[0]

    info: EnterpriseInfo = ctx.enterprises.get_or_compute((code, ctx.access.version), load)
    return info


def day_cost(start: dt.date, end: dt.date, access: EnterpriseAccess) -> int:
    """Points of a figure computed from daily rollups over [start, end): days × meters (`cached_figure`)."""
    return max((end - start).days, 1) * max(len(access.meters), 1)


def influx_unavailable() -> ProblemError:
    return ProblemError(503, "influxdb-unavailable", "Service Unavailable",
                        "the time-series store does not answer; retry later", headers={"Retry-After": "30"})


async def cached_figure(ctx: ApiContext, key: tuple[Any, ...], compute: Callable[[], dict[str, Any] | bytes],
                        bank_id: str, cost: int) -> bytes:
    """The JSON bytes of the figures cached under `key`, else of `compute()` run in the thread pool (InfluxDB,
    analytics). Cached as bytes: no re-serialisation per request, and few objects for the garbage collector.
    A miss is computing work: `bank_id` may have only so many in flight and spend only so much `cost` (points)
    a minute (`api.guards.HeavyLimiter`, 429 beyond); a hit is free. `cost` 0: `compute` admits itself (the
    credit indicators, whose precomputed snapshot is one row, not computing work)."""
    value = ctx.figures.get(key)
    if value is not None:
        return bytes(value)

    def computed() -> bytes:
        figures = compute()
        return figures if isinstance(figures, bytes) else dumps(figures)

    try:
        with ctx.heavy.admit(bank_id, cost, ctx.now().timestamp()) if cost else contextlib.nullcontext():
            return bytes(await run_in_threadpool(ctx.figures.get_or_compute, key, computed))
    except InfluxError as exc:
        raise influx_unavailable() from exc
    except ReferenceLookupError as exc:
        raise ProblemError(422, "no-reference-data", "No reference data for the period", str(exc)) from exc


@router.get("/v1/enterprises/{code}/profile", summary="Monthly energy, carbon and output profile [profile]",
            responses=documented(Profile, "Per month: energy, tce, co2_t, output_t, intensity, completeness, evidence"))
async def profile(
    request: Request,
    start: Annotated[str, Query(alias="from", pattern=MONTH_PATTERN, description="first month, YYYY-MM")],
    end: Annotated[str, Query(alias="to", pattern=MONTH_PATTERN, description="last month, YYYY-MM, inclusive")],
    access: EnterpriseAccess = require_scope("profile"),  # type: ignore[assignment]
) -> Response:
    """Per month: energy per carrier, tce, co2_t, output_t, intensity_kgce_per_t, completeness, with evidence."""
    first, last = parse_month(start, "from"), parse_month(end, "to")
    check_period(first, next_month(last))
    ctx = context_of(request)

    def compute() -> dict[str, Any]:
        enterprise = enterprise_of(ctx, access.code)
        return {"meters": total_meters(enterprise),
                "months": monthly_profile(ctx.influx, enterprise, first, last, reference())}

    body = await cached_figure(ctx, ("profile", access.code, first, last), compute, access.bank_id,
                               day_cost(first, next_month(last), access))
    return spliced_response({"enterprise": access.code, "from": start, "to": end, "timezone": access.timezone}, body,
                            {"objections": ctx.access.objections(access.code, PROFILE_FIGURES)})


@router.get("/v1/enterprises/{code}/credit-indicators", summary="Explainable credit indicators [credit]",
            responses=documented(CreditIndicators, "Every credit indicator with its evidence"))
async def credit(
    request: Request,
    as_of: Annotated[IsoDate, Query(description="the day the indicators are computed for, YYYY-MM-DD")],
    access: EnterpriseAccess = require_scope("credit"),  # type: ignore[assignment]
) -> Response:
    """activity_index, utilisation, stability_cv, trend_mom, trend_yoy, … each with its evidence (docs/api.md).

    The day `enerdiag rollup` last precomputed (the enterprise's today) is read from its snapshot, with its
    `computed_at`; other days are computed on request."""
    ctx = context_of(request)
    if as_of > ctx.today() + dt.timedelta(days=1):
        raise invalid("as_of", f"{as_of.isoformat()} is in the future; indicators describe measured data")
    check_date(as_of, "as_of")

    def compute() -> dict[str, Any] | bytes:
        stored = read_snapshot_json(ctx.access.engine, access.code, as_of)
        if stored is not None:
            return stored
        with ctx.heavy.admit(access.bank_id, day_cost(as_of - dt.timedelta(days=400), as_of, access),
                             ctx.now().timestamp()):
            return credit_indicators(ctx.influx, enterprise_of(ctx, access.code), as_of, reference())

    body = await cached_figure(ctx, ("credit", access.code, as_of), compute, access.bank_id, 0)
    return spliced_response({"enterprise": access.code, "timezone": access.timezone}, body,
                            {"objections": ctx.access.objections(access.code, CREDIT_FIGURES)})


@router.get("/v1/enterprises/{code}/warehouse", summary="Warehouse monitoring for receipt financing [warehouse]",
            responses=documented(Warehouse, "Refrigeration continuity, outages, temperature excursions"))
async def warehouse(
    request: Request,
    start: Annotated[IsoDate, Query(alias="from", description="first local day, inclusive")],
    end: Annotated[IsoDate, Query(alias="to", description="last local day, exclusive")],
    access: EnterpriseAccess = require_scope("warehouse"),  # type: ignore[assignment]
) -> Response:
    """Continuity of the refrigeration meters, outages, temperature excursions (analytics.warehouse)."""
    check_period(start, end)
    ctx = context_of(request)

    def compute() -> dict[str, Any]:
        with ctx.session() as session:
            meters = warehouse_meters(session, access.code)
        return warehouse_figures(ctx.influx, access.code, access.timezone, meters, start, end)

    body = await cached_figure(ctx, ("warehouse", access.code, start, end), compute, access.bank_id,
                               day_cost(start, end, access) * 24)
    return spliced_response({"enterprise": access.code, "timezone": access.timezone}, body,
                            {"objections": ctx.access.objections(access.code, WAREHOUSE_FIGURES)})


@router.get("/v1/enterprises/{code}/order-verification", summary="Output versus an order [orders]",
            responses=documented(OrderVerification, "Output in the period against the expected output"))
async def orders(
    request: Request,
    start: Annotated[IsoDate, Query(alias="from", description="first local day, inclusive")],
    end: Annotated[IsoDate, Query(alias="to", description="last local day, exclusive")],
    expected_output_t: Annotated[float, Query(gt=0, le=1e9, description="output the order needs, tonnes")],
    access: EnterpriseAccess = require_scope("orders"),  # type: ignore[assignment]
) -> Response:
    """Measured (or electricity-estimated) output in the period against the expected output, with uncertainty."""
    check_period(start, end)
    ctx = context_of(request)
    body = await cached_figure(
        ctx, ("orders", access.code, start, end, expected_output_t),
        lambda: order_verification(ctx.influx, enterprise_of(ctx, access.code), start, end, expected_output_t,
                                   reference()), access.bank_id, day_cost(start, end, access))
    return spliced_response({"enterprise": access.code, "timezone": access.timezone}, body,
                            {"objections": ctx.access.objections(access.code, ORDER_FIGURES)})
