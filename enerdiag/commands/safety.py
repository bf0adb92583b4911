"""`enerdiag alarms` (list electrical-safety alarms) and `enerdiag safety watch|scan|rules` (安全用电监测)."""

from __future__ import annotations

import datetime as dt
import signal
import sys
import threading
from pathlib import Path
from typing import TYPE_CHECKING, Annotated
from zoneinfo import ZoneInfo

import orjson
import typer

from core.domain import DEFAULT_TIMEZONE
from enerdiag.errors import EXIT_BAD_INPUT, fail
from enerdiag.logs import configure_logging

if TYPE_CHECKING:
    from analytics.safety.context import SafetyContext
    from analytics.safety.thresholds import RuleSet

RULES_OPTION = Annotated[Path | None, typer.Option(
    "--rules", help="threshold override file (YAML; default $ENERDIAG_SAFETY_RULES or DATA_DIR/safety_rules.yaml)")]


def _when(text: str, option: str) -> int:
    """Epoch seconds of a date or ISO date-time option; without offset read in Asia/Shanghai."""
    try:
        when = dt.datetime.fromisoformat(text.strip())
    except ValueError:
        fail(f"{option} {text!r}: not a date (YYYY-MM-DD) or ISO date-time", EXIT_BAD_INPUT)
    if when.tzinfo is None:
        when = when.replace(tzinfo=ZoneInfo(DEFAULT_TIMEZONE))
    return int(when.timestamp())


def _ruleset(rules: Path | None) -> RuleSet:
    from analytics.safety.context import load_ruleset, rules_path
    from analytics.safety.thresholds import RulesFileError
    from core.settings import get_settings

    path = rules_path(rules, get_settings().data_dir)
    if path is not None and not path.exists():
        fail(f"safety rules file {path} does not exist", EXIT_BAD_INPUT)
    try:
        return load_ruleset(path)
    except RulesFileError as exc:
        fail(str(exc), EXIT_BAD_INPUT)


