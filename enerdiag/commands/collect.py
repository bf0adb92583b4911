"""`enerdiag collect` (the MQTT collector) and `enerdiag deadletters` (what it rejected and why)."""

from __future__ import annotations

import datetime as dt
import logging
import signal
import sys
import threading
from typing import Annotated
from zoneinfo import ZoneInfo

import orjson
import typer

from collector.guard import GuardLimits
from core.domain import DEFAULT_TIMEZONE
from enerdiag.errors import EXIT_BAD_INPUT, fail
from enerdiag.logs import configure_logging


def parse_since(text: str, tz: str = DEFAULT_TIMEZONE) -> float:
    """Epoch seconds of a `--since` value: a date or ISO date-time; without offset read in `tz`."""
    try:
        when = dt.datetime.fromisoformat(text.strip())
    except ValueError:
        fail(f"--since {text!r}: not a date (YYYY-MM-DD) or ISO date-time", EXIT_BAD_INPUT)
    if when.tzinfo is None:
        when = when.replace(tzinfo=ZoneInfo(tz))
    return when.timestamp()


def register(app: typer.Typer) -> None:
    """Attach `collect` and `deadletters` to the root app."""

    @app.command()
    def collect(
        shared_group: Annotated[str | None, typer.Option(
            help="subscribe through $share/NAME/em/v1/+/+/telemetry so N collectors split the stream")] = None,
        client_id: Annotated[str | None, typer.Option(
            help="MQTT client id (default ENERDIAG_MQTT_CLIENT_ID); fixed per process for its persistent session")
        ] = None,
        metrics_port: Annotated[int | None, typer.Option(
            help="serve Prometheus text on 127.0.0.1:PORT/metrics")] = None,
        batch_lines: Annotated[int, typer.Option(min=1, help="flush after this many readings")] = 5000,
        batch_age: Annotated[float, typer.Option(min=0.01, help="flush after this many seconds")] = 0.2,
        receive_maximum: Annotated[int, typer.Option(min=1, max=65535,
                                                     help="unacknowledged messages the broker may send")] = 5000,
        spool_max_mb: Annotated[int, typer.Option(min=1, help="spool bound in MiB (then backpressure)")] = 1024,
        open_registry: Annotated[bool, typer.Option(
            help="accept any valid credit code and gateway without the registry (development, benchmarks)")] = False,
        log_every: Annotated[float, typer.Option(help="log the counters every N seconds")] = 30.0,
        stats_every: Annotated[float, typer.Option(min=0, help="write collector_stats and deadletter_count "
                                                   "points to InfluxDB every N seconds (0: never)")] = 10.0,
        gateway_rate: Annotated[float, typer.Option(
            min=0.001, help="messages per second a gateway may send, sustained (more: dead-lettered rate_limited)")
        ] = GuardLimits.rate,
        gateway_burst: Annotated[int, typer.Option(min=1, help="messages a gateway may send at once")
                                 ] = GuardLimits.burst,
        gateway_meters: Annotated[int, typer.Option(
            min=1, help="distinct meter ids a gateway may name per hour (more: too_many_meters)")
        ] = GuardLimits.max_meters,
        verbose: Annotated[bool, typer.Option("--verbose", "-v")] = False,
    ) -> None:
        """Run the MQTT collector until SIGINT/SIGTERM, then drain and exit 0 (采集器)."""
        from collector.registry_view import RegistrySnapshot, load_snapshot
        from collector.service import Collector, CollectorConfig
        from core.settings import get_settings

        configure_logging(verbose)
        s = get_settings()
        if open_registry:
            def registry() -> RegistrySnapshot:
                return RegistrySnapshot(open_mode=True)
        else:
            def registry() -> RegistrySnapshot:
                return load_snapshot(s.registry_url)
        try:
            snapshot = registry()
        except Exception as exc:
            fail(f"cannot read the registry at {s.registry_url}: {exc}")
        if not open_registry and not snapshot.timezones:
            logging.getLogger("enerdiag.collector").warning(
                "the registry at %s has no enterprises: every message will be dead-lettered (unknown_enterprise) "
                "until `enerdiag registry load` fills it", s.registry_url)
        config = CollectorConfig(
            mqtt_url=s.mqtt_url,
            client_id=client_id or s.mqtt_client_id,
            influx_url=s.influx_url,
            influx_db=s.influx_db,
            influx_token=s.influx_token,
            influx_raw_rp=s.influx_raw_rp,
            data_dir=s.data_dir,
            shared_group=shared_group,
            batch_lines=batch_lines,
            batch_age=batch_age,
            receive_maximum=receive_maximum,
            spool_max_bytes=spool_max_mb << 20,
            metrics_port=metrics_port,
            log_every=log_every,
            stats_every=stats_every,
            guard=GuardLimits(rate=gateway_rate, burst=gateway_burst, max_meters=gateway_meters),
        )
        stop = threading.Event()
        signal.signal(signal.SIGTERM, lambda *_: stop.set())
        signal.signal(signal.SIGINT, lambda *_: stop.set())
        collector = Collector(config, registry)
        collector.run(stop)

    @app.command()
    def deadletters(
        enterprise: Annotated[str | None, typer.Option(help="only this enterprise (credit code)")] = None,
        since: Annotated[str | None, typer.Option(help="received at or after DATE / date-time (Asia/Shanghai)")] = None,
        as_json: Annotated[bool, typer.Option("--json", help="print a JSON array")] = False,
        count: Annotated[bool, typer.Option("--count", help="print counts per reason instead of the letters")] = False,
        limit: Annotated[int, typer.Option(min=1, help="at most this many, newest first")] = 1000,
    ) -> None:
        """List dead letters: reason, topic, time, payload excerpt (死信)."""
        from collector.deadletters import FILENAME, DeadLetterStore
        from core.settings import get_settings

        path = get_settings().data_dir / FILENAME
        since_s = parse_since(since) if since else None
        if not path.exists():
            letters, counts = [], {}
        else:
            store = DeadLetterStore(path)
            letters = [] if count else store.list(enterprise, since_s, limit)
            counts = store.count(enterprise, since_s) if count else {}
            store.close()
        if count:
            if as_json:
                sys.stdout.write(orjson.dumps(counts).decode() + "\n")
            else:
                for reason, n in counts.items():
                    print(f"{n:>10}  {reason}")
                print(f"{sum(counts.values()):>10}  total")
            return
        if as_json:
            sys.stdout.write(orjson.dumps([d.as_json() for d in letters], option=orjson.OPT_INDENT_2).decode() + "\n")
            return
        tz = ZoneInfo(DEFAULT_TIMEZONE)
        for d in letters:
            when = dt.datetime.fromtimestamp(d.received_at, tz).isoformat(timespec="seconds")
            excerpt = d.payload[:120].decode("utf-8", "replace").replace("\n", " ")
            print(f"{when}  {d.reason:<18} {d.topic}\n    {d.detail}\n    {excerpt}")
        print(f"{len(letters)} dead letter(s)", file=sys.stderr)
