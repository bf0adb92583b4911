"""Backfill and real-time runs: plan the city, simulate, inject faults, and hand messages to a sink.

Sinks are the I/O edge: `MqttSink` (one gateway client per plant) or `FileSink` (JSON lines, for tests
and the collector's benchmark). Everything before the sink is deterministic for a seed.
"""

from __future__ import annotations

import datetime as dt
import heapq
import threading
import time
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO, Any, Protocol

import numpy as np
import orjson

from simulators import registry, timeline, truth
from simulators.city import CityConfig, build_city
from simulators.faults import (
    ARRAY_FAULTS,
    FAULT_KINDS,
    MESSAGE_FAULTS,
    apply_array_faults,
    apply_message_faults,
    iso,
)
from simulators.gateway import BrokerAddress, GatewayClient, GatewayIdentity
from simulators.messages import Message, batch, readings_from_arrays, telemetry_topic
from simulators.netloop import NetworkLoop
from simulators.plant import PlantData, PlantSpec, simulate
from simulators.safety_faults import FAULT_KINDS as SAFETY_FAULT_KINDS
from simulators.safety_faults import SafetyMeter, fault_record, inject_meter
from simulators.timeline import TZ, Timeline


class Sink(Protocol):
    """Where messages go."""

    def open(self, plants: Sequence[GatewayIdentity | PlantSpec]) -> None: ...
    def send(self, message: Message) -> None: ...
    def close(self) -> None: ...


@dataclass(slots=True)
class Stats:
    """What a run published."""

    messages: int = 0
    readings: int = 0
    bytes: int = 0
    status_messages: int = 0
    seconds: float = 0.0
    per_topic: dict[str, int] = field(default_factory=dict)

    def add(self, message: Message) -> None:
        self.messages += 1
        self.readings += message.readings
        self.bytes += len(message.payload)
        self.per_topic[message.topic] = self.per_topic.get(message.topic, 0) + 1

    def summary(self) -> dict[str, Any]:
        rate = self.messages / self.seconds if self.seconds else None
        return {
            "messages": self.messages,
            "readings": self.readings,
            "bytes": self.bytes,
            "status_messages": self.status_messages,
            "seconds": round(self.seconds, 3),
            "messages_per_s": round(rate, 1) if rate else None,
            "readings_per_s": round(self.readings / self.seconds, 1) if self.seconds else None,
        }


class FileSink:
    """Writes each telemetry message as one JSON line: `topic`, `qos`, `retain` and `payload`.

    `payload` is the message's JSON value; a payload that is not JSON (a malformed-payload fault) is
    written as `payload_text` instead. Status messages are not written (they are not telemetry).
    """

    def __init__(self, stream: IO[bytes]) -> None:
        self.stream = stream
        self.stats = Stats()

    def open(self, plants: Sequence[GatewayIdentity | PlantSpec]) -> None:
        return None

    def send(self, message: Message) -> None:
        line: dict[str, Any] = {"topic": message.topic, "qos": 1, "retain": message.retain}
        if _is_json(message.payload):
            line["payload"] = orjson.Fragment(message.payload)
        else:
            line["payload_text"] = message.payload.decode("utf-8", "replace")
        self.stream.write(orjson.dumps(line) + b"\n")
        self.stats.add(message)

    def close(self) -> None:
        self.stream.flush()


def _is_json(payload: bytes) -> bool:
    """Cheap check for our own payloads (they start with an object); parse only the odd ones."""
    if payload.startswith(b'{"ts":') and payload.endswith(b"}"):
        return True
    try:
        orjson.loads(payload)
    except orjson.JSONDecodeError:
        return False
    return True


class MqttSink:
    """One MQTT client per gateway, each with its own credentials, last will and publish throttle."""

    def __init__(
        self,
        broker: BrokerAddress,
        *,
        connect_timeout: float = 30.0,
        client_prefix: str = "sim",
        max_inflight: int = 1000,
    ) -> None:
        self.broker, self.connect_timeout = broker, connect_timeout
        self.client_prefix, self.max_inflight = client_prefix, max_inflight
        self.clients: dict[str, GatewayClient] = {}
        self.stats = Stats()
        self.loop = NetworkLoop()

    def open(self, plants: Sequence[GatewayIdentity | PlantSpec]) -> None:
        self.loop.start()
        for p in plants:
            client = GatewayClient(
                self.broker,
                p.code,
                p.gateway,
                p.password,
                client_prefix=self.client_prefix,
                max_inflight=self.max_inflight,
                loop=self.loop,
            )
            self.clients[telemetry_topic(p.code, p.gateway)] = client
        try:
            for client in self.clients.values():
                client.connect()
            for client in self.clients.values():
                client.wait_connected(self.connect_timeout)
        except (ConnectionError, OSError):
            for client in self.clients.values():
                client.kill()
            self.loop.stop()
            raise
        self.stats.status_messages += len(self.clients)

    def send(self, message: Message) -> None:
        self.clients[message.topic].publish(message.topic, message.payload, message.retain)
        self.stats.add(message)

    def close(self, timeout: float = 120.0) -> None:
        """Wait for every PUBACK, say offline, disconnect every gateway, stop the network thread."""
        try:
            for client in self.clients.values():
                if not client.flush(timeout):
                    raise TimeoutError(
                        f"gateway {client.enterprise}/{client.gateway}: PUBACKs missing after {timeout:.0f} s"
                    )
            for client in self.clients.values():
                client.say_offline()
            for client in self.clients.values():
                client.flush(10.0)
            self.stats.status_messages += len(self.clients)
        finally:
            for client in self.clients.values():
                client.disconnect()
            for client in self.clients.values():
                client.wait_closed(5.0)
            self.loop.stop()


