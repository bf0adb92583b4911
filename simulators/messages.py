"""Readings and MQTT messages exactly per CONTRACTS.md section 2: batches of ≤ 1,000 readings, ≤ 256 KiB."""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from dataclasses import dataclass

import numpy as np
import orjson

from core.domain import MAX_PAYLOAD_BYTES, MAX_READINGS_PER_MESSAGE, STATUS_TOPIC, TELEMETRY_TOPIC

Reading = dict  # {"meter": str, "ts": int, "values": {quantity: float}}


@dataclass(frozen=True, slots=True)
class Message:
    """One MQTT publication of a gateway; `at` is the simulated time it is sent (epoch seconds)."""

    topic: str
    payload: bytes
    at: int
    retain: bool = False
    readings: int = 0


def telemetry_topic(enterprise: str, gateway: str) -> str:
    return TELEMETRY_TOPIC.format(enterprise=enterprise, gateway=gateway)


def status_topic(enterprise: str, gateway: str) -> str:
    return STATUS_TOPIC.format(enterprise=enterprise, gateway=gateway)


def status_payload(online: bool, ts: float) -> bytes:
    """The retained status message (also the last will, with online false)."""
    return orjson.dumps({"online": online, "ts": int(ts)})


def readings_from_arrays(
    epoch_s: np.ndarray,
    values: dict[str, dict[str, np.ndarray]],
    keep: dict[str, np.ndarray] | None = None,
    ts_offset: np.ndarray | None = None,
) -> list[Reading]:
    """Readings in time order (every meter at t, then t + step); `keep` masks out readings per meter."""
    ts = (epoch_s if ts_offset is None else epoch_s + ts_offset).tolist()
    per_meter: list[list[Reading | None]] = []
    for meter, qs in values.items():
        names = tuple(qs)
        rows = zip(ts, *(qs[q].tolist() for q in names), strict=True)
        if len(names) == 1:
            name = names[0]
            col: list[Reading | None] = [{"meter": meter, "ts": t, "values": {name: v}} for t, v in rows]
        else:
            col = [{"meter": meter, "ts": row[0], "values": dict(zip(names, row[1:], strict=True))} for row in rows]
        mask = keep.get(meter) if keep else None
        if mask is not None:
            col = [r if k else None for r, k in zip(col, mask.tolist(), strict=True)]
        per_meter.append(col)
    return [r for group in zip(*per_meter, strict=True) for r in group if r is not None]


def batch(readings: list[Reading], topic: str, max_readings: int = MAX_READINGS_PER_MESSAGE) -> Iterator[Message]:
    """Split readings into messages within the contract's limits, in order; batch `ts` is the newest reading."""
    max_readings = min(max_readings, MAX_READINGS_PER_MESSAGE)
    for start in range(0, len(readings), max_readings):
        yield from _fit(readings[start : start + max_readings], topic)


def _fit(chunk: list[Reading], topic: str) -> Iterable[Message]:
    at = max(int(r["ts"]) for r in chunk)
    payload = orjson.dumps({"ts": at, "readings": chunk})
    if len(payload) <= MAX_PAYLOAD_BYTES:
        return [Message(topic, payload, at, readings=len(chunk))]
    if len(chunk) == 1:
        raise ValueError(f"one reading is {len(payload)} bytes, over the {MAX_PAYLOAD_BYTES}-byte limit")
    half = len(chunk) // 2
    return [*_fit(chunk[:half], topic), *_fit(chunk[half:], topic)]
