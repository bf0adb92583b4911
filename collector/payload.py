"""Parse and validate one telemetry message (CONTRACTS.md section 2) into line protocol and rejects.

Pure and total: any bytes in, a `Parsed` out, never an exception. Lines are built here directly
(no escaping needed: ids are checked against ID_PATTERN, field keys come from the quantity table,
values are finite floats); `tests/unit/test_payload_lines.py` proves equality with `core.influx.line`.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from typing import Any, Final

import orjson

from core.domain import (
    DEFAULT_TIMEZONE,
    MAX_FUTURE_SECONDS,
    MAX_PAYLOAD_BYTES,
    MAX_READINGS_PER_MESSAGE,
    QUANTITIES,
    QuantityKind,
)
from core.measurements import READING
from core.telemetry import (
    _ID_MATCH,
    Topic,
    decode,
    timestamp_seconds,
)


class Reason:
    """Dead-letter reason codes (stable: operators count by them)."""

    TOO_LARGE = "too_large"
    NOT_JSON = "not_json"
    NOT_OBJECT = "not_object"
    NO_READINGS = "no_readings_list"
    TOO_MANY_READINGS = "too_many_readings"
    BAD_TOPIC = "bad_topic"
    UNKNOWN_ENTERPRISE = "unknown_enterprise"
    UNKNOWN_GATEWAY = "unknown_gateway"
    RATE_LIMITED = "rate_limited"  # the gateway sent more messages than its guard allows (collector/guard.py)
    DEADLETTERS_SUPPRESSED = "deadletters_suppressed"  # the gateway's dead letters beyond its budget: counted only
    READING_NOT_OBJECT = "reading_not_object"
    BAD_METER = "bad_meter"
    UNKNOWN_METER = "unknown_meter"  # a well-formed meter id the registry does not list for the enterprise
    TOO_MANY_METERS = "too_many_meters"  # the gateway named more distinct meters than its guard allows
    NO_VALUES = "no_values"
    UNKNOWN_QUANTITY = "unknown_quantity"
    BAD_VALUE = "bad_value"
    NEGATIVE_COUNTER = "negative_counter"
    OUT_OF_RANGE = "out_of_range"
    NO_TIMESTAMP = "no_timestamp"
    BAD_TIMESTAMP = "bad_timestamp"
    FUTURE_TIMESTAMP = "future_timestamp"
    STORAGE_REJECTED = "storage_rejected"


@dataclass(frozen=True, slots=True)
class Reject:
    """One dead letter produced by parsing: whole message (index None) or one reading."""

    reason: str
    detail: str
    index: int | None = None
    raw: bytes = b""  # the reading re-serialised (reading rejects); empty for message rejects


@dataclass(slots=True)
class Parsed:
    """The outcome of one message: line-protocol lines of the good readings and the rejects."""

    lines: list[str] = field(default_factory=list)
    rejects: list[Reject] = field(default_factory=list)
    rejected_whole: bool = False


class Resolver:
    """What parsing needs from the registry: time zone, registered meters and a meter's series gateway."""

    def timezone(self, enterprise: str) -> str:  # pragma: no cover - interface
        return DEFAULT_TIMEZONE

    def meters(self, enterprise: str) -> frozenset[str] | None:  # pragma: no cover - interface
        """The enterprise's registered meter ids; None accepts any (development and benchmarks only)."""
        return None

    def series_gateway(self, enterprise: str, meter: str, gateway: str) -> str:  # pragma: no cover - interface
        return gateway


# ---------------------------------------------------------------- values

_LIMITS: Final[dict[str, tuple[float | None, float | None, bool]]] = {
    k: (q.min_value, q.max_value, q.kind is QuantityKind.COUNTER) for k, q in QUANTITIES.items()
}


def format_float(value: float) -> str:
    """A float as line protocol (same text as influxdb-client's `Point`: repr without a trailing `.0`)."""
    s = str(value)
    return s[:-2] if s.endswith(".0") else s


