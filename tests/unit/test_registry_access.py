"""Bank access: API keys printed once and stored hashed, revocation and expiry, consent, scopes, audit log."""

from __future__ import annotations

import datetime as dt
import json
from collections.abc import Iterator
from pathlib import Path

import pytest
import typer
from sqlalchemy import select
from typer.testing import CliRunner

from core.registry.access import (
    KEY_PATTERN,
    AccessError,
    active_consent,
    add_bank,
    consented_enterprises,
    grant_consent,
    issue_api_key,
    record_audit,
    revoke_api_key,
    revoke_consent,
    verify_api_key,
)
from core.registry.db import dispose_engines, session_scope
from core.registry.loader import load_registry_file
from core.registry.models import ApiKey, Consent, Gateway
from core.settings import get_settings
from enerdiag.commands import access as access_commands
from enerdiag.commands import registry as registry_commands

ROOT = Path(__file__).resolve().parents[2]
EXAMPLE = ROOT / "deploy" / "registry-datong.yaml"
CEMENT = "91140214MA0FE1KM73"  # in the example, consent to bank-datong until 2027-12-31
MACHINERY = "91140212MA04HLYJ26"  # in the example, no consent
CHINA = dt.timezone(dt.timedelta(hours=8))


@pytest.fixture
def env(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[str]:
    """A registry loaded with the example city, used by both the functions and the CLI; yields its URL."""
    monkeypatch.setenv("ENERDIAG_DATA_DIR", str(tmp_path / "data"))
    monkeypatch.setenv("ENERDIAG_RUN_DIR", str(tmp_path / "run"))
    monkeypatch.delenv("ENERDIAG_DB_URL", raising=False)
    get_settings.cache_clear()
    url = get_settings().registry_url
    with session_scope(url) as session:
        load_registry_file(session, EXAMPLE)
    yield url
    get_settings.cache_clear()
    dispose_engines()


runner = CliRunner()
# the commands as the root app mounts them (built here so the test does not depend on cli.py's wiring)
app = typer.Typer()
access_commands.register(app)


def cli(*args: str):
    return runner.invoke(app, list(args))


# ---------------------------------------------------------------- keys


def test_bank_key_is_printed_once_alone_and_stored_only_hashed(env: str) -> None:
    result = cli("bank", "key", "bank-datong")
    assert result.exit_code == 0, result.output
    key = result.stdout.strip()
    assert result.stdout == key + "\n"  # the key alone on stdout
    match = KEY_PATTERN.match(key)
    assert match is not None
    key_id, secret = match.groups()
    with session_scope(env) as session:
        row = session.get(ApiKey, key_id)
        assert row is not None and row.bank_id == "bank-datong"
        assert row.secret_hash.startswith("$argon2id$")
        stored = " ".join(repr(v) for v in vars(row).values())
        assert secret not in stored and key not in stored
        assert verify_api_key(session, key).id == "bank-datong"
    # a second key is a different key: nothing is printed twice
    assert cli("bank", "key", "bank-datong").stdout.strip() != key
    listing = cli("bank", "keys", "bank-datong")
    assert listing.exit_code == 0 and key_id in listing.stdout and secret not in listing.stdout


def test_wrong_malformed_and_unknown_keys_fail(env: str) -> None:
    with session_scope(env) as session:
        key = issue_api_key(session, "bank-datong")
        other_secret = key[:-1] + ("A" if key[-1] != "A" else "B")
        unknown_id = "edk_000000000000_" + key.split("_", 2)[2]
        assert verify_api_key(session, other_secret) is None
        assert verify_api_key(session, unknown_id) is None
        assert verify_api_key(session, "Bearer " + key) is None
        assert verify_api_key(session, "") is None
        assert verify_api_key(session, key).id == "bank-datong"


def test_revoked_key_fails_even_after_a_successful_verification(env: str) -> None:
    with session_scope(env) as session:
        key = issue_api_key(session, "bank-datong")
        assert verify_api_key(session, key) is not None  # verified (and memoised) once
    key_id = KEY_PATTERN.match(key).group(1)
    result = cli("bank", "revoke-key", key_id)
    assert result.exit_code == 0 and f"key {key_id} of bank bank-datong revoked" in result.stderr
    with session_scope(env) as session:
        assert verify_api_key(session, key) is None
    assert cli("bank", "revoke-key", "nosuchkey").exit_code == 2


def test_expired_keys_fail(env: str) -> None:
    now = dt.datetime.now(dt.UTC)
    with session_scope(env) as session:
        key = issue_api_key(session, "bank-datong", expires=now + dt.timedelta(hours=1))
        assert verify_api_key(session, key, now=now) is not None
        assert verify_api_key(session, key, now=now + dt.timedelta(hours=1)) is None
        assert verify_api_key(session, key, now=now + dt.timedelta(days=2)) is None


def test_cli_expires_means_through_the_end_of_that_day_in_china(env: str) -> None:
    day = dt.date.today() + dt.timedelta(days=30)
    result = cli("bank", "key", "bank-datong", "--expires", day.isoformat())
    assert result.exit_code == 0, result.output
    key_id = KEY_PATTERN.match(result.stdout.strip()).group(1)
    with session_scope(env) as session:
        expires = session.get(ApiKey, key_id).expires_at
    assert expires == dt.datetime.combine(day + dt.timedelta(days=1), dt.time(), CHINA)
    past = cli("bank", "key", "bank-datong", "--expires", "2020-01-01")
    assert past.exit_code == 2 and "in the past" in past.stderr and past.stdout == ""
    assert cli("bank", "key", "bank-datong", "--expires", "soon").exit_code == 2


def test_bank_add_and_key_for_unknown_bank(env: str) -> None:
    assert cli("bank", "add", "bank-b", "--name", "示例农商银行").exit_code == 0
    assert cli("bank", "key", "bank-b").exit_code == 0
    missing = cli("bank", "key", "bank-zz")
    assert missing.exit_code == 2 and "no bank 'bank-zz'" in missing.stderr and missing.stdout == ""
    assert cli("bank", "add", "bad id!", "--name", "x").exit_code == 2
    with session_scope(env) as session, pytest.raises(AccessError):
        issue_api_key(session, "bank-zz")


# ---------------------------------------------------------------- consent


def test_consent_from_the_file_is_active_until_its_last_day(env: str) -> None:
    with session_scope(env) as session:
        assert active_consent(session, "bank-datong", CEMENT, dt.date(2027, 12, 31)) is not None
        assert active_consent(session, "bank-datong", CEMENT, dt.date(2028, 1, 1)) is None
        assert active_consent(session, "bank-datong", MACHINERY, dt.date(2026, 12, 1)) is None
        assert active_consent(session, "bank-other", CEMENT, dt.date(2026, 12, 1)) is None
        codes = [e.code for e, _ in consented_enterprises(session, "bank-datong", dt.date(2026, 12, 1))]
        assert CEMENT in codes and MACHINERY not in codes and len(codes) == 4


def test_consent_grant_change_revoke_and_regrant(env: str) -> None:
    until = (dt.date.today() + dt.timedelta(days=365)).isoformat()
    granted = cli("consent", "grant", MACHINERY, "bank-datong", "--scopes", "series,profile", "--until", until)
    assert granted.exit_code == 0, granted.output
    today = dt.date.today()
    with session_scope(env) as session:
        consent = active_consent(session, "bank-datong", MACHINERY, today)
        assert consent is not None and consent.scopes == ["profile", "series"]  # canonical order
    assert cli("consent", "grant", MACHINERY, "bank-datong", "--scopes", "orders", "--until", until).exit_code == 0
    with session_scope(env) as session:
        assert active_consent(session, "bank-datong", MACHINERY, today).scopes == ["orders"]
        assert len(session.scalars(select(Consent).where(Consent.enterprise_code == MACHINERY)).all()) == 1
    revoked = cli("consent", "revoke", MACHINERY.lower(), "bank-datong")
    assert revoked.exit_code == 0, revoked.output
    with session_scope(env) as session:
        assert active_consent(session, "bank-datong", MACHINERY, today) is None
        with pytest.raises(AccessError, match="no open consent"):
            revoke_consent(session, MACHINERY, "bank-datong")
        grant_consent(session, MACHINERY, "bank-datong", ["credit"], today)
        assert active_consent(session, "bank-datong", MACHINERY, today).scopes == ["credit"]
        history = session.scalars(select(Consent).where(Consent.enterprise_code == MACHINERY)).all()
        assert len(history) == 2 and sum(c.revoked_at is not None for c in history) == 1
    again = cli("consent", "revoke", MACHINERY, "bank-other")
    assert again.exit_code == 2 and "no open consent" in again.stderr


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--scopes", "profile,loans"], "unknown scope 'loans'"),
        (["--scopes", ","], "no scopes given"),
        (["--scopes", "profile", "--until", "2020-01-01"], "--until 2020-01-01 is in the past"),
        (["--scopes", "profile", "--until", "31.12.2027"], "is not a date"),
    ],
)
def test_consent_grant_bad_input_exits_2_naming_it(env: str, args: list[str], message: str) -> None:
    if "--until" not in args:
        args = [*args, "--until", "2099-12-31"]
    result = cli("consent", "grant", MACHINERY, "bank-datong", *args)
    assert result.exit_code == 2 and message in result.stderr