# ---------------------------------------------------------------- planning


@dataclass(frozen=True, slots=True)
class FaultConfig:
    """Which faults, on which share of plants."""

    kinds: tuple[str, ...] = ()
    share: float = 0.0

    def __post_init__(self) -> None:
        unknown = sorted(set(self.kinds) - set(FAULT_KINDS))
        if unknown:
            raise ValueError(f"unknown fault kind(s) {', '.join(unknown)}; known: {', '.join(FAULT_KINDS)}")
        if not 0 <= self.share <= 1:
            raise ValueError(f"fault share must be within 0..1, got {self.share}")


@dataclass(frozen=True, slots=True)
class SafetyFaultConfig:
    """Electrical-safety faults on the plants' safety meters (`enabled`), at most `max_per_day` per meter and day."""

    enabled: bool = False
    max_per_day: int = 1
    transients_per_day: int = 4

    def __post_init__(self) -> None:
        if not 0 <= self.max_per_day <= 6:
            raise ValueError(f"safety faults per day must be within 0..6, got {self.max_per_day}")


def faulted_plants(n: int, seed: int, share: float) -> set[int]:
    """round(share × n) plant indices, chosen by the seed (independently of the problem plants)."""
    rng = np.random.default_rng([seed, 5150])
    return set(rng.choice(n, size=round(share * n), replace=False).tolist()) if n else set()


def backfill_days(end: dt.date, days: int) -> tuple[dt.date, int]:
    """First day and count of the `days` local days before `end` (exclusive)."""
    if days < 1:
        raise ValueError(f"--days must be at least 1, got {days}")
    return end - dt.timedelta(days=days), days


