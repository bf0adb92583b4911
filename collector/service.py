"""The running collector: MQTT in, parse, batch, store or spool, then acknowledge.

Threads: paho's network thread validates each message into the current batch and cuts batches
at the size bounds; the `write` thread cuts them at the age bound, stores dead letters and lines
durably and only then acknowledges the batch's messages (paho manual acknowledgement). A message received on
an earlier connection is stored but not acknowledged: the broker redelivers it (same packet id
semantics would otherwise let a stale ack free a newer message), and the write is idempotent.
"""

from __future__ import annotations

import json
import logging
import queue
import struct
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import paho.mqtt.client as mqtt
from paho.mqtt.packettypes import PacketTypes
from paho.mqtt.properties import Properties
from paho.mqtt.subscribeoptions import SubscribeOptions

from collector.deadletters import DeadLetter, DeadLetterStore
from collector.guard import GatewayGuard, GuardLimits
from collector.health import StatsSnapshot, deadletter_lines, gateway_status_line, stats_line
from collector.metrics import Metrics
from collector.payload import Reason, parse_status, parse_telemetry
from collector.registry_view import RegistrySnapshot
from collector.spool import Spool
from collector.writer import Sink
from core.domain import DEADLETTER_PAYLOAD_BYTES, TELEMETRY_SUBSCRIPTION
from core.influx import InfluxV1
from core.marks import IngestMarks
from core.mqtt import broker_address, mqtt_client
from core.telemetry import ENTERPRISE_PATTERN, Topic, parse_topic

log = logging.getLogger("enerdiag.collector")

STATUS_SUBSCRIPTION = "em/v1/+/+/status"


@dataclass
class CollectorConfig:
    """Everything the collector needs to run (built from settings and CLI options)."""

    mqtt_url: str
    client_id: str
    influx_url: str
    influx_db: str
    data_dir: Path
    influx_token: str | None = None
    influx_raw_rp: str | None = None  # retention policy for `reading` points (None: the database's default)
    shared_group: str | None = None
    batch_lines: int = 5000  # flush when this many readings are waiting ...
    batch_messages: int = 2000  # ... or this many messages ...
    batch_age: float = 0.2  # ... or the oldest waiting message is this old (s)
    receive_maximum: int = 5000  # unacknowledged QoS 1 messages the broker may send us (MQTT v5)
    session_expiry: int = 7 * 24 * 3600  # s the broker keeps our session (and queues) while we are away
    spool_max_bytes: int = 1 << 30
    registry_reload: float = 60.0
    metrics_port: int | None = None
    log_every: float = 30.0
    compress: bool = False
    keepalive: int = 30
    max_held: int | None = None  # unacknowledged messages held in memory; default 2 x receive_maximum + 1000
    max_held_readings: int = 200_000  # readings held in memory (≈ 40 MB of lines) before refusing more
    drain_timeout: float = 30.0
    stats_every: float = 10.0  # s between collector_stats / deadletter_count points (0: none)
    guard: GuardLimits = field(default_factory=GuardLimits)  # per-gateway limits (collector/guard.py)

    @property
    def telemetry_subscription(self) -> str:
        """The telemetry filter: shared (`$share/NAME/...`) when a group is set."""
        if self.shared_group:
            return f"$share/{self.shared_group}/{TELEMETRY_SUBSCRIPTION}"
        return TELEMETRY_SUBSCRIPTION

    @property
    def subscriptions(self) -> list[str]:
        return [self.telemetry_subscription, STATUS_SUBSCRIPTION]


@dataclass(slots=True)
class Batch:
    """Readings and dead letters of a run of messages, with what to acknowledge once they are durable."""

    lines: list[str] = field(default_factory=list)
    letters: list[DeadLetter] = field(default_factory=list)
    acks: list[tuple[int, int, int]] = field(default_factory=list)  # (generation, mid, qos)
    messages: int = 0
    started: float = 0.0
    extra: int = 0  # lines that are not readings (gateway_status points)


