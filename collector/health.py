"""The collector's own health as InfluxDB points: `collector_stats`, `deadletter_count`, `gateway_status`.

Pure line builders (the service writes them through its own `Sink`, so they are spooled in an outage
like readings). Tags stay bounded: `collector` is the MQTT client id (one per process slot),
`reason` comes from the fixed dead-letter reason list, `enterprise` is a registered code or `-`
(never a code taken from an unknown topic), `gateway` is a registered gateway. docs/schema.md.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

from core.influx import line
from core.measurements import COLLECTOR_STATS, DEADLETTER_COUNT, GATEWAY_STATUS

UNREGISTERED = "-"
"""`enterprise` tag of dead letters whose topic names no registered enterprise (keeps the tag bounded)."""


@dataclass(frozen=True, slots=True)
class StatsSnapshot:
    """Cumulative counters of one collector process, and gauges, at one moment."""

    received: int
    stored: int
    deadlettered: int
    spooled: int
    replayed: int
    spool_depth: int
    spool_bytes: int
    backpressure: int
    batches_written: int
    write_seconds_sum: float


def stats_line(collector: str, now: StatsSnapshot, before: StatsSnapshot | None, time_s: int,
               elapsed_s: float) -> str:
    """One `collector_stats` point: counters since process start, rates and mean write latency since `before`.

    Counters are cumulative (a restart resets them); `stored_per_s` and `received_per_s` are the rates over the
    `elapsed_s` seconds since `before` (since the start for the first point), computed here so one point is
    enough for a panel; `write_seconds_mean` is left out when no batch was written since `before`.
    """
    fields: dict[str, float | int | str | bool] = {
        "received": now.received,
        "stored": now.stored,
        "deadlettered": now.deadlettered,
        "spooled": now.spooled,
        "replayed": now.replayed,
        "spool_depth": now.spool_depth,
        "spool_bytes": now.spool_bytes,
        "backpressure": now.backpressure,
        "batches_written": now.batches_written,
    }
    if elapsed_s > 0:
        fields["stored_per_s"] = float((now.stored - (before.stored if before else 0)) / elapsed_s)
        fields["received_per_s"] = float((now.received - (before.received if before else 0)) / elapsed_s)
    batches = now.batches_written - (before.batches_written if before else 0)
    if batches > 0:
        seconds = now.write_seconds_sum - (before.write_seconds_sum if before else 0.0)
        fields["write_seconds_mean"] = float(max(seconds, 0.0) / batches)
    return line(COLLECTOR_STATS, {"collector": collector}, fields, time_s)


def deadletter_lines(collector: str, counts: Mapping[tuple[str, str | None], int], time_s: int) -> list[str]:
    """`deadletter_count` points: dead letters per (reason, enterprise) since the previous flush (deltas).

    Deltas, not totals: `sum("count")` over any range is the number of dead letters in it. The
    `collector` tag keeps two collectors flushing in the same second from overwriting each other.
    """
    return [line(DEADLETTER_COUNT, {"collector": collector, "enterprise": enterprise or UNREGISTERED, "reason": reason},
                 {"count": int(n)}, time_s)
            for (reason, enterprise), n in sorted(counts.items(), key=lambda kv: (kv[0][0], kv[0][1] or ""))
            if n > 0]


def gateway_status_line(enterprise: str, gateway: str, online: bool, time_s: int) -> str:
    """One `gateway_status` point per status message (`online` 1/0) at the message's own `ts`."""
    return line(GATEWAY_STATUS, {"enterprise": enterprise, "gateway": gateway}, {"online": int(online)}, time_s)
