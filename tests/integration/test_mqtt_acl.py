"""`enerdiag registry mqtt-acl` on a real Mosquitto: the generated password file and ACL let each gateway publish
only under its own enterprise and gateway, and the collector (directly or shared) receive everything."""

from __future__ import annotations

import queue
import shutil
import subprocess
import time
import uuid
from collections.abc import Iterator
from pathlib import Path

import paho.mqtt.client as mqtt
import pytest
from paho.mqtt.enums import CallbackAPIVersion

from core.registry.hashing import mosquitto_hash, mosquitto_verify
from tests.support.acl_broker import AclBroker, registry_acl_broker

pytestmark = pytest.mark.integration

ROOT = Path(__file__).resolve().parents[2]
EXAMPLE = ROOT / "deploy" / "registry-datong.yaml"
CEMENT, COKING = "91140214MA0FE1KM73", "91140226MA02U9AL2Q"
COLLECTOR, COLLECTOR_PW = "collector-test", "collector-secret-1"
SAFETY, SAFETY_PW = "safety-test", "safety-secret-1"


@pytest.fixture(scope="module")
def broker() -> Iterator[AclBroker]:
    """Example city loaded, files written by the command, Mosquitto started with them (anonymous refused)."""
    with registry_acl_broker("enerdiag-test-acl-", lambda _: EXAMPLE, COLLECTOR, COLLECTOR_PW,
                             (SAFETY, SAFETY_PW)) as server:
        assert "7 gateways" in server.command_output
        yield server


class Client:
    """A paho client that records connect result, suback codes and received messages."""

    def __init__(self, broker: AclBroker, username: str, password: str, port: int | None = None,
                 client_id: str | None = None) -> None:
        self.messages: queue.Queue[tuple[str, bytes]] = queue.Queue()
        self.connack: queue.Queue[int] = queue.Queue()
        self.subacks: queue.Queue[list[int]] = queue.Queue()
        self.client = mqtt.Client(
            CallbackAPIVersion.VERSION2, client_id=client_id or f"t-{uuid.uuid4().hex[:8]}", protocol=mqtt.MQTTv5
        )
        self.client.username_pw_set(username, password)
        self.client.on_connect = lambda c, u, f, rc, p: self.connack.put(rc.value)
        self.client.on_subscribe = lambda c, u, mid, rcs, p: self.subacks.put([r.value for r in rcs])
        self.client.on_message = lambda c, u, m: self.messages.put((m.topic, m.payload))
        self.client.connect(broker.host, broker.port if port is None else port)
        self.client.loop_start()
        self.rc = self.connack.get(timeout=5)

    def subscribe(self, topic: str) -> list[int]:
        self.client.subscribe(topic, qos=1)
        return self.subacks.get(timeout=5)

    def publish(self, topic: str, payload: bytes) -> None:
        self.client.publish(topic, payload, qos=1).wait_for_publish(timeout=5)

    def close(self) -> None:
        self.client.disconnect()
        self.client.loop_stop()


def test_gateway_publishes_to_its_own_topic_and_not_into_another_enterprise(broker: AclBroker) -> None:
    collector = Client(broker, COLLECTOR, COLLECTOR_PW, broker.services_port)
    shared = Client(broker, COLLECTOR, COLLECTOR_PW, broker.services_port)
    gateway = Client(broker, f"{CEMENT}.gw-kiln", "kiln-demo-2026")
    try:
        assert collector.rc == 0 and gateway.rc == 0
        assert collector.subscribe("em/v1/#") == [1]
        assert shared.subscribe("$share/collectors/em/v1/#") == [1]
        foreign = f"em/v1/{COKING}/gw1/telemetry"
        other_gateway = f"em/v1/{CEMENT}/gw-mill/telemetry"
        own = f"em/v1/{CEMENT}/gw-kiln/telemetry"
        gateway.publish(foreign, b'{"forged": 1}')
        gateway.publish(other_gateway, b'{"forged": 2}')
        gateway.publish(own, b'{"ts": 1764547200, "readings": []}')
        # delivery is in order per publisher: when the allowed message arrives, refused ones would have come first
        assert collector.messages.get(timeout=5) == (own, b'{"ts": 1764547200, "readings": []}')
        assert shared.messages.get(timeout=5)[0] == own
        time.sleep(0.3)
        assert collector.messages.empty() and shared.messages.empty()
    finally:
        for client in (collector, shared, gateway):
            client.close()


