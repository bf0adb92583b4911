"""`enerdiag services up|down|status` and the server handles, against the real Debian servers."""

from __future__ import annotations

import json
import os
import shutil
import signal
import socket
import subprocess
import sys
import threading
import time
import urllib.parse
import urllib.request
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import paho.mqtt.client as mqtt
import pytest
from typer.testing import CliRunner

from enerdiag.cli import app
from enerdiag.localservices import InfluxD, Mosquitto, ServiceError, mqtt_probe, procs
from enerdiag.localservices.influxd import rewrite_influx_config
from enerdiag.localservices.mosquitto import mosquitto_config
from tests.conftest import Services, service_tmpdir

ENERDIAG = str(Path(sys.executable).parent / "enerdiag")
ENV_KEYS = ["ENERDIAG_MQTT_URL", "ENERDIAG_INFLUX_URL", "ENERDIAG_INFLUX_DB", "ENERDIAG_DATA_DIR"]


# ------------------------------------------------------------------------------------------ helpers
@dataclass
class CliResult:
    returncode: int
    stdout: str
    stderr: str


def cli(run_dir: Path, *args: str, extra_env: dict[str, str] | None = None, real: bool = False) -> CliResult:
    """Run `enerdiag ARGS` with ENERDIAG_RUN_DIR=`run_dir`: in-process (CliRunner), or the installed
    console script in a subprocess with `real` (slower: a fresh interpreter per call)."""
    env = {k: None for k in os.environ if k.startswith("ENERDIAG_")}
    env.update({"ENERDIAG_RUN_DIR": str(run_dir), **(extra_env or {})})
    if real:
        clean = {k: v for k, v in {**os.environ, **env}.items() if v is not None}
        done = subprocess.run([ENERDIAG, *args], env=clean, capture_output=True, text=True, timeout=90, check=False)
        return CliResult(done.returncode, done.stdout, done.stderr)
    result = CliRunner().invoke(app, list(args), env=env)
    return CliResult(result.exit_code, result.stdout, result.stderr)


def parse_env(text: str) -> dict[str, str]:
    return dict(line.split("=", 1) for line in text.splitlines() if line)


def recorded_pids(run_dir: Path) -> dict[str, int]:
    state = json.loads((run_dir / "services.json").read_text())
    return {name: entry["pid"] for name, entry in state.items()}


def mqtt_round_trip(url: str, payload: bytes) -> bytes:
    """Subscribe, publish `payload` at QoS 1 from a second client, return what the subscriber got."""
    parts = urllib.parse.urlsplit(url)
    got: list[bytes] = []
    received, subscribed = threading.Event(), threading.Event()
    topic = f"test/roundtrip/{uuid.uuid4().hex}"
    sub = mqtt.Client(mqtt.CallbackAPIVersion.VERSION2, protocol=mqtt.MQTTv5)
    sub.on_subscribe = lambda *a: subscribed.set()
    sub.on_message = lambda c, u, m: (got.append(m.payload), received.set())
    sub.connect(parts.hostname or "", parts.port or 1883)
    sub.loop_start()
    try:
        sub.subscribe(topic, qos=1)
        assert subscribed.wait(5)
        pub = mqtt.Client(mqtt.CallbackAPIVersion.VERSION2, protocol=mqtt.MQTTv5)
        pub.connect(parts.hostname or "", parts.port or 1883)
        pub.loop_start()
        pub.publish(topic, payload, qos=1).wait_for_publish(5)
        pub.disconnect()
        pub.loop_stop()
        assert received.wait(5)
    finally:
        sub.disconnect()
        sub.loop_stop()
    return got[0]


def influx_write_read(url: str, db: str, value: float) -> float:
    """Write one point through /write and read it back through /query."""
    line = f"svc_test,probe=a v={value} 1700000000000000000".encode()
    req = urllib.request.Request(f"{url}/write?db={db}", data=line, method="POST")
    with urllib.request.urlopen(req, timeout=5) as resp:
        assert resp.status == 204
    query = urllib.parse.urlencode({"db": db, "q": "SELECT last(v) FROM svc_test WHERE probe='a'"})
    with urllib.request.urlopen(f"{url}/query?{query}", timeout=5) as resp:
        body = json.loads(resp.read())
    return float(body["results"][0]["series"][0]["values"][0][1])


