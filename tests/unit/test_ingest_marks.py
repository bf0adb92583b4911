"""Ingest marks (core/marks.py): what a write touched, their ranges, strictly increasing times, and the
collector's sink writing them after the readings and before reporting a batch stored."""

from __future__ import annotations

from pathlib import Path

import pytest

from analytics.marks import dirty_ranges
from collector.metrics import Metrics
from collector.spool import Spool
from collector.writer import Sink
from core.influx import InfluxError, line
from core.marks import IngestMarks, format_hours, parse_hours, touched

E1, E2 = "91140200MA0H2KXX88", "91140200MA0H2KYY2C"
H = 3600


def reading(code: str, meter: str, t: int, value: float = 1.0) -> str:
    return line("reading", {"enterprise": code, "gateway": "gw1", "meter": meter}, {"energy_kwh": value}, t)


def test_touched_counts_enterprises_meters_and_hours_of_reading_lines_only() -> None:
    body = "\n".join([reading(E1, "M01", 10 * H), reading(E1, "M02", 10 * H + 59), reading(E1, "M01", 12 * H),
                      reading(E2, "M01", 3 * H), "gateway_status,enterprise=x,gateway=gw1 online=1i 5",
                      "collector_stats,collector=c readings=3i 5"]).encode()
    found = touched(body)
    assert list(found) == [E1, E2]
    assert found[E1].hours == {10, 12} and found[E1].meters == {"M01", "M02"} and found[E1].readings == 3
    assert found[E2].hours == {3} and found[E2].readings == 1
    assert touched(b"") == {}
    ns = "\n".join(reading(E1, "M01", 10 * H).rsplit(" ", 1)[0] + f" {10 * H * 10**9 + k}" for k in range(2))
    assert touched(ns.encode(), "ns")[E1].hours == {10}


def test_hours_round_trip_as_ranges() -> None:
    hours = {5, 6, 7, 9, 20, 21}
    assert format_hours(hours) == "5-7,9,20-21"
    assert parse_hours("5-7,9,20-21") == [(5, 7), (9, 9), (20, 21)]
    with pytest.raises(ValueError):
        parse_hours("7-5")
    with pytest.raises(ValueError):
        parse_hours("x")


def test_dirty_ranges_join_close_hours_only() -> None:
    assert dirty_ranges({5, 6, 9, 30}, merge_gap_h=3) == [(5 * H, 10 * H), (30 * H, 31 * H)]
    assert dirty_ranges({5, 9}, merge_gap_h=2) == [(5 * H, 6 * H), (9 * H, 10 * H)]


class Recorder:
    """An InfluxDB stand-in that records writes (and can refuse the marks)."""

    def __init__(self, refuse_marks: bool = False) -> None:
        self.writes: list[tuple[bytes, str]] = []
        self.refuse_marks = refuse_marks

    def write(self, lines, precision: str = "s", compress: bool = False, rp: str | None = None) -> None:  # type: ignore[no-untyped-def]
        body = lines if isinstance(lines, bytes) else "\n".join(lines).encode()
        if self.refuse_marks and body.startswith(b"ingest_mark"):
            raise InfluxError("field type conflict", 400)
        self.writes.append((body, precision))


def test_marks_have_strictly_increasing_times_per_writer() -> None:
    marks = IngestMarks("c1")
    first = marks.lines(touched("\n".join([reading(E1, "M01", H), reading(E2, "M01", H)]).encode()))
    second = marks.lines(touched(reading(E1, "M01", 2 * H).encode()))
    times = [int(x.rsplit(" ", 1)[1]) for x in first + second]
    assert times == sorted(set(times)) and len(times) == 3
    assert all(x.startswith("ingest_mark,writer=c1 ") for x in first)


def test_sink_writes_marks_after_the_readings(tmp_path: Path) -> None:
    influx = Recorder()
    sink = Sink(influx, Spool(tmp_path / "spool"), Metrics(), lambda lines, msg: None,  # type: ignore[arg-type]
                marks=IngestMarks("c1"))
    assert sink.store([reading(E1, "M01", 10 * H), reading(E1, "M01", 11 * H + 5)])
    (readings, _), (mark, precision) = influx.writes
    assert readings.startswith(b"reading,") and precision == "ns"
    assert b'enterprise="' + E1.encode() + b'",hours="10-11"' in mark


def test_a_refused_mark_spools_the_batch_and_dead_letters_nothing(tmp_path: Path) -> None:
    rejected: list[list[str]] = []
    metrics = Metrics()
    sink = Sink(Recorder(refuse_marks=True), Spool(tmp_path / "spool"), metrics,  # type: ignore[arg-type]
                lambda lines, msg: rejected.append(lines), marks=IngestMarks("c1"))
    assert sink.store([reading(E1, "M01", 10 * H)])  # durable: in the spool, written again with its marks later
    assert rejected == [] and metrics.spool_batches == 1


def test_mark_lines_are_what_the_line_protocol_serialiser_writes() -> None:
    marks = IngestMarks('col "1", a=b')
    body = "\n".join([reading(E1, "M01", 10 * H), reading(E1, "M-2", 11 * H), reading(E2, "M01", 3 * H)]).encode()
    found = touched(body)
    for got, t in zip(marks.lines(found), found.values(), strict=True):
        expected = line("ingest_mark", {"writer": 'col "1", a=b'},
                        {"enterprise": t.enterprise, "hours": format_hours(t.hours),
                         "meters": ",".join(sorted(t.meters)), "readings": t.readings})
        assert got == f"{expected} {got.rsplit(' ', 1)[1]}"
