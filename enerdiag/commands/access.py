"""`enerdiag bank|consent|audit`: banks and their API keys, enterprises' consents, and the access audit log."""

from __future__ import annotations

import datetime as dt
import json
import sys
from typing import Annotated
from zoneinfo import ZoneInfo

import typer
from sqlalchemy.exc import SQLAlchemyError

from core.domain import DEFAULT_TIMEZONE, ID_PATTERN
from core.registry.access import (
    AccessError,
    add_bank,
    audit_records,
    grant_consent,
    issue_api_key,
    list_api_keys,
    parse_scopes,
    revoke_api_key,
    revoke_consent,
)
from core.registry.creditcode import InvalidCreditCode, validate_credit_code
from core.registry.db import session_scope
from core.registry.models import ApiKey, utcnow
from enerdiag.errors import EXIT_BAD_INPUT, fail

bank_app = typer.Typer(
    help="Banks that read enterprise data through the API, and their API keys.", no_args_is_help=True
)
consent_app = typer.Typer(
    help="An enterprise's consent that a bank reads its data (scopes, until).", no_args_is_help=True
)

CHINA = ZoneInfo(DEFAULT_TIMEZONE)


def _bank_id(value: str) -> str:
    if not ID_PATTERN.match(value):
        fail(f"bank id {value!r} is not valid (1-64 characters of A-Z a-z 0-9 _ -)", EXIT_BAD_INPUT)
    return value


def _code(value: str) -> str:
    try:
        return validate_credit_code(value)
    except InvalidCreditCode as exc:
        fail(str(exc), EXIT_BAD_INPUT)


def _date(value: str, option: str) -> dt.date:
    try:
        return dt.date.fromisoformat(value)
    except ValueError:
        fail(f"{option} {value!r} is not a date (YYYY-MM-DD)", EXIT_BAD_INPUT)


def _db_error(exc: SQLAlchemyError) -> None:
    fail(f"registry database error: {exc.__class__.__name__}: {str(exc).splitlines()[0]}")


@bank_app.command("add")
def bank_add(
    bank_id: Annotated[str, typer.Argument(metavar="ID", help="bank id, e.g. bank-a")],
    name: Annotated[str, typer.Option("--name", help="the bank's name, e.g. 示例银行大同分行")],
) -> None:
    """Register a bank (or rename it)."""
    _bank_id(bank_id)
    if not name.strip():
        fail("--name must not be empty", EXIT_BAD_INPUT)
    try:
        with session_scope() as session:
            add_bank(session, bank_id, name.strip())
    except SQLAlchemyError as exc:
        _db_error(exc)
    print(f"bank {bank_id} ({name.strip()}) registered", file=sys.stderr)


@bank_app.command("key")
def bank_key(
    bank_id: Annotated[str, typer.Argument(metavar="ID")],
    expires: Annotated[
        str | None, typer.Option("--expires", help="last valid day YYYY-MM-DD (China time), default never")
    ] = None,
) -> None:
    """Issue an API key: the key alone on stdout, printed this once; only its argon2id hash is stored."""
    _bank_id(bank_id)
    expires_at = None
    if expires is not None:
        day = _date(expires, "--expires")
        expires_at = dt.datetime.combine(day + dt.timedelta(days=1), dt.time(), CHINA).astimezone(dt.UTC)
        if expires_at <= utcnow():
            fail(f"--expires {expires} is in the past", EXIT_BAD_INPUT)
    try:
        with session_scope() as session:
            key = issue_api_key(session, bank_id, expires_at)
    except AccessError as exc:
        fail(str(exc), EXIT_BAD_INPUT)
    except SQLAlchemyError as exc:
        _db_error(exc)
    print(key)


@bank_app.command("revoke-key")
def bank_revoke_key(
    key_id: Annotated[str, typer.Argument(metavar="KEYID", help="the id part of edk_<id>_..., or the whole key")],
) -> None:
    """Revoke an API key at once (requests with it get 401 from then on)."""
    try:
        with session_scope() as session:
            row = revoke_api_key(session, key_id)
            message = f"key {row.key_id} of bank {row.bank_id} revoked at {row.revoked_at:%Y-%m-%dT%H:%M:%SZ}"
    except AccessError as exc:
        fail(str(exc), EXIT_BAD_INPUT)
    except SQLAlchemyError as exc:
        _db_error(exc)
    print(message, file=sys.stderr)


