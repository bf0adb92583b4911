"""Ingest benchmark: broker alone, InfluxDB alone, and the collector end to end, in one run.

Starts its own Mosquitto and InfluxDB (Debian packages, via enerdiag.localservices) in a temp dir,
runs `enerdiag collect` as a separate process, publishes through the real broker at QoS 1
(publishers throttled below 65,535 in flight) and measures:

- broker alone: paho publisher -> paho subscriber, QoS 1, single-reading payloads (msg/s);
- InfluxDB alone: pre-built line protocol, 5,000-line batches on one keep-alive connection (points/s);
- end to end, 50-reading messages and single-reading messages: first publish -> last reading
  queryable (readings/s), every reading counted once with InfluxQL afterwards;
- publish -> queryable latency (p50/p99) at half the end-to-end rates;
- the collector's peak RSS (VmHWM).

    .venv/bin/python bench/ingest.py [--readings 1000000] [--singles 100000] [--json out.json]
"""

from __future__ import annotations

import argparse
import json
import multiprocessing as mp
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path
from typing import Any

import paho.mqtt.client as mqtt
from paho.mqtt.enums import CallbackAPIVersion, MQTTProtocolVersion

from collector.loadgen import Publisher, messages, telemetry_topic
from core.influx import InfluxV1
from enerdiag.localservices import InfluxD, Mosquitto
from enerdiag.localservices.procs import free_port

ENT = "91330100MA27XL0E96"
METERS = 100
START_TS = 1_700_000_000
RUNNER = "import typer; from enerdiag.commands import collect; app = typer.Typer(); collect.register(app); app()"


def log(text: str) -> None:
    print(f"[ingest] {text}", file=sys.stderr, flush=True)


# ---------------------------------------------------------------- limits


def _publish_share(url: str, topic: str, per: int, count: int, offset: int, name: str, go: Any, ready: Any,
                   cpu: Any) -> None:
    """Child process: build its payloads, wait for the start signal, publish them all at QoS 1."""
    payloads = list(messages(count, per, START_TS, METERS, offset=offset))
    pub = Publisher(url, name)
    ready.release()
    go.wait()
    before = time.process_time()
    for payload in payloads:
        pub.publish(topic, payload)
    pub.wait_acked(300)
    pub.close()
    cpu.put(time.process_time() - before)


