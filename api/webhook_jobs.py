"""The monitoring job: find events for every webhook's consented enterprises, then deliver what is due.

Run by `enerdiag webhooks run`. Detection is idempotent (one delivery row per webhook and event key), so
scanning again never sends an event twice. Delivery is `api.webhook_delivery` (claims, deadlines, retries with
backoff, audit; consent checked again when sending). Each event needs its own scope (`api.webhooks.EVENT_SCOPES`).
"""

from __future__ import annotations

import datetime as dt
from typing import Any

import orjson
from sqlalchemy import select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from analytics.calendar import local_midnight_s
from analytics.registry_view import load_enterprises
from api.figures import read_days
from api.models import Webhook, WebhookDelivery
from api.warehouse import read_report, warehouse_meters
from api.webhook_delivery import RunReport, deliver_due  # noqa: F401  (the job's second half, re-exported)
from api.webhooks import EVENT_SCOPES, WAREHOUSE_WINDOW_DAYS, detect, detect_cold_store_event
from core.influx import InfluxV1
from core.registry.access import consented_enterprises

LOOKBACK_DAYS = 36
ELECTRICITY_EVENTS = frozenset(kind for kind, scope in EVENT_SCOPES.items() if scope == "credit")
COLD_STORE_EVENT = "cold_store_failure"


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
