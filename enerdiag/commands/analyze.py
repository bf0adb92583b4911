"""`enerdiag rollup` and `enerdiag analyze`: bring rollups up to date; energy, carbon and quota per enterprise."""

from __future__ import annotations

import datetime as dt
import json
import sys
from typing import Annotated, Any
from zoneinfo import ZoneInfo

import typer
from sqlalchemy.exc import SQLAlchemyError

from analytics.analyze_job import activity as activity_index
from analytics.analyze_job import analyze as run_analyze
from analytics.analyze_job import over_quota_rows
from analytics.coverage import read_uncovered, uncovered_warning
from analytics.enterprise import EnterpriseInfo
from analytics.quota import NOT_APPLICABLE
from analytics.registry_view import load_enterprises
from analytics.result import AnalysisResult
from analytics.rollup_job import RollupReport, commit_marks, run_rollup
from analytics.summary import AnalyzeOptions
from core.domain import DEFAULT_TIMEZONE
from core.influx import InfluxError, InfluxV1
from core.registry.db import session_scope
from core.settings import get_settings
from enerdiag.commands.dashboards import publish_feed
from enerdiag.errors import EXIT_BAD_INPUT, fail

MAX_PERIOD_DAYS = 3 * 366
"""Longest period `analyze` accepts (the API's 3-year limit, CONTRACTS.md section 5)."""


def _date(value: str, option: str) -> dt.date:
    try:
        return dt.date.fromisoformat(value)
    except ValueError:
        fail(f"{option} {value!r} is not a date (YYYY-MM-DD)", EXIT_BAD_INPUT)


def _enterprises(code: str | None) -> list[EnterpriseInfo]:
    try:
        with session_scope() as session:
            found = load_enterprises(session, [code] if code else None)
    except SQLAlchemyError as exc:
        fail(f"registry database error: {exc.__class__.__name__}: {str(exc).splitlines()[0]}")
    if code and not found:
        fail(f"enterprise {code} is not in the registry", EXIT_BAD_INPUT)
    if not found:
        fail("the registry has no enterprises: load one with `enerdiag registry load FILE.yaml`", EXIT_BAD_INPUT)
    return found


def _influx() -> InfluxV1:
    return InfluxV1.from_settings(get_settings())


FEED_MAX_DAYS = 400
"""Most days one rollup run re-feeds to the dashboards per enterprise (longer: `enerdiag dashboards feed`)."""

FeedPlan = dict[tuple[dt.date, ...], list[EnterpriseInfo]]


def _feed_plan(spans: dict[str, list[tuple[int, int]]],
               enterprises: list[EnterpriseInfo]) -> tuple[list[dt.date], FeedPlan]:
    """The running days (yesterday and today: every enterprise, with the operation index) and, per set of earlier
    local days, the enterprises whose rollups this run recomputed on them (only those are fed again)."""
    now = dt.datetime.now(dt.UTC)
    recent = sorted({(now - dt.timedelta(days=1)).astimezone(ZoneInfo(DEFAULT_TIMEZONE)).date(),
                     now.astimezone(ZoneInfo(DEFAULT_TIMEZONE)).date()})
    by_code = {e.code: e for e in enterprises}
    plan: FeedPlan = {}
    for code, ranges in sorted(spans.items()):
        if code not in by_code:
            continue
        zone = ZoneInfo(by_code[code].timezone or DEFAULT_TIMEZONE)
        days: set[dt.date] = set()
        for lo, hi in ranges:
            first = dt.datetime.fromtimestamp(lo, zone).date()
            last = dt.datetime.fromtimestamp(max(lo, hi - 1), zone).date()
            days.update(first + dt.timedelta(days=k) for k in range((last - first).days + 1))
        earlier = tuple(sorted(days - set(recent))[-FEED_MAX_DAYS:])
        if earlier:
            plan.setdefault(earlier, []).append(by_code[code])
    return recent, plan


def _rollup_with_progress(influx: InfluxV1, enterprises: list[EnterpriseInfo], **options: Any) -> RollupReport:
    """`run_rollup` with a progress bar on a terminal (stderr); plain when stderr is a log."""
    if not sys.stderr.isatty():
        return run_rollup(influx, enterprises, **options)
    from rich.console import Console
    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeRemainingColumn

    with Progress(TextColumn("rollup"), BarColumn(), MofNCompleteColumn(), TimeRemainingColumn(),
                  transient=True, console=Console(stderr=True)) as bar:
        task = bar.add_task("rollup", total=None)
        return run_rollup(influx, enterprises, progress=lambda done, total: bar.update(task, completed=done,
                                                                                         total=total), **options)


