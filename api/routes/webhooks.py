"""`/v1/webhooks`: a bank registers, lists and removes its post-loan monitoring endpoints and reads deliveries."""

from __future__ import annotations

import secrets
from typing import Annotated, Literal

from fastapi import APIRouter, Path, Query, Request
from pydantic import BaseModel, Field
from sqlalchemy import func, select
from starlette.responses import Response

from api.auth import AuthenticatedBank
from api.context import context_of
from api.egress import EgressPolicy, EgressRefused, check_url
from api.models import Webhook, WebhookDelivery
from api.problems import ProblemError
from api.responses import json_response
from api.webhooks import EVENT_TYPES, SIGNATURE_HEADER

router = APIRouter(tags=["webhooks"])
MAX_WEBHOOKS = 10

EventType = Literal[EVENT_TYPES]  # type: ignore[valid-type]


class WebhookCreate(BaseModel):
    url: str = Field(max_length=2000, description="https URL that receives POSTed JSON events")
    events: list[EventType] = Field(min_length=1, max_length=len(EVENT_TYPES))


class WebhookOut(BaseModel):
    id: int
    url: str
    events: list[str]
    created_at: str
    secret: str | None = Field(None, description=f"HMAC key for {SIGNATURE_HEADER}; shown only when created")


class Delivery(BaseModel):
    id: int
    event_key: str
    event_type: str
    enterprise: str
    state: str
    attempts: int
    last_status: int | None
    last_error: str | None
    created_at: str
    delivered_at: str | None
    next_attempt_at: str


def _check_url(url: str, policy: EgressPolicy) -> None:
    """422 unless `url` is an https URL whose host resolves to public addresses only (api.egress)."""
    try:
        check_url(url, policy)
    except EgressRefused as exc:
        raise ProblemError(422, "invalid-parameter", "Invalid request parameter", f"body parameter 'url': {exc}",
                           extra={"errors": [{"in": "body", "name": "url", "message": str(exc)}]}) from exc


def _out(hook: Webhook, secret: str | None = None) -> dict[str, object]:
    return {"id": hook.id, "url": hook.url, "events": hook.events.split(","),
            "created_at": hook.created_at.isoformat(), "secret": secret}


def _not_found(hook_id: int) -> ProblemError:
    return ProblemError(404, "webhook-not-found", "Webhook not found", f"your bank has no webhook {hook_id}")


@router.post("/v1/webhooks", status_code=201, response_model=WebhookOut, summary="Register a monitoring webhook")
def create_webhook(request: Request, principal: AuthenticatedBank, spec: WebhookCreate) -> Response:
    """Events are POSTed as JSON, signed with the returned secret (docs/api.md, "Webhooks")."""
    ctx = context_of(request)
    _check_url(spec.url, ctx.webhook_policy)
    secret = secrets.token_urlsafe(32)
    with ctx.session() as session:
        count = session.scalar(select(func.count()).select_from(Webhook).where(
            Webhook.bank_id == principal.bank_id, Webhook.revoked_at.is_(None)))
        if (count or 0) >= MAX_WEBHOOKS:
            raise ProblemError(422, "too-many-webhooks", "Too many webhooks",
                               f"a bank may have at most {MAX_WEBHOOKS} webhooks; delete one first")
        hook = Webhook(bank_id=principal.bank_id, url=spec.url, secret=secret,
                       events=",".join(sorted(set(spec.events))), created_at=ctx.now().replace(microsecond=0))
        session.add(hook)
        session.flush()
        body = _out(hook, secret)
    return json_response(body, status=201)


@router.get("/v1/webhooks", response_model=list[WebhookOut], summary="Your bank's webhooks")
def list_webhooks(request: Request, principal: AuthenticatedBank) -> Response:
    ctx = context_of(request)
    with ctx.session() as session:
        hooks = session.scalars(select(Webhook).where(Webhook.bank_id == principal.bank_id,
                                                      Webhook.revoked_at.is_(None)).order_by(Webhook.id))
        return json_response([_out(h) for h in hooks])


@router.delete("/v1/webhooks/{hook_id}", status_code=204, summary="Remove a webhook (pending deliveries stop)")
def delete_webhook(request: Request, principal: AuthenticatedBank,
                   hook_id: Annotated[int, Path(ge=1, le=2**31 - 1)]) -> Response:
    ctx = context_of(request)
    with ctx.session() as session:
        hook = session.get(Webhook, hook_id)
        if hook is None or hook.bank_id != principal.bank_id or hook.revoked_at is not None:
            raise _not_found(hook_id)
        hook.revoked_at = ctx.now().replace(microsecond=0)
    return Response(status_code=204)


@router.get("/v1/webhooks/{hook_id}/deliveries", response_model=list[Delivery],
            summary="Deliveries of a webhook (not of a removed one), newest first")
def list_deliveries(request: Request, principal: AuthenticatedBank,
                    hook_id: Annotated[int, Path(ge=1, le=2**31 - 1)],
                    limit: Annotated[int, Query(ge=1, le=500)] = 100) -> Response:
    ctx = context_of(request)
    with ctx.session() as session:
        hook = session.get(Webhook, hook_id)
        if hook is None or hook.bank_id != principal.bank_id or hook.revoked_at is not None:
            raise _not_found(hook_id)
        rows = session.scalars(select(WebhookDelivery).where(WebhookDelivery.webhook_id == hook_id)
                               .order_by(WebhookDelivery.id.desc()).limit(limit))
        return json_response([{
            "id": d.id, "event_key": d.event_key, "event_type": d.event_type, "enterprise": d.enterprise_code,
            "state": d.state, "attempts": d.attempts, "last_status": d.last_status, "last_error": d.last_error,
            "created_at": d.created_at.isoformat(), "next_attempt_at": d.next_attempt_at.isoformat(),
            "delivered_at": d.delivered_at.isoformat() if d.delivered_at else None,
        } for d in rows])