def test_gateway_reads_nothing_and_wrong_passwords_are_refused(broker: AclBroker) -> None:
    snoop = Client(broker, f"{COKING}.gw1", "coke-demo-2026")
    collector = Client(broker, COLLECTOR, COLLECTOR_PW, broker.services_port)
    publisher = Client(broker, f"{CEMENT}.gw-mill", "mill-demo-2026")
    try:
        assert snoop.rc == 0 and publisher.rc == 0
        snoop.subscribe("em/v1/#")  # Mosquitto 2.0 grants it, but checks `read` on every delivery
        collector.subscribe("em/v1/#")
        own = f"em/v1/{CEMENT}/gw-mill/status"
        publisher.publish(own, b'{"online": true, "ts": 1764547200}')
        assert collector.messages.get(timeout=5)[0] == own
        time.sleep(0.3)
        assert snoop.messages.empty()  # another enterprise's data never reaches a gateway
    finally:
        for client in (snoop, collector, publisher):
            client.close()
    assert Client(broker, f"{COKING}.gw1", "kiln-demo-2026").rc == 135  # 0x87 not authorized
    assert Client(broker, COLLECTOR, "guess", broker.services_port).rc == 135
    assert Client(broker, "anonymous-nobody", "").rc == 135
    assert Client(broker, "anonymous-nobody", "", broker.services_port).rc == 135


def test_each_listener_takes_only_its_own_accounts(broker: AclBroker) -> None:
    """Gateways log in on the gateway listener only; the collector and the safety watcher on the services listener."""
    assert Client(broker, COLLECTOR, COLLECTOR_PW).rc == 135
    assert Client(broker, SAFETY, SAFETY_PW).rc == 135
    assert Client(broker, f"{CEMENT}.gw-kiln", "kiln-demo-2026", broker.services_port).rc == 135
    assert Client(broker, SAFETY, SAFETY_PW, broker.services_port).rc == 0


def test_the_safety_watcher_reads_telemetry_only(broker: AclBroker) -> None:
    watcher = Client(broker, SAFETY, SAFETY_PW, broker.services_port)
    collector = Client(broker, COLLECTOR, COLLECTOR_PW, broker.services_port)
    gateway = Client(broker, f"{CEMENT}.gw-kiln", "kiln-demo-2026")
    try:
        watcher.subscribe("$share/enerdiag-safety/em/v1/+/+/telemetry")
        watcher.subscribe("em/v1/#")  # granted by Mosquitto 2.0, but `read` is checked on every delivery
        collector.subscribe("em/v1/#")
        status, telemetry = f"em/v1/{CEMENT}/gw-kiln/status", f"em/v1/{CEMENT}/gw-kiln/telemetry"
        gateway.publish(status, b'{"online": true}')
        gateway.publish(telemetry, b'{"readings": []}')
        assert [collector.messages.get(timeout=5)[0] for _ in range(2)] == [status, telemetry]
        assert [watcher.messages.get(timeout=5)[0] for _ in range(2)] == [telemetry, telemetry]
        time.sleep(0.3)
        assert watcher.messages.empty()  # the status message never reached it
    finally:
        for client in (watcher, collector, gateway):
            client.close()


def test_files_hold_hashes_only_in_mosquitto_format(broker: AclBroker) -> None:
    text = broker.password_file.read_text()
    assert "kiln-demo-2026" not in text and COLLECTOR_PW not in text
    users = dict(line.split(":", 1) for line in text.splitlines())
    assert len(users) == 7 and mosquitto_verify("kiln-demo-2026", users[f"{CEMENT}.gw-kiln"])
    services_text = broker.services_password_file.read_text()
    assert COLLECTOR_PW not in services_text and SAFETY_PW not in services_text
    services = dict(line.split(":", 1) for line in services_text.splitlines())
    assert set(services) == {COLLECTOR, SAFETY}
    assert mosquitto_verify(COLLECTOR_PW, services[COLLECTOR]) and mosquitto_verify(SAFETY_PW, services[SAFETY])
    acl = broker.acl_file.read_text()
    assert f"user {CEMENT}.gw-kiln\ntopic write em/v1/{CEMENT}/gw-kiln/#" in acl
    services_acl = broker.services_acl_file.read_text()
    assert f"user {COLLECTOR}\ntopic read em/v1/#\ntopic read $share/+/em/v1/#" in services_acl
    assert f"user {SAFETY}\ntopic read em/v1/+/+/telemetry\ntopic read $share/+/em/v1/+/+/telemetry" in services_acl
    for text in (acl, services_acl):
        assert "pattern" not in text and "topic readwrite" not in text


def test_our_hash_and_mosquitto_passwd_agree(tmp_path: Path) -> None:
    """The real `mosquitto_passwd` writes hashes we verify; and the broker accepted ours (tests above)."""
    binary = shutil.which("mosquitto_passwd")
    if binary is None:
        pytest.fail("mosquitto_passwd is not installed (Debian package mosquitto)", pytrace=False)
    path = tmp_path / "pw"
    subprocess.run([binary, "-c", "-b", str(path), "gw", "p@ss:word ü"], check=True, capture_output=True)
    encoded = path.read_text().strip().split(":", 1)[1]
    assert encoded.startswith("$7$101$")
    assert mosquitto_verify("p@ss:word ü", encoded) and not mosquitto_verify("p@ss:word u", encoded)
    ours = mosquitto_hash("p@ss:word ü")
    assert ours.startswith("$7$1000$") and mosquitto_verify("p@ss:word ü", ours)
