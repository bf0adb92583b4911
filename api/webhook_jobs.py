"""The monitoring job: find events for every webhook's consented enterprises, then deliver what is due.

Run by `enerdiag webhooks run`. Detection is idempotent (one delivery row per webhook and event key), so
scanning again never sends an event twice. Deliveries are retried with exponential backoff; every
attempt is recorded on its row and in the audit log (the bank received the enterprise's data).
Consent is checked again when sending: a consent revoked (or no longer granting the event's scope) after
detection stops the delivery. Each event needs its own scope (`api.webhooks.EVENT_SCOPES`).
"""

from __future__ import annotations

import datetime as dt
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import httpx
import orjson
from sqlalchemy import select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from analytics.calendar import local_midnight_s
from analytics.registry_view import load_enterprises
from api.figures import read_days
from api.models import Webhook, WebhookDelivery
from api.warehouse import read_report, warehouse_meters
from api.webhooks import (
    EVENT_SCOPES,
    MAX_ATTEMPTS,
    SIGNATURE_HEADER,
    WAREHOUSE_WINDOW_DAYS,
    backoff_s,
    detect,
    detect_cold_store_event,
    sign,
)
from core.influx import InfluxV1
from core.registry.access import active_consent, consented_enterprises, record_audit

LOOKBACK_DAYS = 36
ELECTRICITY_EVENTS = frozenset(kind for kind, scope in EVENT_SCOPES.items() if scope == "credit")
COLD_STORE_EVENT = "cold_store_failure"


@dataclass
class RunReport:
    """What one pass did."""

    queued: int = 0
    delivered: int = 0
    retried: int = 0
    failed: int = 0


def scan(session: Session, influx: InfluxV1, today: dt.date, now: dt.datetime) -> int:
    """Queue the events of `today − 1` for every active webhook; returns how many new deliveries were queued.

    An enterprise is scanned for the events its consent to the webhook's bank has the scope of; each
    enterprise's events are computed once per pass, however many webhooks want them.
    """
    day = today - dt.timedelta(days=1)
    queued = 0
    found: dict[tuple[str, str], list[dict[str, Any]]] = {}
    hooks = list(session.scalars(select(Webhook).where(Webhook.revoked_at.is_(None))))
    for hook in hooks:
        wanted = set(hook.events.split(","))
        for enterprise_row, consent in consented_enterprises(session, hook.bank_id, today):
            allowed = {kind for kind in wanted if EVENT_SCOPES.get(kind) in consent.scopes}
            for event in _events(session, influx, enterprise_row.code, day, allowed, found):
                key = f"{event['type']}:{enterprise_row.code}:{event['day']}"
                payload = {"id": key, "type": event["type"], "enterprise": enterprise_row.code,
                           "day": event["day"], "detected_at": now.isoformat(), "data": event["data"]}
                if _queue(session, hook.id, key, event["type"], enterprise_row.code, payload, now):
                    queued += 1
    return queued


def _events(session: Session, influx: InfluxV1, code: str, day: dt.date, kinds: set[str],
            found: dict[tuple[str, str], list[dict[str, Any]]]) -> list[dict[str, Any]]:
    """The events of `kinds` for `code` on `day`, computed at most once per source (memo `found`)."""
    events: list[dict[str, Any]] = []
    if kinds & ELECTRICITY_EVENTS:
        if (code, "electricity") not in found:
            enterprise = load_enterprises(session, [code])[0]
            days = read_days(influx, enterprise, day - dt.timedelta(days=LOOKBACK_DAYS), day + dt.timedelta(days=1))
            found[(code, "electricity")] = detect(days, day)
        events += found[(code, "electricity")]
    if COLD_STORE_EVENT in kinds:
        if (code, "warehouse") not in found:
            found[(code, "warehouse")] = _cold_store_events(session, influx, code, day)
        events += found[(code, "warehouse")]
    return [e for e in events if e["type"] in kinds]


def _cold_store_events(session: Session, influx: InfluxV1, code: str, day: dt.date) -> list[dict[str, Any]]:
    """`cold_store_failure` on `day` from the warehouse report of the 7 days ending on it (none without meters)."""
    meters = warehouse_meters(session, code)
    if not meters.loads and not meters.temperatures:
        return []
    timezone = load_enterprises(session, [code])[0].timezone
    first = day - dt.timedelta(days=WAREHOUSE_WINDOW_DAYS - 1)
    report = read_report(influx, code, meters, local_midnight_s(first, timezone),
                         local_midnight_s(day + dt.timedelta(days=1), timezone))
    return detect_cold_store_event(report, day, timezone, meters.loads + meters.temperatures)


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
        scope = EVENT_SCOPES.get(delivery.event_type)
        if hook is None or hook.revoked_at is not None or consent is None or scope not in consent.scopes:
            delivery.state = "failed"
            delivery.last_error = f"webhook removed, or consent no longer active or without the {scope!r} scope"
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
