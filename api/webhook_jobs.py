"""The monitoring job: find events for every webhook's consented enterprises, then deliver what is due.

Run by `enerdiag webhooks run`. Detection is idempotent (one delivery row per webhook and event key), so
scanning again never sends an event twice. Deliveries are retried with exponential backoff; every
attempt is recorded on its row and in the audit log (the bank received the enterprise's data).
Consent is checked again when sending: a consent revoked after detection stops the delivery.
"""

from __future__ import annotations

import datetime as dt
import time
from collections.abc import Callable
from dataclasses import dataclass

import httpx
import orjson
from sqlalchemy import select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from analytics.registry_view import load_enterprises
from api.figures import read_days
from api.models import Webhook, WebhookDelivery
from api.webhooks import MAX_ATTEMPTS, SIGNATURE_HEADER, backoff_s, detect, sign
from core.influx import InfluxV1
from core.registry.access import active_consent, consented_enterprises, record_audit

MONITOR_SCOPE = "credit"
"""Post-loan events are credit information: only enterprises that granted the bank `credit` are monitored."""
LOOKBACK_DAYS = 36


@dataclass
class RunReport:
    """What one pass did."""

    queued: int = 0
    delivered: int = 0
    retried: int = 0
    failed: int = 0


def scan(session: Session, influx: InfluxV1, today: dt.date, now: dt.datetime) -> int:
    """Queue the events of `today − 1` for every active webhook; returns how many new deliveries were queued."""
    day = today - dt.timedelta(days=1)
    queued = 0
    hooks = list(session.scalars(select(Webhook).where(Webhook.revoked_at.is_(None))))
    for hook in hooks:
        wanted = set(hook.events.split(","))
        for enterprise_row, consent in consented_enterprises(session, hook.bank_id, today):
            if MONITOR_SCOPE not in consent.scopes:
                continue
            enterprise = load_enterprises(session, [enterprise_row.code])[0]
            days = read_days(influx, enterprise, day - dt.timedelta(days=LOOKBACK_DAYS), day + dt.timedelta(days=1))
            for event in detect(days, day):
                if event["type"] not in wanted:
                    continue
                key = f"{event['type']}:{enterprise.code}:{event['day']}"
                payload = {"id": key, "type": event["type"], "enterprise": enterprise.code,
                           "day": event["day"], "detected_at": now.isoformat(), "data": event["data"]}
                if _queue(session, hook.id, key, event["type"], enterprise.code, payload, now):
                    queued += 1
    return queued


def _queue(session: Session, hook_id: int, key: str, kind: str, code: str, payload: dict[str, object],
           now: dt.datetime) -> bool:
    exists = session.scalar(select(WebhookDelivery.id).where(WebhookDelivery.webhook_id == hook_id,
                                                             WebhookDelivery.event_key == key))
    if exists is not None:
        return False
    try:
        with session.begin_nested():
            session.add(WebhookDelivery(webhook_id=hook_id, event_key=key, event_type=kind, enterprise_code=code,
                                        payload=orjson.dumps(payload).decode(), next_attempt_at=now))
    except IntegrityError:  # another monitor process queued it first
        return False
    return True


def deliver_due(session: Session, http: httpx.Client, now: dt.datetime, today: dt.date,
                clock: Callable[[], float] = time.time) -> RunReport:
    """Send every pending delivery whose time has come; record the outcome and the next try."""
    report = RunReport()
    due = list(session.scalars(
        select(WebhookDelivery).where(WebhookDelivery.state == "pending", WebhookDelivery.next_attempt_at <= now)
        .order_by(WebhookDelivery.next_attempt_at, WebhookDelivery.id)
    ))
    for delivery in due:
        hook = session.get(Webhook, delivery.webhook_id)
        consent = active_consent(session, hook.bank_id, delivery.enterprise_code, today) if hook else None
        if hook is None or hook.revoked_at is not None or consent is None or MONITOR_SCOPE not in consent.scopes:
            delivery.state, delivery.last_error = "failed", "webhook removed or consent no longer active"
            report.failed += 1
            continue
        body = delivery.payload.encode()
        headers = {"Content-Type": "application/json", SIGNATURE_HEADER: sign(hook.secret, int(clock()), body),
                   "X-Enerdiag-Event": delivery.event_type, "X-Enerdiag-Delivery": str(delivery.id)}
        delivery.attempts += 1
        status, error = 0, None
        try:
            response = http.post(hook.url, content=body, headers=headers, timeout=10.0)
            status = response.status_code
        except httpx.HTTPError as exc:
            error = f"{type(exc).__name__}: {str(exc)[:200]}"
        delivery.last_status, delivery.last_error = status or None, error
        record_audit(session, hook.bank_id, delivery.enterprise_code, f"webhook:{delivery.event_type}:{delivery.id}",
                     status, at=now)
        if 200 <= status < 300:
            delivery.state, delivery.delivered_at = "delivered", now
            report.delivered += 1
        elif delivery.attempts >= MAX_ATTEMPTS:
            delivery.state = "failed"
            report.failed += 1
        else:
            delivery.next_attempt_at = now + dt.timedelta(seconds=backoff_s(delivery.attempts))
            report.retried += 1
    return report