@pytest.fixture
def run_dir() -> Iterator[Path]:
    """A temp run dir for the CLI; whatever is still running there is brought down afterwards."""
    path = service_tmpdir("enerdiag-test-run-")
    yield path
    cli(path, "services", "down")
    shutil.rmtree(path, ignore_errors=True)


# ------------------------------------------------------------------------------------------ pure
def test_influx_config_rewrite_moves_every_dir_and_listener(tmp_path: Path) -> None:
    default = subprocess.run(["influxd", "config", "-config", "/dev/null"], capture_output=True, text=True).stdout
    text = rewrite_influx_config(default, tmp_path, 18086, 18088)
    assert "/root/.influxdb" not in text and "/var/lib/influxdb" not in text
    binds = [line.split("=", 1)[1].strip() for line in text.splitlines() if line.strip().startswith("bind-address")]
    assert binds[0] == '"127.0.0.1:18088"'  # the RPC (backup) port, 8088 by default
    assert '"127.0.0.1:18086"' in binds
    assert all(b.startswith('"127.0.0.1:') for b in binds)
    assert "reporting-enabled = false" in text
    with pytest.raises(ValueError, match=r"\[http\] bind-address"):
        rewrite_influx_config(default.replace('bind-address = ":8086"', ""), tmp_path, 1, 2)


def test_mosquitto_config_sets_queue_limits_deliberately(tmp_path: Path) -> None:
    text = mosquitto_config(1884, tmp_path, allow_anonymous=False, extra_config="acl_file /x/acl")
    lines = text.splitlines()
    assert "listener 1884 127.0.0.1" in lines
    assert "persistence true" in lines and "allow_anonymous false" in lines
    assert "max_queued_messages 1000000" in lines
    assert any(line.startswith("max_queued_bytes ") for line in lines)
    assert lines[-1] == "acl_file /x/acl"


# ------------------------------------------------------------------------------------------ CLI
@pytest.mark.integration
def test_up_status_use_up_again_down(run_dir: Path) -> None:
    """The whole cycle through the installed console script, as a developer runs it."""
    first = cli(run_dir, "services", "up", real=True)
    assert first.returncode == 0, first.stderr
    env = parse_env(first.stdout)
    assert list(env) == ENV_KEYS
    assert (run_dir / "env").read_text() == first.stdout
    assert env["ENERDIAG_DATA_DIR"] == str(run_dir / "data") and Path(env["ENERDIAG_DATA_DIR"]).is_dir()
    assert env["ENERDIAG_INFLUX_DB"] == "energy"
    pids = recorded_pids(run_dir)
    assert set(pids) == {"mosquitto", "influxd"}

    status = cli(run_dir, "services", "status", real=True)
    assert status.returncode == 0, status.stdout
    for name, pid in pids.items():
        assert f"pid={pid}" in next(line for line in status.stdout.splitlines() if line.startswith(name))
    assert "UP" in status.stdout and "DOWN" not in status.stdout

    payload = f"hello {uuid.uuid4()}".encode()
    assert mqtt_round_trip(env["ENERDIAG_MQTT_URL"], payload) == payload
    value = time.time() % 1000
    assert influx_write_read(env["ENERDIAG_INFLUX_URL"], "energy", value) == pytest.approx(value)

    again = cli(run_dir, "services", "up", real=True)
    assert again.returncode == 0, again.stderr
    assert again.stdout == first.stdout
    assert recorded_pids(run_dir) == pids

    down = cli(run_dir, "services", "down", real=True)
    assert down.returncode == 0, down.stderr
    for pid in pids.values():
        assert not procs.alive(pid)
        assert f"stopped pid {pid}" in down.stderr
    assert not (run_dir / "env").exists()
    after = cli(run_dir, "services", "status", real=True)
    assert after.returncode == 1
    assert "UP" not in after.stdout


@pytest.mark.integration
def test_up_restarts_dead_service_on_its_old_port(run_dir: Path) -> None:
    first = cli(run_dir, "services", "up")
    assert first.returncode == 0, first.stderr
    pids = recorded_pids(run_dir)
    os.kill(pids["mosquitto"], signal.SIGKILL)
    procs.wait_gone(pids["mosquitto"], 5)
    assert cli(run_dir, "services", "status").returncode == 1

    again = cli(run_dir, "services", "up")
    assert again.returncode == 0, again.stderr
    assert again.stdout == first.stdout  # same ports: clients keep working
    new = recorded_pids(run_dir)
    assert new["influxd"] == pids["influxd"] and new["mosquitto"] != pids["mosquitto"]
    assert procs.is_program(new["mosquitto"], "mosquitto", str(run_dir / "mosquitto"))
    assert cli(run_dir, "services", "status").returncode == 0


