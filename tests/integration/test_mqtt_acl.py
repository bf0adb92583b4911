"""`enerdiag registry mqtt-acl` on a real Mosquitto: the generated password file and ACL let each gateway publish
only under its own enterprise and gateway, and the collector (directly or shared) receive everything."""

from __future__ import annotations

import queue
import shutil
import subprocess
import tempfile
import time
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import paho.mqtt.client as mqtt
import pytest
import typer
from paho.mqtt.enums import CallbackAPIVersion
from typer.testing import CliRunner

from core.registry.db import dispose_engines, session_scope
from core.registry.hashing import mosquitto_hash, mosquitto_verify
from core.registry.loader import load_registry_file
from core.settings import get_settings
from enerdiag.commands import registry as registry_commands
from enerdiag.localservices import Mosquitto, ServiceError

pytestmark = pytest.mark.integration

ROOT = Path(__file__).resolve().parents[2]
EXAMPLE = ROOT / "deploy" / "registry-datong.yaml"
CEMENT, COKING = "91140214MA0FE1KM73", "91140226MA02U9AL2Q"
COLLECTOR, COLLECTOR_PW = "collector-test", "collector-secret-1"


@dataclass
class Broker:
    host: str
    port: int
    password_file: Path
    acl_file: Path


@pytest.fixture(scope="module")
def broker() -> Iterator[Broker]:
    """Example city loaded, files written by the command, Mosquitto started with them (anonymous refused)."""
    workdir = Path(tempfile.mkdtemp(prefix="enerdiag-test-acl-", dir="/tmp"))
    workdir.chmod(0o755)  # the broker drops to user mosquitto and must reach its files
    mp = pytest.MonkeyPatch()
    mp.setenv("ENERDIAG_DATA_DIR", str(workdir / "data"))
    mp.setenv("ENERDIAG_RUN_DIR", str(workdir / "run"))
    mp.setenv("ENERDIAG_MQTT_URL", "mqtt://127.0.0.1:1883")
    mp.delenv("ENERDIAG_DB_URL", raising=False)
    get_settings.cache_clear()
    server = None
    try:
        with session_scope() as session:
            load_registry_file(session, EXAMPLE)
        app = typer.Typer()
        registry_commands.register(app)
        pw, acl = workdir / "mosquitto" / "passwd", workdir / "mosquitto" / "acl"
        args = [
            "registry",
            "mqtt-acl",
            "--password-file",
            str(pw),
            "--acl-file",
            str(acl),
            "--collector-user",
            COLLECTOR,
            "--collector-password",
            COLLECTOR_PW,
        ]
        result = CliRunner().invoke(app, args)
        assert result.exit_code == 0, result.output
        assert "7 gateways" in result.stdout
        server = Mosquitto(
            workdir / "broker",
            extra_config=f"password_file {pw}\nacl_file {acl}\n",
            allow_anonymous=False,  # readiness: any CONNACK (the tests below log in for real)
        )
        try:
            server.start()
        except ServiceError as exc:
            pytest.fail(f"{exc}\n{exc.log_tail}", pytrace=False)
        assert server.port is not None
        yield Broker("127.0.0.1", server.port, pw, acl)
    finally:
        if server is not None:
            server.stop()
        mp.undo()
        get_settings.cache_clear()
        dispose_engines()
        shutil.rmtree(workdir, ignore_errors=True)


class Client:
    """A paho client that records connect result, suback codes and received messages."""

    def __init__(self, broker: Broker, username: str, password: str) -> None:
        self.messages: queue.Queue[tuple[str, bytes]] = queue.Queue()
        self.connack: queue.Queue[int] = queue.Queue()
        self.subacks: queue.Queue[list[int]] = queue.Queue()
        self.client = mqtt.Client(
            CallbackAPIVersion.VERSION2, client_id=f"t-{uuid.uuid4().hex[:8]}", protocol=mqtt.MQTTv5
        )
        self.client.username_pw_set(username, password)
        self.client.on_connect = lambda c, u, f, rc, p: self.connack.put(rc.value)
        self.client.on_subscribe = lambda c, u, mid, rcs, p: self.subacks.put([r.value for r in rcs])
        self.client.on_message = lambda c, u, m: self.messages.put((m.topic, m.payload))
        self.client.connect(broker.host, broker.port)
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


def test_gateway_publishes_to_its_own_topic_and_not_into_another_enterprise(broker: Broker) -> None:
    collector = Client(broker, COLLECTOR, COLLECTOR_PW)
    shared = Client(broker, COLLECTOR, COLLECTOR_PW)
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


def test_gateway_reads_nothing_and_wrong_passwords_are_refused(broker: Broker) -> None:
    snoop = Client(broker, f"{COKING}.gw1", "coke-demo-2026")
    collector = Client(broker, COLLECTOR, COLLECTOR_PW)
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
    assert Client(broker, COLLECTOR, "guess").rc == 135
    assert Client(broker, "anonymous-nobody", "").rc == 135


def test_files_hold_hashes_only_in_mosquitto_format(broker: Broker) -> None:
    text = broker.password_file.read_text()
    assert "kiln-demo-2026" not in text and COLLECTOR_PW not in text
    users = dict(line.split(":", 1) for line in text.splitlines())
    assert len(users) == 8 and mosquitto_verify(COLLECTOR_PW, users[COLLECTOR])
    assert mosquitto_verify("kiln-demo-2026", users[f"{CEMENT}.gw-kiln"])
    acl = broker.acl_file.read_text()
    assert f"user {CEMENT}.gw-kiln\ntopic write em/v1/{CEMENT}/gw-kiln/#" in acl
    assert f"user {COLLECTOR}\ntopic read em/v1/#\ntopic read $share/+/em/v1/#" in acl
    assert "pattern" not in acl and "topic readwrite" not in acl


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