_Plan = tuple[tuple[str, str, float | None, float | None, bool], ...]
_PLANS: dict[tuple[str, ...], _Plan] = {}
_MAX_PLANS = 4096


def _plan(keys: tuple[str, ...]) -> _Plan | str:
    """Validation plan of a key set (sorted, with limits), cached; or the first unknown key."""
    plan = _PLANS.get(keys)
    if plan is not None:
        return plan
    for key in keys:
        if key not in _LIMITS:
            return key
    plan = tuple((k, f"{k}=", *_LIMITS[k]) for k in sorted(keys))
    if len(_PLANS) >= _MAX_PLANS:  # hostile key orders must not grow memory
        _PLANS.clear()
    _PLANS[keys] = plan
    return plan


def _fields(values: Any) -> str | tuple[str, str]:
    """The line-protocol field set of a `values` object, or (reason, detail) when it is bad."""
    if type(values) is not dict or not values:
        return (Reason.NO_VALUES, "values missing, empty or not an object")
    plan = _plan(tuple(values))
    if type(plan) is str:
        return (Reason.UNKNOWN_QUANTITY, f"unknown quantity {_short(plan)}")
    parts: list[str] = []
    for key, prefix, low, high, counter in plan:  # type: ignore[union-attr]
        number = values[key]
        kind = type(number)
        if kind is int:
            try:
                number = float(number)
            except OverflowError:
                return (Reason.BAD_VALUE, f"{key}: integer too large")
        elif kind is not float:
            return (Reason.BAD_VALUE, f"{key}: value of type {kind.__name__} is not a number")
        if number - number != 0.0:  # NaN or infinite
            return (Reason.BAD_VALUE, f"{key}: value is not finite")
        if low is not None and number < low:
            if counter:
                return (Reason.NEGATIVE_COUNTER, f"{key}: counter {number!r} is negative")
            return (Reason.OUT_OF_RANGE, f"{key}: {number!r} below {low!r}")
        if high is not None and number > high:
            return (Reason.OUT_OF_RANGE, f"{key}: {number!r} above {high!r}")
        text = repr(number)
        parts.append(prefix + (text[:-2] if text[-2:] == ".0" else text))
    return ",".join(parts)


def _short(value: Any, limit: int = 64) -> str:
    text = repr(value)
    return text if len(text) <= limit else text[:limit] + "…"


def raw_of(obj: Any) -> bytes:
    """A JSON rendering of one (possibly hostile) decoded value, for a dead letter."""
    try:
        return orjson.dumps(obj)
    except (TypeError, orjson.JSONEncodeError):
        try:
            text = json.dumps(obj, ensure_ascii=True, allow_nan=True, default=repr)
        except (ValueError, RecursionError, TypeError):
            text = repr(obj)[:4096]
        return text.encode("utf-8", "backslashreplace")


# ---------------------------------------------------------------- messages