def _precompute_credit(influx: InfluxV1, enterprises: list[EnterpriseInfo]) -> Any:
    """Today's credit indicators of the credit-consented ones of `enterprises`, for the bank API (api.precompute)."""
    from api.precompute import precompute_credit
    from core.reference import get_reference
    from core.registry.db import get_engine

    with session_scope() as session:
        return precompute_credit(get_engine(), session, influx, get_reference(), enterprises)


def register(app: typer.Typer) -> None:
    """Attach `rollup` and `analyze` to the root app."""

    @app.command()
    def rollup(
        since: Annotated[str | None, typer.Option("--since", help="repair: also recheck every hour from this "
                                                   "date (YYYY-MM-DD, UTC) against the raw readings, e.g. for "
                                                   "readings written without ingest marks")] = None,
        enterprise: Annotated[str | None, typer.Option("--enterprise", help="only this enterprise")] = None,
        scan_days: Annotated[int, typer.Option("--scan-days", min=0, help="repair: also recheck the last N "
                                               "days against the raw readings")] = 0,
        indicators: Annotated[bool, typer.Option("--indicators/--no-indicators", help="then precompute today's "
                                                 "credit indicators of credit-consented enterprises for the bank "
                                                 "API")] = True,
    ) -> None:
        """Bring rollups up to date: the hours the ingest marks name, whatever their age (running twice changes
        nothing)."""
        since_s = None
        if since is not None:
            since_s = int(dt.datetime.combine(_date(since, "--since"), dt.time(), dt.UTC).timestamp())
        enterprises = _enterprises(enterprise)
        try:
            with _influx() as influx:
                report = _rollup_with_progress(influx, enterprises, since_s=since_s, scan_days=scan_days,
                                               only=enterprise is not None, commit=False)
                recent, earlier = _feed_plan(report.spans, enterprises)
                feed = publish_feed(influx, enterprises, recent, with_activity=enterprise is None)
                for days, group in earlier.items():
                    more = publish_feed(influx, group, list(days), with_activity=False)
                    feed.analysis_points += more.analysis_points
                    feed.finding_points += more.finding_points
                commit_marks(influx, report)  # only now: a run that stops before here redoes these marks
                precomputed = _precompute_credit(influx, enterprises) if indicators else None
        except InfluxError as exc:
            fail(str(exc))
        fed = sorted({*recent, *(d for days in earlier for d in days)})
        stale = [d for d in fed if d < recent[0]]
        activity = (f"; the operation index of {len(stale)} earlier day(s) is not refreshed: `enerdiag dashboards "
                    f"feed --from {stale[0]} --to {stale[-1] + dt.timedelta(days=1)}`") if (
            stale and enterprise is None) else ""
        print(f"dashboard feed: {len(fed)} day(s), {feed.analysis_points} enterprise_analysis, "
              f"{feed.finding_points} finding points{activity}", file=sys.stderr)
        if precomputed is not None:
            failed = "".join(f"; {code}: {why}" for code, why in sorted(precomputed.failed.items()))
            print(f"credit indicators: {precomputed.enterprises} enterprise(s) precomputed in "
                  f"{precomputed.seconds:.1f} s{failed}", file=sys.stderr)
        unknown = f"; {len(report.unknown_enterprises)} unknown enterprise(s) skipped" if (
            report.unknown_enterprises) else ""
        spans = sum(len(r) for r in report.spans.values())
        print(f"rollup: {len(report.dirty)} of {report.enterprises} enterprise(s) recomputed from "
              f"{report.marks} ingest mark(s), {spans} span(s) in {report.chunks} chunk(s), "
              f"{report.hours} hourly, {report.days} daily, {report.enterprise_days} enterprise-daily, "
              f"{report.months} monthly points in {report.seconds:.1f} s{unknown}", file=sys.stderr)

    @app.command()
    def analyze(
        date_from: Annotated[str, typer.Option("--from", help="first local day (YYYY-MM-DD)")],
        date_to: Annotated[str, typer.Option("--to", help="day after the last (YYYY-MM-DD); the period is "
                                             "[from, to) in each enterprise's local time")],
        enterprise: Annotated[str | None, typer.Option("--enterprise", help="only this enterprise")] = None,
        as_json: Annotated[bool, typer.Option("--json", help="print the JSON array (CONTRACTS.md §6)")] = False,
        over_quota: Annotated[bool, typer.Option("--over-quota", help="list over-quota enterprises, worst "
                                                 "first")] = False,
        method: Annotated[str, typer.Option("--method", help="electricity coefficient: equivalent (当量值) | "
                                            "equal (等价值)")] = "equivalent",
        region: Annotated[str | None, typer.Option(
            "--region", help="grid factor series instead of the enterprise's own (default: its province's, else "
                             "its regional grid's, else national): national, a province (shanxi), a regional grid")
        ] = None,
        activity_by: Annotated[str | None, typer.Option("--activity", help="city operation index by county or "
                                                        "industry against --base-from/--base-to")] = None,
        base_from: Annotated[str | None, typer.Option("--base-from", help="reference period start")] = None,
        base_to: Annotated[str | None, typer.Option("--base-to", help="reference period end (exclusive)")] = None,
        as_of: Annotated[str | None, typer.Option("--as-of", help="carbon budget position: first day without "
                                                  "complete data (YYYY-MM-DD, default today)")] = None,
        findings: Annotated[bool, typer.Option("--findings/--no-findings", help="run the energy-saving "
                                               "diagnosis (reads hourly rollups)")] = True,
    ) -> None:
        """Energy (tce), carbon, intensity and quota compliance per enterprise for a period (能耗、碳排放、限额)."""
        start, end = _date(date_from, "--from"), _date(date_to, "--to")
        if end <= start:
            fail(f"--to {end} must be after --from {start}", EXIT_BAD_INPUT)
        if (end - start).days > MAX_PERIOD_DAYS:
            fail(f"the period {start} to {end} is longer than 3 years", EXIT_BAD_INPUT)
        if method not in ("equivalent", "equal"):
            fail(f"--method {method!r} must be equivalent or equal", EXIT_BAD_INPUT)
        from core.reference import ReferenceLookupError, get_reference

        try:
            reference = get_reference()
        except ValueError as exc:
            fail(f"reference data: {exc}")
        enterprises = _enterprises(enterprise)
        if activity_by is not None:
            _activity(enterprises, (start, end), activity_by, base_from, base_to, reference, as_json)
            return
        options = AnalyzeOptions(method=method, region=region,  # type: ignore[arg-type]
                                 as_of=_date(as_of, "--as-of") if as_of is not None else None)
        try:
            with _influx() as influx:
                results = run_analyze(influx, enterprises, start, end, reference, options)
                uncovered = read_uncovered(influx, enterprises, start, end)
                if findings and not over_quota:
                    results = _with_findings(influx, enterprises, results, start, end, reference)
        except InfluxError as exc:
            fail(str(exc))
        except ReferenceLookupError as exc:
            fail(str(exc), EXIT_BAD_INPUT)
        if over_quota:
            rows = over_quota_rows(results)
            if as_json:
                print(json.dumps(rows, ensure_ascii=False, indent=2))
            else:
                _print_over_quota(rows)
            return
        results = _with_uncovered(results, uncovered, start)
        if as_json:
            print(json.dumps([r.to_json() for r in results], ensure_ascii=False, indent=2))
        else:
            _print_table(results)


