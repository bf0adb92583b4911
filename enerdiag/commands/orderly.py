"""`enerdiag orderly plan|verify`: orderly power use without blanket cuts (有序用电, issue 18).

    enerdiag orderly plan --date YYYY-MM-DD --hours HH-HH --shortfall-kw N [--county NAME] [--days N]
                          [--policy FILE] [--json] [--out FILE.json] [--publish]
    enerdiag orderly verify --plan FILE.json [--date YYYY-MM-DD] [--adjust before|none] [--json] [--publish]
"""

from __future__ import annotations

import datetime as dt
import json
import math
import re
import sys
from pathlib import Path
from typing import Annotated, Any

import typer
from sqlalchemy.exc import SQLAlchemyError

from enerdiag.errors import EXIT_BAD_INPUT, fail

MAX_DAYS = 31
"""Longest shortfall one plan covers (a month of rotating rounds)."""
MAX_SHORTFALL_KW = 1e8
MAX_PLAN_BYTES = 64 * 1024 * 1024
_HOURS = re.compile(r"^(\d{1,2})-(\d{1,2})$")


def _date(value: str, option: str) -> dt.date:
    try:
        return dt.date.fromisoformat(value)
    except ValueError:
        fail(f"{option} {value!r} is not a date (YYYY-MM-DD)", EXIT_BAD_INPUT)


def parse_hours(value: str) -> tuple[int, int]:
    """"HH-HH" local hours [start, end), 0 ≤ start < end ≤ 24."""
    match = _HOURS.match(value.strip())
    if match is None or not 0 <= int(match[1]) < int(match[2]) <= 24:
        fail(f"--hours {value!r} must be HH-HH with 0 <= start < end <= 24 (e.g. 17-21)", EXIT_BAD_INPUT)
    return int(match[1]), int(match[2])


def _registry() -> tuple[list[Any], dict[str, Any]]:
    from analytics.registry_view import load_enterprises, orderly_facts
    from core.registry.db import session_scope

    try:
        with session_scope() as session:
            return load_enterprises(session), orderly_facts(session)
    except SQLAlchemyError as exc:
        fail(f"registry database error: {exc.__class__.__name__}: {str(exc).splitlines()[0]}")


def _print(doc: dict[str, Any], as_json: bool, text: str) -> None:
    if as_json:
        print(json.dumps(doc, ensure_ascii=False, indent=2))
    else:
        print(text)


def plan_text(doc: dict[str, Any]) -> str:
    """The plan as a table for a terminal."""
    head = (f"有序用电方案 orderly-use plan {doc['date']} {doc['hours']}"
            f"{' ×' + str(doc['days']) + ' days' if doc['days'] > 1 else ''} "
            f"{doc['county'] or '全市 city'}: shortfall {doc['shortfall_kw']} kW, planned {doc['planned_kw']} kW "
            f"(shift {doc['shift_kw']}, curtail {doc['curtail_kw']}), {doc['enterprises_asked']} enterprise(s) asked")
    lines = [head] + ([f"  {doc['reason']}"] if doc["reason"] else [])
    lines.append(f"  {'enterprise':<18} {'priority':<14} {'expected':>9} {'security':>9} {'reduce':>8}  action")
    for r in doc["enterprises"]:
        if r["reason"]:
            lines.append(f"  {r['enterprise']:<18} {r['priority']:<14} {'—':>9} {'—':>9} {'—':>8}  none: {r['reason']}")
        elif r["action"] != "none":
            lines.append(f"  {r['enterprise']:<18} {r['priority']:<14} {r['expected_kw']:>9} {r['security_kw']:>9} "
                         f"{r['reduce_kw']:>8}  {r['action']}")
    return "\n".join(lines)


def verify_text(doc: dict[str, Any]) -> str:
    counts = ", ".join(f"{k} {v}" for k, v in doc["counts"].items() if v)
    lines = [f"有序用电核验 verification {doc['date']} {doc['hours']}: planned {doc['planned_kw']} kW, delivered "
             f"{doc['delivered_kw']} kW ({doc['delivered_from']}); {counts}",
             f"  {'enterprise':<18} {'planned':>8} {'baseline':>9} {'actual':>8} {'delivered':>9}  status"]
    for r in doc["enterprises"]:
        if r["planned_kw"]:
            lines.append(f"  {r['enterprise']:<18} {r['planned_kw']:>8} {r['baseline_kw']!s:>9} {r['actual_kw']!s:>8} "
                         f"{r['delivered_kw']!s:>9}  {r['status']}{': ' + r['reason'] if r['reason'] else ''}")
    return "\n".join(lines)


