"""`enerdiag dashboards build|publish`: Grafana dashboards and alert rules as code (docs/dashboards.md)."""

from __future__ import annotations

from typing import Annotated, Any

import typer

from enerdiag.errors import EXIT_BAD_INPUT, fail

dashboards_app = typer.Typer(help="Grafana dashboards as code: build JSON, check it, publish it (看板).",
                             no_args_is_help=True)


@dashboards_app.command("build")
def build(
    check: Annotated[bool, typer.Option("--check", help="write nothing; exit 1 if a generated file is stale")] = False,
) -> None:
    """Write dashboards/*.json and the alert-rule provisioning file from the Python builders."""
    from dashboards.catalog import REPO, stale, write_all

    if check:
        old = stale()
        if old:
            fail(f"stale generated files (run `enerdiag dashboards build`): "
                 f"{', '.join(str(p.relative_to(REPO)) for p in old)}")
        typer.echo("generated dashboards and alert rules are up to date")
        return
    for path in write_all():
        typer.echo(f"wrote {path.relative_to(REPO)}")


@dashboards_app.command("publish")
def publish(
    url: Annotated[str, typer.Option(help="Grafana base URL, e.g. https://grafana.example.cn")],
    token: Annotated[str, typer.Option(help="Grafana service-account token (Editor or Admin)",
                                       envvar="GRAFANA_TOKEN")],
    influx_url: Annotated[str | None, typer.Option(
        help="InfluxDB URL as Grafana reaches it (default: the provisioned http://influxdb:8086)")] = None,
    influx_token: Annotated[str | None, typer.Option(
        help="InfluxDB token for the data source (default: ENERDIAG_INFLUX_TOKEN)")] = None,
) -> None:
    """Create/update the InfluxDB data source and save every dashboard through Grafana's HTTP API."""
    from dashboards.publish import PublishError
    from dashboards.publish import publish as push

    if not url.startswith(("http://", "https://")):
        fail(f"--url must start with http:// or https://, got {url!r}", EXIT_BAD_INPUT)
    if not token.strip():
        fail("--token is empty", EXIT_BAD_INPUT)
    if influx_token is None:
        from core.settings import load_settings

        influx_token = load_settings().influx_token
    try:
        report = push(url.rstrip("/"), token, influx_url, influx_token)
    except PublishError as exc:
        fail(str(exc))
    typer.echo(f"data source enerdiag-influxdb {report.datasource}; folder {report.folder}")
    for uid, path in report.dashboards.items():
        typer.echo(f"dashboard {uid}: {url.rstrip('/')}{path}")


def publish_feed(influx: Any, enterprises: list[Any], days: list[Any], *, with_activity: bool) -> Any:
    """Write the dashboard feed (analytics/publish_job.py) for `days`; exits 2 when reference data lacks a value.

    Shared by `enerdiag dashboards feed` and `enerdiag rollup`, which feeds the days its rollups touched.
    """
    from sqlalchemy import select

    from analytics.publish_job import publish
    from analytics.report.job import all_registry_facts
    from core.reference import get_reference
    from core.registry.db import session_scope
    from core.registry.models import Enterprise

    with session_scope() as session:
        names = {code: name for code, name in session.execute(select(Enterprise.code, Enterprise.name))}
        facts = {year: all_registry_facts(session, year) for year in sorted({d.year for d in days})}
    try:
        reference = get_reference()
    except ValueError as exc:
        fail(f"reference data: {exc}")
    try:
        return publish(influx, enterprises, reference, days, names=names, with_activity=with_activity, facts=facts)
    except LookupError as exc:  # reference data without a value the period needs (e.g. a grid factor)
        fail(str(exc), EXIT_BAD_INPUT)


@dashboards_app.command("feed")
def feed(
    date_from: Annotated[str | None, typer.Option("--from", help="first local day (YYYY-MM-DD); default: "
                                                  "yesterday")] = None,
    date_to: Annotated[str | None, typer.Option("--to", help="day after the last (YYYY-MM-DD); default: "
                                                "tomorrow (today included)")] = None,
    enterprise: Annotated[str | None, typer.Option("--enterprise", help="only this enterprise (the county, "
                                                   "industry and city operation index is then not written)")] = None,
) -> None:
    """Write the dashboards' registry and analysis measurements (enterprise_info, enterprise_analysis,
    activity_index, enterprise_tou_daily, finding) for local days [from, to) from the registry and the rollups;
    idempotent."""
    import datetime as dt

    from sqlalchemy.exc import SQLAlchemyError

    from analytics.enterprise_info import recent_days
    from analytics.registry_view import load_enterprises
    from core.influx import InfluxError, InfluxV1
    from core.registry.db import session_scope
    from core.settings import get_settings

    def day(value: str, option: str) -> dt.date:
        try:
            return dt.date.fromisoformat(value)
        except ValueError:
            fail(f"{option} {value!r} is not a date (YYYY-MM-DD)", EXIT_BAD_INPUT)

    recent = sorted(recent_days(dt.datetime.now(dt.UTC), 1))
    start = day(date_from, "--from") if date_from else recent[0]
    end = day(date_to, "--to") if date_to else recent[-1] + dt.timedelta(days=1)
    if end <= start:
        fail(f"--to {end} must be after --from {start}", EXIT_BAD_INPUT)
    if (end - start).days > 366:
        fail(f"the period {start} to {end} is longer than a year: feed it in parts", EXIT_BAD_INPUT)
    try:
        with session_scope() as session:
            enterprises = load_enterprises(session, [enterprise] if enterprise else None)
    except SQLAlchemyError as exc:
        fail(f"registry database error: {exc.__class__.__name__}: {str(exc).splitlines()[0]}")
    if enterprise and not enterprises:
        fail(f"enterprise {enterprise} is not in the registry", EXIT_BAD_INPUT)
    days = [start + dt.timedelta(days=k) for k in range((end - start).days)]
    try:
        with InfluxV1.from_settings(get_settings()) as influx:
            report = publish_feed(influx, enterprises, days, with_activity=enterprise is None)
    except InfluxError as exc:
        fail(str(exc))
    typer.echo(f"dashboard feed {start}..{end}: {report.info_points} enterprise_info, {report.analysis_points} "
               f"enterprise_analysis, {report.activity_points} activity_index, {report.tou_points} "
               f"enterprise_tou_daily, {report.finding_points} finding points in {report.seconds:.1f} s")
    for skipped in report.skipped_tou_days:
        typer.echo(f"no time-of-use split for {skipped}", err=True)


def register(app: typer.Typer) -> None:
    """Attach `enerdiag dashboards …` to the root app."""
    app.add_typer(dashboards_app, name="dashboards")
