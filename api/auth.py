"""Who is asking and what they may read: Bearer key → bank (401), rate limit (429), consent (404), scope (403).

Order matters for privacy: the key is verified first, then consent is looked up in one query whatever
the enterprise, so an enterprise without consent to this bank (existing or not) answers the same 404
in comparable time. The enterprise row is read only once consent is established.

The dependencies are coroutines: keys, consents and enterprise facts come from `api.access_state` (in
memory while the registry's change counter stands still, one indexed read per request), so an answered
request never waits for a worker thread; only argon2 and cache misses of figures go to the thread pool.
"""

from __future__ import annotations

import datetime as dt
import re
import threading
from dataclasses import dataclass
from typing import Annotated

from fastapi import Depends, Path, Request
from sqlalchemy.orm import Session
from starlette.concurrency import run_in_threadpool

from api.context import ApiContext, context_of
from api.guards import too_many_failures
from api.problems import ProblemError
from core.registry.access import KEY_PATTERN, secret_matches, secret_remembered
from core.registry.models import Enterprise, Meter

BEARER = re.compile(r"^Bearer[ \t]+(\S{1,512})[ \t]*$", re.IGNORECASE)
CODE_SHAPE = re.compile(r"^[0-9A-Z]{18}$")
"""The shape of a unified social credit code; anything else cannot be an enterprise (still a plain 404)."""
REALM = 'Bearer realm="enerdiag"'


@dataclass(frozen=True, slots=True)
class Principal:
    """An authenticated bank, and the key it used."""

    bank_id: str
    key_id: str


@dataclass(frozen=True, slots=True)
class MeterInfo:
    """What the endpoints need of a meter (detached from the session)."""

    meter_id: str
    carrier: str
    role: str
    unit: str
    multiplier: float
    product: str | None
    temp_min_c: float | None
    temp_max_c: float | None


@dataclass(frozen=True, slots=True)
class EnterpriseAccess:
    """A bank's established right to read one enterprise: consent scopes and the enterprise's facts."""

    bank_id: str
    code: str
    name: str
    timezone: str
    product: str | None
    scopes: tuple[str, ...]
    consent_until: str
    meters: tuple[MeterInfo, ...]


def unauthorized(detail: str, error: str | None = None) -> ProblemError:
    """401 with the WWW-Authenticate challenge RFC 6750 asks for."""
    challenge = REALM if error is None else f'{REALM}, error="{error}"'
    return ProblemError(401, "unauthorized", "Unauthorized", detail, headers={"WWW-Authenticate": challenge})


def not_found(code: str) -> ProblemError:
    """The one 404 for an enterprise a bank may not see, whether or not it exists."""
    return ProblemError(
        404,
        "enterprise-not-found",
        "Enterprise not found",
        f"no enterprise {code} is available to your bank: it is not registered, or it has not given your "
        "bank an active consent (granted, not revoked, not expired)",
    )


_FIRST_LOCKS: dict[str, threading.Lock] = {}
_FIRST_GUARD = threading.Lock()


def _first_verification(key_id: str, secret: str, encoded: str) -> bool:
    """argon2 for a key not yet verified in this process, one thread per key at a time: a burst of requests
    with a new key would otherwise run argon2 (tens of ms of CPU each) once per thread."""
    with _FIRST_GUARD:
        lock = _FIRST_LOCKS.setdefault(key_id, threading.Lock())
    try:
        with lock:
            return secret_matches(key_id, secret, encoded)
    finally:
        with _FIRST_GUARD:
            _FIRST_LOCKS.pop(key_id, None)  # bounded: bogus key ids leave nothing behind


async def verify_key(ctx: ApiContext, plaintext: str, now: dt.datetime,
                     remembered_only: bool = False) -> tuple[str, str] | None:
    """(bank id, key id) of a well-formed, known, matching, unrevoked and unexpired key; else None.

    An unknown key id is refused at the cost of one indexed read: no argon2 (its secret is 256 random bits, so
    knowing that an id exists helps no one guess it). argon2 (a key's first use in this process) runs in the
    thread pool; a remembered key costs a dictionary lookup, so the event loop is never blocked by hashing.
    `remembered_only`: refuse, without argon2, a key this process has not verified before.
    """
    match = KEY_PATTERN.match(plaintext.strip())
    if match is None:
        return None
    key_id, secret = match.groups()
    facts = ctx.access.key(key_id)
    if facts is None:
        return None
    if not secret_remembered(key_id, secret, facts.secret_hash) and (remembered_only or not await run_in_threadpool(
            _first_verification, key_id, secret, facts.secret_hash)):
        return None
    # revocation is read through the registry version on every request, expiry against the clock
    if not facts.usable(now):
        return None
    return facts.bank_id, key_id


