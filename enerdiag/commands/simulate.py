"""`enerdiag simulate city|replay`: simulated plants and replayed real meter data, published over MQTT."""

from __future__ import annotations

import datetime as dt
import json
import signal
import sys
import threading
from collections.abc import Callable, Iterator, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any

import typer

from core.settings import get_settings
from enerdiag.errors import EXIT_BAD_INPUT, fail

if TYPE_CHECKING:
    from simulators.city import CityConfig
    from simulators.gateway import BrokerAddress, GatewayIdentity
    from simulators.messages import Message
    from simulators.plant import PlantSpec
    from simulators.runner import FileSink, MqttSink
    from simulators.timeline import Timeline

simulate_app = typer.Typer(
    help="Simulated SME plants and gateways (模拟企业与网关): backfill, real time, replay of real data.",
    no_args_is_help=True,
)

MODES = ("backfill", "realtime")


def _csv(value: str | None) -> tuple[str, ...] | None:
    return tuple(v.strip() for v in value.split(",") if v.strip()) if value else None


def _date(value: str | None, option: str) -> dt.date | None:
    if value is None:
        return None
    try:
        return dt.date.fromisoformat(value)
    except ValueError:
        fail(f"{option}: {value!r} is not a date (YYYY-MM-DD)", EXIT_BAD_INPUT)


def _broker(mqtt_url: str | None) -> BrokerAddress:
    from simulators.gateway import parse_mqtt_url

    url = mqtt_url or get_settings().mqtt_url
    try:
        return parse_mqtt_url(url)
    except ValueError as exc:
        fail(str(exc), EXIT_BAD_INPUT)


def _stop_on_signals() -> threading.Event:
    stop = threading.Event()
    for sig in (signal.SIGINT, signal.SIGTERM):
        signal.signal(sig, lambda *_: stop.set())
    return stop


