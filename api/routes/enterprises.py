"""`GET /v1/enterprises` (consented enterprises, paged) and `GET /v1/enterprises/{code}/series` [series]."""

from __future__ import annotations

import datetime as dt
from typing import Annotated, Literal

from fastapi import APIRouter, Query, Request
from sqlalchemy import select
from starlette.responses import Response

from api.auth import AuthenticatedBank, EnterpriseAccess, require_scope
from api.context import context_of
from api.params import DEFAULT_PAGE, MAX_HOURLY_DAYS, MAX_PAGE, IsoDate, check_period
from api.responses import dumps, json_response, spliced_response
from api.routes.figures import cached_figure
from api.schemas import EnterpriseList, Series
from api.series import Interval
from api.series_source import Request as SeriesRequest
from api.series_source import counter_series, gauge_series
from core.domain import QUANTITIES, QuantityKind
from core.registry.models import Consent, Enterprise

router = APIRouter(tags=["enterprises"])

QuantityName = Literal[tuple(QUANTITIES)]  # type: ignore[valid-type]
CODE_PATTERN = r"^[0-9A-Z]{18}$"
METER_PATTERN = r"^[A-Za-z0-9_-]{1,64}$"


@router.get("/v1/enterprises", response_model=EnterpriseList, summary="Enterprises that consented to your bank")
def list_enterprises(
    request: Request,
    principal: AuthenticatedBank,
    limit: Annotated[int, Query(ge=1, le=MAX_PAGE, description="page size")] = DEFAULT_PAGE,
    after: Annotated[str | None, Query(pattern=CODE_PATTERN, description="last code of the previous page")] = None,
) -> Response:
    """Enterprises with an active consent to the calling bank, ordered by code, `limit` per page."""
    ctx = context_of(request)
    query = (  # columns, not ORM objects: a page of 100 costs a fraction of a millisecond to read
        select(Enterprise.code, Enterprise.name, Enterprise.industry, Enterprise.county, Consent.scopes, Consent.until)
        .join(Consent, Consent.enterprise_code == Enterprise.code)
        .where(Consent.bank_id == principal.bank_id, Consent.revoked_at.is_(None), Consent.until >= ctx.today())
        .order_by(Enterprise.code)
        .limit(limit + 1)
    )
    if after is not None:
        query = query.where(Enterprise.code > after)
    with ctx.access.engine.connect() as connection:
        rows = connection.execute(query).all()
    items = [
        {
            "code": row.code,
            "name": row.name,
            "industry": row.industry,
            "county": row.county,
            "scopes": list(row.scopes),
            "consent_until": row.until.isoformat(),
        }
        for row in rows[:limit]
    ]
    next_after = items[-1]["code"] if len(rows) > limit else None
    return json_response({"items": items, "next_after": next_after})


def series_cost(interval: Interval, start: dt.date, end: dt.date, meters: int) -> int:
    """Points a series answer holds (buckets × meters): what `api.guards.HeavyLimiter` charges a bank for it."""
    days = (end - start).days
    buckets = {Interval.HOUR: days * 24, Interval.DAY: days, Interval.MONTH: days // 28 + 1}[interval]
    return buckets * max(meters, 1)


@router.get(
    "/v1/enterprises/{code}/series",
    response_model=Series,
    summary="A quantity's series per meter in the enterprise's local time [series]",
)
async def series(
    request: Request,
    quantity: Annotated[QuantityName, Query(description="a quantity of CONTRACTS.md section 2")],
    interval: Annotated[Interval, Query(description="bucket width in local time")],
    start: Annotated[IsoDate, Query(alias="from", description="first local day (YYYY-MM-DD), inclusive")],
    end: Annotated[IsoDate, Query(alias="to", description="local day (YYYY-MM-DD) the period ends, exclusive")],
    access: EnterpriseAccess = require_scope("series"),  # type: ignore[assignment]
    meter: Annotated[str | None, Query(pattern=METER_PATTERN, description="only this meter")] = None,
) -> Response:
    """Gauges: sample-weighted mean per interval from the raw readings. Counters: consumption from the rollups.

    Answers are cached per process for a minute (per registry version); a bank's uncached requests are limited
    in concurrency and points per minute (`api.guards.HeavyLimiter`: 429 over either)."""
    check_period(start, end, max_days=MAX_HOURLY_DAYS if interval is Interval.HOUR else None)
    spec = QUANTITIES[quantity]
    counter = spec.kind is QuantityKind.COUNTER
    ctx = context_of(request)
    req = SeriesRequest(access.code, quantity, interval, start, end, access.timezone, meter)

    def compute() -> bytes:
        by_meter = counter_series(ctx.influx, req) if counter else gauge_series(ctx.influx, req)
        registry = {m.meter_id: m for m in access.meters}
        return dumps({"meters": [
            {"meter": meter_id, "role": info.role if info else None, "multiplier": info.multiplier if info else None,
             "points": by_meter[meter_id]}
            for meter_id in sorted(by_meter) for info in (registry.get(meter_id),)]})

    key = ("series", access.code, quantity, interval, start, end, meter, ctx.access.version)
    body = await cached_figure(ctx, key, compute, access.bank_id,
                               series_cost(interval, start, end, 1 if meter else len(access.meters)))
    head = {"enterprise": access.code, "quantity": quantity, "unit": spec.unit, "kind": spec.kind.value,
            "aggregation": "sum" if counter else "mean", "interval": interval.value, "timezone": access.timezone,
            "period": {"from": start.isoformat(), "to": end.isoformat()}}
    return spliced_response(head, body, {"objections": ctx.access.objections(access.code, (quantity,))})
