"""Counters of the collector, rendered as Prometheus text and as one log line."""

from __future__ import annotations

import threading
from collections import defaultdict
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

from collector.health import StatsSnapshot

LATENCY_BUCKETS = (0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0)


class Metrics:
    """What the collector did since it started (thread-safe)."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self.messages_received = 0
        self.readings_stored = 0  # written to InfluxDB directly or by replay
        self.readings_spooled = 0
        self.readings_replayed = 0
        self.batches_written = 0
        self.deadletters: dict[str, int] = defaultdict(int)
        self.write_seconds_sum = 0.0
        self.write_buckets = [0] * (len(LATENCY_BUCKETS) + 1)
        self.spool_batches = 0
        self.spool_bytes = 0
        self.backpressure = 0  # 1 while the spool is full and acknowledging has stopped
        self.gateways: dict[tuple[str, str], tuple[bool, float]] = {}
        self._dead_pending: dict[tuple[str, str | None], int] = defaultdict(int)  # since the last `take_dead`

    def add(self, name: str, value: int = 1) -> None:
        with self._lock:
            setattr(self, name, getattr(self, name) + value)

    def dead(self, reason: str, count: int = 1, enterprise: str | None = None) -> None:
        """Count dead letters; `enterprise` only when registered (it becomes a bounded InfluxDB tag)."""
        with self._lock:
            self.deadletters[reason] += count
            self._dead_pending[(reason, enterprise)] += count

    def take_dead(self) -> dict[tuple[str, str | None], int]:
        """Dead letters per (reason, enterprise) since the previous call, and reset them."""
        with self._lock:
            pending, self._dead_pending = dict(self._dead_pending), defaultdict(int)
            return pending

    def requeue_dead(self, reason: str, count: int, enterprise: str | None) -> None:
        """Give back dead letters `take_dead` returned but could not store (not counted again in the totals)."""
        with self._lock:
            self._dead_pending[(reason, enterprise)] += count

    def snapshot(self) -> StatsSnapshot:
        """The counters and gauges now, for a `collector_stats` point."""
        with self._lock:
            return StatsSnapshot(
                received=self.messages_received, stored=self.readings_stored,
                deadlettered=sum(self.deadletters.values()), spooled=self.readings_spooled,
                replayed=self.readings_replayed, spool_depth=self.spool_batches, spool_bytes=self.spool_bytes,
                backpressure=self.backpressure, batches_written=self.batches_written,
                write_seconds_sum=self.write_seconds_sum)

    def write_latency(self, seconds: float) -> None:
        with self._lock:
            self.write_seconds_sum += seconds
            for i, bound in enumerate(LATENCY_BUCKETS):
                if seconds <= bound:
                    self.write_buckets[i] += 1
                    break
            else:
                self.write_buckets[-1] += 1

    def gateway_status(self, enterprise: str, gateway: str, online: bool, at: float) -> None:
        with self._lock:
            self.gateways[(enterprise, gateway)] = (online, at)

    def prometheus(self) -> str:
        """The Prometheus text exposition format (version 0.0.4)."""
        with self._lock:
            out = []

            def metric(name: str, kind: str, help_text: str, samples: list[tuple[str, float]]) -> None:
                out.append(f"# HELP {name} {help_text}")
                out.append(f"# TYPE {name} {kind}")
                out.extend(f"{name}{labels} {value:g}" if isinstance(value, float) else f"{name}{labels} {value}"
                           for labels, value in samples)

            metric("enerdiag_collector_messages_received_total", "counter", "MQTT messages received.",
                   [("", self.messages_received)])
            metric("enerdiag_collector_readings_stored_total", "counter", "Readings written to InfluxDB.",
                   [("", self.readings_stored)])
            metric("enerdiag_collector_readings_spooled_total", "counter", "Readings spooled to disk.",
                   [("", self.readings_spooled)])
            metric("enerdiag_collector_readings_replayed_total", "counter", "Spooled readings replayed.",
                   [("", self.readings_replayed)])
            metric("enerdiag_collector_deadletters_total", "counter", "Dead letters by reason.",
                   [(f'{{reason="{r}"}}', n) for r, n in sorted(self.deadletters.items())])
            metric("enerdiag_collector_spool_batches", "gauge", "Batches waiting in the spool.",
                   [("", self.spool_batches)])
            metric("enerdiag_collector_spool_bytes", "gauge", "Bytes waiting in the spool.",
                   [("", self.spool_bytes)])
            metric("enerdiag_collector_backpressure", "gauge", "1 while the spool is full.",
                   [("", self.backpressure)])
            out.append("# HELP enerdiag_collector_write_seconds InfluxDB write latency per batch.")
            out.append("# TYPE enerdiag_collector_write_seconds histogram")
            cumulative = 0
            for bound, n in zip(LATENCY_BUCKETS, self.write_buckets, strict=False):
                cumulative += n
                out.append(f'enerdiag_collector_write_seconds_bucket{{le="{bound}"}} {cumulative}')
            cumulative += self.write_buckets[-1]
            out.append(f'enerdiag_collector_write_seconds_bucket{{le="+Inf"}} {cumulative}')
            out.append(f"enerdiag_collector_write_seconds_sum {self.write_seconds_sum:.6f}")
            out.append(f"enerdiag_collector_write_seconds_count {cumulative}")
            metric("enerdiag_gateway_online", "gauge", "1 when the gateway's last status said online.",
                   [(f'{{enterprise="{e}",gateway="{g}"}}', int(on))
                    for (e, g), (on, _at) in sorted(self.gateways.items())])
            return "\n".join(out) + "\n"

    def summary(self) -> str:
        """One log line."""
        with self._lock:
            dead = sum(self.deadletters.values())
            online = sum(1 for on, _ in self.gateways.values() if on)
            return (f"received={self.messages_received} stored={self.readings_stored} "
                    f"spooled={self.readings_spooled} replayed={self.readings_replayed} deadletters={dead} "
                    f"spool_batches={self.spool_batches} backpressure={self.backpressure} "
                    f"gateways_online={online}/{len(self.gateways)}")


def serve(metrics: Metrics, port: int, host: str = "127.0.0.1") -> ThreadingHTTPServer:
    """Serve `/metrics` on a daemon thread; returns the server (call `.shutdown()` to stop)."""

    class Handler(BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            if self.path.split("?")[0] not in ("/metrics", "/"):
                self.send_error(404)
                return
            body = metrics.prometheus().encode()
            self.send_response(200)
            self.send_header("Content-Type", "text/plain; version=0.0.4; charset=utf-8")
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, *args: object) -> None:
            return

    server = ThreadingHTTPServer((host, port), Handler)
    server.daemon_threads = True
    threading.Thread(target=server.serve_forever, name="metrics-http", daemon=True).start()
    return server
