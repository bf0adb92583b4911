"""A simulated gateway: one MQTT v5 client (paho-mqtt 2.x) with its own credentials and last will.

QoS 1 publishing is throttled by a semaphore released in `on_publish`: more than 65,535 un-acknowledged
messages on one client wrap packet ids and lose data (PLATFORM-NOTES.md), so we never get near that.
"""

from __future__ import annotations

import contextlib
import socket
import threading
import time
from dataclasses import dataclass
from urllib.parse import unquote, urlsplit

import paho.mqtt.client as mqtt
from paho.mqtt.packettypes import PacketTypes
from paho.mqtt.properties import Properties

from simulators.messages import status_payload, status_topic
from simulators.netloop import NetworkLoop

DEFAULT_MAX_INFLIGHT = 1000
SESSION_EXPIRY_S = 0


@dataclass(frozen=True, slots=True)
class BrokerAddress:
    """Where the broker is: host, port, TLS or not."""

    host: str
    port: int
    tls: bool = False


def parse_mqtt_url(url: str) -> BrokerAddress:
    """`mqtt://host:port` (or mqtts://, tcp://) → address; credentials in the URL are not the gateway's."""
    parts = urlsplit(url)
    if parts.scheme not in ("mqtt", "mqtts", "tcp") or not parts.hostname:
        raise ValueError(f"MQTT URL {url!r} must look like mqtt://host:port")
    tls = parts.scheme == "mqtts"
    return BrokerAddress(unquote(parts.hostname), parts.port or (8883 if tls else 1883), tls)


@dataclass(frozen=True, slots=True)
class GatewayIdentity:
    """Who a gateway is on the broker: enterprise credit code, gateway id, password."""

    code: str
    gateway: str
    password: str | None = None


