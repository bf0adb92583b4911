"""Session takeover replayed on a real Mosquitto with the generated configuration (issue 15, D2).

A gateway account connects with the collector's client id while another enterprise publishes. MQTT lets a
new connection with a client id take over the session of that id: on a broker where any account may choose
any client id, the collector is disconnected and the messages routed to its session meanwhile are dropped
(the gateway may not read them). With `use_username_as_clientid` on the gateway listener and the services on
a listener of their own, the gateway gets a session named after its own account, and nothing is lost.
"""

from __future__ import annotations

import queue
import threading
import time
from pathlib import Path

import orjson
import paho.mqtt.client as mqtt
import pytest
from paho.mqtt.enums import CallbackAPIVersion
from paho.mqtt.packettypes import PacketTypes
from paho.mqtt.properties import Properties

from collector.loadgen import Publisher, telemetry_topic
from collector.registry_view import load_snapshot
from collector.service import Collector, CollectorConfig
from core.influx import InfluxV1
from tests.support.acl_broker import registry_acl_broker

pytestmark = pytest.mark.integration

ROOT = Path(__file__).resolve().parents[2]
EXAMPLE = ROOT / "deploy" / "registry-datong.yaml"
CEMENT, COKING = "91140214MA0FE1KM73", "91140226MA02U9AL2Q"
COLLECTOR, COLLECTOR_PW = "collector-test", "collector-secret-1"
SAFETY, SAFETY_PW = "safety-test", "safety-secret-1"
CLIENT_ID = "enerdiag-collector-1"
MESSAGES = 150
START = 1_764_547_200  # 2025-12-01 00:00 UTC


def hijacker(host: str, port: int, username: str, password: str, client_id: str) -> tuple[mqtt.Client, dict]:
    """A client that asks for `client_id`'s persistent session; returns it and its CONNACK (code, session present)."""
    answers: queue.Queue[tuple[int, bool]] = queue.Queue()
    client = mqtt.Client(CallbackAPIVersion.VERSION2, client_id=client_id, protocol=mqtt.MQTTv5)
    client.username_pw_set(username, password)
    client.on_connect = lambda c, u, flags, rc, p: answers.put((rc.value, bool(flags.session_present)))
    props = Properties(PacketTypes.CONNECT)
    props.SessionExpiryInterval = 3600
    client.connect(host, port, clean_start=False, properties=props)
    client.loop_start()
    code, present = answers.get(timeout=5)
    return client, {"code": code, "session_present": present}


def test_a_gateway_cannot_take_the_collectors_session(services, influx_db: str, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    with registry_acl_broker("enerdiag-test-sessions-", lambda _: EXAMPLE, COLLECTOR, COLLECTOR_PW,
                             (SAFETY, SAFETY_PW)) as broker:
        snapshot = load_snapshot()
        config = CollectorConfig(
            mqtt_url=f"mqtt://{COLLECTOR}:{COLLECTOR_PW}@{broker.host}:{broker.services_port}", client_id=CLIENT_ID,
            influx_url=services.influx_url, influx_db=influx_db, data_dir=tmp_path / "data", shared_group="collectors",
            batch_age=0.05, stats_every=0,
        )
        collector = Collector(config, lambda: snapshot)
        collector.start()
        publisher = Publisher(f"mqtt://{broker.host}:{broker.port}", "coke-gw1", username=f"{COKING}.gw1",
                              password="coke-demo-2026")
        influx = InfluxV1(services.influx_url, influx_db)
        attackers: list[mqtt.Client] = []
        try:
            assert collector.wait_connected()
            time.sleep(0.3)  # subscriptions granted
            assert collector._generation == 1

            def publish() -> None:  # another enterprise's readings, before, during and after the attack
                for i in range(MESSAGES):
                    reading = {"meter": "M01", "ts": START + 60 * i, "values": {"energy_kwh": float(i)}}
                    publisher.publish(telemetry_topic(COKING, "gw1"), orjson.dumps({"readings": [reading]}))
                    time.sleep(0.02)

            sender = threading.Thread(target=publish)
            sender.start()
            time.sleep(0.5)
            # the attack: a gateway's own valid account, asking for the collector's persistent session
            gateway, answer = hijacker(broker.host, broker.port, f"{CEMENT}.gw-kiln", "kiln-demo-2026", CLIENT_ID)
            attackers.append(gateway)
            hijack = answer
            # the services listener does not take gateway credentials at all
            refused, answer = hijacker(broker.host, broker.services_port, f"{CEMENT}.gw-kiln", "kiln-demo-2026",
                                       CLIENT_ID)
            attackers.append(refused)
            assert answer["code"] == 135  # not authorized
            sender.join()
            time.sleep(1.0)
            assert collector._generation == 1, "the collector was disconnected"

            def stored() -> int:
                series = influx.query('SELECT count("energy_kwh") FROM "reading"')
                return int(series[0].values[0][1]) if series else 0

            deadline = time.monotonic() + 20
            while stored() < MESSAGES and time.monotonic() < deadline:
                time.sleep(0.2)
            assert stored() == MESSAGES  # no reading of the other enterprise was lost
            assert hijack == {"code": 0, "session_present": False}  # the gateway got a session of its own
            log = (broker.workdir / "broker" / "mosquitto.log").read_text(errors="replace")
            assert f"Client {CLIENT_ID} already connected" not in log
        finally:
            for client in attackers:
                client.disconnect()
                client.loop_stop()
            publisher.close()
            collector.stop()
            influx.close()
