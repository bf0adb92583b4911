"""`enerdiag registry load|mqtt-acl|show|migrate|schema-check`: the registry file, the broker's password file and
ACL from it, and the registry database's schema (Alembic migrations, docs/operations.md)."""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Annotated
from urllib.parse import unquote, urlsplit

import typer
from sqlalchemy import func, select
from sqlalchemy.exc import SQLAlchemyError

from core.registry.db import session_scope
from core.registry.loader import RegistryFileError, load_registry_file
from core.registry.models import Enterprise, Gateway, Meter
from core.registry.mosquitto import (
    SERVICES_ACL_FILE,
    SERVICES_PASSWORD_FILE,
    collector_hash,
    collector_user,
    registry_users,
    render_acl,
    render_password_file,
    safety_user,
    write_private,
)
from core.settings import get_settings, run_dir
from enerdiag.errors import EXIT_BAD_INPUT, fail

registry_app = typer.Typer(help="The registry: enterprises, gateways, meters, banks, consents.", no_args_is_help=True)

DEFAULT_COLLECTOR_USER = "enerdiag-collector"
DEFAULT_SAFETY_USER = "enerdiag-safety"


@registry_app.command("load")
def load_command(
    file: Annotated[Path, typer.Argument(help="registry YAML file (schema: docs/registry.md)")],
    dry_run: Annotated[bool, typer.Option("--dry-run", help="validate only, write nothing")] = False,
) -> None:
    """Validate FILE whole and upsert it; every error names FILE:LINE and the field; exit 2 on a bad file."""
    try:
        with session_scope() as session:
            summary = load_registry_file(session, file)
            if dry_run:
                session.rollback()
    except RegistryFileError as exc:
        for line in exc.errors[:-1]:
            print(f"enerdiag: {line}", file=sys.stderr)
        fail(
            f"{exc.errors[-1]} ({len(exc.errors)} error{'s' if len(exc.errors) > 1 else ''}, nothing written)",
            EXIT_BAD_INPUT,
        )
    except SQLAlchemyError as exc:
        fail(f"registry database error: {exc.__class__.__name__}: {str(exc).splitlines()[0]}")
    text = summary.line(file)
    print(text.replace("loaded", "valid (dry run, nothing written):", 1) if dry_run else text)


def _collector_credentials(user: str | None, password: str | None) -> tuple[str, str]:
    """Collector user and password: options first, then the user info of ENERDIAG_MQTT_URL."""
    parsed = urlsplit(get_settings().mqtt_url)
    user = user or (unquote(parsed.username) if parsed.username else None) or DEFAULT_COLLECTOR_USER
    password = password or (unquote(parsed.password) if parsed.password else None)
    if not password:
        fail(
            "no password for the collector user: give --collector-password or put it in ENERDIAG_MQTT_URL "
            "(mqtt://user:password@host:port)",
            EXIT_BAD_INPUT,
        )
    return user, password


def _safety_credentials(user: str | None, password: str | None) -> tuple[str, str] | None:
    """The safety watcher's user and password: options first, then ENERDIAG_SAFETY_MQTT_URL; None without one."""
    url = get_settings().safety_mqtt_url
    parsed = urlsplit(url) if url else None
    if parsed is not None:
        user = user or (unquote(parsed.username) if parsed.username else None)
        password = password or (unquote(parsed.password) if parsed.password else None)
    if not password:
        return None
    return user or DEFAULT_SAFETY_USER, password


