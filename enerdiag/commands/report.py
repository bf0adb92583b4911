"""`enerdiag report CODE --from --to --format html|pdf --out FILE`: one enterprise's energy-saving diagnosis report."""

from __future__ import annotations

import datetime as dt
import sys
from pathlib import Path
from typing import Annotated

import typer
from sqlalchemy.exc import SQLAlchemyError

from enerdiag.errors import EXIT_BAD_INPUT, fail

MAX_REPORT_DAYS = 366
"""Longest period a report covers (hourly data of a year)."""
CITY = "city"
"""The CODE that asks for the industry bureau's city summary instead of one enterprise's report."""


def _date(value: str, option: str) -> dt.date:
    try:
        return dt.date.fromisoformat(value)
    except ValueError:
        fail(f"{option} {value!r} is not a date (YYYY-MM-DD)", EXIT_BAD_INPUT)


def register(app: typer.Typer) -> None:
    """Attach `report` to the root app."""

    @app.command()
    def report(
        code: Annotated[str, typer.Argument(help="the enterprise's credit code, or `city` for the industry "
                                            "bureau's summary of every enterprise")],
        date_from: Annotated[str, typer.Option("--from", help="first local day (YYYY-MM-DD)")],
        date_to: Annotated[str, typer.Option("--to", help="day after the last (YYYY-MM-DD)")],
        fmt: Annotated[str, typer.Option("--format", help="html | pdf")] = "html",
        out: Annotated[Path | None, typer.Option("--out", help="file to write (default CODE_FROM_TO.FORMAT)")] = None,
        lang: Annotated[str, typer.Option("--lang", help="zh (Chinese first, English second) | en")] = "zh",
        flat_price: Annotated[float | None, typer.Option("--flat-price", help="flat electricity price CNY/kWh "
                                                         "(default: an assumed price, marked in the report)")] = None,
    ) -> None:
        """Energy-saving diagnosis report of one enterprise (节能诊断报告), or the city summary (`city`)."""
        start, end = _date(date_from, "--from"), _date(date_to, "--to")
        if end <= start:
            fail(f"--to {end} must be after --from {start}", EXIT_BAD_INPUT)
        if (end - start).days > MAX_REPORT_DAYS:
            fail(f"the period {start} to {end} is longer than {MAX_REPORT_DAYS} days", EXIT_BAD_INPUT)
        if fmt not in ("html", "pdf"):
            fail(f"--format {fmt!r} must be html or pdf", EXIT_BAD_INPUT)
        if lang not in ("zh", "en"):
            fail(f"--lang {lang!r} must be zh or en", EXIT_BAD_INPUT)
        if flat_price is not None and flat_price <= 0:
            fail(f"--flat-price {flat_price} must be positive", EXIT_BAD_INPUT)
        target = out or Path(f"{code}_{start}_{end}.{fmt}")
        if not target.parent.exists():
            fail(f"--out {target}: directory {target.parent} does not exist", EXIT_BAD_INPUT)

        from analytics.diagnosis.finding import Prices
        from analytics.diagnosis.frames import DiagnosisFacts
        from analytics.registry_view import load_enterprises
        from analytics.report.job import (
            all_registry_facts,
            city_rows,
            peer_rank,
            read_frames,
            read_safety_alarms,
            write_city_report,
            write_report,
        )
        from core.influx import InfluxError, InfluxV1
        from core.reference import get_reference
        from core.registry.db import session_scope
        from core.settings import get_settings

        try:
            with session_scope() as session:
                everyone = load_enterprises(session)
                facts = all_registry_facts(session, start.year)
        except SQLAlchemyError as exc:
            fail(f"registry database error: {exc.__class__.__name__}: {str(exc).splitlines()[0]}")
        reference = get_reference()
        prices = Prices() if flat_price is None else Prices(flat_cny_per_kwh=flat_price,
                                                            source="--flat-price given by the user",
                                                            confidence="user")
        if code == CITY:
            if not everyone:
                fail("the registry has no enterprises", EXIT_BAD_INPUT)
            try:
                with InfluxV1.from_settings(get_settings()) as influx:
                    rows = city_rows(influx, everyone, facts, start, end, reference, prices)
            except InfluxError as exc:
                fail(str(exc))
            try:
                n = write_city_report(rows, start, end, target, fmt, lang)
            except OSError as exc:
                fail(f"cannot write {target}: {exc}")
            print(f"report: {target} ({fmt}, city summary of {n} of {len(rows)} enterprise(s))", file=sys.stderr)
            return
        enterprise = next((e for e in everyone if e.code == code), None)
        if enterprise is None:
            fail(f"enterprise {code} is not in the registry", EXIT_BAD_INPUT)
        try:
            with InfluxV1.from_settings(get_settings()) as influx:
                frames = read_frames(influx, enterprise, facts.get(code, DiagnosisFacts()), start, end)
                peer = peer_rank(influx, enterprise, everyone, start, end, reference)
                alarms = read_safety_alarms(influx, enterprise, start, end)
        except InfluxError as exc:
            fail(str(exc))
        if frames.hourly.empty:
            fail(f"no hourly rollups for {code} between {start} and {end}: run `enerdiag rollup` first",
                 EXIT_BAD_INPUT)
        try:
            n = write_report(frames, reference, target, fmt, lang, prices, peer, alarms)
        except OSError as exc:
            fail(f"cannot write {target}: {exc}")
        print(f"report: {target} ({fmt}, {n} finding(s))", file=sys.stderr)
