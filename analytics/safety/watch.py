"""The streaming safety watcher: MQTT telemetry in, rules evaluated per meter, alarm events out.

paho-mqtt 2.x, MQTT v5, a fixed client id with a persistent session, subscribed through a shared
group (`$share/GROUP/em/v1/+/+/telemetry`) beside the collector's own group, so it gets its own copy
of every message. paho's network thread only enqueues; one worker thread parses, evaluates and writes
(InfluxDB `safety_alarm` + the local SQLite store) within a second of arrival.
"""

from __future__ import annotations

import logging
import math
import queue
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import paho.mqtt.client as mqtt
from paho.mqtt.packettypes import PacketTypes
from paho.mqtt.properties import Properties
from paho.mqtt.subscribeoptions import SubscribeOptions

from analytics.safety.alarms import AlarmEvent
from analytics.safety.context import SafetyContext
from analytics.safety.engine import SAFETY_KEYS, SafetyEngine
from analytics.safety.store import AlarmStore, event_line
from core.domain import MAX_FUTURE_SECONDS, MAX_PAYLOAD_BYTES, QUANTITIES, TELEMETRY_SUBSCRIPTION
from core.influx import InfluxError, InfluxV1
from core.mqtt import broker_address, mqtt_client
from core.telemetry import decode, parse_topic, timestamp_seconds

log = logging.getLogger("enerdiag.safety")
QUANTITY_KEYS = frozenset(QUANTITIES)


@dataclass
class WatchConfig:
    """Everything the watcher needs (built from settings and CLI options)."""

    mqtt_url: str
    influx_url: str
    influx_db: str
    data_dir: Path
    influx_token: str | None = None
    client_id: str = "enerdiag-safety"
    shared_group: str | None = "enerdiag-safety"
    session_expiry: int = 3600
    reload_every: float = 60.0
    keepalive: int = 30

    @property
    def subscription(self) -> str:
        if self.shared_group:
            return f"$share/{self.shared_group}/{TELEMETRY_SUBSCRIPTION}"
        return TELEMETRY_SUBSCRIPTION


def watcher_mqtt_url(safety_url: str | None, collector_url: str) -> str:
    """The broker URL the watcher logs in with: its own (ENERDIAG_SAFETY_MQTT_URL), else the collector's URL
    only when that carries no account (a development broker); never the collector's account."""
    if safety_url:
        return safety_url
    if broker_address(collector_url).username:
        raise ValueError("the safety watcher logs in with its own broker account: set ENERDIAG_SAFETY_MQTT_URL "
                         "(mqtt://USER:PASSWORD@host:1884, account written by `enerdiag registry mqtt-acl`)")
    return collector_url


Reading = tuple[str, str, int, dict[str, float]]
"""(enterprise, meter, ts, safety values) of one reading."""


def readings_of(topic: str, payload: bytes, tz_of: Callable[[str], str], now: float) -> list[Reading]:
    """(enterprise, meter, ts, safety values) of a telemetry message, sorted by meter and time; bad parts skipped.

    The collector dead-letters what is wrong; the watcher only needs the good safety readings.
    """
    parsed = parse_topic(topic)
    if parsed is None or parsed.kind != "telemetry" or len(payload) > MAX_PAYLOAD_BYTES:
        return []
    doc, error = decode(payload)
    if error is not None or type(doc) is not dict or type(doc.get("readings")) is not list:
        return []
    tz = tz_of(parsed.enterprise)
    batch_ts = timestamp_seconds(doc["ts"], tz) if doc.get("ts") is not None else None
    out: list[Reading] = []
    for reading in doc["readings"]:
        if type(reading) is not dict or type(reading.get("meter")) is not str:
            continue
        raw_ts = reading.get("ts")
        ts = timestamp_seconds(raw_ts, tz) if raw_ts is not None else batch_ts
        if type(ts) is not int or ts > now + MAX_FUTURE_SECONDS:
            continue
        values = reading.get("values")
        if type(values) is not dict or not values.keys() <= QUANTITY_KEYS:
            continue  # the collector dead-letters a reading with an unknown quantity: do not judge it either
        safety = {k: float(v) for k, v in values.items()
                  if k in SAFETY_KEYS and type(v) in (int, float) and math.isfinite(v)}
        if safety:
            out.append((parsed.enterprise, reading["meter"], ts, safety))
    out.sort(key=lambda r: (r[1], r[2]))
    return out


