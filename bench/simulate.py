"""Simulator benchmark: a 30-day backfill of 200 plants (15 min) and 1,000 plants in real time (1 min).

Runs against its own Mosquitto (Debian package, temp dir) unless `--mqtt-url` is given, with a QoS 1
subscriber counting what arrives, so the figures are delivered messages, not just sent ones.
Usage: .venv/bin/python bench/simulate.py [--backfill-plants 200 --days 30 --realtime-plants 1000 ...]
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import resource
import shutil
import tempfile
import threading
import time
from pathlib import Path

import paho.mqtt.client as mqtt

from enerdiag.localservices import Mosquitto
from simulators import timeline
from simulators.city import CityConfig
from simulators.gateway import parse_mqtt_url
from simulators.plant import simulate
from simulators.runner import Backfill, MqttSink, RealTime, local_today, publish


class Counter:
    """QoS 1 subscriber counting telemetry messages."""

    def __init__(self, host: str, port: int) -> None:
        self.count = 0
        self.lock = threading.Lock()
        ready = threading.Event()
        self.client = mqtt.Client(mqtt.CallbackAPIVersion.VERSION2, protocol=mqtt.MQTTv5)
        self.client.on_connect = lambda c, *a: c.subscribe("em/v1/+/+/telemetry", 1)
        self.client.on_subscribe = lambda *a: ready.set()
        self.client.on_message = self._on_message
        self.client.connect(host, port)
        self.client.loop_start()
        ready.wait(10)

    def _on_message(self, *args: object) -> None:
        with self.lock:
            self.count += 1

    def wait(self, expected: int, timeout: float) -> float:
        started = time.perf_counter()
        while time.perf_counter() - started < timeout and self.count < expected:
            time.sleep(0.05)
        return time.perf_counter() - started

    def reset(self) -> None:
        with self.lock:
            self.count = 0

    def close(self) -> None:
        self.client.disconnect()
        self.client.loop_stop()


def bench_backfill(url: str, counter: Counter, plants: int, days: int, step: int) -> dict:
    end = local_today()
    config = CityConfig(plants=plants, seed=1, days=tuple(end - dt.timedelta(days=days - i) for i in range(days)))
    t0 = time.perf_counter()
    run = Backfill.plan(config, step)
    plan_s = time.perf_counter() - t0
    counter.reset()
    stats = publish(run.messages(), MqttSink(parse_mqtt_url(url), client_prefix="bench-bf"), run.plants)
    tail_s = counter.wait(stats.messages, 300)
    total = plan_s + stats.seconds + tail_s
    return {
        "plants": plants,
        "days": days,
        "step_s": step,
        "messages": stats.messages,
        "readings": stats.readings,
        "mbytes": round(stats.bytes / 1e6, 1),
        "delivered": counter.count,
        "plan_s": round(plan_s, 2),
        "publish_s": round(stats.seconds, 2),
        "total_s": round(total, 2),
        "readings_per_s": round(stats.readings / total),
    }


def bench_realtime(url: str, counter: Counter, plants: int, seconds: float, step: int, past_h: float) -> dict:
    today = local_today()
    config = CityConfig(plants=plants, seed=2, days=tuple(today + dt.timedelta(days=i) for i in range(30)))
    t0 = time.perf_counter()
    tl = timeline.build(today, 1, step, 2)
    realtime = RealTime(config, step)
    for spec in realtime.plants:
        simulate(spec, tl)
    day_s = time.perf_counter() - t0
    # accelerated from `past_h` hours ago: steps are built and published as fast as possible until the
    # simulated clock reaches the wall clock; `busy_s` counts only the time spent on steps
    counter.reset()
    sink = MqttSink(parse_mqtt_url(url), client_prefix="bench-rt", connect_timeout=60)
    t1 = time.perf_counter()
    stats = realtime.run(sink, time.time() - past_h * 3600, speed=1e6, duration_s=seconds)
    wall = time.perf_counter() - t1
    counter.wait(stats.messages, 120)
    per_step = realtime.busy_s / realtime.steps if realtime.steps else None
    return {
        "plants": plants,
        "step_s": step,
        "wall_s": round(wall, 2),
        "steps": realtime.steps,
        "messages": stats.messages,
        "delivered": counter.count,
        "simulate_one_day_s": round(day_s, 2),
        "busy_s": round(realtime.busy_s, 2),
        "seconds_per_step_all_plants": round(per_step, 3) if per_step else None,
        "messages_per_s_while_busy": round(stats.messages / realtime.busy_s) if realtime.busy_s else None,
        "realtime_headroom_x": round(step / per_step, 1) if per_step else None,
        "max_rss_mb": round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--mqtt-url")
    parser.add_argument("--backfill-plants", type=int, default=200)
    parser.add_argument("--days", type=int, default=30)
    parser.add_argument("--backfill-step", type=int, default=900)
    parser.add_argument("--realtime-plants", type=int, default=1000)
    parser.add_argument("--realtime-step", type=int, default=60)
    parser.add_argument("--realtime-seconds", type=float, default=90.0)
    parser.add_argument("--realtime-past-hours", type=float, default=1.0, help="catch-up window")
    parser.add_argument("--skip-backfill", action="store_true")
    parser.add_argument("--skip-realtime", action="store_true")
    args = parser.parse_args()
    broker = None
    workdir = None
    url = args.mqtt_url
    if url is None:
        workdir = Path(tempfile.mkdtemp(prefix="bench-sim-", dir="/tmp"))
        workdir.chmod(0o755)
        broker = Mosquitto(workdir / "mosquitto")
        broker.start()
        url = broker.url
    address = parse_mqtt_url(url)
    counter = Counter(address.host, address.port)
    results: dict = {"mqtt_url": url}
    try:
        if not args.skip_backfill:
            results["backfill"] = bench_backfill(url, counter, args.backfill_plants, args.days, args.backfill_step)
            print(json.dumps({"backfill": results["backfill"]}), flush=True)
        if not args.skip_realtime:
            results["realtime"] = bench_realtime(
                url,
                counter,
                args.realtime_plants,
                args.realtime_seconds,
                args.realtime_step,
                args.realtime_past_hours,
            )
            print(json.dumps({"realtime": results["realtime"]}), flush=True)
    finally:
        counter.close()
        if broker is not None:
            broker.stop()
        if workdir is not None:
            shutil.rmtree(workdir, ignore_errors=True)
    print(json.dumps(results, indent=2))


if __name__ == "__main__":
    main()
