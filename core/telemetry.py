"""The wire primitives of MQTT telemetry (CONTRACTS.md section 2): topics, timestamps, JSON decoding.

Pure and shared: the collector validates whole messages with them, and the electrical-safety watcher,
which listens beside the collector, reads the same topics and timestamps the same way.
"""

from __future__ import annotations

import datetime as dt
import json
import math
import re
from dataclasses import dataclass
from functools import lru_cache
from typing import Any, Final
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

import orjson

from core.domain import DEFAULT_TIMEZONE, ID_PATTERN

MS_THRESHOLD: Final = 10**12
"""An integer timestamp at or above this is epoch milliseconds (CONTRACTS.md section 2)."""

ENTERPRISE_PATTERN: Final = re.compile(r"\A[0-9A-Z]{18}\Z")
"""Shape of a credit code in a topic; the registry (or `creditcode`) checks the check characters."""

_RFC3339: Final = re.compile(
    r"([0-9]{4})-([0-9]{2})-([0-9]{2})[Tt ]([0-9]{2}):([0-9]{2}):([0-9]{2})(?:\.([0-9]+))?([Zz]|[+-][0-9]{2}:[0-9]{2})?"
)
_ID_MATCH = ID_PATTERN.fullmatch
_BOM: Final = b"\xef\xbb\xbf"


@dataclass(frozen=True, slots=True)
class Topic:
    """A parsed `em/v1/{enterprise}/{gateway}/{kind}` topic."""

    enterprise: str
    gateway: str
    kind: str  # "telemetry" or "status"


def parse_topic(topic: str) -> Topic | None:
    """The parts of a telemetry or status topic, or None when it does not follow the contract."""
    parts = topic.split("/")
    if len(parts) != 5 or parts[0] != "em" or parts[1] != "v1" or parts[4] not in ("telemetry", "status"):
        return None
    enterprise, gateway = parts[2], parts[3]
    if not ENTERPRISE_PATTERN.fullmatch(enterprise) or not _ID_MATCH(gateway):
        return None
    return Topic(enterprise, gateway, parts[4])


@lru_cache(maxsize=256)
def _zone(name: str) -> dt.tzinfo:
    try:
        return ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError):
        return ZoneInfo(DEFAULT_TIMEZONE)


# ---------------------------------------------------------------- timestamps


def timestamp_seconds(value: Any, tz_name: str) -> int | str:
    """Epoch seconds (floored to the second) of a contract timestamp, or a string saying why it is bad."""
    kind = type(value)
    if kind is int:
        if value < 0:
            return f"timestamp {value} is before 1970"
        return value // 1000 if value >= MS_THRESHOLD else value
    if kind is float:
        if not math.isfinite(value):
            return "timestamp is not finite"
        if value < 0:
            return f"timestamp {value!r} is before 1970"
        return math.floor(value)
    if kind is str:
        return _string_timestamp(value, tz_name)
    return f"timestamp of type {kind.__name__} (need epoch s, epoch ms or RFC 3339 string)"


def _string_timestamp(text: str, tz_name: str) -> int | str:
    m = _RFC3339.fullmatch(text) if len(text) <= 64 else None
    if m is None:
        return f"timestamp {text[:40]!r} is not RFC 3339"
    y, mo, d, h, mi, s, _frac, off = m.groups()
    try:
        naive = dt.datetime(int(y), int(mo), int(d), int(h), int(mi), int(s))
    except ValueError as exc:
        return f"timestamp {text[:40]!r}: {exc}"
    if off is None:
        stamp = naive.replace(tzinfo=_zone(tz_name)).timestamp()
    elif off in ("Z", "z"):
        stamp = naive.replace(tzinfo=dt.UTC).timestamp()
    else:
        sign = 1 if off[0] == "+" else -1
        oh, om = int(off[1:3]), int(off[4:6])
        if oh > 23 or om > 59:
            return f"timestamp {text[:40]!r}: bad offset"
        stamp = naive.replace(tzinfo=dt.UTC).timestamp() - sign * (oh * 3600 + om * 60)
    seconds = math.floor(stamp)
    if seconds < 0:
        return f"timestamp {text[:40]!r} is before 1970"
    return seconds


def decode(payload: bytes) -> tuple[Any, str | None]:
    """JSON-decode a payload: orjson first, then the stdlib for NaN/Infinity and huge numbers."""
    if payload.startswith(_BOM):
        payload = payload[3:]
    try:
        return orjson.loads(payload), None
    except orjson.JSONDecodeError as exc:
        first_error = str(exc)
    try:
        text = payload.decode("utf-8")
    except UnicodeDecodeError as exc:
        return None, f"payload is not UTF-8: {exc.reason} at byte {exc.start}"
    try:
        return json.loads(text), None
    except (ValueError, RecursionError, OverflowError):
        return None, f"payload is not JSON: {first_error[:200]}"
