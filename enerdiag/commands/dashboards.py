"""`enerdiag dashboards build|publish`: Grafana dashboards and alert rules as code (docs/dashboards.md)."""

from __future__ import annotations

from typing import Annotated

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


def register(app: typer.Typer) -> None:
    """Attach `enerdiag dashboards …` to the root app."""
    app.add_typer(dashboards_app, name="dashboards")