@registry_app.command("mqtt-acl")
def mqtt_acl_command(
    password_file: Annotated[
        Path | None, typer.Option("--password-file", help="gateways' accounts; default: <run dir>/mosquitto/passwd")
    ] = None,
    acl_file: Annotated[Path | None, typer.Option("--acl-file", help="default: <run dir>/mosquitto/acl")] = None,
    services_password_file: Annotated[Path | None, typer.Option(
        "--services-password-file", help=f"collector and safety watcher accounts; default: {SERVICES_PASSWORD_FILE} "
        "next to --password-file")] = None,
    services_acl_file: Annotated[Path | None, typer.Option(
        "--services-acl-file", help=f"default: {SERVICES_ACL_FILE} next to --password-file")] = None,
    collector_name: Annotated[
        str | None, typer.Option("--collector-user", help="default: user of ENERDIAG_MQTT_URL, else enerdiag-collector")
    ] = None,
    collector_password: Annotated[
        str | None,
        typer.Option(
            "--collector-password", envvar="ENERDIAG_MQTT_COLLECTOR_PASSWORD", help="default: from ENERDIAG_MQTT_URL"
        ),
    ] = None,
    safety_name: Annotated[str | None, typer.Option(
        "--safety-user", help=f"default: user of ENERDIAG_SAFETY_MQTT_URL, else {DEFAULT_SAFETY_USER}")] = None,
    safety_password: Annotated[str | None, typer.Option(
        "--safety-password", envvar="ENERDIAG_MQTT_SAFETY_PASSWORD",
        help="default: from ENERDIAG_SAFETY_MQTT_URL; without one, no safety watcher account")] = None,
) -> None:
    """Write Mosquitto's files: gateways (publish only em/v1/{enterprise}/{gateway}/#) and the services' accounts."""
    password_file = password_file or run_dir() / "mosquitto" / "passwd"
    acl_file = acl_file or run_dir() / "mosquitto" / "acl"
    services_password_file = services_password_file or password_file.with_name(SERVICES_PASSWORD_FILE)
    services_acl_file = services_acl_file or password_file.with_name(SERVICES_ACL_FILE)
    name, password = _collector_credentials(collector_name, collector_password)
    safety = _safety_credentials(safety_name, safety_password)
    if safety is not None and safety[0] == name:
        fail(f"the safety watcher needs its own account, not the collector's ({name!r})", EXIT_BAD_INPUT)
    try:
        with session_scope() as session:
            users, skipped = registry_users(session)
    except SQLAlchemyError as exc:
        fail(f"registry database error: {exc.__class__.__name__}: {str(exc).splitlines()[0]}")
    for account, _ in filter(None, [(name, password), safety]):
        if any(u.username == account for u in users):
            fail(f"service user {account!r} collides with a gateway user", EXIT_BAD_INPUT)
    services = [collector_user(name, collector_hash(password, services_password_file, name))]
    if safety is not None:
        services.append(safety_user(safety[0], collector_hash(safety[1], services_password_file, safety[0])))
    try:
        write_private(password_file, render_password_file(users))
        write_private(acl_file, render_acl(users))
        write_private(services_password_file, render_password_file(services))
        write_private(services_acl_file, render_acl(services))
    except OSError as exc:
        fail(f"cannot write {exc.filename}: {exc.strerror}")
    for username in skipped:
        print(f"enerdiag: gateway {username} has no password: it cannot connect", file=sys.stderr)
    if safety is None:
        print("enerdiag: no safety watcher account (no --safety-password or ENERDIAG_SAFETY_MQTT_URL)",
              file=sys.stderr)
    accounts = " and ".join(repr(u.username) for u in services)
    print(
        f"wrote {password_file} and {acl_file}: {len(users)} gateways ({len(skipped)} without password); "
        f"{services_password_file} and {services_acl_file}: {accounts}; reload the broker (SIGHUP) to apply"
    )


@registry_app.command("show")
def show_command(
    as_json: Annotated[bool, typer.Option("--json", help="print a JSON array")] = False,
) -> None:
    """List the enterprises with their gateway and meter counts."""
    try:
        with session_scope() as session:
            gateways = dict(
                session.execute(select(Gateway.enterprise_code, func.count()).group_by(Gateway.enterprise_code)).all()
            )
            meters = dict(
                session.execute(select(Meter.enterprise_code, func.count()).group_by(Meter.enterprise_code)).all()
            )
            rows = [
                {
                    "code": e.code,
                    "name": e.name,
                    "industry": e.industry,
                    "county": e.county,
                    "product": e.product,
                    "gateways": gateways.get(e.code, 0),
                    "meters": meters.get(e.code, 0),
                }
                for e in session.scalars(select(Enterprise).order_by(Enterprise.code))
            ]
    except SQLAlchemyError as exc:
        fail(f"registry database error: {exc.__class__.__name__}: {str(exc).splitlines()[0]}")
    if as_json:
        print(json.dumps(rows, ensure_ascii=False, indent=2))
        return
    for r in rows:
        counts = f"gateways={r['gateways']} meters={r['meters']}"
        print(f"{r['code']}  {r['industry']}  {r['county']}  {r['name']}  {counts}")


def _db_error(exc: SQLAlchemyError) -> str:
    return f"registry database error: {exc.__class__.__name__}: {str(exc).splitlines()[0]}"


@registry_app.command("migrate")
def migrate_command(
    sql: Annotated[bool, typer.Option("--sql", help="print the SQL for a DBA instead of running it")] = False,
) -> None:
    """Bring the registry schema to the current revision now (every process also does it when it starts)."""
    from core.registry.db import get_engine
    from core.registry.schema import HEAD, SchemaError, migration_sql, upgrade_schema

    engine = get_engine()
    where = engine.url.render_as_string(hide_password=True)
    try:
        if sql:
            revision = migration_sql(engine, sys.stdout)
            if revision == HEAD:
                print(f"-- registry schema already at {HEAD}: nothing to do")
            return
        outcome = upgrade_schema(engine)
    except SchemaError as exc:
        fail(str(exc))
    except SQLAlchemyError as exc:
        fail(_db_error(exc))
    said = {"current": "already at", "created": "created at", "adopted": "adopted and migrated to",
            "upgraded": "migrated to"}[outcome]
    print(f"registry schema {said} {HEAD} ({where})")


@registry_app.command("schema-check")
def schema_check_command() -> None:
    """Compare the live registry schema with the models; print each difference and exit 1 if there is any."""
    from core.registry.db import get_engine
    from core.registry.schema import HEAD, schema_differences

    engine = get_engine()
    try:
        differences = schema_differences(engine)
    except SQLAlchemyError as exc:
        fail(_db_error(exc))
    for line in differences:
        print(line)
    if differences:
        behind = differences[0].startswith("alembic_version:")
        fail(f"registry schema differs from the models in {len(differences)} place(s): "
             + ("run `enerdiag registry migrate`" if behind else
                "changed by hand, or a model changed without a revision (docs/operations.md)"))
    print(f"registry schema up to date (revision {HEAD})")


def register(app: typer.Typer) -> None:
    """Attach `enerdiag registry ...` to the root app."""
    app.add_typer(registry_app, name="registry")