@simulate_app.command("city")
def city_command(
    plants: Annotated[int, typer.Option(help="number of plants (enterprises)", min=1)] = 20,
    seed: Annotated[int, typer.Option(help="random seed: the same seed gives the same city and data")] = 1,
    days: Annotated[int, typer.Option(help="backfill: past days to publish; realtime: problem window", min=1)] = 30,
    mode: Annotated[str, typer.Option(help="backfill (past days, fast) or realtime")] = "backfill",
    step: Annotated[int | None, typer.Option(help="seconds per reading (default 900 backfill, 60 realtime)")] = None,
    problem_share: Annotated[float, typer.Option(help="share of plants with injected problems (0..1)")] = 0.3,
    problems: Annotated[str | None, typer.Option(help="only these problem kinds (comma-separated)")] = None,
    industries: Annotated[str | None, typer.Option(help="only these industries (comma-separated)")] = None,
    faults: Annotated[str | None, typer.Option(help="transport faults to inject (comma-separated, or 'all')")] = None,
    fault_share: Annotated[float, typer.Option(help="share of plants with the faults (0..1)")] = 0.2,
    safety_faults: Annotated[
        bool, typer.Option("--safety-faults", help="backfill: inject electrical-safety faults on the safety meters")
    ] = False,
    safety_share: Annotated[
        float | None, typer.Option(help="share of plants with a safety meter (0..1; default: food and machinery)")
    ] = None,
    no_output_share: Annotated[
        float, typer.Option(help="share of plants without an output meter (production counter), 0..1")
    ] = 0.0,
    safety_max_per_day: Annotated[
        int, typer.Option(help="--safety-faults: at most this many faults per safety meter and day (0..6)")
    ] = 1,
    end: Annotated[str | None, typer.Option(help="backfill: first day NOT published (default today)")] = None,
    start: Annotated[str | None, typer.Option(help="realtime: simulated start, ISO date/time (default now)")] = None,
    speed: Annotated[float, typer.Option(help="realtime: clock speed-up until it reaches the wall clock")] = 1.0,
    duration: Annotated[float | None, typer.Option(help="realtime: stop after this many wall seconds")] = None,
    batch_readings: Annotated[int, typer.Option(help="readings per message (≤ 1000)", min=1, max=1000)] = 1000,
    registry_out: Annotated[Path | None, typer.Option(help="write the city's registry YAML here")] = None,
    truth_out: Annotated[Path | None, typer.Option(help="write the ground-truth manifest (JSON) here")] = None,
    weather_out: Annotated[Path | None, typer.Option(help="write the simulated daily outdoor temperature here "
                                                     "(`date,temp_c`, for `enerdiag weather import`)")] = None,
    mqtt_url: Annotated[str | None, typer.Option(help="broker (default: ENERDIAG_MQTT_URL)")] = None,
    dry_run: Annotated[bool, typer.Option("--dry-run", help="do not publish")] = False,
    out: Annotated[Path | None, typer.Option(help="write messages as JSON lines here instead of publishing")] = None,
) -> None:
    """Simulate a city of plants and publish their meters' readings (模拟城市企业并发布计量数据)."""
    from simulators.city import CityConfig
    from simulators.faults import FAULT_KINDS
    from simulators.runner import Backfill, FaultConfig, RealTime, SafetyFaultConfig, local_today

    if mode not in MODES:
        fail(f"--mode must be one of {', '.join(MODES)}, got {mode!r}", EXIT_BAD_INPUT)
    fault_kinds = FAULT_KINDS if faults == "all" else (_csv(faults) or ())
    step_s = step or (900 if mode == "backfill" else 60)
    if step_s <= 0 or 86400 % step_s:
        fail(f"--step: {step_s} s does not divide a day (use e.g. 60, 300, 900, 3600)", EXIT_BAD_INPUT)
    try:
        fault_cfg = FaultConfig(fault_kinds, fault_share if fault_kinds else 0.0)
        safety_cfg = SafetyFaultConfig(safety_faults, safety_max_per_day)
        if mode == "backfill":
            last = _date(end, "--end") or local_today()
            first = last - dt.timedelta(days=days)
        else:
            if fault_kinds:
                raise ValueError("--faults are injected in backfill mode only")
            if safety_faults:
                raise ValueError("--safety-faults are injected in backfill mode only")
            begin = _start(start)
            first = begin.date()
        config = CityConfig(
            plants=plants,
            seed=seed,
            days=tuple(first + dt.timedelta(days=i) for i in range(days)),
            problem_share=problem_share,
            problem_kinds=_csv(problems),
            industries=_csv(industries),
            safety_share=safety_share,
            no_output_share=no_output_share,
        )
        if mode == "backfill":
            run = Backfill.plan(config, step_s, fault_cfg, batch_readings, safety_cfg)
        else:
            realtime = RealTime(config, step_s)
    except ValueError as exc:
        fail(str(exc), EXIT_BAD_INPUT)

    if weather_out is not None:
        _write_weather(weather_out, run.timeline if mode == "backfill" else None, config, step_s)
    if mode == "backfill":
        _write_outputs(registry_out, None, run.registry, run.manifest)  # before publishing: load it first
        messages = run.messages()
        if dry_run and out is None:
            count = sum(1 for _ in messages)
            stats = {"messages": count, "published": False}
        else:
            stats = _publish(messages, run.plants, out, mqtt_url)
        _write_outputs(None, truth_out, run.registry, run.manifest)  # after: message faults are recorded
    else:
        from simulators.registry import registry_document

        _write_outputs(
            registry_out, truth_out, lambda: registry_document(realtime.plants), lambda: realtime.manifest(first)
        )
        if dry_run and out is None:
            stats = {"messages": 0, "published": False}
        else:
            sink = _sink(out, mqtt_url)
            try:
                result = realtime.run(sink, begin.timestamp(), speed, duration, _stop_on_signals())
            except (ConnectionError, TimeoutError, OSError) as exc:
                fail(str(exc))
            stats = result.summary()
    print(json.dumps(stats, ensure_ascii=False))


def _write_weather(path: Path, tl: Timeline | None, config: CityConfig, step_s: int) -> None:
    """The city's simulated daily mean outdoor temperature over its days (the same for every plant)."""
    from simulators import timeline
    from simulators.runner import weather_csv

    tl = tl or timeline.build(config.days[0], len(config.days), step_s, config.seed)
    try:
        path.write_text(weather_csv(tl), encoding="utf-8")
    except OSError as exc:
        fail(f"cannot write output file: {exc}", EXIT_BAD_INPUT)


def _start(value: str | None) -> dt.datetime:
    from simulators.timeline import TZ

    if value is None:
        return dt.datetime.now(TZ)
    try:
        parsed = dt.datetime.fromisoformat(value)
    except ValueError:
        fail(f"--start: {value!r} is not an ISO date or date-time", EXIT_BAD_INPUT)
    return parsed if parsed.tzinfo else parsed.replace(tzinfo=TZ)


def _sink(out: Path | None, mqtt_url: str | None) -> FileSink | MqttSink:
    from simulators.runner import FileSink, MqttSink

    if out is not None:
        try:
            return FileSink(out.open("wb"))
        except OSError as exc:
            fail(f"{out}: cannot write: {exc.strerror}", EXIT_BAD_INPUT)
    return MqttSink(_broker(mqtt_url))