class Collector:
    """One collector process (see the module docstring for the threads)."""

    def __init__(
        self,
        config: CollectorConfig,
        registry: Callable[[], RegistrySnapshot],
        metrics: Metrics | None = None,
    ) -> None:
        self.config = config
        self._load_registry = registry
        self.snapshot = registry()
        self._snapshot_at = time.monotonic()
        self.metrics = metrics or Metrics()
        self.deadletters = DeadLetterStore.in_dir(config.data_dir)
        self.influx = InfluxV1(config.influx_url, config.influx_db, config.influx_token)
        self.spool = Spool(config.data_dir / "spool", config.spool_max_bytes)
        self.sink = Sink(self.influx, self.spool, self.metrics, self._storage_rejected, config.compress,
                         config.influx_raw_rp, IngestMarks(config.client_id, config.influx_raw_rp))
        self._batch = Batch()  # being filled by paho's network thread (under `_held_lock`)
        self._topics: dict[str, tuple[Topic | None, tuple[str, str] | None]] = {}  # topic -> parse, registry check
        self.guard = GatewayGuard(config.guard)  # used under `_held_lock`
        self._batches: queue.SimpleQueue[Batch | None] = queue.SimpleQueue()
        self._generation = 0
        self._held = 0  # messages taken from the broker and not yet acknowledged or abandoned
        self._held_readings = 0  # their lines
        self._held_lock = threading.Lock()
        self._max_held = config.max_held or 2 * config.receive_maximum + 1000
        self._refused = 0  # messages not taken because too many were held: need a reconnect to come back
        self._accepting = True
        self._connected = threading.Event()
        self._stop = threading.Event()
        self._threads: list[threading.Thread] = []
        self._client = self._make_client()
        self._stats_next = time.monotonic() + config.stats_every
        self._stats_last: StatsSnapshot | None = None
        self._stats_time = 0
        self._stats_mono = time.monotonic()  # when the previous stats point was taken (start: construction)

    # ------------------------------------------------------------ MQTT

    def _make_client(self) -> mqtt.Client:
        client, address = mqtt_client(self.config.mqtt_url, self.config.client_id, manual_ack=True)
        client.max_queued_messages_set(0)
        client.on_connect = self._on_connect
        client.on_disconnect = self._on_disconnect
        where = address.where  # never the password
        client.on_connect_fail = lambda *_: log.warning("MQTT broker %s unreachable; retrying", where)
        client.on_message = self._on_message
        return client

    def _connect_properties(self) -> Properties:
        props = Properties(PacketTypes.CONNECT)
        props.SessionExpiryInterval = self.config.session_expiry
        props.ReceiveMaximum = self.config.receive_maximum
        return props

    def _on_connect(self, client: mqtt.Client, _u: Any, flags: Any, reason: Any, _p: Any) -> None:
        if reason.is_failure:
            log.error("MQTT connection refused: %s", reason)
            return
        self._generation += 1
        log.info("MQTT connected (session present: %s, generation %d)", flags.session_present, self._generation)
        self._reconcile_subscriptions(client, bool(flags.session_present))
        self._connected.set()

    def _on_disconnect(self, _c: mqtt.Client, _u: Any, _f: Any, reason: Any, _p: Any) -> None:
        self._connected.clear()
        if not self._stop.is_set():
            log.warning("MQTT disconnected (%s); reconnecting", reason)

    def _state_file(self) -> Path:
        safe = "".join(c if c.isalnum() or c in "-_." else "_" for c in self.config.client_id)
        return self.config.data_dir / f"collector-{safe}.subscriptions.json"

    def _reconcile_subscriptions(self, client: mqtt.Client, session_present: bool) -> None:
        """Drop filters a persistent session kept from an earlier configuration, then subscribe ours."""
        wanted = self.config.subscriptions
        path = self._state_file()
        try:
            previous = json.loads(path.read_text())
        except (OSError, ValueError):
            previous = []
        stale = sorted({str(t) for t in previous if isinstance(t, str)} - set(wanted))
        if TELEMETRY_SUBSCRIPTION not in wanted:
            stale = sorted({*stale, TELEMETRY_SUBSCRIPTION})  # a plain subscription would duplicate the share
        if session_present and stale:
            client.unsubscribe(stale)
            log.info("unsubscribed stale filters %s", stale)
        client.subscribe([(t, SubscribeOptions(qos=1)) for t in wanted])
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(json.dumps(wanted))

    def _on_message(self, _c: mqtt.Client, _u: Any, msg: mqtt.MQTTMessage) -> None:
        """Validate the message into the current batch, here in paho's network thread.

        Parsing here avoids a thread hand-off (and a GIL switch) per message. It never blocks:
        batches are cut into an unbounded queue, and memory is bounded by refusing (not
        acknowledging) messages beyond `max_held`; the broker redelivers those on the next
        connection. Brokers do not always honour our receive maximum (Mosquitto 2.0.11 overshoots
        it after acknowledgements), which is why the bound is enforced here too.
        """
        if not self._accepting:
            return
        received = time.time()
        with self._held_lock:
            if self._held >= self._max_held or self._held_readings >= self.config.max_held_readings:
                self._refused += 1
                return
            self._held += 1
            batch = self._batch
            lines_before = len(batch.lines)
            if not batch.messages:
                batch.started = time.monotonic()
            try:
                self._handle(batch, self._generation, msg, received)
            except Exception:  # never let one message break the loop
                log.exception("unexpected error handling a message; it is dead-lettered")
                raw = bytes(msg.payload[:DEADLETTER_PAYLOAD_BYTES])
                batch.letters.append(DeadLetter(received, _topic_text(msg), "internal_error",
                                                "collector error (see log)", raw))
                self.metrics.dead("internal_error")
            self._held_readings += len(batch.lines) - lines_before
            if len(batch.lines) >= self.config.batch_lines or batch.messages >= self.config.batch_messages:
                self._cut()

    def _cut(self) -> None:
        """Hand the current batch to the writer (caller holds `_held_lock`)."""
        if self._batch.messages:
            self._batches.put(self._batch)
            self._batch = Batch()

    def _release(self, count: int, readings: int) -> None:
        with self._held_lock:
            self._held -= count
            self._held_readings -= readings
            reconnect = (self._refused > 0 and not self._stop.is_set() and self._held < self._max_held // 2
                         and self._held_readings < self.config.max_held_readings // 2)
            refused = self._refused
            if reconnect:
                self._refused = 0
        if reconnect:
            log.info("reconnecting so the broker redelivers %d messages refused under backpressure", refused)
            self._reconnect()

    def _reconnect(self) -> None:
        client = self._client
        client.disconnect()
        client.loop_stop()
        self._connect()

    def _handle(self, batch: Batch, generation: int, msg: mqtt.MQTTMessage, received: float) -> None:
        batch.messages += 1
        batch.acks.append((generation, msg.mid, msg.qos))
        self.metrics.messages_received += 1
        payload: bytes = msg.payload
        topic_text = _topic_text(msg)
        known = self._topics.get(topic_text)
        if known is None:  # one parse and registry check per topic and snapshot, not per message
            if len(self._topics) >= 100_000:
                self._topics.clear()
            parsed_topic = parse_topic(topic_text)
            known = (parsed_topic, None if parsed_topic is None else self.snapshot.check(parsed_topic))
            self._topics[topic_text] = known
        topic, problem = known
        if topic is None:
            parts = topic_text.split("/")
            enterprise = parts[2] if len(parts) > 2 and ENTERPRISE_PATTERN.fullmatch(parts[2]) else None
            self._dead(batch, received, topic_text, enterprise, None, Reason.BAD_TOPIC,
                       "topic is not em/v1/{enterprise}/{gateway}/telemetry|status", payload)
            return
        if problem is not None:
            self._dead(batch, received, topic_text, topic.enterprise, topic.gateway, *problem, payload)
            return
        key = (topic.enterprise, topic.gateway)
        if not self.guard.admit(key):
            limits = self.guard.limits
            self._dead(batch, received, topic_text, topic.enterprise, topic.gateway, Reason.RATE_LIMITED,
                       f"more than {limits.rate:g} messages/s (burst {limits.burst}) from this gateway", payload)
            return
        if topic.kind == "status":
            status = parse_status(payload, self.snapshot.timezone(topic.enterprise))
            if status is not None:
                self.metrics.gateway_status(topic.enterprise, topic.gateway, status[0], received)
                at = status[1] if status[1] is not None else int(received)
                batch.lines.append(gateway_status_line(topic.enterprise, topic.gateway, status[0], at))
                batch.extra += 1
            return
        parsed = parse_telemetry(topic, payload, self.snapshot, received, self.guard.meters(key),
                                 self.guard.limits.max_meters)
        batch.lines.extend(parsed.lines)
        for r in parsed.rejects:
            raw = payload if r.index is None else r.raw
            self._dead(batch, received, topic_text, topic.enterprise, topic.gateway, r.reason, r.detail, raw)

    def _dead(self, batch: Batch, received: float, topic: str, enterprise: str | None, gateway: str | None,
              reason: str, detail: str, raw: bytes) -> None:
        self.metrics.dead(reason, 1, enterprise if enterprise in self.snapshot.timezones else None)
        if not self._letter_allowed(batch, received, topic, enterprise, gateway):
            return
        batch.letters.append(DeadLetter(received, topic, reason, detail, bytes(raw[:DEADLETTER_PAYLOAD_BYTES]),
                                        enterprise, gateway, len(raw)))

    def _letter_allowed(self, batch: Batch, received: float, topic: str, enterprise: str | None,
                        gateway: str | None) -> bool:
        """Within the gateway's dead-letter budget? Past it, one notice is stored and the rest only counted."""
        budget = self.guard.limits.letters_per_minute
        count = self.guard.letter((enterprise, gateway))
        if count == budget + 1:
            detail = (f"more than {budget} dead letters from this gateway within a minute: the next ones until "
                      f"{int(received + self.guard.letters_reset_in)} are counted (deadletter_count), not stored")
            batch.letters.append(DeadLetter(received, topic, Reason.DEADLETTERS_SUPPRESSED, detail, b"",
                                            enterprise, gateway, 0))
        return count <= budget

    def _maybe_reload_registry(self) -> None:
        if time.monotonic() - self._snapshot_at < self.config.registry_reload:
            return
        self._snapshot_at = time.monotonic()
        try:
            snapshot = self._load_registry()
            with self._held_lock:  # the network thread checks topics against the snapshot
                self.snapshot = snapshot
                self._topics = {}
        except Exception as exc:  # keep the last good snapshot
            log.warning("registry reload failed, keeping the previous snapshot: %s", exc)

    def reload_registry_now(self) -> None:
        """Rebuild the registry snapshot at the next message (tests, SIGHUP)."""
        self._snapshot_at = 0.0

    # ------------------------------------------------------------ write thread

    def _write_loop(self) -> None:
        age = self.config.batch_age
        while True:
            try:
                batch = self._batches.get(timeout=age / 2)
            except queue.Empty:
                with self._held_lock:
                    if self._batch.messages and time.monotonic() - self._batch.started >= age:
                        self._cut()
                        continue
                self._idle()
                continue
            if batch is None:
                self._write_stats()  # the last counters of this process
                return
            try:
                self._commit(batch)
            except Exception:  # e.g. the dead-letter disk is full: not acknowledged, redelivered after a reconnect
                log.exception("unexpected error storing a batch; its messages stay unacknowledged")
                with self._held_lock:
                    self._refused += batch.messages
            self._release(batch.messages, len(batch.lines))
            self._maybe_reload_registry()
            self._maybe_write_stats()

    def _idle(self) -> None:
        self._maybe_reload_registry()
        self._maybe_write_stats()
        if len(self.spool):
            try:
                self.sink.replay()
            except Exception:
                log.exception("replay failed")

    def _commit(self, batch: Batch) -> None:
        if batch.letters:
            self.deadletters.add_many(batch.letters)
        while not self.sink.store(batch.lines, len(batch.lines) - batch.extra):
            # spool full and InfluxDB down: backpressure (no acks, so the broker stops sending at
            # receive_maximum); keep retrying until InfluxDB answers or we are told to stop
            if self._stop.is_set() and time.monotonic() > self._drain_deadline:
                log.error("draining with InfluxDB down and the spool full: %d messages left unacknowledged "
                          "(the broker redelivers them)", len(batch.acks))
                return
            time.sleep(0.5)
        generation = self._generation
        _ack_all(self._client, [mid for gen, mid, qos in batch.acks if qos == 1 and gen == generation])

    def _maybe_write_stats(self) -> None:
        if self.config.stats_every <= 0 or time.monotonic() < self._stats_next:
            return
        self._stats_next = time.monotonic() + self.config.stats_every
        self._write_stats()

    def _write_stats(self) -> None:
        """Store a `collector_stats` point and the dead letters since the last one, through the sink (spooled
        in an outage; dropped, not retried, under backpressure: they are not worth holding messages for)."""
        if self.config.stats_every <= 0:
            return
        at = max(int(time.time()), self._stats_time + 1)  # never overwrite the previous flush's deltas
        now = self.metrics.snapshot()
        dead = self.metrics.take_dead()
        mono = time.monotonic()
        lines = [stats_line(self.config.client_id, now, self._stats_last, at, mono - self._stats_mono),
                 *deadletter_lines(self.config.client_id, dead, at)]
        try:
            stored = self.sink.store(lines, 0)
        except Exception:
            log.exception("could not store the collector's own stats")
            stored = False
        if not stored:
            for (reason, enterprise), n in dead.items():  # count them again at the next flush
                self.metrics.requeue_dead(reason, n, enterprise)
            return
        self._stats_last, self._stats_time, self._stats_mono = now, at, mono

    def _storage_rejected(self, lines: list[str], message: str) -> None:
        now = time.time()
        letters = []
        for text in lines:
            tags = text.split(" ", 1)[0].split(",")
            ent = tags[1].removeprefix("enterprise=") if len(tags) > 1 else None
            gw = tags[2].removeprefix("gateway=") if len(tags) > 2 else None
            letters.append(DeadLetter(now, "(influxdb)", Reason.STORAGE_REJECTED, message[:500], text.encode(),
                                      ent, gw))
        self.deadletters.add_many(letters)
        self.metrics.dead(Reason.STORAGE_REJECTED, len(lines))

    # ------------------------------------------------------------ lifecycle

    _drain_deadline = float("inf")

    def start(self) -> None:
        """Connect and start the threads; returns at once."""
        self.config.data_dir.mkdir(parents=True, exist_ok=True)
        try:
            self.influx.create_database()
        except Exception as exc:  # InfluxDB may be down at start: the spool covers it
            log.warning("could not create database %s yet: %s", self.config.influx_db, exc)
        thread = threading.Thread(target=self._write_loop, name="collector-write", daemon=True)
        thread.start()
        self._threads.append(thread)
        self._connect()

    def _connect(self) -> None:
        address = broker_address(self.config.mqtt_url)
        self._client.connect_async(address.host, address.port, keepalive=self.config.keepalive,
                                   clean_start=False, properties=self._connect_properties())
        self._client.loop_start()

    def wait_connected(self, timeout: float = 10.0) -> bool:
        return self._connected.wait(timeout)

    def stop(self) -> None:
        """Drain: stop taking messages, store and acknowledge what was taken, disconnect."""
        self._stop.set()
        self._drain_deadline = time.monotonic() + self.config.drain_timeout
        self._accepting = False
        with self._held_lock:
            self._cut()
        self._batches.put(None)
        for thread in self._threads:
            thread.join(timeout=self.config.drain_timeout + 5)
        time.sleep(0.2)  # let paho's network thread send the last acknowledgements
        self._client.disconnect()
        self._client.loop_stop()
        self.influx.close()
        self.deadletters.close()
        log.info("collector stopped: %s", self.metrics.summary())

    def run(self, stop: threading.Event) -> None:
        """Run until `stop` is set, logging the counters periodically."""
        if self.config.metrics_port is not None:
            from collector.metrics import serve

            server = serve(self.metrics, self.config.metrics_port)
            log.info("metrics on http://127.0.0.1:%d/metrics", server.server_address[1])
        self.start()
        next_log = time.monotonic() + self.config.log_every
        while not stop.wait(0.5):
            if time.monotonic() >= next_log:
                log.info("%s", self.metrics.summary())
                next_log = time.monotonic() + self.config.log_every
        self.stop()


_PUBACK = 0x40


def _ack_all(client: mqtt.Client, mids: list[int]) -> None:
    """Acknowledge QoS 1 messages: all PUBACKs of a batch in one socket write.

    paho's `ack()` queues and writes one 4-byte packet (and wakes its network thread) per
    message; for single-reading messages that was a tenth of the collector's CPU. The joined
    PUBACKs (MQTT v5: reason code omitted = success) go through paho's own packet queue, so they
    are ordered with everything else it sends. Falls back to `ack()` if paho's internals change.
    """
    if not mids:
        return
    queue_packet = getattr(client, "_packet_queue", None)
    if queue_packet is not None:
        try:
            queue_packet(_PUBACK, b"".join([struct.pack("!BBH", _PUBACK, 2, mid) for mid in mids]), 0, 1)
            return
        except TypeError:  # a paho whose private API differs
            pass
    for mid in mids:
        client.ack(mid, 1)


def _topic_text(msg: mqtt.MQTTMessage) -> str:
    try:
        return msg.topic
    except UnicodeDecodeError:
        return msg._topic.decode("utf-8", "backslashreplace")  # paho keeps the raw bytes only here