def process_cpu(pid: int) -> float:
    """User + system CPU seconds of a process."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


PUBLISHER_CPU: Any = None


def start_publishers(url: str, topic_of: Any, per: int, count: int, processes: int) -> tuple[list[Any], Any]:
    """`processes` publisher processes sharing `count` messages; returns them and the start event."""
    global PUBLISHER_CPU
    ctx = mp.get_context("fork")
    go, ready, PUBLISHER_CPU = ctx.Event(), ctx.Semaphore(0), ctx.Queue()
    share = count // processes
    procs = [ctx.Process(target=_publish_share, args=(url, topic_of(i), per, share, i * share,
                                                      f"bench-pub-{per}-{i}-{time.time_ns()}", go, ready,
                                                      PUBLISHER_CPU))
             for i in range(processes)]
    for p in procs:
        p.start()
    for _ in procs:
        ready.acquire()
    return procs, go


def broker_alone(url: str, count: int, processes: int = 1) -> float:
    """Messages/s from `processes` paho publishers to one paho subscriber at QoS 1."""
    got = threading.Event()
    received = [0]
    total = count // processes * processes

    def on_message(*_: Any) -> None:
        received[0] += 1
        if received[0] == total:
            got.set()

    sub = mqtt.Client(CallbackAPIVersion.VERSION2, client_id=f"bench-sub-{time.time_ns()}",
                      protocol=MQTTProtocolVersion.MQTTv5)
    sub.on_message = on_message
    host, port = url.removeprefix("mqtt://").split(":")
    sub.connect(host, int(port))
    sub.loop_start()
    sub.subscribe("bench/broker", qos=1)
    time.sleep(0.5)
    procs, go = start_publishers(url, lambda i: "bench/broker", 1, total, processes)
    started = time.perf_counter()
    go.set()
    got.wait(300)
    elapsed = time.perf_counter() - started
    for p in procs:
        p.join()
    sub.disconnect()
    sub.loop_stop()
    return received[0] / elapsed


def influx_alone(influx_url: str, count: int, batch: int = 5000) -> float:
    """Points/s for pre-built line protocol posted in `batch`-line requests."""
    influx = InfluxV1(influx_url, "bench_influx")
    influx.create_database()
    lines = [
        f"reading,enterprise={ENT},gateway=gw1,meter=M{k % METERS:04d} energy_kwh={1000 + k * 0.25},pf=0.93,"
        f"power_kw=42.5 {START_TS + k // METERS}"
        for k in range(count)
    ]
    bodies = ["\n".join(lines[i : i + batch]).encode() for i in range(0, count, batch)]
    started = time.perf_counter()
    for body in bodies:
        influx.write(body)
    elapsed = time.perf_counter() - started
    influx.close()
    return count / elapsed


# ---------------------------------------------------------------- end to end


class CollectorProcess:
    """`enerdiag collect` as its own process (open registry: any valid credit code)."""

    def __init__(self, env: dict[str, str], workdir: Path, name: str) -> None:
        self.metrics_port = free_port()
        self.log = workdir / f"{name}.log"
        # a few publisher processes stand for thousands of gateways: their guards checked, never tripped
        argv = [sys.executable, "-c", RUNNER, "collect", "--open-registry", "--client-id", name,
                "--metrics-port", str(self.metrics_port), "--log-every", "5",
                "--gateway-rate", "1000000", "--gateway-burst", "1000000"]
        with open(self.log, "ab") as out:
            self.proc = subprocess.Popen(argv, env=env, stdout=out, stderr=subprocess.STDOUT)
        deadline = time.monotonic() + 30
        while "MQTT connected" not in self.log.read_text():
            if time.monotonic() > deadline or self.proc.poll() is not None:
                raise RuntimeError(f"collector did not start: {self.log.read_text()[-2000:]}")
            time.sleep(0.1)
        time.sleep(0.5)

    def peak_rss_mb(self) -> float:
        for line in Path(f"/proc/{self.proc.pid}/status").read_text().splitlines():
            if line.startswith("VmHWM:"):
                return int(line.split()[1]) / 1024
        return float("nan")

    def stop(self) -> int:
        self.proc.terminate()
        return self.proc.wait(60)


def count_readings(influx: InfluxV1) -> int:
    series = influx.query('SELECT count("pf") FROM "reading"')
    return int(series[0].values[0][1]) if series else 0


def max_reading_index(influx: InfluxV1, since_ts: int) -> int:
    """Highest reading index k stored (energy_kwh = 1000 + k / 4), looking only at ts >= since_ts."""
    series = influx.query(f'SELECT max("energy_kwh") FROM "reading" WHERE time >= {since_ts}s')
    if not series or series[0].values[0][1] is None:
        return -1
    return round((series[0].values[0][1] - 1000) * 4)


def end_to_end(mqtt_url: str, influx: InfluxV1, readings: int, per: int, processes: int,
               servers: dict[str, int]) -> dict[str, float]:
    """Publish `readings` in `per`-reading messages as fast as allowed; rate to the last one queryable."""
    cpu_before = {name: process_cpu(pid) for name, pid in servers.items()}
    count = readings // per // processes * processes
    total = count * per
    procs, go = start_publishers(mqtt_url, lambda i: telemetry_topic(ENT, f"gw{i}"), per, count, processes)
    started = time.perf_counter()
    go.set()
    published_at = 0.0
    last_ts = START_TS + (total - 1) // METERS
    while True:
        if not published_at and not any(p.is_alive() for p in procs):
            published_at = time.perf_counter()
        if max_reading_index(influx, last_ts) >= total - 1 and count_readings(influx) >= total:
            break
        if time.perf_counter() - started > 600:
            raise RuntimeError("end-to-end run did not finish in 600 s")
        time.sleep(0.05)
    elapsed = time.perf_counter() - started
    cpu = {f"cpu_s_{name}": process_cpu(pid) - cpu_before[name] for name, pid in servers.items()}
    cpu["cpu_s_publishers"] = sum(PUBLISHER_CPU.get(timeout=60) for _ in procs)
    for p in procs:
        p.join()
    return {
        **cpu,
        "readings": total,
        "messages": count,
        "publishers": processes,
        "stored": count_readings(influx),
        "seconds": elapsed,
        "readings_per_s": total / elapsed,
        "messages_per_s": count / elapsed,
        "publish_seconds": (published_at or time.perf_counter()) - started,
    }


def latency(
    mqtt_url: str, influx: InfluxV1, per: int, msg_rate: float, seconds: float, first_k: int
) -> dict[str, float]:
    """Publish at `msg_rate` for `seconds`; p50/p99 of publish -> queryable (50 ms polling)."""
    count = int(msg_rate * seconds)
    offset = first_k // per
    payloads = list(messages(count, per, START_TS, METERS, offset=offset))
    published: list[float] = [0.0] * count
    pub = Publisher(mqtt_url, f"bench-lat-{per}-{time.time_ns()}")
    topic = telemetry_topic(ENT, "gwlat")

    def publish() -> None:
        begin = time.perf_counter()
        for i, payload in enumerate(payloads):
            ahead = begin + i / msg_rate - time.perf_counter()
            if ahead > 0:
                time.sleep(ahead)
            published[i] = time.perf_counter()
            pub.publish(topic, payload)

    thread = threading.Thread(target=publish)
    thread.start()
    queryable: list[float] = [0.0] * count
    seen = -1  # index of the last message known queryable
    while seen < count - 1:
        k_lo = first_k + (seen + 1) * per
        k = max_reading_index(influx, START_TS + k_lo // METERS - 1)
        now = time.perf_counter()
        newest = (k - first_k + 1) // per - 1
        for i in range(seen + 1, min(newest, count - 1) + 1):
            queryable[i] = now
        seen = max(seen, min(newest, count - 1))
        time.sleep(0.05)
    thread.join()
    pub.close()
    lat = sorted(q - p for q, p in zip(queryable, published, strict=True))
    return {
        "messages_per_s": msg_rate,
        "readings_per_s": msg_rate * per,
        "p50_s": statistics.median(lat),
        "p99_s": lat[int(0.99 * (len(lat) - 1))],
        "max_s": lat[-1],
    }


# ---------------------------------------------------------------- main


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--readings", type=int, default=1_000_000, help="readings for the batched run")
    parser.add_argument("--singles", type=int, default=100_000, help="messages for the single-reading run")
    parser.add_argument("--broker-messages", type=int, default=100_000)
    parser.add_argument("--influx-points", type=int, default=1_000_000)
    parser.add_argument("--latency-seconds", type=float, default=10.0)
    parser.add_argument("--publishers", type=int, default=1, help="publisher processes (broker alone, e2e runs)")
    parser.add_argument("--json", type=Path, help="also write the results here")
    args = parser.parse_args()

    workdir = Path(tempfile.mkdtemp(prefix="enerdiag-bench-", dir="/tmp"))
    workdir.chmod(0o755)
    broker = Mosquitto(workdir / "mosquitto").start()
    influxd = InfluxD(workdir / "influxdb").start()
    results: dict[str, Any] = {"cpus": os.cpu_count(), "when": time.strftime("%Y-%m-%d %H:%M UTC", time.gmtime())}
    collector: CollectorProcess | None = None
    try:
        log("broker alone ...")
        results["broker_alone_msg_per_s"] = broker_alone(broker.url, args.broker_messages, args.publishers)
        log(f"  {results['broker_alone_msg_per_s']:,.0f} msg/s with {args.publishers} publisher processes")
        log("InfluxDB alone ...")
        results["influx_alone_points_per_s"] = influx_alone(influxd.url, args.influx_points)
        log(f"  {results['influx_alone_points_per_s']:,.0f} points/s")

        env = {**os.environ, "ENERDIAG_MQTT_URL": broker.url, "ENERDIAG_INFLUX_URL": influxd.url,
               "ENERDIAG_DATA_DIR": str(workdir / "data")}
        for key in ("ENERDIAG_DB_URL", "ENERDIAG_CONFIG", "ENERDIAG_INFLUX_TOKEN"):
            env.pop(key, None)
        runs = [("batched", 50, args.readings), ("single", 1, args.singles)]
        for name, per, readings in runs:
            db = f"bench_{name}"
            env["ENERDIAG_INFLUX_DB"] = db
            collector = CollectorProcess(env, workdir, f"bench-collector-{name}")
            influx = InfluxV1(influxd.url, db)
            log(f"end to end, {per}-reading messages, {readings:,} readings ...")
            servers = {"collector": collector.proc.pid, "mosquitto": broker.pid, "influxd": influxd.pid}
            run = end_to_end(broker.url, influx, readings, per, args.publishers, servers)  # type: ignore[arg-type]
            cpu = run["cpu_s_collector"]
            run["readings_per_collector_cpu_second"] = run["readings"] / cpu
            run["messages_per_collector_cpu_second"] = run["messages"] / cpu
            log(f"  {run['readings_per_s']:,.0f} readings/s, {run['messages_per_s']:,.0f} msg/s, "
                f"stored {run['stored']:,} of {run['readings']:,}; collector CPU {cpu:.1f} s = "
                f"{run['readings_per_collector_cpu_second']:,.0f} readings per CPU-second")
            log("  CPU s: " + ", ".join(f"{k[6:]} {v:.1f}" for k, v in run.items() if k.startswith("cpu_s_")))
            half = run["messages_per_s"] / 2
            log(f"latency at half that rate ({half:,.0f} msg/s) for {args.latency_seconds:.0f} s ...")
            run["latency"] = latency(broker.url, influx, per, half, args.latency_seconds, run["readings"])
            lat = run["latency"]
            log(f"  p50 {lat['p50_s']:.3f} s, p99 {lat['p99_s']:.3f} s")
            expected = run["readings"] + int(half * args.latency_seconds) * per
            run["stored_total"] = count_readings(influx)
            run["stored_exactly_once"] = run["stored_total"] == expected
            run["collector_peak_rss_mb"] = collector.peak_rss_mb()
            run["collector_exit_code"] = collector.stop()
            collector = None
            results[name] = run
            log(f"  peak RSS {run['collector_peak_rss_mb']:.0f} MB, stored {run['stored_total']:,} "
                f"(expected {expected:,})")
    finally:
        if collector is not None:
            collector.stop()
        broker.stop()
        influxd.stop()
        shutil.rmtree(workdir, ignore_errors=True)
    text = json.dumps(results, indent=2)
    print(text)
    if args.json:
        args.json.write_text(text + "\n")


if __name__ == "__main__":
    main()