def parse_telemetry(
    topic: Topic,
    payload: bytes,
    resolver: Resolver,
    now: float,
    seen_meters: set[str] | None = None,
    max_meters: int = 0,
) -> Parsed:
    """Validate one telemetry message of a known gateway and build the lines of its good readings.

    Readings of meters the registry does not list are rejected (`unknown_meter`): they never create a
    series. `seen_meters` (the gateway's guard, collector/guard.py) collects the meter ids this gateway
    named lately; a reading naming a new one when it already holds `max_meters` is `too_many_meters`.
    """
    out = Parsed()
    if len(payload) > MAX_PAYLOAD_BYTES:
        return _whole(out, Reason.TOO_LARGE, f"payload of {len(payload)} bytes exceeds {MAX_PAYLOAD_BYTES}")
    doc, error = decode(payload)
    if error is not None:
        return _whole(out, Reason.NOT_JSON, error)
    if type(doc) is not dict:
        return _whole(out, Reason.NOT_OBJECT, f"payload is a JSON {type(doc).__name__}, not an object")
    readings = doc.get("readings")
    if type(readings) is not list:
        return _whole(out, Reason.NO_READINGS, "'readings' missing or not a list")
    if len(readings) > MAX_READINGS_PER_MESSAGE:
        return _whole(
            out, Reason.TOO_MANY_READINGS, f"{len(readings)} readings exceed {MAX_READINGS_PER_MESSAGE}"
        )
    enterprise, gateway = topic.enterprise, topic.gateway
    tz_name = resolver.timezone(enterprise)
    batch_ts: int | str | None = None
    if "ts" in doc and doc["ts"] is not None:
        batch_ts = timestamp_seconds(doc["ts"], tz_name)
    latest = now + MAX_FUTURE_SECONDS
    prefix = f"{READING},enterprise={enterprise},gateway="
    series_gateway = resolver.series_gateway
    fixed_gateway = getattr(resolver, "meter_gateways", None) == {}  # no registered meters: the topic's gateway
    registered = resolver.meters(enterprise)
    lines = out.lines
    for index, reading in enumerate(readings):
        if type(reading) is not dict:
            _reading(out, index, reading, Reason.READING_NOT_OBJECT, "reading is not an object")
            continue
        meter = reading.get("meter")
        if type(meter) is not str or not _ID_MATCH(meter):
            _reading(out, index, reading, Reason.BAD_METER, f"meter id {_short(meter)} not [A-Za-z0-9_-]{{1,64}}")
            continue
        if registered is not None and meter not in registered:
            _reading(out, index, reading, Reason.UNKNOWN_METER, f"meter {meter} is not registered for {enterprise}")
            continue
        if seen_meters is not None and meter not in seen_meters:
            if len(seen_meters) >= max_meters:
                _reading(out, index, reading, Reason.TOO_MANY_METERS,
                         f"meter {meter}: this gateway already named {max_meters} meters within the guard's window")
                continue
            seen_meters.add(meter)
        ts_raw = reading.get("ts")
        if ts_raw is None:
            if batch_ts is None:
                _reading(out, index, reading, Reason.NO_TIMESTAMP, "no ts on the reading or the message")
                continue
            ts = batch_ts
            if type(ts) is str:
                _reading(out, index, reading, Reason.BAD_TIMESTAMP, f"message ts: {ts}")
                continue
        else:
            ts = timestamp_seconds(ts_raw, tz_name)
            if type(ts) is str:
                _reading(out, index, reading, Reason.BAD_TIMESTAMP, ts)
                continue
        if ts > latest:  # type: ignore[operator]
            _reading(out, index, reading, Reason.FUTURE_TIMESTAMP, f"ts {ts} is more than 300 s ahead of {int(now)}")
            continue
        fields = _fields(reading.get("values"))
        if type(fields) is tuple:
            _reading(out, index, reading, fields[0], fields[1])
            continue
        tag = gateway if fixed_gateway else series_gateway(enterprise, meter, gateway)
        lines.append(f"{prefix}{tag},meter={meter} {fields} {ts}")
    return out


def _whole(out: Parsed, reason: str, detail: str) -> Parsed:
    out.rejects.append(Reject(reason, detail))
    out.rejected_whole = True
    return out


def _reading(out: Parsed, index: int, reading: Any, reason: str, detail: str) -> None:
    out.rejects.append(Reject(reason, f"reading {index}: {detail}", index, raw_of(reading)))


def parse_status(payload: bytes, tz_name: str = DEFAULT_TIMEZONE) -> tuple[bool, int | None] | None:
    """The (online, ts) of a status message, or None when it is not `{"online": bool, ...}`."""
    if len(payload) > MAX_PAYLOAD_BYTES:
        return None
    doc, error = decode(payload)
    if error is not None or type(doc) is not dict or type(doc.get("online")) is not bool:
        return None
    ts = timestamp_seconds(doc["ts"], tz_name) if "ts" in doc else None
    return doc["online"], ts if type(ts) is int else None