def client_address(request: Request) -> str:
    """The caller's address (the proxy's `X-Forwarded-For` when uvicorn trusts the proxy, docs/security.md)."""
    return request.client.host if request.client else "unknown"


async def authenticate(request: Request) -> Principal:
    """Verify the Bearer key (argon2id, constant time) and count the request against the key's rate limit.

    Failed authentications are counted per client address (`api.guards.FailureLimiter`); past the limit the
    address is refused with 429 before any argon2 work, except for keys this process has already verified."""
    ctx = context_of(request)
    now = ctx.now()
    address = client_address(request)
    blocked = ctx.failures.blocked(address, now.timestamp())

    def failed(problem: ProblemError) -> ProblemError:
        ctx.failures.fail(address, now.timestamp())
        return too_many_failures(blocked, ctx.failures.limit) if blocked is not None else problem

    header = request.headers.get("authorization")
    if not header:
        raise failed(unauthorized("this endpoint needs an API key: send 'Authorization: Bearer <key>'"))
    match = BEARER.match(header)
    if match is None:
        raise failed(unauthorized("the Authorization header must be 'Bearer <key>'", "invalid_request"))
    ctx.access.sync()
    verified = await verify_key(ctx, match.group(1), now, remembered_only=blocked is not None)
    if verified is None:
        raise failed(unauthorized("the API key is unknown, wrong, revoked or expired", "invalid_token"))
    bank_id, key_id = verified
    request.state.bank_id = bank_id
    bucket = f"key:{key_id}"
    verdict = ctx.rate_limiter.hit_local(bucket, now.timestamp())
    if verdict is None:
        with ctx.access.engine.begin() as connection:
            verdict = ctx.rate_limiter.hit(connection, bucket, now.timestamp())
    if not verdict.allowed:
        raise ProblemError(
            429,
            "rate-limited",
            "Too many requests",
            f"this API key may make {verdict.limit} requests per {ctx.rate_limiter.limit.window_s} s; "
            f"retry after {verdict.retry_after_s} s",
            headers={"Retry-After": str(verdict.retry_after_s), "RateLimit-Limit": str(verdict.limit)},
        )
    return Principal(bank_id, key_id)


AuthenticatedBank = Annotated[Principal, Depends(authenticate)]
CodePath = Annotated[str, Path(description="the enterprise's unified social credit code (18 characters)")]


@dataclass(frozen=True, slots=True)
class EnterpriseFacts:
    """The registry facts of an enterprise the endpoints need (cached briefly; consent never is)."""

    name: str
    timezone: str
    product: str | None
    meters: tuple[MeterInfo, ...]


def _facts(session: Session, code: str) -> EnterpriseFacts | None:
    enterprise = session.get(Enterprise, code)
    if enterprise is None:
        return None
    meters = tuple(
        MeterInfo(m.meter_id, m.carrier, m.role, m.unit, m.multiplier, m.product, m.temp_min_c, m.temp_max_c)
        for m in session.query(Meter).filter(Meter.enterprise_code == code).order_by(Meter.meter_id)
    )
    return EnterpriseFacts(enterprise.name, enterprise.timezone, enterprise.product, meters)


def _load_access(request: Request, principal: Principal, code: str) -> EnterpriseAccess:
    ctx = context_of(request)
    consent = ctx.access.consent(principal.bank_id, code) if CODE_SHAPE.match(code) else None
    if consent is None or not consent.active(ctx.today()):
        raise not_found(code)
    key = ("facts", code, ctx.access.version)  # a version's facts are never served under a later version
    facts = ctx.enterprises.get(key)
    if facts is None:
        with ctx.access.connection() as connection, Session(bind=connection) as session:
            facts = _facts(session, code)
        if facts is None:  # consent rows cascade with their enterprise; defensive only
            raise not_found(code)
        ctx.enterprises.put(key, facts)
    return EnterpriseAccess(
        bank_id=principal.bank_id,
        code=code,
        name=facts.name,
        timezone=facts.timezone,
        product=facts.product,
        scopes=consent.scopes,
        consent_until=consent.until.isoformat(),
        meters=facts.meters,
    )


def require_scope(scope: str) -> object:
    """A dependency: the caller's access to `{code}` when its consent grants `scope` (else 404 / 403)."""

    async def dependency(request: Request, code: CodePath, principal: AuthenticatedBank) -> EnterpriseAccess:
        access = _load_access(request, principal, code)
        if scope not in access.scopes:
            raise ProblemError(
                403,
                "scope-not-granted",
                "Scope not granted",
                f"enterprise {code} has not granted your bank the '{scope}' scope (granted: "
                f"{', '.join(access.scopes) or 'none'}); ask the enterprise to extend its consent",
            )
        return access

    return Depends(dependency)
