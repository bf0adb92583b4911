"""Bank access: API keys (argon2id, revocable, expiring), consents and the audit log. The API uses these."""

from __future__ import annotations

import datetime as dt
import hashlib
import re
import secrets
import threading
from collections import OrderedDict
from typing import Final

from sqlalchemy import select
from sqlalchemy.orm import Session

from core.registry.hashing import burn_verify_time, hash_api_secret, verify_api_secret
from core.registry.models import ApiKey, AuditRecord, Bank, Consent, Enterprise, utcnow

SCOPES: Final = ("profile", "credit", "series", "warehouse", "orders")
"""What a consent can grant (CONTRACTS.md section 5)."""

KEY_PREFIX: Final = "edk"
KEY_PATTERN: Final = re.compile(r"^edk_([a-z0-9]{12})_([A-Za-z0-9_-]{43})$")
"""`edk_<key id: 12 lower-case hex>_<secret: 32 random bytes, URL-safe base64>`."""


class AccessError(ValueError):
    """A request the registry refuses (unknown bank, enterprise, scope, key...); the message says which."""


# ---------------------------------------------------------------- banks and keys


def add_bank(session: Session, bank_id: str, name: str) -> Bank:
    """Register a bank, or rename an existing one."""
    bank = session.get(Bank, bank_id)
    if bank is None:
        bank = Bank(id=bank_id, name=name)
        session.add(bank)
    else:
        bank.name = name
    session.flush()
    return bank


def issue_api_key(session: Session, bank_id: str, expires: dt.datetime | None = None) -> str:
    """Create a key for `bank_id`; return the plaintext (the only time it exists), store its argon2id hash."""
    if session.get(Bank, bank_id) is None:
        raise AccessError(f"no bank {bank_id!r} in the registry (add it with `enerdiag bank add`)")
    if expires is not None and expires.tzinfo is None:
        raise AccessError("expiry must be timezone-aware")
    key_id = secrets.token_hex(6)
    secret = secrets.token_urlsafe(32)
    session.add(ApiKey(key_id=key_id, bank_id=bank_id, secret_hash=hash_api_secret(secret), expires_at=expires))
    session.flush()
    return f"{KEY_PREFIX}_{key_id}_{secret}"


def key_id_of(plaintext: str) -> str | None:
    """The key id of a well-formed key, else None."""
    match = KEY_PATTERN.match(plaintext.strip())
    return match.group(1) if match else None


_VERIFIED: OrderedDict[tuple[str, str, str], bool] = OrderedDict()
_VERIFIED_MAX = 1024
_VERIFIED_LOCK = threading.Lock()


def secret_remembered(key_id: str, secret: str, encoded: str) -> bool:
    """Whether this process already verified `secret` against `encoded` (no argon2: safe on an event loop)."""
    memo_key = (key_id, hashlib.sha256(secret.encode()).hexdigest(), encoded)
    with _VERIFIED_LOCK:
        if memo_key in _VERIFIED:
            _VERIFIED.move_to_end(memo_key)
            return True
    return False


def secret_matches(key_id: str, secret: str, encoded: str) -> bool:
    """argon2 verification, memoised per (key, secret digest, stored hash): a busy API pays it once per key."""
    if secret_remembered(key_id, secret, encoded):
        return True
    digest = hashlib.sha256(secret.encode()).hexdigest()
    memo_key = (key_id, digest, encoded)
    ok = verify_api_secret(secret, encoded)
    if ok:  # only successes are remembered, so a guesser never fills the cache
        with _VERIFIED_LOCK:
            _VERIFIED[memo_key] = True
            while len(_VERIFIED) > _VERIFIED_MAX:
                _VERIFIED.popitem(last=False)
    return ok


def verify_api_key(session: Session, plaintext: str, now: dt.datetime | None = None) -> Bank | None:
    """The bank a key belongs to, or None if it is malformed, unknown, wrong, revoked or expired."""
    match = KEY_PATTERN.match(plaintext.strip())
    if match is None:
        return None
    key_id, secret = match.groups()
    row = session.get(ApiKey, key_id)
    if row is None:
        burn_verify_time(secret)
        return None
    if not secret_matches(key_id, secret, row.secret_hash):
        return None
    # revocation and expiry are read from the database on every call, never memoised
    if not row.is_usable(now or utcnow()):
        return None
    return row.bank


