"""MQTT v5 clients configured from a broker URL (`mqtt://[user:password@]host[:port]`, or `mqtts://` for TLS).

Shared by every long-running subscriber (collector, safety watcher) and the load generator, so the URL,
credentials, TLS and default ports are read one way everywhere.
"""

from __future__ import annotations

from dataclasses import dataclass
from urllib.parse import urlsplit

import paho.mqtt.client as mqtt
from paho.mqtt.enums import CallbackAPIVersion, MQTTProtocolVersion

DEFAULT_PORT = 1883
DEFAULT_TLS_PORT = 8883


@dataclass(frozen=True, slots=True)
class BrokerAddress:
    """Where a broker URL points, and with which credentials."""

    host: str
    port: int
    tls: bool
    username: str | None = None
    password: str | None = None

    @property
    def where(self) -> str:
        """`host:port` for logs (never the password)."""
        return f"{self.host}:{self.port}"


def broker_address(url: str) -> BrokerAddress:
    """Parse a broker URL; the port defaults to 1883, or 8883 for `mqtts://`."""
    parts = urlsplit(url)
    tls = parts.scheme == "mqtts"
    return BrokerAddress(
        host=parts.hostname or "127.0.0.1",
        port=parts.port or (DEFAULT_TLS_PORT if tls else DEFAULT_PORT),
        tls=tls,
        username=parts.username,
        password=parts.password,
    )


def mqtt_client(url: str, client_id: str, *, manual_ack: bool = False) -> tuple[mqtt.Client, BrokerAddress]:
    """An MQTT v5 paho client for `url`: credentials and TLS set, reconnect backoff 1-10 s; not yet connected."""
    address = broker_address(url)
    client = mqtt.Client(
        callback_api_version=CallbackAPIVersion.VERSION2,
        client_id=client_id,
        protocol=MQTTProtocolVersion.MQTTv5,
        manual_ack=manual_ack,
    )
    if address.username:
        client.username_pw_set(address.username, address.password)
    if address.tls:
        client.tls_set()
    client.reconnect_delay_set(min_delay=1, max_delay=10)
    return client, address
