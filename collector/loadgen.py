"""A throttled QoS 1 telemetry publisher, for the benchmark and the collector's integration tests.

It stands in for gateways (it speaks only MQTT). In-flight messages are bounded by a semaphore
released in `on_publish`, because more than 65,535 unacknowledged QoS 1 messages on one client
wrap packet ids and lose messages (PLATFORM-NOTES.md).
"""

from __future__ import annotations

import threading
import time
from collections.abc import Iterable, Iterator
from typing import Any
from urllib.parse import urlsplit

import orjson
import paho.mqtt.client as mqtt
from paho.mqtt.enums import CallbackAPIVersion, MQTTProtocolVersion

from core.domain import TELEMETRY_TOPIC


def telemetry_topic(enterprise: str, gateway: str) -> str:
    return TELEMETRY_TOPIC.format(enterprise=enterprise, gateway=gateway)


def messages(
    count: int,
    readings_per_message: int,
    start_ts: int = 1_700_000_000,
    meters: int = 100,
    offset: int = 0,
) -> Iterator[bytes]:
    """`count` distinct telemetry payloads; reading k of the stream is meter k % meters at ts start + k // meters."""
    k = offset * readings_per_message
    for _ in range(count):
        readings = []
        for _ in range(readings_per_message):
            readings.append({"meter": f"M{k % meters:04d}", "ts": start_ts + k // meters,
                             "values": {"energy_kwh": round(1000 + k * 0.25, 3), "power_kw": 42.5, "pf": 0.93}})
            k += 1
        yield orjson.dumps({"readings": readings})


class Publisher:
    """One MQTT v5 client publishing at QoS 1 with at most `max_inflight` unacknowledged messages."""

    def __init__(self, mqtt_url: str, client_id: str, max_inflight: int = 100,
                 username: str | None = None, password: str | None = None) -> None:
        url = urlsplit(mqtt_url)
        self._sem = threading.Semaphore(max_inflight)
        self._max = max_inflight
        self.acked = 0
        self.client = mqtt.Client(CallbackAPIVersion.VERSION2, client_id=client_id, protocol=MQTTProtocolVersion.MQTTv5)
        self.client.max_inflight_messages_set(max_inflight)
        self.client.max_queued_messages_set(0)
        if username or url.username:
            self.client.username_pw_set(username or url.username, password or url.password)
        self.client.on_publish = self._on_publish
        self.client.connect(url.hostname or "127.0.0.1", url.port or 1883, keepalive=30)
        self.client.loop_start()

    def _on_publish(self, *_: Any) -> None:
        self.acked += 1
        self._sem.release()

    def publish(self, topic: str, payload: bytes, qos: int = 1, retain: bool = False) -> None:
        """Publish one message, waiting while `max_inflight` are unacknowledged."""
        self._sem.acquire()
        self.client.publish(topic, payload, qos=qos, retain=retain)

    def publish_all(self, topic: str, payloads: Iterable[bytes]) -> int:
        n = 0
        for payload in payloads:
            self.publish(topic, payload)
            n += 1
        return n

    def wait_acked(self, timeout: float = 60.0) -> bool:
        """Wait until the broker acknowledged everything published."""
        deadline = time.monotonic() + timeout
        acquired = 0
        try:
            while acquired < self._max:
                if not self._sem.acquire(timeout=max(0.0, deadline - time.monotonic())):
                    return False
                acquired += 1
            return True
        finally:
            for _ in range(acquired):
                self._sem.release()

    def close(self) -> None:
        self.client.disconnect()
        self.client.loop_stop()
