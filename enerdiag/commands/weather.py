"""`enerdiag weather import FILE --county NAME [--station ID]`: a county's daily outdoor temperature into InfluxDB."""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Annotated

import typer

from enerdiag.errors import EXIT_BAD_INPUT, fail

MAX_COUNTY_CHARS = 64

weather_app = typer.Typer(help="Outdoor temperature per county (室外气温), for degree-day baselines.",
                          no_args_is_help=True)


@weather_app.command("import")
def import_command(
    file: Annotated[Path, typer.Argument(help="CSV: `date,temp_c`, `time,temp_c`, NOAA GSOD or CMA daily",
                                         dir_okay=False)],
    county: Annotated[list[str], typer.Option(help="the registry's enterprise `county` this weather is for "
                                              "(repeat for several counties sharing a station)")],
    station: Annotated[str | None, typer.Option(help="the station to take from a multi-station GSOD/CMA file "
                                                "(recorded as the points' `station`)")] = None,
) -> None:
    """Read daily (or hourly) outdoor temperatures and write them as the county's `weather` days (导入室外气温).

    The whole file is checked first: a bad row stops the import with its line number and nothing is written.
    """
    from analytics.weather import WeatherFileError, decode, parse_weather_csv

    counties = [c.strip() for c in county]
    for name in counties:
        if not name or len(name) > MAX_COUNTY_CHARS or not name.isprintable():
            fail(f"--county {name!r}: give the county as the registry writes it (1-{MAX_COUNTY_CHARS} printable "
                 "characters, e.g. 云冈区)", EXIT_BAD_INPUT)
    try:
        raw = file.read_bytes()
    except OSError as exc:
        fail(f"{file}: cannot read: {exc.strerror}", EXIT_BAD_INPUT)
    try:
        days = parse_weather_csv(decode(raw, str(file)), station, str(file))
    except WeatherFileError as exc:
        fail(str(exc), EXIT_BAD_INPUT)

    from analytics.weather_store import write_weather
    from core.influx import InfluxError, InfluxV1
    from core.settings import get_settings

    try:
        with InfluxV1.from_settings(get_settings()) as influx:
            written = write_weather(influx, counties, days)
    except InfluxError as exc:
        fail(str(exc))
    unknown = _counties_without_enterprises(counties)
    skipped = f", {days.missing_rows} row(s) with the missing-value code skipped" if days.missing_rows else ""
    partial = f", {len(days.partial_days)} day(s) with too few hours left out" if days.partial_days else ""
    typer.echo(f"weather: {len(days.temps)} day(s) {days.first_day}..{days.last_day} ({days.layout}"
               f"{', station ' + days.station if days.station else ''}) for {', '.join(counties)}: "
               f"{written} point(s) written{skipped}{partial}")
    if unknown:
        print(f"enerdiag: note: no registered enterprise is in {', '.join(unknown)} (check the spelling against "
              "the registry's `county`)", file=sys.stderr)


def _counties_without_enterprises(counties: list[str]) -> list[str]:
    """The counties no registry enterprise names (empty when the registry cannot be read: the check is a hint)."""
    from sqlalchemy.exc import SQLAlchemyError

    from analytics.registry_view import load_enterprises
    from core.registry.db import session_scope

    try:
        with session_scope() as session:
            known = {e.county for e in load_enterprises(session)}
    except SQLAlchemyError:
        return []
    return [c for c in counties if c not in known]


def register(app: typer.Typer) -> None:
    """Attach `enerdiag weather` to the root app."""
    app.add_typer(weather_app, name="weather")