def register(app: typer.Typer) -> None:
    """Attach `orderly plan` and `orderly verify` to the root app."""
    orderly = typer.Typer(help="Orderly power use without blanket cuts (有序用电): plan and verify.",
                          no_args_is_help=True)
    app.add_typer(orderly, name="orderly")

    @orderly.command("plan")
    def plan(
        date: Annotated[str, typer.Option("--date", help="first local day of the shortfall (YYYY-MM-DD)")],
        hours: Annotated[str, typer.Option("--hours", help="local hours HH-HH, end exclusive (e.g. 17-21)")],
        shortfall_kw: Annotated[float, typer.Option("--shortfall-kw", help="kW to find in every hour")],
        county: Annotated[str | None, typer.Option("--county", help="one county (default: the whole city)")] = None,
        days: Annotated[int, typer.Option("--days", help="days the shortfall lasts (rotating rounds)")] = 1,
        policy_file: Annotated[Path | None, typer.Option("--policy", help="the bureau's policy weights (YAML); "
                                                         "default: enerdiag's, marked as an assumption")] = None,
        as_json: Annotated[bool, typer.Option("--json", help="print the plan as JSON")] = False,
        out: Annotated[Path | None, typer.Option("--out", help="also write the JSON plan to this file")] = None,
        report: Annotated[Path | None, typer.Option("--report", help="write the plan report (.html or .pdf)")] = None,
        publish: Annotated[bool, typer.Option("--publish", help="write orderly_plan points for the dashboard")]
        = False,
    ) -> None:
        """A differentiated orderly-use plan (有序用电方案): who sheds or shifts how many kW, when."""
        first = _date(date, "--date")
        start, end = parse_hours(hours)
        if not math.isfinite(shortfall_kw) or not 0 < shortfall_kw <= MAX_SHORTFALL_KW:
            fail(f"--shortfall-kw {shortfall_kw} must be > 0 and at most {MAX_SHORTFALL_KW:.0f}", EXIT_BAD_INPUT)
        if not 1 <= days <= MAX_DAYS:
            fail(f"--days {days} must be within 1..{MAX_DAYS}", EXIT_BAD_INPUT)
        for target in (out, report):
            if target is not None and not target.parent.exists():
                fail(f"{target}: directory {target.parent} does not exist", EXIT_BAD_INPUT)
        if report is not None and report.suffix not in (".html", ".pdf"):
            fail(f"--report {report}: the file must end in .html or .pdf", EXIT_BAD_INPUT)

        from analytics.orderly.job import make_plan, plan_lines
        from analytics.orderly.policy import PolicyError, read_policy
        from core.influx import InfluxError, InfluxV1
        from core.settings import get_settings

        try:
            policy = read_policy(policy_file)
        except PolicyError as exc:
            for message in exc.errors[:-1]:
                print(f"enerdiag: {message}", file=sys.stderr)
            fail(f"{exc.errors[-1]} ({len(exc.errors)} error(s), policy refused)", EXIT_BAD_INPUT)
        enterprises, facts = _registry()
        if county is not None and not any(e.county == county for e in enterprises):
            known = sorted({e.county for e in enterprises})
            fail(f"--county {county!r}: no enterprise of the registry is there (counties: {', '.join(known)})",
                 EXIT_BAD_INPUT)
        if not enterprises:
            fail("the registry has no enterprises: load one with `enerdiag registry load FILE.yaml`", EXIT_BAD_INPUT)
        try:
            with InfluxV1.from_settings(get_settings()) as influx:
                result = make_plan(influx, enterprises, facts, policy, first, days, start, end, shortfall_kw, county)
                if publish:
                    influx.write(plan_lines(result))
        except InfluxError as exc:
            fail(str(exc))
        doc = result.to_json()
        if out is not None:
            out.write_text(json.dumps(doc, ensure_ascii=False, indent=2), encoding="utf-8")
        if report is not None:
            from analytics.orderly.report import write_plan_report

            write_plan_report(doc, report)
        _print(doc, as_json, plan_text(doc))

    @orderly.command("verify")
    def verify_cmd(
        plan_file: Annotated[Path, typer.Option("--plan", help="the plan's JSON (`orderly plan --json`/--out)")],
        date: Annotated[str | None, typer.Option("--date", help="the day to verify (default: the plan's first)")]
        = None,
        adjust: Annotated[str, typer.Option("--adjust", help="baseline day-of adjustment: before | none")]
        = "before",
        as_json: Annotated[bool, typer.Option("--json", help="print the verification as JSON")] = False,
        publish: Annotated[bool, typer.Option("--publish", help="write orderly_compliance points (dashboard, "
                                              "bank API)")] = False,
    ) -> None:
        """Verify an orderly-use event from the meters: each enterprise's load in the event hours against its
        baseline (核验)."""
        if adjust not in ("before", "none"):
            fail(f"--adjust {adjust!r} must be before or none", EXIT_BAD_INPUT)
        try:
            if plan_file.stat().st_size > MAX_PLAN_BYTES:
                fail(f"--plan {plan_file}: larger than {MAX_PLAN_BYTES // 2**20} MiB", EXIT_BAD_INPUT)
            doc = json.loads(plan_file.read_text(encoding="utf-8"))
        except (OSError, UnicodeDecodeError, json.JSONDecodeError) as exc:
            fail(f"--plan {plan_file}: not a readable plan JSON ({exc})", EXIT_BAD_INPUT)

        from analytics.orderly.job import compliance_lines, make_verification, planned_from_json
        from core.influx import InfluxError, InfluxV1
        from core.settings import get_settings

        try:
            day = _date(date, "--date") if date else dt.date.fromisoformat(str(doc["date"]))
            window, planned, security = planned_from_json(doc, day)
            rounds = [dt.date.fromisoformat(r["date"]) for r in doc.get("rounds") or []]
        except (KeyError, TypeError, ValueError, AttributeError) as exc:
            fail(f"--plan {plan_file}: not a plan of `enerdiag orderly plan` ({exc})", EXIT_BAD_INPUT)
        enterprises, facts = _registry()
        try:
            with InfluxV1.from_settings(get_settings()) as influx:
                result = make_verification(influx, enterprises, facts, window, planned, security,
                                           exclude=[d for d in rounds if d != day], adjust=adjust)
                if publish:
                    influx.write(compliance_lines(result))
        except InfluxError as exc:
            fail(str(exc))
        out = result.to_json()
        _print(out, as_json, verify_text(out))
