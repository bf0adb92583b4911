"""Figure endpoints computed by the analytics package: profile, credit indicators, warehouse, order verification.

Energy, carbon, output and quota figures come from `analytics.analyze_job.analyze` (the code of `enerdiag
analyze`); the API only arranges them per month or per indicator. Warehouse monitoring is computed by
`analytics.warehouse` from the rollups and the raw temperatures (`api.warehouse` reads them).
"""

from __future__ import annotations

import datetime as dt
from typing import Annotated, Any

from fastapi import APIRouter, Query, Request
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
from api.objections import open_objections
from api.params import MONTH_PATTERN, check_date, check_period, invalid, next_month, parse_month
from api.problems import ProblemError
from api.responses import json_response
from api.warehouse import warehouse_figures, warehouse_meters
from core.influx import InfluxError
from core.reference import ReferenceLookupError, get_reference

router = APIRouter(tags=["figures"])
WAREHOUSE_FIGURES = ("warehouse",)


def reference() -> Any:
    """The cited reference data of the process (coefficients, emission factors, quotas)."""
    return get_reference()


def enterprise_of(ctx: ApiContext, code: str) -> EnterpriseInfo:
    """The analytics' view of an enterprise (meters, roles, product) read from the registry (cached briefly)."""
    def load() -> EnterpriseInfo:
        with ctx.session() as session:
            return load_enterprises(session, [code])[0]

    info: EnterpriseInfo = ctx.enterprises.get_or_compute(code, load)
    return info


def influx_unavailable() -> ProblemError:
    return ProblemError(503, "influxdb-unavailable", "Service Unavailable",
                        "the time-series store does not answer; retry later", headers={"Retry-After": "30"})


@router.get("/v1/enterprises/{code}/profile", summary="Monthly energy, carbon and output profile [profile]",
            responses=documented(Profile, "Per month: energy, tce, co2_t, output_t, intensity, completeness, evidence"))
def profile(
    request: Request,
    start: Annotated[str, Query(alias="from", pattern=MONTH_PATTERN, description="first month, YYYY-MM")],
    end: Annotated[str, Query(alias="to", pattern=MONTH_PATTERN, description="last month, YYYY-MM, inclusive")],
    access: EnterpriseAccess = require_scope("profile"),  # type: ignore[assignment]
) -> Response:
    """Per month: energy per carrier, tce, co2_t, output_t, intensity_kgce_per_t, completeness, with evidence."""
    first, last = parse_month(start, "from"), parse_month(end, "to")
    check_period(first, next_month(last))
    ctx = context_of(request)
    enterprise = enterprise_of(ctx, access.code)
    try:
        months = ctx.figures.get_or_compute(("profile", access.code, first, last),
                                            lambda: monthly_profile(ctx.influx, enterprise, first, last, reference()))
    except InfluxError as exc:
        raise influx_unavailable() from exc
    except ReferenceLookupError as exc:
        raise ProblemError(422, "no-reference-data", "No reference data for the period", str(exc)) from exc
    with ctx.session() as session:
        objections = open_objections(session, access.code, PROFILE_FIGURES)
    return json_response({
        "enterprise": access.code,
        "from": start,
        "to": end,
        "timezone": access.timezone,
        "meters": total_meters(enterprise),
        "months": months,
        "objections": objections,
    })


@router.get("/v1/enterprises/{code}/credit-indicators", summary="Explainable credit indicators [credit]",
            responses=documented(CreditIndicators, "Every credit indicator with its evidence"))
def credit(
    request: Request,
    as_of: Annotated[dt.date, Query(description="the day the indicators are computed for, YYYY-MM-DD")],
    access: EnterpriseAccess = require_scope("credit"),  # type: ignore[assignment]
) -> Response:
    """activity_index, utilisation, stability_cv, trend_mom, trend_yoy, … each with its evidence (docs/api.md)."""
    ctx = context_of(request)
    if as_of > ctx.today() + dt.timedelta(days=1):
        raise invalid("as_of", f"{as_of.isoformat()} is in the future; indicators describe measured data")
    check_date(as_of, "as_of")
    enterprise = enterprise_of(ctx, access.code)
    try:
        body = ctx.figures.get_or_compute(("credit", access.code, as_of),
                                          lambda: credit_indicators(ctx.influx, enterprise, as_of, reference()))
    except InfluxError as exc:
        raise influx_unavailable() from exc
    except ReferenceLookupError as exc:
        raise ProblemError(422, "no-reference-data", "No reference data for the period", str(exc)) from exc
    with ctx.session() as session:
        objections = open_objections(session, access.code, CREDIT_FIGURES)
    return json_response({"enterprise": access.code, "timezone": access.timezone, **body, "objections": objections})


@router.get("/v1/enterprises/{code}/warehouse", summary="Warehouse monitoring for receipt financing [warehouse]",
            responses=documented(Warehouse, "Refrigeration continuity, outages, temperature excursions"))
def warehouse(
    request: Request,
    start: Annotated[dt.date, Query(alias="from", description="first local day, inclusive")],
    end: Annotated[dt.date, Query(alias="to", description="last local day, exclusive")],
    access: EnterpriseAccess = require_scope("warehouse"),  # type: ignore[assignment]
) -> Response:
    """Continuity of the refrigeration meters, outages, temperature excursions (analytics.warehouse)."""
    check_period(start, end)
    ctx = context_of(request)
    def compute() -> dict[str, Any]:
        with ctx.session() as session:
            meters = warehouse_meters(session, access.code)
        return warehouse_figures(ctx.influx, access.code, access.timezone, meters, start, end)

    try:
        body = ctx.figures.get_or_compute(("warehouse", access.code, start, end), compute)
    except InfluxError as exc:
        raise influx_unavailable() from exc
    with ctx.session() as session:
        objections = open_objections(session, access.code, WAREHOUSE_FIGURES)
    return json_response({"enterprise": access.code, "timezone": access.timezone, **body, "objections": objections})


@router.get("/v1/enterprises/{code}/order-verification", summary="Output versus an order [orders]",
            responses=documented(OrderVerification, "Output in the period against the expected output"))
def orders(
    request: Request,
    start: Annotated[dt.date, Query(alias="from", description="first local day, inclusive")],
    end: Annotated[dt.date, Query(alias="to", description="last local day, exclusive")],
    expected_output_t: Annotated[float, Query(gt=0, le=1e9, description="output the order needs, tonnes")],
    access: EnterpriseAccess = require_scope("orders"),  # type: ignore[assignment]
) -> Response:
    """Measured (or electricity-estimated) output in the period against the expected output, with uncertainty."""
    check_period(start, end)
    ctx = context_of(request)
    enterprise = enterprise_of(ctx, access.code)
    try:
        body = ctx.figures.get_or_compute(
            ("orders", access.code, start, end, expected_output_t),
            lambda: order_verification(ctx.influx, enterprise, start, end, expected_output_t, reference()))
    except InfluxError as exc:
        raise influx_unavailable() from exc
    except ReferenceLookupError as exc:
        raise ProblemError(422, "no-reference-data", "No reference data for the period", str(exc)) from exc
    with ctx.session() as session:
        objections = open_objections(session, access.code, ORDER_FIGURES)
    return json_response({"enterprise": access.code, "timezone": access.timezone, **body, "objections": objections})