class GatewayClient:
    """One gateway's MQTT connection: status online on connect, offline as last will and on close."""

    def __init__(
        self,
        broker: BrokerAddress,
        enterprise: str,
        gateway: str,
        password: str | None,
        *,
        loop: NetworkLoop | None = None,
        client_prefix: str = "sim",
        max_inflight: int = DEFAULT_MAX_INFLIGHT,
        clock: callable = time.time,  # type: ignore[valid-type]
    ) -> None:
        self.broker, self.enterprise, self.gateway = broker, enterprise, gateway
        self.status_topic = status_topic(enterprise, gateway)
        self._clock = clock
        self._slots = threading.BoundedSemaphore(max_inflight)
        self._connected = threading.Event()  # connected right now
        self._answered = threading.Event()  # the broker answered a CONNECT at least once (never cleared)
        self._lock = threading.Lock()
        self._pending: set[int] = set()
        self._early: set[int] = set()  # PUBACKs that arrived before publish() returned the mid
        self._status_mids: set[int] = set()  # online messages sent from on_connect (outside the throttle)
        self.acked = 0
        self.published = 0
        self.connect_error: str | None = None
        client = mqtt.Client(
            mqtt.CallbackAPIVersion.VERSION2,
            client_id=f"{client_prefix}-{enterprise}-{gateway}",
            protocol=mqtt.MQTTv5,
        )
        client.username_pw_set(f"{enterprise}.{gateway}", password)
        client.max_inflight_messages_set(max_inflight)
        client.max_queued_messages_set(0)
        client.will_set(self.status_topic, status_payload(False, clock()), qos=1, retain=True)
        if broker.tls:
            client.tls_set()
        client.on_connect = self._on_connect
        client.on_publish = self._on_publish
        client.on_disconnect = self._on_disconnect
        self._client = client
        self._own_loop = loop is None
        self._loop = loop or NetworkLoop(name=f"sim-mqtt-{gateway}")
        self._loop.attach(client)
        if self._own_loop:
            self._loop.start()

    def _on_connect(self, client: mqtt.Client, userdata: object, flags: object, reason: object, props: object) -> None:
        if getattr(reason, "is_failure", False):
            self.connect_error = str(reason)
            self._loop.keep_connected(client, False)  # refused credentials will not improve by retrying
            self._answered.set()
            return
        info = client.publish(self.status_topic, status_payload(True, self._clock()), qos=1, retain=True)
        self._status_mids.add(info.mid)
        self.connect_error = None
        self._connected.set()
        self._answered.set()

    def _on_disconnect(self, *args: object) -> None:
        self._connected.clear()

    def _on_publish(self, client: mqtt.Client, userdata: object, mid: int, reason: object, props: object) -> None:
        with self._lock:
            if mid in self._status_mids:
                self._status_mids.discard(mid)
            elif mid in self._pending:
                self._pending.discard(mid)
                self.acked += 1
                self._slots.release()
            else:
                self._early.add(mid)

    def connect(self) -> None:
        """Open the TCP connection, send CONNECT and start the network thread (CONNACK comes later)."""
        props = Properties(PacketTypes.CONNECT)
        props.SessionExpiryInterval = SESSION_EXPIRY_S
        try:
            self._client.connect(self.broker.host, self.broker.port, keepalive=30, clean_start=True, properties=props)
        except OSError as exc:
            raise ConnectionError(
                f"gateway {self.enterprise}/{self.gateway}: cannot connect to "
                f"{self.broker.host}:{self.broker.port}: {exc.strerror or exc}"
            ) from exc
        self._loop.keep_connected(self._client, True)

    def wait_connected(self, timeout: float) -> None:
        """Block until connected; raise ConnectionError with the broker's reason otherwise."""
        if not self._answered.wait(timeout):
            raise ConnectionError(
                f"gateway {self.enterprise}/{self.gateway}: no connection to {self.broker.host}:{self.broker.port} "
                f"within {timeout:.0f} s"
            )
        if self.connect_error:
            raise ConnectionError(f"gateway {self.enterprise}/{self.gateway}: broker refused: {self.connect_error}")

    def publish(self, topic: str, payload: bytes, retain: bool = False, timeout: float = 60.0) -> None:
        """QoS 1 publish; blocks while `max_inflight` messages of this client wait for their PUBACK."""
        if not self._slots.acquire(timeout=timeout):
            raise TimeoutError(f"gateway {self.enterprise}/{self.gateway}: no PUBACK for {timeout:.0f} s")
        info = self._client.publish(topic, payload, qos=1, retain=retain)
        if info.rc not in (mqtt.MQTT_ERR_SUCCESS, mqtt.MQTT_ERR_NO_CONN):
            self._slots.release()
            raise ConnectionError(
                f"gateway {self.enterprise}/{self.gateway}: publish failed: {mqtt.error_string(info.rc)}"
            )
        with self._lock:
            self.published += 1
            if info.mid in self._early:
                self._early.discard(info.mid)
                self.acked += 1
                self._slots.release()
            else:
                self._pending.add(info.mid)

    def flush(self, timeout: float) -> bool:
        """Wait until every publication is acknowledged; False on timeout."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            with self._lock:
                if not self._pending:
                    return True
            time.sleep(0.01)
        return False

    def say_offline(self) -> None:
        """Publish the retained offline status (what the last will would say) and stop reconnecting."""
        self._loop.keep_connected(self._client, False)
        if self._connected.is_set():
            self.publish(self.status_topic, status_payload(False, self._clock()), retain=True)

    def disconnect(self) -> None:
        """Send DISCONNECT (no last will); `wait_closed` waits until the socket is gone."""
        self._loop.keep_connected(self._client, False)
        self._client.disconnect()

    def close(self, timeout: float = 10.0) -> None:
        """Say offline, wait for acks, disconnect."""
        self.say_offline()
        self.flush(timeout)
        self.disconnect()
        self.wait_closed(timeout)
        if self._own_loop:
            self._loop.stop()

    def kill(self) -> None:
        """Drop the connection without DISCONNECT, so the broker publishes the last will (tests, demos)."""
        self._loop.keep_connected(self._client, False)
        sock = self._client.socket()
        if sock is not None:
            with contextlib.suppress(OSError):
                sock.shutdown(socket.SHUT_RDWR)  # type: ignore[union-attr]
        self.wait_closed(5.0)
        if self._own_loop:
            self._loop.stop()

    def wait_closed(self, timeout: float) -> bool:
        deadline = time.monotonic() + timeout
        while self._client.socket() is not None and time.monotonic() < deadline:
            time.sleep(0.01)
        return self._client.socket() is None