@pytest.mark.integration
def test_down_never_kills_a_pid_that_is_no_longer_ours(run_dir: Path) -> None:
    assert cli(run_dir, "services", "up").returncode == 0
    pids = recorded_pids(run_dir)
    state = json.loads((run_dir / "services.json").read_text())
    stranger = subprocess.Popen(["sleep", "60"])
    try:
        real_mosquitto = state["mosquitto"]["pid"]
        state["mosquitto"]["pid"] = stranger.pid  # as if the pid had been recycled
        (run_dir / "services.json").write_text(json.dumps(state))
        down = cli(run_dir, "services", "down")
        assert down.returncode == 0
        assert stranger.poll() is None, "down killed a process it did not start"
        assert not procs.alive(pids["influxd"])
        assert procs.alive(real_mosquitto)
    finally:
        stranger.kill()
        stranger.wait()
        procs.terminate(real_mosquitto)


@pytest.mark.integration
def test_status_without_up_reports_down(run_dir: Path) -> None:
    result = cli(run_dir, "services", "status")
    assert result.returncode == 1
    assert [line.split()[:2] for line in result.stdout.splitlines()] == [["mosquitto", "DOWN"], ["influxd", "DOWN"]]


# ------------------------------------------------------------------------------------------ API
@pytest.mark.integration
def test_mosquitto_restart_keeps_port_and_queued_messages(service_dir: Path) -> None:
    broker = Mosquitto(service_dir).start()
    try:
        port, first_pid = broker.port, broker.pid
        total = 1500  # more than Mosquitto's default max_queued_messages (1000)
        sub = mqtt.Client(mqtt.CallbackAPIVersion.VERSION2, client_id="svc-test-sub", protocol=mqtt.MQTTv5)
        props = mqtt.Properties(mqtt.PacketTypes.CONNECT)
        props.SessionExpiryInterval = 3600
        subscribed = threading.Event()
        sub.on_subscribe = lambda *args: subscribed.set()
        sub.connect("127.0.0.1", port, clean_start=False, properties=props)
        sub.loop_start()
        sub.subscribe("test/queued/#", qos=1)
        assert subscribed.wait(5)
        sub.disconnect()
        sub.loop_stop()

        pub = mqtt.Client(mqtt.CallbackAPIVersion.VERSION2, protocol=mqtt.MQTTv5)
        pub.connect("127.0.0.1", port)
        pub.loop_start()
        infos = [pub.publish(f"test/queued/{i}", str(i), qos=1) for i in range(total)]
        for info in infos:
            info.wait_for_publish(10)
        pub.disconnect()
        pub.loop_stop()

        broker.restart()
        assert broker.port == port and broker.pid != first_pid
        assert broker.running()

        got: set[int] = set()
        done = threading.Event()

        def on_message(client: mqtt.Client, userdata: object, msg: mqtt.MQTTMessage) -> None:
            got.add(int(msg.payload))
            if len(got) == total:
                done.set()

        sub = mqtt.Client(mqtt.CallbackAPIVersion.VERSION2, client_id="svc-test-sub", protocol=mqtt.MQTTv5)
        sub.on_message = on_message
        sub.connect("127.0.0.1", port, clean_start=False, properties=props)
        sub.loop_start()
        done.wait(15)
        sub.disconnect()
        sub.loop_stop()
        assert got == set(range(total))
    finally:
        broker.stop()


@pytest.mark.integration
def test_foreign_listener_port_is_not_reused(service_dir: Path) -> None:
    foreign = socket.socket()
    foreign.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    foreign.bind(("0.0.0.0", 0))  # a wildcard listener would answer our loopback probes
    foreign.listen()
    port = foreign.getsockname()[1]
    try:
        broker = Mosquitto(service_dir, port=port)
        with pytest.raises(ServiceError, match=f"port {port} .* already in use"):
            broker.start()
        assert broker.pid is None
        assert procs.find_programs("mosquitto", str(service_dir)) == []  # nothing was launched
    finally:
        foreign.close()