def _with_uncovered(results: list[AnalysisResult], uncovered: dict[str, tuple[int, int]],
                    start: dt.date) -> list[AnalysisResult]:
    """Raw readings the rollups do not cover: in each result (`coverage.rollup`, a warning) and on stderr."""
    behind, out = [], []
    for result in results:
        raw, rolled = uncovered.get(result.enterprise, (0, 0))
        warning = uncovered_warning(raw, rolled, start)
        out.append(result.with_rollup_coverage(raw, rolled, warning))
        if warning is not None:
            behind.append(result.enterprise)
    if behind:
        print(f"warning: {len(behind)} enterprise(s) have raw readings in the period that the rollups do not cover "
              f"({', '.join(behind[:5])}{', …' if len(behind) > 5 else ''}): run `enerdiag rollup --since "
              f"{start.isoformat()}` and analyze again", file=sys.stderr)
    return out


def _with_findings(influx: Any, enterprises: list[Any], results: list[AnalysisResult], start: dt.date, end: dt.date,
                   reference: Any) -> list[AnalysisResult]:
    """Each result with the diagnosis (analytics/diagnosis) of the same period, and the findings it withheld."""
    from analytics.report.job import all_registry_facts, diagnose_enterprises

    with session_scope() as session:
        facts = all_registry_facts(session, start.year)
    withheld: dict[str, list[dict[str, Any]]] = {}
    found = diagnose_enterprises(influx, enterprises, facts, start, end, reference, withheld=withheld)
    return [r.with_findings(found.get(r.enterprise, []), withheld.get(r.enterprise, [])) for r in results]