def test_consent_grant_names_a_bad_code_or_unknown_parties(env: str) -> None:
    bad = cli("consent", "grant", MACHINERY[:-1] + "0", "bank-datong", "--scopes", "profile", "--until", "2099-01-01")
    assert bad.exit_code == 2 and "position 18" in bad.stderr
    unknown = "91140213MA0B6FT213"  # valid code, not in the registry
    result = cli("consent", "grant", unknown, "bank-datong", "--scopes", "profile", "--until", "2099-01-01")
    assert result.exit_code == 2 and f"no enterprise {unknown}" in result.stderr
    result = cli("consent", "grant", MACHINERY, "bank-zz", "--scopes", "profile", "--until", "2099-01-01")
    assert result.exit_code == 2 and "no bank 'bank-zz'" in result.stderr


# ---------------------------------------------------------------- audit


def test_audit_lists_newest_first(env: str) -> None:
    base = dt.datetime(2026, 11, 20, 8, 0, tzinfo=dt.UTC)
    with session_scope(env) as session:
        record_audit(session, "bank-datong", CEMENT, "/v1/enterprises/x/profile", 200, at=base)
        record_audit(session, "bank-datong", CEMENT, "/v1/enterprises/x/series", 403, at=base + dt.timedelta(hours=2))
        later = base + dt.timedelta(hours=1)
        record_audit(session, "bank-other", CEMENT, "/v1/enterprises/x/credit-indicators", 404, at=later)
        record_audit(session, "bank-datong", MACHINERY, "/v1/enterprises/y/profile", 404, at=base)
    result = cli("audit", CEMENT, "--json")
    assert result.exit_code == 0, result.output
    rows = json.loads(result.stdout)
    assert [r["status"] for r in rows] == [403, 404, 200]
    assert rows[0] == {
        "at": "2026-11-20T10:00:00Z",
        "bank": "bank-datong",
        "enterprise": CEMENT,
        "path": "/v1/enterprises/x/series",
        "status": 403,
    }
    text = cli("audit", CEMENT)
    lines = text.stdout.strip().splitlines()
    assert len(lines) == 3 and lines[0].startswith("2026-11-20T10:00:00Z  bank-datong") and lines[0].endswith("series")
    assert json.loads(cli("audit", CEMENT, "--json", "--limit", "1").stdout)[0]["status"] == 403
    assert cli("audit", "not-a-code").exit_code == 2
    empty = cli("audit", "91140213MA0B6FT213", "--json")
    assert empty.exit_code == 0 and json.loads(empty.stdout) == []


