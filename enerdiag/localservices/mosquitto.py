"""Mosquitto 2.x broker on loopback with persistence under its workdir, probed by a paho MQTT v5 round trip."""

from __future__ import annotations

import threading
import uuid
from pathlib import Path
from typing import Any

import paho.mqtt.client as mqtt

from enerdiag.localservices import procs
from enerdiag.localservices.server import LOOPBACK, Server, ServiceError, running_as_root

BROKER_USER = "mosquitto"
# Mosquitto's default of 1,000 queued messages per client silently drops QoS 1 messages for an
# offline persistent session (PLATFORM-NOTES.md): queue generously, bound by bytes instead.
MAX_QUEUED_MESSAGES = 1_000_000
MAX_QUEUED_BYTES = 1024 * 1024 * 1024
MAX_INFLIGHT_MESSAGES = 100


def mosquitto_config(
    port: int,
    data_dir: Path,
    *,
    allow_anonymous: bool = True,
    user: str | None = None,
    extra_config: str = "",
    max_queued_messages: int = MAX_QUEUED_MESSAGES,
    max_queued_bytes: int = MAX_QUEUED_BYTES,
    max_inflight_messages: int = MAX_INFLIGHT_MESSAGES,
    per_listener_settings: bool = False,
) -> str:
    """The text of mosquitto.conf for one loopback listener (MQTT 3.1.1 and 5), persistence on.

    With `per_listener_settings`, authentication lines in `extra_config` apply to this listener until
    `extra_config` opens another one (`listener PORT 127.0.0.1` followed by that listener's own lines).
    """
    lines = [
        "# written by enerdiag services; edits are overwritten on start",
        f"user {user}" if user else "",
        f"per_listener_settings {'true' if per_listener_settings else 'false'}",
        f"listener {port} {LOOPBACK}",
        "protocol mqtt",  # Mosquitto 2 accepts MQTT 3.1, 3.1.1 and 5 on an mqtt listener
        f"allow_anonymous {'true' if allow_anonymous else 'false'}",
        "persistence true",
        f"persistence_location {data_dir}/",
        "autosave_interval 30",
        f"max_queued_messages {max_queued_messages}",
        f"max_queued_bytes {max_queued_bytes}",
        f"max_inflight_messages {max_inflight_messages}",
        "log_dest stderr",
        "log_type error",
        "log_type warning",
        "log_type notice",
        "log_type information",
        "log_timestamp_format %Y-%m-%dT%H:%M:%S",
        "connection_messages true",
        extra_config.strip(),
    ]
    return "\n".join(line for line in lines if line) + "\n"


def mqtt_probe(
    host: str,
    port: int,
    *,
    auth: tuple[str, str] | None = None,
    round_trip: bool = True,
    topic_prefix: str = "enerdiag/ping",
    require_accept: bool = False,
    timeout: float = 2.0,
) -> bool:
    """MQTT v5 connect (and with `round_trip`, subscribe + QoS 1 publish + receive on a unique topic).

    Without `round_trip` any CONNACK counts (with `require_accept` only an accepted one); otherwise
    the connect must be accepted and a message must come back on `topic_prefix/<uuid>` (ACLs!).
    """
    connected, subscribed, received = threading.Event(), threading.Event(), threading.Event()
    answer: dict[str, bool] = {}
    topic = f"{topic_prefix}/{uuid.uuid4().hex}"

    def on_connect(client: mqtt.Client, userdata: Any, flags: Any, reason: Any, props: Any) -> None:
        answer["ok"] = not reason.is_failure
        connected.set()

    client = mqtt.Client(mqtt.CallbackAPIVersion.VERSION2, protocol=mqtt.MQTTv5)
    client.on_connect = on_connect
    client.on_subscribe = lambda *args: subscribed.set()
    client.on_message = lambda c, u, msg: received.set() if msg.payload == b"ok" else None
    if auth:
        client.username_pw_set(*auth)
    try:
        client.connect(host, port, keepalive=10)
    except OSError:
        return False
    client.loop_start()
    try:
        if not connected.wait(timeout):
            return False
        if not round_trip and not require_accept:
            return True  # any CONNACK, even "not authorized", proves an MQTT broker answers
        if not answer.get("ok"):
            return False
        if not round_trip:
            return True  # an accepted CONNACK is what `require_accept` asked for
        client.subscribe(topic, qos=1)
        if not subscribed.wait(timeout):
            return False
        client.publish(topic, b"ok", qos=1)
        return received.wait(timeout)
    finally:
        client.disconnect()
        client.loop_stop()