def register(app: typer.Typer) -> None:
    """Attach `alarms` and the `safety` group to the root app."""

    @app.command()
    def alarms(
        enterprise: Annotated[str | None, typer.Option(help="only this enterprise (credit code)")] = None,
        open_only: Annotated[bool, typer.Option("--open", help="only alarms still open")] = False,
        since: Annotated[str | None, typer.Option(help="started (or still open) at or after DATE")] = None,
        as_json: Annotated[bool, typer.Option("--json", help="print a JSON array")] = False,
        limit: Annotated[int, typer.Option(min=1, help="at most this many, newest first")] = 1000,
    ) -> None:
        """List electrical-safety alarms: rule, meter, start, end, peak, severity (安全用电告警)."""
        from analytics.safety.rules import RULES
        from analytics.safety.store import FILENAME, AlarmStore
        from core.settings import get_settings

        since_s = _when(since, "--since") if since else None
        path = get_settings().data_dir / FILENAME
        found = []
        if path.exists():
            store = AlarmStore(path)
            try:
                found = store.list(enterprise, open_only, since_s, limit)
            finally:
                store.close()
        if as_json:
            sys.stdout.write(orjson.dumps([a.to_json() for a in found]).decode() + "\n")
            return
        if not found:
            print("没有告警 (no alarms)")
            return
        tz = ZoneInfo(DEFAULT_TIMEZONE)
        print(f"{'开始 start':<20} {'结束 end':<20} {'级别 severity':<13} {'规则 rule':<16} {'峰值 peak':>12}  "
              f"企业/表计 enterprise/meter  说明")
        for a in found:
            end = a.end.astimezone(tz).strftime("%Y-%m-%d %H:%M:%S") if a.end else "进行中 open"
            unit = RULES[a.rule].unit
            print(f"{a.start.astimezone(tz).strftime('%Y-%m-%d %H:%M:%S'):<20} {end:<20} {a.severity.label:<13} "
                  f"{a.rule:<16} {a.peak:>9.1f} {unit:<3} {a.enterprise}/{a.meter}  {RULES[a.rule].title_zh}")

    safety = typer.Typer(help="Electrical-safety monitoring (安全用电监测): streaming watcher, batch scan, rules.",
                         no_args_is_help=True)

    @safety.command()
    def watch(
        rules: RULES_OPTION = None,
        client_id: Annotated[str, typer.Option(help="fixed MQTT client id (persistent session)")] = "enerdiag-safety",
        shared_group: Annotated[str, typer.Option(
            help="subscribe through $share/NAME/em/v1/+/+/telemetry ('' for a plain subscription)")
        ] = "enerdiag-safety",
        all_meters: Annotated[bool, typer.Option(
            help="watch every meter that sends safety quantities, not only registry `safety` meters (development)")
        ] = False,
        verbose: Annotated[bool, typer.Option("--verbose", "-v")] = False,
    ) -> None:
        """Evaluate the safety rules on live telemetry until SIGINT/SIGTERM; alarms to InfluxDB and the list."""
        from analytics.safety.context import load_context, load_ruleset, rules_path
        from analytics.safety.watch import WatchConfig, Watcher, watcher_mqtt_url
        from core.settings import get_settings

        configure_logging(verbose)
        s = get_settings()
        _ruleset(rules)  # a bad file stops here with exit 2 and FILE:LINE

        def context() -> SafetyContext:  # re-read every minute: registry and rules changes apply live
            return load_context(load_ruleset(rules_path(rules, s.data_dir)), s.registry_url, all_meters)

        try:
            context()
        except Exception as exc:
            fail(f"cannot read the registry at {s.registry_url}: {exc}")
        try:
            mqtt_url = watcher_mqtt_url(s.safety_mqtt_url, s.mqtt_url)
        except ValueError as exc:
            fail(str(exc), EXIT_BAD_INPUT)
        config = WatchConfig(
            mqtt_url=mqtt_url, influx_url=s.influx_url, influx_db=s.influx_db, influx_token=s.influx_token,
            data_dir=s.data_dir, client_id=client_id, shared_group=shared_group or None,
        )
        stop = threading.Event()
        signal.signal(signal.SIGTERM, lambda *_: stop.set())
        signal.signal(signal.SIGINT, lambda *_: stop.set())
        Watcher(config, context).run(stop)

    @safety.command()
    def scan(
        from_: Annotated[str, typer.Option("--from", help="start DATE or date-time (inclusive)")],
        to: Annotated[str, typer.Option("--to", help="end DATE or date-time (exclusive)")],
        enterprise: Annotated[str | None, typer.Option(help="only this enterprise (credit code)")] = None,
        rules: RULES_OPTION = None,
        all_meters: Annotated[bool, typer.Option(help="every meter with safety quantities (development)")] = False,
        as_json: Annotated[bool, typer.Option("--json", help="print the alarms found as a JSON array")] = False,
    ) -> None:
        """Evaluate the rules over stored readings (backfills, late data) and store the alarms found."""
        from analytics.safety.context import load_context
        from analytics.safety.scan import scan as run_scan
        from analytics.safety.store import AlarmStore, alarm_lines
        from core.influx import InfluxError, InfluxV1
        from core.settings import get_settings

        start_s, end_s = _when(from_, "--from"), _when(to, "--to")
        if end_s <= start_s:
            fail(f"--to {to} is not after --from {from_}", EXIT_BAD_INPUT)
        s = get_settings()
        ctx = load_context(_ruleset(rules), s.registry_url, all_meters)
        try:
            with InfluxV1.from_settings(s) as influx:
                found = run_scan(influx, ctx, start_s, end_s, enterprise)
                influx.write(alarm_lines(found))
        except InfluxError as exc:
            fail(str(exc))
        store = AlarmStore.in_dir(s.data_dir)
        try:
            store.upsert(found)
        finally:
            store.close()
        if as_json:
            sys.stdout.write(orjson.dumps([a.to_json() for a in found]).decode() + "\n")
        else:
            print(f"{len(found)} alarms ({sum(a.is_open for a in found)} open at the end of the period)")

    @safety.command(name="rules")
    def show_rules(
        rules: RULES_OPTION = None,
        enterprise: Annotated[str | None, typer.Option(help="resolve for this enterprise")] = None,
        meter: Annotated[str | None, typer.Option(help="resolve for this meter (with --enterprise)")] = None,
    ) -> None:
        """Check the override file and print the thresholds in force (JSON), with their sources."""
        import dataclasses

        from analytics.safety.thresholds import SOURCES

        ruleset = _ruleset(rules)
        t = ruleset.for_meter(enterprise or "", meter or "")
        out = {
            "file": ruleset.source,
            "thresholds": dataclasses.asdict(t),
            "sources": {k: {"source": v[0], "confidence": v[1]} for k, v in SOURCES.items()},
        }
        sys.stdout.write(orjson.dumps(out, option=orjson.OPT_INDENT_2).decode() + "\n")

    app.add_typer(safety, name="safety")