def test_add_bank_renames(env: str) -> None:
    with session_scope(env) as session:
        add_bank(session, "bank-datong", "新名字")
    with session_scope(env) as session:
        assert add_bank(session, "bank-datong", "新名字").name == "新名字"
        with pytest.raises(AccessError):
            revoke_api_key(session, "edk_ffffffffffff_x")


# ---------------------------------------------------------------- mqtt-acl files (the broker itself: integration)


def test_mqtt_acl_needs_a_collector_password_and_reuses_its_hash(env: str, tmp_path: Path) -> None:
    reg = typer.Typer()
    registry_commands.register(reg)
    pw, acl = tmp_path / "m" / "passwd", tmp_path / "m" / "acl"
    services = tmp_path / "m" / "services.passwd"  # next to the gateways' file by default
    files = ["registry", "mqtt-acl", "--password-file", str(pw), "--acl-file", str(acl)]
    missing = runner.invoke(reg, files)
    assert missing.exit_code == 2 and "no password for the collector user" in missing.stderr
    assert not pw.exists()
    with session_scope(env) as session:  # a gateway without a password is left out, with a warning
        session.add(Gateway(enterprise_code=MACHINERY, gateway_id="gw-new"))
    first = runner.invoke(reg, [*files, "--collector-password", "c-secret"])
    assert first.exit_code == 0, first.output
    assert f"gateway {MACHINERY}.gw-new has no password" in first.stderr
    assert "no safety watcher account" in first.stderr
    users = dict(line.split(":", 1) for line in pw.read_text().splitlines())
    assert len(users) == 7 and "enerdiag-collector" not in users and f"{MACHINERY}.gw-new" not in users
    accounts = dict(line.split(":", 1) for line in services.read_text().splitlines())
    assert list(accounts) == ["enerdiag-collector"]
    assert (tmp_path / "m" / "services.acl").read_text().count("\nuser ") == 1
    for path in (pw, services):
        assert oct(path.stat().st_mode & 0o777) == "0o640"
    again = runner.invoke(reg, [*files, "--collector-password", "c-secret", "--safety-password", "s-secret"])
    assert again.exit_code == 0
    assert dict(line.split(":", 1) for line in pw.read_text().splitlines()) == users
    both = dict(line.split(":", 1) for line in services.read_text().splitlines())
    assert both["enerdiag-collector"] == accounts["enerdiag-collector"]  # nothing re-hashed
    assert set(both) == {"enerdiag-collector", "enerdiag-safety"}
    changed = runner.invoke(reg, [*files, "--collector-password", "other"])
    assert changed.exit_code == 0
    assert (
        dict(line.split(":", 1) for line in services.read_text().splitlines())["enerdiag-collector"]
        != accounts["enerdiag-collector"]
    )
    shared = runner.invoke(reg, [*files, "--collector-password", "x", "--safety-user", "enerdiag-collector",
                                 "--safety-password", "y"])
    assert shared.exit_code == 2 and "needs its own account" in shared.stderr
    clash = runner.invoke(reg, [*files, "--collector-user", f"{CEMENT}.gw-kiln", "--collector-password", "x"])
    assert clash.exit_code == 2 and "collides with a gateway user" in clash.stderr
