"""`enerdiag savings CODE/ID [--to YYYY-MM] [--json]`: measured and verified savings of one retrofit project."""

from __future__ import annotations

import datetime as dt
import json
import re
from typing import Annotated, Any
from zoneinfo import ZoneInfo

import typer
from sqlalchemy.exc import SQLAlchemyError

from enerdiag.errors import EXIT_BAD_INPUT, fail

MONTH = re.compile(r"^\d{4}-(0[1-9]|1[0-2])$")


def _text(doc: dict[str, Any]) -> str:
    """The human form: the baseline's verdict, one line per month, the total."""
    u = doc["unit"].lower()
    b = doc["baseline"]
    lines = [f"{doc['enterprise']}/{doc['project']}: {doc['measure']} (IPMVP Option {doc['option']}, {doc['unit']})",
             f"baseline {b['from']} .. {b['to']}: {b['model']}; CV(RMSE) {b['cv_rmse']}; "
             + ("accepted" if b["accepted"] else "NOT accepted: " + "; ".join(b["reasons"]))]
    lines += [f"  fix: {f}" for f in b["fixes"]]
    lines.append(f"{'month':8} {'baseline':>12} {'actual':>12} {'avoided':>12} {'±90%':>10} {'cumulative':>12}")
    def cell(m: dict[str, Any], key: str, width: int = 12) -> str:
        v = m.get(key)
        return f"{'—':>{width}}" if v is None else f"{v:>{width},.1f}"

    for m in doc["months"]:
        lines.append(f"{m['month']:8} {cell(m, f'baseline_{u}')} {cell(m, f'actual_{u}')} {cell(m, f'avoided_{u}')} "
                     f"{cell(m, f'uncertainty_{u}_90', 10)} {cell(m, f'cumulative_avoided_{u}')}"
                     + (f"  ({m['reason']})" if m.get("reason") else ""))
    t = doc["total"]
    if t is not None:
        if t.get(f"avoided_{u}") is None:
            lines.append(f"total {t['reporting_from']} .. {t['reporting_to']}: no verified savings ({t['reason']})")
        else:
            lines.append(f"total {t['reporting_from']} .. {t['reporting_to']}: avoided {t[f'avoided_{u}']:,.1f} "
                         f"{doc['unit']} ± {t[f'uncertainty_{u}_90']:,.1f} (90 %), ± {t[f'uncertainty_{u}_68']:,.1f} "
                         f"(68 %); {t['avoided_tce']} tce, {t['avoided_tco2']} tCO2, {t['avoided_cny']} CNY")
    return "\n".join(lines)


def register(app: typer.Typer) -> None:
    """Attach `savings` to the root app."""

    @app.command()
    def savings(
        project: Annotated[str, typer.Argument(help="CODE/ID: the enterprise's credit code and the retrofit's id")],
        to: Annotated[str | None, typer.Option("--to", help="last reporting month YYYY-MM (default: the last "
                                                "full month)")] = None,
        as_json: Annotated[bool, typer.Option("--json", help="print the JSON form (docs/contracts.md)")] = False,
    ) -> None:
        """Measured and verified savings of a retrofit (节能量测量和验证, IPMVP / GB/T 28750)."""
        code, _, project_id = project.partition("/")
        if not code or not project_id:
            fail(f"{project!r} is not CODE/ID (e.g. 91140200MA0XXXXX1X/vfd-fans)", EXIT_BAD_INPUT)
        if to is not None and not MONTH.match(to):
            fail(f"--to {to!r} is not a month (YYYY-MM)", EXIT_BAD_INPUT)

        from analytics.savings.job import ProjectNotFound, load_project, month_end, run_verification
        from core.influx import InfluxError, InfluxV1
        from core.reference import get_reference
        from core.registry.db import session_scope
        from core.settings import get_settings

        try:
            with session_scope() as session:
                enterprise, retrofit, tariff = load_project(session, code, project_id)
        except ProjectNotFound as exc:
            fail(str(exc), EXIT_BAD_INPUT)
        except SQLAlchemyError as exc:
            fail(f"registry database error: {exc.__class__.__name__}: {str(exc).splitlines()[0]}")
        if to is None:
            today = dt.datetime.now(ZoneInfo(enterprise.timezone)).date()
            last = today.replace(day=1) - dt.timedelta(days=1)
        else:
            last = month_end(to)
        if last < retrofit.reporting_from:
            fail(f"--to {last:%Y-%m}: the reporting period of {retrofit.key} starts on {retrofit.reporting_from}",
                 EXIT_BAD_INPUT)
        try:
            with InfluxV1.from_settings(get_settings()) as influx:
                result = run_verification(influx, enterprise, retrofit, tariff, get_reference(), last)
        except InfluxError as exc:
            fail(str(exc))
        doc = result.to_json()
        print(json.dumps(doc, ensure_ascii=False, indent=2) if as_json else _text(doc))