@bank_app.command("keys")
def bank_keys(bank_id: Annotated[str, typer.Argument(metavar="ID")]) -> None:
    """List a bank's keys (id, created, expires, revoked); secrets are never stored or shown."""
    try:
        with session_scope() as session:
            rows = list_api_keys(session, _bank_id(bank_id))
            lines = [_key_line(r) for r in rows]
    except SQLAlchemyError as exc:
        _db_error(exc)
    for line in lines:
        print(line)


def _key_line(row: ApiKey) -> str:
    expires = f"{row.expires_at.astimezone(CHINA):%Y-%m-%d %H:%M} (China)" if row.expires_at else "never"
    revoked = f"  revoked {row.revoked_at:%Y-%m-%dT%H:%M:%SZ}" if row.revoked_at else ""
    return f"{row.key_id}  created {row.created_at:%Y-%m-%dT%H:%M:%SZ}  expires {expires}{revoked}"


@consent_app.command("grant")
def consent_grant(
    code: Annotated[str, typer.Argument(metavar="CODE", help="the enterprise's credit code")],
    bank_id: Annotated[str, typer.Argument(metavar="BANK")],
    scopes: Annotated[str, typer.Option("--scopes", help="comma list of profile,credit,series,warehouse,orders")],
    until: Annotated[str, typer.Option("--until", help="last day of the consent, YYYY-MM-DD (inclusive)")],
) -> None:
    """Grant (or change) the enterprise's consent to the bank."""
    code = _code(code)
    _bank_id(bank_id)
    try:
        scope_list = parse_scopes(scopes)
    except AccessError as exc:
        fail(str(exc), EXIT_BAD_INPUT)
    last_day = _date(until, "--until")
    if last_day < dt.datetime.now(CHINA).date():
        fail(f"--until {until} is in the past", EXIT_BAD_INPUT)
    try:
        with session_scope() as session:
            grant_consent(session, code, bank_id, scope_list, last_day)
    except AccessError as exc:
        fail(str(exc), EXIT_BAD_INPUT)
    except SQLAlchemyError as exc:
        _db_error(exc)
    print(f"consent of {code} to {bank_id}: {','.join(scope_list)} until {last_day}", file=sys.stderr)


@consent_app.command("revoke")
def consent_revoke(
    code: Annotated[str, typer.Argument(metavar="CODE")],
    bank_id: Annotated[str, typer.Argument(metavar="BANK")],
) -> None:
    """Revoke the enterprise's consent to the bank at once."""
    code = _code(code)
    _bank_id(bank_id)
    try:
        with session_scope() as session:
            revoke_consent(session, code, bank_id)
    except AccessError as exc:
        fail(str(exc), EXIT_BAD_INPUT)
    except SQLAlchemyError as exc:
        _db_error(exc)
    print(f"consent of {code} to {bank_id} revoked", file=sys.stderr)


def audit_command(
    code: Annotated[str, typer.Argument(metavar="CODE", help="the enterprise's credit code")],
    as_json: Annotated[bool, typer.Option("--json", help="print a JSON array")] = False,
    limit: Annotated[int | None, typer.Option("--limit", min=1, help="only the newest N records")] = None,
) -> None:
    """List who accessed the enterprise's data through the API, newest first."""
    code = _code(code)
    try:
        with session_scope() as session:
            rows = [
                {
                    "at": r.at.isoformat().replace("+00:00", "Z"),
                    "bank": r.bank_id,
                    "enterprise": r.enterprise_code,
                    "path": r.path,
                    "status": r.status,
                }
                for r in audit_records(session, code, limit)
            ]
    except SQLAlchemyError as exc:
        _db_error(exc)
    if as_json:
        print(json.dumps(rows, ensure_ascii=False, indent=2))
        return
    if not rows:
        print(f"no API access recorded for {code}", file=sys.stderr)
    for r in rows:
        print(f"{r['at']}  {r['bank'] or '-':<16}  {r['status']}  {r['path']}")


def register_access(app: typer.Typer) -> None:
    """Attach `enerdiag bank ...`, `enerdiag consent ...` and `enerdiag audit` to the root app."""
    app.add_typer(bank_app, name="bank")
    app.add_typer(consent_app, name="consent")
    app.command("audit")(audit_command)


register = register_access