class Watcher:
    """One watcher process (see the module docstring)."""

    def __init__(self, config: WatchConfig, context: Callable[[], SafetyContext]) -> None:
        self.config = config
        self._load_context = context
        self.context = context()
        self._loaded_at = time.monotonic()
        self.engine = SafetyEngine(self._ctx)
        self.store = AlarmStore.in_dir(config.data_dir)
        self.influx = InfluxV1(config.influx_url, config.influx_db, config.influx_token)
        restored = self.engine.restore(self.store.list(open_only=True))
        if restored:
            log.info("resumed %d alarms left open by a previous run", restored)
        self._inbox: queue.SimpleQueue[tuple[str, bytes, float] | None] = queue.SimpleQueue()
        self._unwritten: list[str] = []  # lines InfluxDB refused while it was down; retried
        self._connected = threading.Event()
        self._stop = threading.Event()
        self._worker: threading.Thread | None = None
        self.messages = 0
        self.events = 0
        self._client = self._make_client()

    def _ctx(self, enterprise: str, meter: str) -> Any:
        return self.context(enterprise, meter)

    # ------------------------------------------------------------ MQTT

    def _make_client(self) -> mqtt.Client:
        client, _ = mqtt_client(self.config.mqtt_url, self.config.client_id)
        client.on_connect = self._on_connect
        client.on_disconnect = self._on_disconnect
        client.on_message = self._on_message
        return client

    def _on_connect(self, client: mqtt.Client, _u: Any, flags: Any, reason: Any, _p: Any) -> None:
        if reason.is_failure:
            log.error("MQTT connection refused: %s", reason)
            return
        client.subscribe([(self.config.subscription, SubscribeOptions(qos=1))])
        log.info("MQTT connected (session present: %s), subscribed %s", flags.session_present,
                 self.config.subscription)
        self._connected.set()

    def _on_disconnect(self, _c: mqtt.Client, _u: Any, _f: Any, reason: Any, _p: Any) -> None:
        self._connected.clear()
        if not self._stop.is_set():
            log.warning("MQTT disconnected (%s); reconnecting", reason)

    def _on_message(self, _c: mqtt.Client, _u: Any, msg: mqtt.MQTTMessage) -> None:
        self._inbox.put((msg.topic, msg.payload, time.time()))

    # ------------------------------------------------------------ work

    def handle(self, topic: str, payload: bytes, received: float) -> list[AlarmEvent]:
        """Evaluate one message and store the alarm events it causes (also used directly by tests)."""
        self.messages += 1
        events: list[AlarmEvent] = []
        for enterprise, meter, ts, values in readings_of(topic, payload, self._tz, received):
            events.extend(self.engine.feed(enterprise, meter, ts, values))
        if events:
            self._store(events)
        return events

    def _tz(self, enterprise: str) -> str:
        return self.context.timezones.get(enterprise, "Asia/Shanghai")

    def _store(self, events: list[AlarmEvent]) -> None:
        self.events += len(events)
        latest = {e.alarm.id: e.alarm for e in events}
        self.store.upsert(latest.values())
        for e in events:
            log.info("alarm %s %s %s/%s %s peak %.1f", e.kind, e.alarm.rule, e.alarm.enterprise, e.alarm.meter,
                     e.alarm.severity.label, e.alarm.peak)
        self._unwritten.extend(event_line(e) for e in events)
        self._flush()

    def _flush(self) -> None:
        if not self._unwritten:
            return
        try:
            self.influx.write(self._unwritten)
            self._unwritten = []
        except InfluxError as exc:
            if not exc.retryable:
                log.error("InfluxDB rejected %d alarm points: %s", len(self._unwritten), exc)
                self._unwritten = []
            else:
                log.warning("InfluxDB unavailable (%s); %d alarm points kept for retry", exc, len(self._unwritten))

    def _maybe_reload(self) -> None:
        if time.monotonic() - self._loaded_at < self.config.reload_every:
            return
        self._loaded_at = time.monotonic()
        try:
            self.context = self._load_context()
            self.engine.reset_context()
        except Exception as exc:  # keep the last good snapshot
            log.warning("cannot reload the registry or rules (%s); keeping the previous ones", exc)

    def _work(self) -> None:
        while True:
            try:
                item = self._inbox.get(timeout=1.0)
            except queue.Empty:
                if self._stop.is_set():
                    return
                self._flush()
                self._maybe_reload()
                continue
            if item is None:
                return
            try:
                self.handle(*item)
            except Exception:  # never exit on one bad message
                log.exception("failed to evaluate a message on %s", item[0])
            self._maybe_reload()

    # ------------------------------------------------------------ life cycle

    def start(self) -> None:
        """Connect and start the worker (returns at once; `wait_connected` to block until subscribed)."""
        self._worker = threading.Thread(target=self._work, name="safety-work", daemon=True)
        self._worker.start()
        props = Properties(PacketTypes.CONNECT)
        props.SessionExpiryInterval = self.config.session_expiry
        address = broker_address(self.config.mqtt_url)
        self._client.connect_async(address.host, address.port, self.config.keepalive,
                                   clean_start=False, properties=props)
        self._client.loop_start()

    def wait_connected(self, timeout: float = 10.0) -> bool:
        return self._connected.wait(timeout)

    def stop(self) -> None:
        """Disconnect, finish the queued messages, close the stores."""
        self._stop.set()
        self._client.disconnect()
        self._client.loop_stop()
        self._inbox.put(None)
        if self._worker is not None:
            self._worker.join(timeout=30)
        self._flush()
        self.store.close()
        self.influx.close()

    def run(self, stop: threading.Event) -> None:
        """Run until `stop` is set."""
        self.start()
        try:
            while not stop.wait(1.0):
                pass
        finally:
            self.stop()