def revoke_api_key(session: Session, key_id: str) -> ApiKey:
    """Revoke a key by its id (the `edk_<id>_` part); revoking twice keeps the first time."""
    key_id = key_id_of(key_id) or key_id
    row = session.get(ApiKey, key_id)
    if row is None:
        raise AccessError(f"no API key with id {key_id!r}")
    if row.revoked_at is None:
        row.revoked_at = utcnow()
    session.flush()
    return row


def list_api_keys(session: Session, bank_id: str) -> list[ApiKey]:
    """A bank's keys, newest first (ids and dates only; secrets are not stored)."""
    return list(session.scalars(select(ApiKey).where(ApiKey.bank_id == bank_id).order_by(ApiKey.created_at.desc())))


# ---------------------------------------------------------------- consent


def parse_scopes(text: str | list[str]) -> list[str]:
    """Scopes from 'a,b' or a list, in canonical order; AccessError names the first unknown one."""
    items = [s.strip() for s in text.split(",")] if isinstance(text, str) else [s.strip() for s in text]
    items = [s for s in items if s]
    if not items:
        raise AccessError(f"no scopes given (scopes: {', '.join(SCOPES)})")
    unknown = [s for s in items if s not in SCOPES]
    if unknown:
        raise AccessError(f"unknown scope {unknown[0]!r} (scopes: {', '.join(SCOPES)})")
    return sorted(set(items), key=SCOPES.index)


def grant_consent(session: Session, code: str, bank_id: str, scopes: list[str], until: dt.date) -> Consent:
    """Grant (or change) an enterprise's consent to a bank: the open consent is updated, else a new one made."""
    if session.get(Enterprise, code) is None:
        raise AccessError(f"no enterprise {code} in the registry")
    if session.get(Bank, bank_id) is None:
        raise AccessError(f"no bank {bank_id!r} in the registry")
    scopes = parse_scopes(scopes)
    row = _open_consent(session, code, bank_id)
    if row is None:
        row = Consent(enterprise_code=code, bank_id=bank_id, scopes=scopes, until=until, granted_at=utcnow())
        session.add(row)
    else:
        row.scopes, row.until = scopes, until
    session.flush()
    return row


def revoke_consent(session: Session, code: str, bank_id: str) -> Consent:
    """Revoke the open consent of `code` to `bank_id`; AccessError when there is none."""
    row = _open_consent(session, code, bank_id)
    if row is None:
        raise AccessError(f"enterprise {code} has no open consent to bank {bank_id!r}")
    row.revoked_at = utcnow()
    session.flush()
    return row


def _open_consent(session: Session, code: str, bank_id: str) -> Consent | None:
    return session.scalars(
        select(Consent)
        .where(Consent.enterprise_code == code, Consent.bank_id == bank_id, Consent.revoked_at.is_(None))
        .order_by(Consent.granted_at.desc(), Consent.id.desc())
    ).first()


def active_consent(session: Session, bank_id: str, code: str, today: dt.date) -> Consent | None:
    """The consent that lets `bank_id` read `code` on `today` (granted, not revoked, `until` not passed)."""
    row = _open_consent(session, code, bank_id)
    return row if row is not None and row.is_active(today) else None


def consented_enterprises(session: Session, bank_id: str, today: dt.date) -> list[tuple[Enterprise, Consent]]:
    """Every enterprise `bank_id` may read on `today`, with its consent, ordered by code."""
    rows = session.execute(
        select(Enterprise, Consent)
        .join(Consent, Consent.enterprise_code == Enterprise.code)
        .where(Consent.bank_id == bank_id, Consent.revoked_at.is_(None), Consent.until >= today)
        .order_by(Enterprise.code)
    ).all()
    return [(e, c) for e, c in rows]


# ---------------------------------------------------------------- audit


def record_audit(
    session: Session, bank_id: str | None, code: str, path: str, status: int, at: dt.datetime | None = None
) -> AuditRecord:
    """Write one audit record (the API calls this for every request that reaches an enterprise resource)."""
    row = AuditRecord(bank_id=bank_id, enterprise_code=code, path=path[:1000], status=status, at=at or utcnow())
    session.add(row)
    session.flush()
    return row


def audit_records(session: Session, code: str, limit: int | None = None) -> list[AuditRecord]:
    """Audit records of an enterprise, newest first."""
    query = (
        select(AuditRecord)
        .where(AuditRecord.enterprise_code == code)
        .order_by(AuditRecord.at.desc(), AuditRecord.id.desc())
    )
    if limit:
        query = query.limit(limit)
    return list(session.scalars(query))