@pytest.mark.integration
def test_stale_state_with_port_taken_moves_to_a_free_port(run_dir: Path) -> None:
    first = parse_env(cli(run_dir, "services", "up").stdout)
    pids = recorded_pids(run_dir)
    old_port = int(first["ENERDIAG_MQTT_URL"].rsplit(":", 1)[1])
    os.kill(pids["mosquitto"], signal.SIGKILL)
    procs.wait_gone(pids["mosquitto"], 5)
    foreign = socket.socket()
    foreign.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    foreign.bind(("127.0.0.1", old_port))
    foreign.listen()
    try:
        again = cli(run_dir, "services", "up")
        assert again.returncode == 0, again.stderr
        new_port = int(parse_env(again.stdout)["ENERDIAG_MQTT_URL"].rsplit(":", 1)[1])
        assert new_port != old_port
        assert procs.owns_port(recorded_pids(run_dir)["mosquitto"], new_port)
    finally:
        foreign.close()


def start_authenticated_broker(
    service_dir: Path, user: str, password: str, acl_rule: str, probe_topic: str | None
) -> Mosquitto:
    """A Mosquitto with one user in a password file and an ACL, readiness probed as that user."""
    passwd, acl = service_dir / "passwd", service_dir / "acl"
    subprocess.run(["mosquitto_passwd", "-b", "-c", str(passwd), user, password], check=True)
    acl.write_text(f"user {user}\n{acl_rule}\n")
    for path in (passwd, acl):
        path.chmod(0o644)
    return Mosquitto(
        service_dir / "broker",
        extra_config=f"password_file {passwd}\nacl_file {acl}",
        allow_anonymous=False,
        probe_auth=(user, password),
        probe_topic=probe_topic,
    ).start()


@pytest.mark.integration
def test_mosquitto_with_password_file_and_acl(service_dir: Path) -> None:
    broker = start_authenticated_broker(service_dir, "gw1", "s3cret", "topic readwrite test/#", "test/ping")
    try:
        assert mqtt_probe_ok(broker.port, ("gw1", "s3cret"), "test/ping")
        assert not mqtt_probe_ok(broker.port, ("gw1", "s3cret"), "other")  # ACL denies it
        assert not mqtt_probe_ok(broker.port, None, "test/ping")
        assert not mqtt_probe_ok(broker.port, ("gw1", "wrong"), "test/ping")
    finally:
        broker.stop()


@pytest.mark.integration
def test_authenticated_broker_without_probe_topic_becomes_ready(service_dir: Path) -> None:
    """With an ACL that grants the probe user nothing, an accepted CONNACK is enough to be ready."""
    broker = start_authenticated_broker(service_dir, "collector", "pw", "topic read em/v1/#", None)
    try:
        assert broker.pid is not None
        assert mqtt_probe("127.0.0.1", broker.port, auth=("collector", "pw"), round_trip=False, require_accept=True)
        assert not mqtt_probe("127.0.0.1", broker.port, auth=("collector", "no"), round_trip=False, require_accept=True)
    finally:
        broker.stop()


def mqtt_probe_ok(port: int | None, auth: tuple[str, str] | None, topic_prefix: str) -> bool:
    assert port is not None
    return mqtt_probe("127.0.0.1", port, auth=auth, topic_prefix=topic_prefix, timeout=1.0)


@pytest.mark.integration
def test_influxd_stop_and_restart_keeps_data(service_dir: Path) -> None:
    influx = InfluxD(service_dir).start()
    try:
        influx.create_database("keep")
        assert influx_write_read(influx.url, "keep", 42.5) == 42.5
        port = influx.port
        influx.stop()
        assert not influx.ready()
        influx.start()
        assert influx.port == port
        body = influx.query("SELECT last(v) FROM svc_test", db="keep")
        assert body["results"][0]["series"][0]["values"][0][1] == 42.5
    finally:
        influx.stop()


