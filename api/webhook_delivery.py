"""Sending due webhook deliveries: each attempt claimed and committed first, banks concurrently, one deadline each.

A pass (`deliver_due`):
1. picks the pending deliveries whose time has come, at most `DeliveryPolicy.per_bank_pass` per bank;
2. fails those whose webhook was removed or whose consent no longer grants the event's scope (nothing sent);
3. *claims* the rest in one committed transaction: `attempts + 1` and `next_attempt_at` moved by the backoff,
   so an attempt that never finishes (a receiver that hangs, a monitor killed mid-request) is retried later,
   with backoff, never at once and never lost;
4. sends them concurrently: each bank's at most `per_bank` at a time, all at most `concurrency`, each request
   bounded by one deadline for the whole exchange (resolution, connection, TLS, response head: a receiver
   that trickles a header every few seconds is cut off at the deadline);
5. records each outcome as soon as it is known, in its own commit (state, status, a neutral error, audit).

The URL is checked again before every attempt (`api.egress`): resolved, every address public, and the
connection made to the checked address, with no redirects followed and no proxy from the environment.
Errors shown to the bank say what happened in words that reveal nothing about the network behind the
server: every connection, TLS or timeout failure reads the same.
"""

from __future__ import annotations

import asyncio
import datetime as dt
import logging
import time
from collections import defaultdict
from collections.abc import Callable
from dataclasses import dataclass, field

import httpx
from sqlalchemy import select
from sqlalchemy.orm import Session

from api.egress import EgressPolicy, EgressRefused, check_url
from api.models import Webhook, WebhookDelivery
from api.webhooks import EVENT_SCOPES, MAX_ATTEMPTS, SIGNATURE_HEADER, backoff_s, sign
from core.registry.access import active_consent, record_audit

log = logging.getLogger("enerdiag.webhooks")

DEADLINE_S = 10.0
"""Seconds for one whole delivery request, from resolution to the receiver's status line and headers."""
UNREACHABLE = "not delivered: no answer from the receiver within {deadline:g} s, or no connection to it"
"""The one error for every connection, TLS and timeout failure (which of them it was would map the network)."""
REDIRECT = "not delivered: the receiver answered with a redirect, which is not followed"
STATUS = "not delivered: the receiver answered HTTP {status}"


@dataclass
class RunReport:
    """What one pass did."""

    queued: int = 0
    delivered: int = 0
    retried: int = 0
    failed: int = 0


@dataclass(frozen=True)
class DeliveryPolicy:
    """Where and how deliveries are sent; the defaults are production's."""

    egress: EgressPolicy = field(default_factory=EgressPolicy)
    deadline_s: float = DEADLINE_S
    per_bank: int = 2
    """Requests in flight per bank."""
    concurrency: int = 16
    """Requests in flight in all."""
    per_bank_pass: int = 8
    """Deliveries per bank per pass: a bank whose receiver hangs delays its own queue, never the pass."""

    def unreachable(self) -> str:
        return UNREACHABLE.format(deadline=self.deadline_s)


@dataclass
class _Attempt:
    delivery_id: int
    bank_id: str
    url: str
    body: bytes
    headers: dict[str, str]


def _due(session: Session, now: dt.datetime, per_bank: int) -> list[tuple[WebhookDelivery, Webhook | None]]:
    rows = session.execute(
        select(WebhookDelivery, Webhook).outerjoin(Webhook, Webhook.id == WebhookDelivery.webhook_id)
        .where(WebhookDelivery.state == "pending", WebhookDelivery.next_attempt_at <= now)
        .order_by(WebhookDelivery.next_attempt_at, WebhookDelivery.id)
    ).all()
    taken: dict[str, int] = defaultdict(int)
    out = []
    for delivery, hook in rows:
        bank = hook.bank_id if hook is not None else ""
        if taken[bank] < per_bank:
            taken[bank] += 1
            out.append((delivery, hook))
    return out