def _publish(
    messages: Iterator[Message],
    plants: Sequence[PlantSpec | GatewayIdentity],
    out: Path | None,
    mqtt_url: str | None,
) -> dict[str, Any]:
    from simulators.runner import publish

    sink = _sink(out, mqtt_url)
    try:
        stats = publish(messages, sink, plants)
    except (ConnectionError, TimeoutError, OSError) as exc:
        fail(str(exc))
    finally:
        if out is not None:
            sink.stream.close()
    summary = stats.summary()
    summary["published"] = out is None
    return summary


def _write_outputs(
    registry_out: Path | None,
    truth_out: Path | None,
    registry: Callable[[], dict[str, Any]],
    manifest: Callable[[], dict[str, Any]],
) -> None:
    from simulators.registry import dump
    from simulators.runner import write_json

    try:
        if registry_out:
            registry_out.write_text(dump(registry()), encoding="utf-8")
        if truth_out:
            write_json(truth_out, manifest())
    except OSError as exc:
        fail(f"cannot write output file: {exc}", EXIT_BAD_INPUT)


@simulate_app.command("replay")
def replay_command(
    file: Annotated[Path, typer.Argument(help="CSV of interval consumption")],
    enterprise: Annotated[str, typer.Option(help="credit code of the enterprise the meter belongs to")],
    meter: Annotated[str, typer.Option(help="meter id")],
    gateway: Annotated[str, typer.Option(help="gateway id")] = "replay",
    password: Annotated[str | None, typer.Option(help="the gateway's MQTT password")] = None,
    time_column: Annotated[str, typer.Option(help="column with the interval's time")] = "date",
    time_format: Annotated[str, typer.Option(help="strptime format of the time column")] = "%d/%m/%Y %H:%M",
    kwh_column: Annotated[str, typer.Option(help="column with kWh per interval")] = "Usage_kWh",
    kvarh_column: Annotated[str, typer.Option(help="column with kvarh per interval ('' for none)")] = (
        "Lagging_Current_Reactive.Power_kVarh"
    ),
    label: Annotated[str, typer.Option(help="the time labels the interval's 'end' or 'start'")] = "end",
    midnight: Annotated[str, typer.Option(help="00:00 rows dated the day before: auto|previous_day|none")] = "auto",
    timezone: Annotated[str, typer.Option(help="time zone of the file's local times")] = "Asia/Shanghai",
    shift_to: Annotated[str | None, typer.Option(help="move the data so it starts on this date")] = None,
    start_kwh: Annotated[float, typer.Option(help="counter value before the first interval")] = 0.0,
    mqtt_url: Annotated[str | None, typer.Option(help="broker (default: ENERDIAG_MQTT_URL)")] = None,
    out: Annotated[Path | None, typer.Option(help="write messages as JSON lines here instead of publishing")] = None,
    registry_out: Annotated[Path | None, typer.Option(help="write a registry YAML for this meter here")] = None,
    name: Annotated[str, typer.Option(help="enterprise name for --registry-out")] = "回放企业 (UCI steel data)",
    industry: Annotated[str, typer.Option(help="GB/T 4754 class for --registry-out")] = "3130",
    county: Annotated[str, typer.Option(help="county for --registry-out")] = "平城区",
) -> None:
    """Replay a CSV of interval consumption as a meter's cumulative counters (真实数据回放)."""
    from core.registry.creditcode import InvalidCreditCode, validate_credit_code
    from simulators.gateway import GatewayIdentity
    from simulators.messages import batch, telemetry_topic
    from simulators.replay import ReplayColumns, ReplayError, counter_readings, read_series

    try:
        code = validate_credit_code(enterprise)
    except InvalidCreditCode as exc:
        fail(f"--enterprise: {exc}", EXIT_BAD_INPUT)
    cols = ReplayColumns(
        time=time_column,
        kwh=kwh_column,
        kvarh=kvarh_column or None,
        time_format=time_format,
        label=label,
        midnight=midnight,
        timezone=timezone,
    )
    try:
        series = read_series(file, cols, _date(shift_to, "--shift-to"))
        readings = counter_readings(series, meter, start_kwh)
        messages = list(batch(readings, telemetry_topic(code, gateway)))
    except (ReplayError, ValueError) as exc:
        fail(str(exc), EXIT_BAD_INPUT)
    if registry_out is not None:
        from simulators.registry import replay_registry

        _write_outputs(
            registry_out, None, lambda: replay_registry(code, name, industry, county, gateway, password, meter), dict
        )
    summary = _publish(iter(messages), [GatewayIdentity(code, gateway, password)], out, mqtt_url)
    summary["total_kwh"] = round(series.total_kwh, 3)
    summary["intervals"] = len(series.epoch_s)
    print(json.dumps(summary, ensure_ascii=False), file=sys.stdout)


def register(app: typer.Typer) -> None:
    """Attach `enerdiag simulate` to the root app."""
    app.add_typer(simulate_app, name="simulate")