class Mosquitto(Server):
    """Mosquitto on 127.0.0.1:`port` (free one if None); config, `data/` (persistence) and log in `workdir`.

    `extra_config` is appended to mosquitto.conf (e.g. `password_file …` / `acl_file …`; those files
    must be readable by user `mosquitto` when started as root); with `per_listener_settings` it may
    add listeners, each with its own accounts (see `mosquitto_config`). With `allow_anonymous=False` the
    readiness probe logs in with `probe_auth=(user, password)` and needs an accepted CONNACK, plus a
    publish/subscribe round trip on `probe_topic/<uuid>` when `probe_topic` is given (ACL must allow
    it); without `probe_auth` any CONNACK suffices. Anonymous brokers always get the round trip.
    """

    name = "mosquitto"
    program = "mosquitto"
    packages = ("mosquitto", "mosquitto-clients")

    def __init__(
        self,
        workdir: Path | str,
        port: int | None = None,
        extra_config: str = "",
        allow_anonymous: bool = True,
        probe_auth: tuple[str, str] | None = None,
        probe_topic: str | None = None,
        max_queued_messages: int = MAX_QUEUED_MESSAGES,
        max_queued_bytes: int = MAX_QUEUED_BYTES,
        max_inflight_messages: int = MAX_INFLIGHT_MESSAGES,
        per_listener_settings: bool = False,
    ) -> None:
        super().__init__(workdir, port)
        self.extra_config = extra_config
        self.per_listener_settings = per_listener_settings
        self.allow_anonymous = allow_anonymous
        self.probe_auth = probe_auth
        self.probe_topic = probe_topic
        self.limits = {
            "max_queued_messages": max_queued_messages,
            "max_queued_bytes": max_queued_bytes,
            "max_inflight_messages": max_inflight_messages,
        }

    @property
    def url(self) -> str:
        return f"mqtt://{LOOPBACK}:{self.port}"

    @property
    def host(self) -> str:
        """Broker host (always loopback)."""
        return LOOPBACK

    @property
    def config_path(self) -> Path:
        """The generated mosquitto.conf."""
        return self.workdir / "mosquitto.conf"

    @property
    def data_dir(self) -> Path:
        """Persistence directory (mosquitto.db lives here)."""
        return self.workdir / "data"

    @property
    def marker(self) -> str:
        return str(self.config_path)

    def _prepare(self, binary: str) -> list[str]:
        assert self.port is not None
        self.data_dir.mkdir(parents=True, exist_ok=True)
        user = None
        if running_as_root():
            if procs.user_exists(BROKER_USER):
                # root-started mosquitto drops to `mosquitto`; without this it cannot save its database
                procs.chown_tree(self.data_dir, BROKER_USER)
                blocked = procs.unreachable_by(self.data_dir, BROKER_USER)
                if blocked:
                    raise ServiceError(
                        f"mosquitto: user {BROKER_USER} cannot reach {self.data_dir} ({blocked} is not "
                        "traversable); use a run dir under a world-readable path"
                    )
            else:
                user = "root"
        self.config_path.write_text(
            mosquitto_config(
                self.port,
                self.data_dir,
                allow_anonymous=self.allow_anonymous,
                user=user,
                extra_config=self.extra_config,
                per_listener_settings=self.per_listener_settings,
                **self.limits,
            )
        )
        return [binary, "-c", str(self.config_path)]

    def ready(self) -> bool:
        assert self.port is not None
        if self.allow_anonymous:
            return mqtt_probe(LOOPBACK, self.port, topic_prefix=self.probe_topic or "enerdiag/ping")
        if self.probe_auth is None:
            return mqtt_probe(LOOPBACK, self.port, round_trip=False)
        if self.probe_topic is None:
            return mqtt_probe(LOOPBACK, self.port, auth=self.probe_auth, round_trip=False, require_accept=True)
        return mqtt_probe(LOOPBACK, self.port, auth=self.probe_auth, topic_prefix=self.probe_topic)

    def state(self) -> dict[str, Any]:
        return {**super().state(), "allow_anonymous": self.allow_anonymous}
