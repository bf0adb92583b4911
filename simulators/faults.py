"""Transport and metering faults on demand, recorded for the manifest.

Array faults change what the meters report (gaps, counter reset, meter replacement, clock skew, spikes);
message faults change what the gateway sends (duplicates, out-of-order, late batches, malformed payloads).
Malformed payloads are *extra* messages, so the plant's real data stays complete.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import orjson

from core.domain import MAX_READINGS_PER_MESSAGE
from simulators.messages import Message

ARRAY_FAULTS = ("gap", "counter_reset", "meter_replacement", "clock_skew", "spike")
MESSAGE_FAULTS = ("duplicate", "out_of_order", "late", "malformed")
FAULT_KINDS = ARRAY_FAULTS + MESSAGE_FAULTS
"""Every fault `--faults` accepts."""


def iso(epoch: int | float) -> str:
    """RFC 3339 in China time, for the manifest."""
    return dt.datetime.fromtimestamp(epoch, dt.timezone(dt.timedelta(hours=8))).isoformat()


@dataclass(slots=True)
class ArrayFaults:
    """Result of the array faults: which readings to keep, timestamp offsets, and what was done."""

    keep: dict[str, np.ndarray] = field(default_factory=dict)
    ts_offset: np.ndarray | None = None
    records: list[dict[str, Any]] = field(default_factory=list)


def apply_array_faults(
    kinds: tuple[str, ...], rng: np.random.Generator, epoch_s: np.ndarray, values: dict[str, dict[str, np.ndarray]]
) -> ArrayFaults:
    """Apply the array faults of `kinds` to `values` in place; return masks, offsets and records."""
    out = ArrayFaults()
    n = len(epoch_s)
    step = int(epoch_s[1] - epoch_s[0]) if n > 1 else 60
    elec = [m for m, qs in values.items() if "energy_kwh" in qs]  # M01 is among them
    for kind in kinds:
        if n < 8:
            break
        if kind == "gap":
            length = max(1, min(n // 4, int(rng.integers(2, 13)) * 3600 // step))
            first = int(rng.integers(0, n - length))
            for meter in values:
                mask = out.keep.setdefault(meter, np.ones(n, dtype=bool))
                mask[first : first + length] = False
            out.records.append(
                {
                    "kind": "gap",
                    "meters": "all",
                    "from": iso(epoch_s[first]),
                    "to": iso(epoch_s[first + length - 1]),
                    "readings_per_meter": length,
                }
            )
        elif kind in ("counter_reset", "meter_replacement"):
            subs = [m for m in elec if m != "M01"]
            meter = "M01" if kind == "counter_reset" or not subs else subs[0]
            at = int(rng.integers(n // 4, 3 * n // 4))
            new_start = 0.0 if kind == "counter_reset" else round(float(rng.uniform(0, 50)), 2)
            # at the reading `at - 1` the old register is read a last time; the new one starts at new_start
            rec: dict[str, Any] = {"kind": kind, "meter": meter, "at": iso(epoch_s[at - 1]), "counters": {}}
            for q in ("energy_kwh", "reactive_kvarh"):
                col = values[meter][q]
                old = float(col[at - 1])
                col[at:] = np.round(col[at:] - old + new_start, 2)
                rec["counters"][q] = {"old_reading": old, "new_reading": new_start, "first_new_value": float(col[at])}
            out.records.append(rec)
        elif kind == "clock_skew":
            skew = int(rng.choice([-1, 1])) * int(rng.integers(60, 901))
            length = min(n // 3, 86400 // step)
            first = int(rng.integers(0, n - length))
            offset = out.ts_offset if out.ts_offset is not None else np.zeros(n, dtype=np.int64)
            offset[first : first + length] += skew
            out.ts_offset = offset
            out.records.append(
                {
                    "kind": "clock_skew",
                    "seconds": skew,
                    "from": iso(epoch_s[first]),
                    "to": iso(epoch_s[first + length - 1]),
                }
            )
        elif kind == "spike":
            meter = "M01"
            idx = np.sort(rng.choice(n, size=min(n, 3), replace=False))
            col = values[meter]["power_kw"]
            col[idx] = np.round(col[idx] * 10 + 100, 2)
            out.records.append(
                {"kind": "spike", "meter": meter, "quantity": "power_kw", "at": [iso(epoch_s[i]) for i in idx]}
            )
    return out


def apply_message_faults(
    kinds: tuple[str, ...], rng: np.random.Generator, messages: list[Message], topic: str
) -> tuple[list[Message], list[dict[str, Any]]]:
    """Apply the message faults of `kinds` to one gateway's messages (in send order)."""
    records: list[dict[str, Any]] = []
    msgs = list(messages)
    for kind in kinds:
        if not msgs:
            break
        if kind == "duplicate":
            picks = sorted(rng.choice(len(msgs), size=min(len(msgs), 3), replace=False).tolist())
            for offset, i in enumerate(picks):
                msgs.insert(i + offset + 1, msgs[i + offset])
            records.append({"kind": "duplicate", "messages": len(picks)})
        elif kind == "out_of_order" and len(msgs) >= 2:
            first = int(rng.integers(0, max(1, len(msgs) - 5)))
            block = msgs[first : first + 6]
            order = rng.permutation(len(block))
            msgs[first : first + len(block)] = [block[i] for i in order]
            records.append({"kind": "out_of_order", "messages": len(block)})
        elif kind == "late" and len(msgs) >= 2:
            first = int(rng.integers(0, len(msgs) - 1))
            length = max(1, min(len(msgs) - first - 1, len(msgs) // 5))
            held = msgs[first : first + length]
            del msgs[first : first + length]
            msgs.extend(held)
            records.append({"kind": "late", "messages": length, "readings": sum(m.readings for m in held)})
        elif kind == "malformed":
            bad = malformed_payloads(msgs[0].at)
            for _reason, payload in bad:
                pos = int(rng.integers(0, len(msgs) + 1))
                msgs.insert(pos, Message(topic, payload, msgs[min(pos, len(msgs) - 1)].at, readings=0))
            records.append({"kind": "malformed", "messages": len(bad), "reasons": [r for r, _ in bad]})
    return msgs, records


def malformed_payloads(at: int) -> list[tuple[str, bytes]]:
    """Payloads the collector must dead-letter (whole, or the bad reading alone), labelled by reason."""
    many = [{"meter": "M01", "ts": at, "values": {"power_kw": 1.0}}] * (MAX_READINGS_PER_MESSAGE + 1)
    return [
        ("not_json", b"\x00garbage{not json"),
        ("not_object", b"[1, 2, 3]"),
        ("too_many_readings", orjson.dumps({"ts": at, "readings": many})),
        ("pf_out_of_range", orjson.dumps({"ts": at, "readings": [{"meter": "M01", "values": {"pf": 1.7}}]})),
        ("negative_counter", orjson.dumps({"ts": at, "readings": [{"meter": "M01", "values": {"energy_kwh": -5.0}}]})),
        ("future_timestamp", orjson.dumps({"readings": [{"meter": "M01", "ts": 4102444800, "values": {"pf": 0.9}}]})),
    ]