# ------------------------------------------------------------------------------------------ fixtures
@pytest.mark.integration
def test_services_fixture_and_influx_db(services: Services, influx_db: str) -> None:
    assert os.environ["ENERDIAG_MQTT_URL"] == services.mqtt_url == f"mqtt://127.0.0.1:{services.mqtt_port}"
    assert os.environ["ENERDIAG_INFLUX_URL"] == services.influx_url
    from core.settings import get_settings

    settings = get_settings()
    assert settings.mqtt_url == services.mqtt_url and settings.influx_db == "energy"
    assert str(settings.data_dir) == services.env["ENERDIAG_DATA_DIR"]
    names = {row[0] for row in services.influxd.query("SHOW DATABASES")["results"][0]["series"][0]["values"]}
    assert {"energy", influx_db} <= names
    assert influx_write_read(services.influx_url, influx_db, 7.25) == 7.25
    payload = b"fixture"
    assert mqtt_round_trip(services.mqtt_url, payload) == payload


@pytest.mark.integration
@pytest.mark.postgres
def test_postgres_url_fixture_is_a_real_postgresql(postgres_url: str) -> None:
    import sqlalchemy

    assert postgres_url.startswith("postgresql+psycopg://postgres@127.0.0.1:")
    engine = sqlalchemy.create_engine(postgres_url)
    try:
        with engine.connect() as conn:
            version = conn.execute(sqlalchemy.text("SHOW server_version")).scalar_one()
    finally:
        engine.dispose()
    assert int(str(version).split(".")[0]) >= 13


@pytest.mark.integration
@pytest.mark.postgres
@pytest.mark.parametrize(
    ("args", "extra_env"),
    [(["--postgres"], {}), ([], {"ENERDIAG_DB_URL": "postgresql+psycopg://someone@db.example:5432/x"})],
    ids=["flag", "db-url-env"],
)
def test_up_with_postgres_writes_db_url(run_dir: Path, args: list[str], extra_env: dict[str, str]) -> None:
    result = cli(run_dir, "services", "up", *args, extra_env=extra_env)
    assert result.returncode == 0, result.stderr
    env = parse_env(result.stdout)
    assert list(env) == [*ENV_KEYS, "ENERDIAG_DB_URL"]
    assert env["ENERDIAG_DB_URL"].startswith("postgresql+psycopg://postgres@127.0.0.1:")
    pg_pid = recorded_pids(run_dir)["postgres"]
    assert procs.is_program(pg_pid, "postgres", str(run_dir / "postgres"))
    assert cli(run_dir, "services", "status").returncode == 0
    assert cli(run_dir, "services", "down").returncode == 0
    assert not procs.alive(pg_pid)


# ------------------------------------------------------------------------------------------ failures
@pytest.mark.integration
def test_failed_start_reports_log_tail_and_stops_what_it_started(
    run_dir: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # a server that dies at once, as influxd does on a broken config
    monkeypatch.setattr(InfluxD, "_prepare", lambda self, binary: ["/bin/sh", "-c", "echo influx-boom-42; exit 3"])
    monkeypatch.setenv("ENERDIAG_RUN_DIR", str(run_dir))
    result = CliRunner().invoke(app, ["services", "up"])
    assert result.exit_code == 1
    assert "influx-boom-42" in result.output  # the log tail
    assert "influxd exited during start (exit code 3)" in result.output
    assert not (run_dir / "services.json").exists() and not (run_dir / "env").exists()
    marker = str(run_dir / "mosquitto" / "mosquitto.conf")
    assert procs.find_programs("mosquitto", marker) == [], "the mosquitto started by the failed `up` still runs"


@pytest.mark.integration
def test_bad_mosquitto_config_fails_with_its_log(service_dir: Path) -> None:
    broker = Mosquitto(service_dir, extra_config="no_such_option_xyz 1")
    with pytest.raises(ServiceError, match="mosquitto exited during start") as info:
        broker.start(timeout=5)
    assert "no_such_option_xyz" in info.value.log_tail
    assert broker.pid is None


@pytest.mark.integration
def test_up_with_lost_state_file_stops_the_orphans_first(run_dir: Path) -> None:
    assert cli(run_dir, "services", "up").returncode == 0
    old = recorded_pids(run_dir)
    (run_dir / "services.json").unlink()
    again = cli(run_dir, "services", "up")
    assert again.returncode == 0, again.stderr
    new = recorded_pids(run_dir)
    for name, pid in old.items():
        assert not procs.alive(pid) and new[name] != pid
    assert procs.find_programs("mosquitto", str(run_dir)) == [new["mosquitto"]]
