"""The collector's health points (collector/health.py) and how the sink counts them (not as readings)."""

from __future__ import annotations

from pathlib import Path

from collector.health import StatsSnapshot, deadletter_lines, gateway_status_line, stats_line
from collector.metrics import Metrics
from collector.spool import Spool
from collector.writer import Sink
from core.influx import InfluxV1, line

ENT = "91330100MA27XL0E96"


def snap(stored: int, received: int, batches: int, seconds: float) -> StatsSnapshot:
    return StatsSnapshot(received=received, stored=stored, deadlettered=3, spooled=0, replayed=0, spool_depth=2,
                         spool_bytes=100, backpressure=0, batches_written=batches, write_seconds_sum=seconds)


def test_stats_line_has_counters_rates_and_mean_latency_since_the_previous_point() -> None:
    before = snap(100, 50, 4, 0.4)
    now = snap(600, 150, 9, 0.9)
    text = stats_line("collector-a", now, before, 1_700_000_010, 10.0)
    assert text.startswith("collector_stats,collector=collector-a ") and text.endswith(" 1700000010")
    fields = dict(kv.split("=") for kv in text.split(" ")[1].split(","))
    assert fields["stored"] == "600i" and fields["received"] == "150i" and fields["spool_depth"] == "2i"
    assert float(fields["stored_per_s"]) == 50.0 and float(fields["received_per_s"]) == 10.0
    assert abs(float(fields["write_seconds_mean"]) - 0.1) < 1e-12


def test_no_latency_field_without_writes_and_first_point_counts_from_start() -> None:
    text = stats_line("c", snap(0, 0, 0, 0.0), None, 1, 2.0)
    assert "write_seconds_mean" not in text and ",stored_per_s=0 " in text  # a float (no i suffix)


def test_deadletter_lines_keep_enterprise_tags_bounded_and_skip_zero() -> None:
    lines = deadletter_lines("c", {("not_json", ENT): 2, ("unknown_enterprise", None): 5, ("bad_meter", ENT): 0}, 7)
    assert lines == [
        line("deadletter_count", {"collector": "c", "enterprise": ENT, "reason": "not_json"}, {"count": 2}, 7),
        line("deadletter_count", {"collector": "c", "enterprise": "-", "reason": "unknown_enterprise"},
             {"count": 5}, 7),
    ]


def test_gateway_status_line() -> None:
    assert gateway_status_line(ENT, "gw1", False, 9) == f"gateway_status,enterprise={ENT},gateway=gw1 online=0i 9"


def test_metrics_take_dead_resets_and_requeue_gives_back() -> None:
    m = Metrics()
    m.dead("not_json", 1, ENT)
    m.dead("not_json", 2, ENT)
    m.dead("bad_topic")
    assert m.take_dead() == {("not_json", ENT): 3, ("bad_topic", None): 1}
    assert m.take_dead() == {}
    m.requeue_dead("not_json", 3, ENT)
    assert m.take_dead() == {("not_json", ENT): 3}
    assert m.deadletters == {"not_json": 3, "bad_topic": 1}  # the totals are not counted twice


def test_health_lines_spooled_then_replayed_are_not_counted_as_readings(tmp_path: Path) -> None:
    metrics = Metrics()
    down = InfluxV1("http://127.0.0.1:9", "x", timeout=0.5)  # nothing listens: retryable, spooled
    sink = Sink(down, Spool(tmp_path / "spool", 1 << 20), metrics, lambda lines, msg: None)
    reading = line("reading", {"enterprise": ENT, "gateway": "gw1", "meter": "M1"}, {"energy_kwh": 1.0}, 5)
    assert sink.store([reading, gateway_status_line(ENT, "gw1", True, 5)], readings=1)
    assert sink.store([stats_line("c", snap(0, 0, 0, 0.0), None, 6, 1.0)], readings=0)
    assert metrics.readings_spooled == 1 and metrics.spool_batches == 2
