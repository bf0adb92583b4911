"""Post-loan monitoring events (贷后监测) for banks' webhooks: detection rules, HMAC signatures, retry backoff.

Pure. Events are detected from the enterprise's daily electricity (analytics `enterprise_daily`):
- `shutdown`: the day is measured (completeness ≥ 0.5) and its electricity is below 20 % of the median
  measured day of the 28 days before it (the same share as the credit indicator `shutdown_days_90d`);
- `activity_drop`: the mean of the 7 days ending on the day is below 50 % of the mean of the 28 days
  before them (measured days only, at least 14 of them).
Each delivery carries `X-Enerdiag-Signature: t=<unix time>,v1=<hex HMAC-SHA256 of "<t>.<body>">`.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import hmac
import statistics
from collections.abc import Sequence
from typing import Any, Final

from api.indicators import MEASURED_DAY, SHUTDOWN_SHARE, Day

EVENT_TYPES: Final = ("shutdown", "activity_drop")
"""Events a webhook can subscribe to (cold-store failure follows with the analytics' diagnosis, issue #6)."""
SIGNATURE_HEADER: Final = "X-Enerdiag-Signature"
DROP_SHARE: Final = 0.5
BASELINE_DAYS: Final = 28
RECENT_DAYS: Final = 7
MIN_BASELINE_DAYS: Final = 14
MAX_ATTEMPTS: Final = 8
BACKOFF_BASE_S: Final = 30
BACKOFF_MAX_S: Final = 3600
SIGNATURE_TOLERANCE_S: Final = 300


def sign(secret: str, timestamp: int, body: bytes) -> str:
    """The signature header value for `body` sent at `timestamp`."""
    mac = hmac.new(secret.encode(), f"{timestamp}.".encode() + body, hashlib.sha256).hexdigest()
    return f"t={timestamp},v1={mac}"


def verify_signature(secret: str, header: str, body: bytes, now: int,
                     tolerance_s: int = SIGNATURE_TOLERANCE_S) -> bool:
    """What a receiver does: recompute the HMAC, compare in constant time, refuse stale timestamps (replays)."""
    try:
        parts = dict(item.split("=", 1) for item in header.split(","))
        timestamp = int(parts["t"])
    except (ValueError, KeyError):
        return False
    if abs(now - timestamp) > tolerance_s:
        return False
    return hmac.compare_digest(sign(secret, timestamp, body), f"t={timestamp},v1={parts.get('v1', '')}")


def backoff_s(attempts: int) -> int:
    """Seconds before the next try after `attempts` failed ones: 30 s, 1 min, 2 min … at most 1 h."""
    return int(min(BACKOFF_BASE_S * 2 ** max(attempts - 1, 0), BACKOFF_MAX_S))


def _measured(days: Sequence[Day], first: dt.date, end: dt.date) -> list[Day]:
    return [d for d in days if first <= d.day < end and d.completeness >= MEASURED_DAY]


def detect(days: Sequence[Day], day: dt.date) -> list[dict[str, Any]]:
    """Events on local `day` from daily electricity (`days` should cover the 35 days ending on `day`)."""
    events: list[dict[str, Any]] = []
    today = next((d for d in days if d.day == day), None)
    before = _measured(days, day - dt.timedelta(days=BASELINE_DAYS), day)
    if today is not None and today.completeness >= MEASURED_DAY and before:
        median = statistics.median(d.kwh for d in before)
        if median > 0 and today.kwh < SHUTDOWN_SHARE * median:
            events.append({"type": "shutdown", "day": day.isoformat(),
                           "data": {"electricity_kwh": round(today.kwh, 6), "median_daily_kwh": round(median, 6),
                                    "rule": f"below {SHUTDOWN_SHARE:.0%} of the median of the 28 days before"}})
    recent_first = day - dt.timedelta(days=RECENT_DAYS - 1)
    recent = _measured(days, recent_first, day + dt.timedelta(days=1))
    baseline = _measured(days, recent_first - dt.timedelta(days=BASELINE_DAYS), recent_first)
    if recent and len(baseline) >= MIN_BASELINE_DAYS:
        recent_mean = statistics.fmean(d.kwh for d in recent)
        base_mean = statistics.fmean(d.kwh for d in baseline)
        if base_mean > 0 and recent_mean < DROP_SHARE * base_mean:
            events.append({"type": "activity_drop", "day": day.isoformat(),
                           "data": {"recent_mean_daily_kwh": round(recent_mean, 6),
                                    "baseline_mean_daily_kwh": round(base_mean, 6),
                                    "rule": f"7-day mean below {DROP_SHARE:.0%} of the 28 days before"}})
    return events
