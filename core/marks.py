"""Ingest marks: which enterprise, meters and hours a write of raw readings touched (docs/schema.md, "Ingest marks").

Every writer of `reading` points (the collector; any bulk import) writes, right after the readings and before it
acknowledges or reports anything, one `ingest_mark` point per enterprise the write touched: tag `writer`, fields
`enterprise`, `hours` (the hours of the readings' timestamps as ranges of epoch hours, "h0-h1,h2"), `meters`
and `readings`. The rollup reads the marks newer than its cursor (analytics/marks.py) and recomputes exactly
those hours, whatever their age.

A writer's marks carry strictly increasing nanosecond timestamps and are written one request after the other,
so a mark that is visible implies every earlier mark of the same writer is too: the rollup's cursor is simply
the newest mark time it consumed per writer. One writer id per process at a time (the collector uses its MQTT
client id, which the broker keeps unique).
"""

from __future__ import annotations

import re
import threading
import time
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Final, Protocol

from core.influx import line, quote_ident
from core.measurements import INGEST_MARK, READING

HOUR_S: Final = 3600

_READING = re.compile(rb"^" + re.escape(READING.encode()) + rb",(\S+) \S+ (\d+)$", re.MULTILINE)
_SCALE: Final = {"s": 1, "ms": 1_000, "u": 1_000_000, "ns": 1_000_000_000}


class Writes(Protocol):
    """What a mark writer needs of the InfluxDB client (core.influx.InfluxV1)."""

    def write(self, lines: str | bytes | Iterable[str], precision: str = "s", compress: bool = False,
              rp: str | None = None) -> None: ...


@dataclass(frozen=True, slots=True)
class Touched:
    """What one write stored for one enterprise: its meters, the epoch hours of the readings, how many."""

    enterprise: str
    meters: frozenset[str]
    hours: frozenset[int]  # epoch hours (epoch seconds // 3600)
    readings: int


def touched(body: bytes, precision: str = "s") -> dict[str, Touched]:
    """Per enterprise, what the `reading` lines of a line-protocol body touch (other lines are ignored)."""
    scale = _SCALE[precision] * HOUR_S
    seen: dict[tuple[bytes, int], int] = {}
    for tags, stamp in _READING.findall(body):
        key = (tags, int(stamp) // scale)
        seen[key] = seen.get(key, 0) + 1
    meters: dict[str, set[str]] = {}
    hours: dict[str, set[int]] = {}
    counts: dict[str, int] = {}
    for (tags, hour), n in seen.items():
        pairs = dict(p.split(b"=", 1) for p in tags.split(b",") if b"=" in p)
        enterprise = pairs.get(b"enterprise", b"").decode()
        if not enterprise:
            continue
        meters.setdefault(enterprise, set()).add(pairs.get(b"meter", b"").decode())
        hours.setdefault(enterprise, set()).add(hour)
        counts[enterprise] = counts.get(enterprise, 0) + n
    return {e: Touched(e, frozenset(meters[e]), frozenset(hours[e]), counts[e]) for e in sorted(hours)}


def hour_ranges(hours: Iterable[int]) -> list[tuple[int, int]]:
    """Epoch hours as contiguous [first, last] ranges, in order."""
    out: list[tuple[int, int]] = []
    for h in sorted(set(hours)):
        if out and h == out[-1][1] + 1:
            out[-1] = (out[-1][0], h)
        else:
            out.append((h, h))
    return out


def format_hours(hours: Iterable[int]) -> str:
    """`"h0-h1,h2"`: the ranges of epoch hours, as a mark's `hours` field."""
    return ",".join(f"{a}-{b}" if b > a else str(a) for a, b in hour_ranges(hours))


def parse_hours(text: str) -> list[tuple[int, int]]:
    """A mark's `hours` field back to [first, last] epoch-hour ranges; ValueError when malformed."""
    out = []
    for part in filter(None, text.split(",")):
        first, _, last = part.partition("-")
        lo, hi = int(first), int(last or first)
        if hi < lo:
            raise ValueError(f"hour range {part!r} ends before it starts")
        out.append((lo, hi))
    return out


class IngestMarks:
    """Writes the marks of one writer (one per process): strictly increasing ns timestamps, one write at a time."""

    def __init__(self, writer: str, rp: str | None = None) -> None:
        self.writer = writer
        self.rp = rp  # the retention policy of the readings: a mark lives as long as what it describes
        self._last_ns = 0
        self._lock = threading.Lock()
        self._prefix = line(INGEST_MARK, {"writer": writer}, {"x": 0}).rsplit(" ", 1)[0] + " "

    def lines(self, found: dict[str, Touched]) -> list[str]:
        """The mark points of one write, stamped now (ns), each later than every earlier mark of this writer.

        Built by f-string on the collector's hot path (influxdb-client's `Point` costs ~25 µs a point); the
        same bytes as `core.influx.line` (tests/unit/test_ingest_marks.py)."""
        start = max(time.time_ns(), self._last_ns + 1)
        out = []
        for i, t in enumerate(found.values()):
            out.append(f"{self._prefix}enterprise=\"{_string(t.enterprise)}\",hours=\"{format_hours(t.hours)}\","
                       f"meters=\"{_string(','.join(sorted(t.meters)))}\",readings={t.readings}i {start + i}")
        self._last_ns = start + len(found) - 1 if found else self._last_ns
        return out

    def mark(self, influx: Writes, body: bytes, precision: str = "s") -> int:
        """Write the marks of a body of line protocol whose readings are stored already; returns marks written.

        Raises what the write raises (core.influx.InfluxError): the caller then treats the whole body as not
        stored and writes it again (readings are idempotent), so no reading is ever stored without its mark.
        """
        found = touched(body, precision)
        if not found:
            return 0
        with self._lock:
            influx.write(self.lines(found), precision="ns", rp=self.rp)
        return len(found)


def _string(value: str) -> str:
    """A line-protocol string field value's escapes (as influxdb-client's serialiser)."""
    return value.replace("\\", "\\\\").replace('"', '\\"')


def mark_source(rp: str | None = None) -> str:
    """The InfluxQL FROM target of the marks (in the readings' retention policy when they have their own)."""
    if rp is None:
        return quote_ident(INGEST_MARK)
    return f"{quote_ident(rp)}.{quote_ident(INGEST_MARK)}"