@dataclass(slots=True)
class Backfill:
    """A simulated past period: plants, data, faults, ground truth and registry, ready to publish."""

    config: CityConfig
    timeline: Timeline
    plants: list[PlantSpec]
    data: list[PlantData]
    faults: FaultConfig
    batch_readings: int
    safety: SafetyFaultConfig = field(default_factory=SafetyFaultConfig)
    truth: list[dict[str, Any]] = field(default_factory=list)
    array_faults: dict[int, Any] = field(default_factory=dict)
    message_faults: dict[int, tuple[str, ...]] = field(default_factory=dict)

    @classmethod
    def plan(
        cls,
        config: CityConfig,
        step_s: int,
        faults: FaultConfig = FaultConfig(),
        batch_readings: int = 1000,
        safety: SafetyFaultConfig = SafetyFaultConfig(),
    ) -> Backfill:
        tl = timeline.build(config.days[0], len(config.days), step_s, config.seed)
        plants = build_city(config)
        data = [simulate(p, tl) for p in plants]
        run = cls(config, tl, plants, data, faults, batch_readings, safety)
        run.truth = [truth.plant_truth(p, d, tl) for p, d in zip(plants, data, strict=True)]
        if safety.enabled:
            for index in range(len(plants)):
                run._inject_safety_faults(index)
        if faults.kinds:
            for index in sorted(faulted_plants(len(plants), config.seed, faults.share)):
                rng = np.random.default_rng([config.seed, index, 6060])
                d = data[index]
                kinds = tuple(k for k in faults.kinds if k in ARRAY_FAULTS)
                applied = apply_array_faults(kinds, rng, d.epoch_s, d.values)
                run.array_faults[index] = applied
                run.truth[index]["faults"].extend(applied.records)
                run.message_faults[index] = tuple(k for k in faults.kinds if k in MESSAGE_FAULTS)
        return run

    def _inject_safety_faults(self, index: int) -> None:
        """Faults and transients on plant `index`'s safety meter (if any), recorded in its manifest entry."""
        spec, d, entry = self.plants[index], self.data[index], self.truth[index]
        if entry["safety_meter"] is None:
            return
        meter_id, rated = entry["safety_meter"]["meter"], float(spec.rated_current_a or 630.0)
        rng = np.random.default_rng([self.config.seed, index, 8080])
        values = d.values[meter_id]
        done = inject_meter(
            SafetyMeter(spec.code, meter_id, rated),
            d.epoch_s,
            self.timeline.day_index,
            values,
            rng,
            self.timeline.step_s,
            self.safety.max_per_day,
            self.safety.transients_per_day,
        )
        entry["safety_faults"] = [fault_record(f, d.epoch_s, values, rated, iso) for f in done.faults]
        entry["safety_transients"] = [
            {"meter": meter_id, "at": iso(at), "at_epoch": at, "quantity": q, "value": v}
            for at, q, v in sorted(done.transients)
        ]

    def manifest(self) -> dict[str, Any]:
        safety = {
            "share": self.config.safety_share,
            "meters": sum(1 for t in self.truth if t["safety_meter"]),
            "faults_injected": self.safety.enabled,
            "max_faults_per_meter_per_day": self.safety.max_per_day if self.safety.enabled else 0,
            "transients_per_meter_per_day": self.safety.transients_per_day if self.safety.enabled else 0,
            "fault_kinds": list(SAFETY_FAULT_KINDS),
        }
        return truth.manifest(
            self.truth,
            seed=self.config.seed,
            tl=self.timeline,
            mode="backfill",
            problem_share=self.config.problem_share,
            safety=safety,
        )

    def registry(self) -> dict[str, Any]:
        doc = registry.registry_document(self.plants)
        for index, applied in self.array_faults.items():
            for rec in applied.records:
                if rec["kind"] != "meter_replacement":
                    continue
                meter = next(m for m in doc["enterprises"][index]["meters"] if m["id"] == rec["meter"])
                c = rec["counters"]["energy_kwh"]
                meter.setdefault("events", []).append(
                    {
                        "kind": "replaced",
                        "at": rec["at"],
                        "old_reading": c["old_reading"],
                        "new_reading": c["new_reading"],
                        "note": "simulated meter replacement",
                    }
                )
        return doc

    def plant_messages(self, index: int) -> Iterator[Message]:
        """One gateway's telemetry in send order (message faults applied)."""
        spec, d = self.plants[index], self.data[index]
        topic = telemetry_topic(spec.code, spec.gateway)
        applied = self.array_faults.get(index)
        per_chunk = max(1, self.batch_readings // max(1, len(d.values)))

        def gen() -> Iterator[Message]:
            for s in range(0, len(d.epoch_s), per_chunk):
                sl = slice(s, s + per_chunk)
                values = {m: {q: a[sl] for q, a in qs.items()} for m, qs in d.values.items()}
                keep = {m: k[sl] for m, k in applied.keep.items()} if applied else None
                offset = applied.ts_offset[sl] if applied and applied.ts_offset is not None else None
                readings = readings_from_arrays(d.epoch_s[sl], values, keep, offset)
                if readings:
                    yield from batch(readings, topic, self.batch_readings)

        kinds = self.message_faults.get(index)
        if not kinds:
            return gen()
        rng = np.random.default_rng([self.config.seed, index, 7070])
        msgs, records = apply_message_faults(kinds, rng, list(gen()), topic)
        self.truth[index]["faults"].extend(records)
        return iter(msgs)

    def messages(self) -> Iterator[Message]:
        """All gateways' telemetry, interleaved by time (each gateway keeps its own order)."""
        streams = [self.plant_messages(i) for i in range(len(self.plants))]
        return heapq.merge(*streams, key=lambda m: m.at)


def publish(
    messages: Iterator[Message], sink: Sink, plants: list[PlantSpec], progress: Callable[[int], None] | None = None
) -> Stats:
    """Open the sink (status online), send every message, close (status offline); time it."""
    started = time.perf_counter()
    sink.open(plants)
    try:
        for message in messages:
            sink.send(message)
            if progress:
                progress(1)
    finally:
        sink.close()
    stats: Stats = sink.stats  # type: ignore[attr-defined]
    stats.seconds = time.perf_counter() - started
    return stats


# ---------------------------------------------------------------- real time


@dataclass(slots=True)
class RealTime:
    """Plants publishing one message per step as the (optionally accelerated) clock passes each step end.

    The simulated clock starts at `start` and runs `speed` times faster than the wall clock until it
    catches up with it; from then on it is the wall clock (readings never lie in the future).
    """

    config: CityConfig
    step_s: int
    plants: list[PlantSpec] = field(default_factory=list)
    _day: dt.date | None = None
    _data: list[PlantData] = field(default_factory=list)
    _tl: Timeline | None = None
    _counters: list[dict[str, dict[str, float]] | None] = field(default_factory=list)
    busy_s: float = 0.0  # wall seconds spent building and sending steps (the rest is waiting)
    steps: int = 0

    def __post_init__(self) -> None:
        self.plants = build_city(self.config)
        self._counters = [None] * len(self.plants)

    def manifest(self, start: dt.date) -> dict[str, Any]:
        tl = timeline.build(start, 1, self.step_s, self.config.seed)
        plants = [truth.planned_truth(p) for p in self.plants]
        safety = {
            "share": self.config.safety_share,
            "meters": sum(1 for t in plants if t["safety_meter"]),
            "faults_injected": False,
        }
        doc = truth.manifest(
            plants,
            seed=self.config.seed,
            tl=tl,
            mode="realtime",
            problem_share=self.config.problem_share,
            safety=safety,
        )
        doc["to"] = None
        return doc

    def _ensure_day(self, day: dt.date) -> None:
        if self._day == day:
            return
        if self._day is not None and day != self._day + dt.timedelta(days=1):
            self._counters = [None] * len(self.plants)  # a jump: restart registers (should not happen)
        elif self._data:
            self._counters = [d.end_counters for d in self._data]
        self._tl = timeline.build(day, 1, self.step_s, self.config.seed)
        self._data = [simulate(p, self._tl, c) for p, c in zip(self.plants, self._counters, strict=True)]
        self._day = day

    def step_messages(self, end_epoch: int) -> list[Message]:
        """Each plant's message for the interval ending at `end_epoch`."""
        day = dt.datetime.fromtimestamp(end_epoch - self.step_s, TZ).date()
        self._ensure_day(day)
        assert self._tl is not None
        i = int(np.searchsorted(self._tl.epoch_s, end_epoch))
        out = []
        for p, d in zip(self.plants, self._data, strict=True):
            values = {m: {q: a[i : i + 1] for q, a in qs.items()} for m, qs in d.values.items()}
            readings = readings_from_arrays(d.epoch_s[i : i + 1], values)
            out.extend(batch(readings, telemetry_topic(p.code, p.gateway)))
        return out

    def run(
        self,
        sink: Sink,
        start_epoch: float,
        speed: float = 1.0,
        duration_s: float | None = None,
        stop: threading.Event | None = None,
        clock: Callable[[], float] = time.time,
    ) -> Stats:
        """Publish until `duration_s` wall seconds pass or `stop` is set."""
        if speed <= 0:
            raise ValueError(f"speed must be positive, got {speed}")
        stop = stop or threading.Event()
        wall0 = clock()
        started = time.perf_counter()
        next_end = (int(start_epoch) // self.step_s + 1) * self.step_s
        sink.open(self.plants)
        try:
            while not stop.is_set():
                wall = clock()
                if duration_s is not None and wall - wall0 >= duration_s:
                    break
                sim_now = min(start_epoch + (wall - wall0) * speed, wall)
                while next_end <= sim_now and not stop.is_set():
                    busy = time.perf_counter()
                    for message in self.step_messages(next_end):
                        sink.send(message)
                    next_end += self.step_s
                    self.steps += 1
                    self.busy_s += time.perf_counter() - busy
                due = wall0 + (next_end - start_epoch) / speed
                due = max(due, float(next_end))  # never before the wall clock reaches the step end
                wait = due - clock()
                if duration_s is not None:
                    wait = min(wait, wall0 + duration_s - clock())
                if wait > 0:
                    stop.wait(wait)
        finally:
            sink.close()
        stats: Stats = sink.stats  # type: ignore[attr-defined]
        stats.seconds = time.perf_counter() - started
        return stats


def write_json(path: Path, doc: Any) -> None:
    """Write a JSON document (UTF-8, indented) atomically enough for a CLI output file."""
    path.write_bytes(orjson.dumps(doc, option=orjson.OPT_INDENT_2 | orjson.OPT_NON_STR_KEYS) + b"\n")


def local_today() -> dt.date:
    return dt.datetime.now(TZ).date()


def weather_csv(tl: Timeline) -> str:
    """The timeline's daily mean outdoor temperature as a `date,temp_c` file (`enerdiag weather import`)."""
    sums = np.bincount(tl.day_index, weights=tl.outdoor_c, minlength=len(tl.days))
    counts = np.bincount(tl.day_index, minlength=len(tl.days))
    rows = [f"{day.isoformat()},{total / n:.2f}" for day, total, n in zip(tl.days, sums, counts, strict=True)]
    return "date,temp_c\n" + "\n".join(rows) + "\n"