def _claim(session: Session, now: dt.datetime, today: dt.date, clock: Callable[[], float],
           policy: DeliveryPolicy, report: RunReport) -> list[_Attempt]:
    """Fail what may no longer be sent, claim the rest (attempts + 1, next try after the backoff); commit."""
    attempts: list[_Attempt] = []
    for delivery, hook in _due(session, now, policy.per_bank_pass):
        consent = active_consent(session, hook.bank_id, delivery.enterprise_code, today) if hook else None
        scope = EVENT_SCOPES.get(delivery.event_type)
        if hook is None or hook.revoked_at is not None or consent is None or scope not in consent.scopes:
            delivery.state = "failed"
            delivery.last_error = f"webhook removed, or consent no longer active or without the {scope!r} scope"
            report.failed += 1
            continue
        if delivery.attempts >= MAX_ATTEMPTS:  # the last attempt was claimed but never finished
            delivery.state = "failed"
            report.failed += 1
            continue
        delivery.attempts += 1
        delivery.next_attempt_at = now + dt.timedelta(seconds=backoff_s(delivery.attempts))
        body = delivery.payload.encode()
        headers = {"Content-Type": "application/json", SIGNATURE_HEADER: sign(hook.secret, int(clock()), body),
                   "X-Enerdiag-Event": delivery.event_type, "X-Enerdiag-Delivery": str(delivery.id)}
        attempts.append(_Attempt(delivery.id, hook.bank_id, hook.url, body, headers))
    session.commit()
    return attempts


async def _send(http: httpx.AsyncClient, attempt: _Attempt, policy: DeliveryPolicy) -> tuple[int, str | None]:
    """(HTTP status or 0, error for the bank or None) of one attempt, within the policy's deadline."""
    try:
        async with asyncio.timeout(policy.deadline_s):
            target = await asyncio.to_thread(check_url, attempt.url, policy.egress)
            extensions = {"sni_hostname": target.sni_hostname} if target.sni_hostname else {}
            request = http.build_request("POST", target.url, content=attempt.body,
                                         headers={**attempt.headers, "Host": target.host_header},
                                         extensions=extensions)
            response = await http.send(request, stream=True)  # the status is all we need: no body is read
            await response.aclose()
    except EgressRefused as exc:
        log.warning("delivery %s refused: %s", attempt.delivery_id, exc)
        return 0, f"not delivered: {exc}"
    except (TimeoutError, httpx.HTTPError, OSError) as exc:
        log.warning("delivery %s unreachable: %s: %s", attempt.delivery_id, type(exc).__name__, exc)
        return 0, policy.unreachable()
    status = response.status_code
    if 200 <= status < 300:
        return status, None
    if 300 <= status < 400:
        return status, REDIRECT
    return status, STATUS.format(status=status)


def _record(session: Session, attempt: _Attempt, status: int, error: str | None, now: dt.datetime,
            report: RunReport) -> None:
    delivery = session.get(WebhookDelivery, attempt.delivery_id)
    if delivery is None:
        return
    delivery.last_status, delivery.last_error = status or None, error
    record_audit(session, attempt.bank_id, delivery.enterprise_code,
                 f"webhook:{delivery.event_type}:{delivery.id}", status, at=now)
    if 200 <= status < 300:
        delivery.state, delivery.delivered_at = "delivered", now
        report.delivered += 1
    elif delivery.attempts >= MAX_ATTEMPTS:
        delivery.state = "failed"
        report.failed += 1
    else:
        report.retried += 1  # next_attempt_at was moved when the attempt was claimed
    session.commit()


async def _deliver(session: Session, attempts: list[_Attempt], now: dt.datetime, policy: DeliveryPolicy,
                   report: RunReport) -> None:
    overall = asyncio.Semaphore(policy.concurrency)
    banks: dict[str, asyncio.Semaphore] = defaultdict(lambda: asyncio.Semaphore(policy.per_bank))
    limits = httpx.Limits(max_connections=policy.concurrency, max_keepalive_connections=0)
    async with httpx.AsyncClient(follow_redirects=False, trust_env=False, limits=limits, timeout=None) as http:

        async def one(attempt: _Attempt) -> None:
            async with banks[attempt.bank_id], overall:
                status, error = await _send(http, attempt, policy)
            _record(session, attempt, status, error, now, report)  # no await inside: one task at a time

        await asyncio.gather(*(one(a) for a in attempts))


def deliver_due(session: Session, now: dt.datetime, today: dt.date, policy: DeliveryPolicy | None = None,
                clock: Callable[[], float] = time.time) -> RunReport:
    """Send every pending delivery whose time has come (see the module); commits as it goes."""
    policy = policy or DeliveryPolicy()
    report = RunReport()
    attempts = _claim(session, now, today, clock, policy, report)
    if attempts:
        asyncio.run(_deliver(session, attempts, now, policy, report))
    return report