def _activity(enterprises: list[EnterpriseInfo], period: tuple[dt.date, dt.date], by: str, base_from: str | None,
              base_to: str | None, reference: Any, as_json: bool) -> None:
    if by not in ("county", "industry"):
        fail(f"--activity {by!r} must be county or industry", EXIT_BAD_INPUT)
    if base_from is None or base_to is None:
        fail("--activity needs the reference period: --base-from DATE --base-to DATE", EXIT_BAD_INPUT)
    base = (_date(base_from, "--base-from"), _date(base_to, "--base-to"))
    if base[1] <= base[0]:
        fail(f"--base-to {base[1]} must be after --base-from {base[0]}", EXIT_BAD_INPUT)
    try:
        with _influx() as influx:
            groups, rows = activity_index(influx, enterprises, period, base, reference, by)
    except InfluxError as exc:
        fail(str(exc))
    out = [{
        by: g.group, "index": None if g.index is None else round(g.index, 2), "enterprises": g.enterprises,
        "excluded": g.excluded, "tce_per_day": round(g.current_tce_per_day, 6),
        "base_tce_per_day": round(g.reference_tce_per_day, 6), "from": period[0].isoformat(),
        "to": period[1].isoformat(), "base_from": base[0].isoformat(), "base_to": base[1].isoformat(),
        "excluded_enterprises": [{"enterprise": r.code, "reason": r.reason} for r in rows
                                 if r.group == g.group and r.reason is not None],
    } for g in groups]
    if as_json:
        print(json.dumps(out, ensure_ascii=False, indent=2))
        return
    print(f"{'区县/行业 ' + by:<16} | 指数 index | 企业 n | 排除 excluded | tce/日 (本期/基期)")
    for g in out:
        index = "n/a" if g["index"] is None else f"{g['index']:.1f}"
        print(f"{g[by]:<16} | {index:>10} | {g['enterprises']:>6} | {g['excluded']:>13} | "
              f"{g['tce_per_day']:.3f} / {g['base_tce_per_day']:.3f}")


def _print_table(results: list[AnalysisResult]) -> None:
    print("企业 enterprise       | 综合能耗 tce | CO2 t      | 产量 t     | 单耗 kgce/t | 限额 quota")
    for r in results:
        q = r.quota
        quota = q.status
        if q.status != NOT_APPLICABLE:
            quota = f"{q.status} (grade {q.grade or '>3'}, limit {q.limit})"
        print(f"{r.enterprise:<20} | {_num(r.tce, 11, 3)} | {_num(r.co2_t, 10, 3)} | "
              f"{_num(r.output_t, 10, 3)} | {_num(r.intensity_kgce_per_t, 11, 2)} | {quota}")
        coverage = r.coverage.enterprise if r.coverage is not None else None
        if coverage is not None and coverage < 0.9:
            print(f"  完整率 completeness {coverage:.0%}: " + "; ".join(r.warnings))


def _num(value: float | None, width: int, decimals: int) -> str:
    """A table cell: the number, or — for null (no data, or a reference value that cannot be cited), never 0."""
    return f"{value:>{width}.{decimals}f}" if value is not None else f"{'—':>{width}}"


def _print_over_quota(rows: list[dict[str, Any]]) -> None:
    if not rows:
        print("没有超限额企业 (no enterprise above its quota limit)")
        return
    print("排名 | 企业 enterprise       | 产品 product      | 单耗 value | 限额 limit | 超出 gap/unit | 超出 tce")
    for r in rows:
        print(f"{r['rank']:>4} | {r['enterprise']:<20} | {r['product'] or '':<16} | {r['value']:>10.2f} | "
              f"{r['limit']:>10.2f} | {r['gap_per_unit']:>13.2f} | {r['gap_tce']:>8.3f}")

