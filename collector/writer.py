"""Store batches of line protocol: InfluxDB when it answers, the spool when it does not, in order.

`Sink.store` returns True once a batch is durable (written or spooled): only then may its messages
be acknowledged. While the spool holds anything, new batches queue behind it so replays keep order.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable

from collector.metrics import Metrics
from collector.spool import Spool
from core.influx import InfluxError, InfluxV1
from core.marks import IngestMarks
from core.measurements import READING

log = logging.getLogger("enerdiag.collector")

RETRY_SECONDS = 1.0
REFUSED_BUDGET_SECONDS = 2.0  # time spent isolating the bad lines of one refused batch


class Sink:
    """InfluxDB with a disk spool in front of it for outages."""

    def __init__(
        self,
        influx: InfluxV1,
        spool: Spool,
        metrics: Metrics,
        reject: Callable[[list[str], str], None],
        compress: bool = False,
        raw_rp: str | None = None,
        marks: IngestMarks | None = None,
    ) -> None:
        self.influx = influx
        self.marks = marks  # ingest marks (core/marks.py) written after each write's readings, before any ack
        self.raw_rp = raw_rp  # retention policy of `reading` points; health points stay in the default one
        self.spool = spool
        self.metrics = metrics
        self.reject = reject  # called with lines InfluxDB refused for good, and its message
        self.compress = compress
        self._next_try = 0.0
        self._sync_gauges()

    def store(self, lines: list[str], readings: int | None = None) -> bool:
        """Make a batch durable; False (nothing stored) when InfluxDB is down and the spool is full.

        `readings`: how many of the lines are `reading` points (default all) for the counters; the
        collector's own health points (collector/health.py) travel the same way but are not readings.
        """
        if not lines:
            return True
        count = len(lines) if readings is None else readings
        body = "\n".join(lines).encode()
        if len(self.spool):
            self.replay()
        if not len(self.spool):
            try:
                self._write(body, len(lines))
                self.metrics.add("readings_stored", count)
                self._sync_gauges(backpressure=0)
                return True
            except InfluxError as exc:
                if not exc.retryable:
                    self._refused(lines, exc)
                    return True
                log.warning("InfluxDB write failed, spooling: %s", exc)
                self._next_try = time.monotonic() + RETRY_SECONDS
        if self.spool.append(body):
            self.metrics.add("readings_spooled", count)
            self._sync_gauges(backpressure=0)
            return True
        self._sync_gauges(backpressure=1)
        return False

    def replay(self, force: bool = False) -> int:
        """Write spooled batches oldest first while InfluxDB accepts them; returns batches replayed."""
        if not force and time.monotonic() < self._next_try:
            return 0
        done = 0
        while (item := self.spool.oldest()) is not None:
            path, body = item
            count = _readings_in(body)
            try:
                self._write(body, count)
            except InfluxError as exc:
                if exc.retryable:
                    self._next_try = time.monotonic() + RETRY_SECONDS
                    break
                self._refused(body.decode().split("\n"), exc)
            else:
                self.metrics.add("readings_replayed", count)
                self.metrics.add("readings_stored", count)
            self.spool.remove(path)
            done += 1
        if done:
            log.info("replayed %d spooled batches, %d left", done, len(self.spool))
        self._sync_gauges()
        return done

    def _write(self, body: bytes, count: int) -> None:
        started = time.perf_counter()
        if self.raw_rp is None:
            self.influx.write(body, precision="s", compress=self.compress)
        else:  # readings first: a retry after a failure of the second write rewrites the same points
            readings, others = split_readings(body)
            self.influx.write(readings, precision="s", compress=self.compress, rp=self.raw_rp)
            self.influx.write(others, precision="s", compress=self.compress)
        if self.marks is not None:  # after the readings: a mark never names readings not stored yet
            try:
                self.marks.mark(self.influx, body)
            except InfluxError as exc:  # never dead-letter stored readings for it: spool, retry (status None)
                raise InfluxError(f"ingest marks not stored: {exc}") from exc
        self.metrics.write_latency(time.perf_counter() - started)
        self.metrics.add("batches_written")

    def _refused(self, lines: list[str], exc: InfluxError) -> None:
        """InfluxDB refused a batch (400: e.g. a field type conflict): find the bad lines by halving, for at most
        REFUSED_BUDGET_SECONDS, so one gateway's refused lines delay the other gateways' batches by no more."""
        self._isolate_refused(lines, exc, time.monotonic() + REFUSED_BUDGET_SECONDS)

    def _isolate_refused(self, lines: list[str], exc: InfluxError, deadline: float) -> None:
        """Halve `lines` until each refused line stands alone; past `deadline` a refused part is rejected whole.

        InfluxDB 1.x stores the valid points of a refused write ("partial write"), so a part rejected whole
        loses nothing stored: its dead letters are a copy of lines some of which may also be in InfluxDB.
        """
        if len(lines) == 1:
            self.reject(lines, str(exc))
            return
        if time.monotonic() >= deadline:
            self.reject(lines, f"one of {len(lines)} lines of a refused write not isolated within "
                               f"{REFUSED_BUDGET_SECONDS:g} s (InfluxDB kept the write's valid points): {exc}")
            return
        half = len(lines) // 2
        for part in (lines[:half], lines[half:]):
            try:
                self._write("\n".join(part).encode(), len(part))
                self.metrics.add("readings_stored", len(part))
            except InfluxError as sub:
                if sub.retryable:  # went down meanwhile: the whole part goes to the spool
                    if not self.spool.append("\n".join(part).encode()):
                        raise
                    self.metrics.add("readings_spooled", len(part))
                else:
                    self._isolate_refused(part, sub, deadline)

    def _sync_gauges(self, backpressure: int | None = None) -> None:
        self.metrics.spool_batches = len(self.spool)
        self.metrics.spool_bytes = self.spool.bytes
        if backpressure is not None:
            self.metrics.backpressure = backpressure


def split_readings(body: bytes) -> tuple[bytes, bytes]:
    """A batch split into its `reading` lines and the rest (the collector's health points), order kept."""
    readings: list[bytes] = []
    others: list[bytes] = []
    for text in body.split(b"\n"):
        if text:
            (readings if text.startswith(_READING_PREFIX) else others).append(text)
    return b"\n".join(readings), b"\n".join(others)


_READING_PREFIX = READING.encode() + b","


def _readings_in(body: bytes) -> int:
    """`reading` points in a spooled batch (health points are not readings; tag values never hold a comma)."""
    return body.count(b"\n" + _READING_PREFIX) + body.startswith(_READING_PREFIX)
