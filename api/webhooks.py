"""Post-loan monitoring events (贷后监测) for banks' webhooks: detection rules, HMAC signatures, retry backoff.

Pure. `shutdown` and `activity_drop` come from the enterprise's daily electricity (analytics `enterprise_daily`):
- `shutdown`: the day is measured (completeness ≥ 0.5) and its electricity is below 20 % of the median
  measured day of the 28 days before it (the same share as the credit indicator `shutdown_days_90d`);
- `activity_drop`: the mean of the 7 days ending on the day is below 50 % of the mean of the 28 days
  before them (measured days only: at least 5 of the 7 and 14 of the 28);
- `data_gap`: the day is not measured (completeness < 0.5, or no rollup) after a measured day, for an
  enterprise with measured days in the 28 before: silence is reported as silence, never as a shutdown.
`cold_store_failure` comes from the warehouse report of `analytics.warehouse` (the `/warehouse` endpoint's
outages and excursions) over the 7 days ending on the day: an outage of ≥ 2 h with a no-load hour, or an
excursion of ≥ 30 min, that covers part of the day (docs/api.md, "Webhooks").
Each delivery carries `X-Enerdiag-Signature: t=<unix time>,v1=<hex HMAC-SHA256 of "<t>.<body>">`.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import hmac
import statistics
from collections.abc import Sequence
from typing import Any, Final
from zoneinfo import ZoneInfo

from analytics.calendar import local_midnight_s
from analytics.diagnosis.cold import COLD_MIN_HOURS
from analytics.warehouse import WarehouseReport
from api.indicators import MEASURED_DAY, SHUTDOWN_SHARE, Day

EVENT_TYPES: Final = ("shutdown", "activity_drop", "cold_store_failure", "data_gap")
"""Events a webhook can subscribe to."""
EVENT_SCOPES: Final[dict[str, str]] = {"shutdown": "credit", "activity_drop": "credit",
                                       "cold_store_failure": "warehouse", "data_gap": "credit"}
"""The consent scope each event needs: electricity events are credit information, cold-store events are the
warehouse-receipt data of the `/warehouse` endpoint."""
SIGNATURE_HEADER: Final = "X-Enerdiag-Signature"
DROP_SHARE: Final = 0.5
BASELINE_DAYS: Final = 28
RECENT_DAYS: Final = 7
MIN_BASELINE_DAYS: Final = 14
MIN_RECENT_DAYS: Final = 5
"""`activity_drop` needs 5 of the 7 recent days measured: a week mostly without data says nothing of activity."""
MAX_ATTEMPTS: Final = 8
BACKOFF_BASE_S: Final = 30
BACKOFF_MAX_S: Final = 3600
SIGNATURE_TOLERANCE_S: Final = 300
OUTAGE_MIN_HOURS: Final = COLD_MIN_HOURS
"""A refrigeration outage counts from 2 h: defrost cycles and door-open spells last minutes (controllers end a
defrost after at most 45 min), and it is the diagnosis' own minimum for its `cold_store_failure` finding."""
EXCURSION_MIN_MINUTES: Final = 30.0
"""A temperature excursion counts from 30 min: the storage record interval of China's GSP appendix on automatic
temperature monitoring (at least one record every 30 min), above a ~20 min defrost spike (engineering choice)."""
WAREHOUSE_WINDOW_DAYS: Final = 7
"""The report behind `cold_store_failure` covers the 7 local days ending on the day: the stop rule compares each
hour with the median hour of the period, which a stop on the day alone cannot pull down."""


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
    previous = next((d for d in days if d.day == day - dt.timedelta(days=1)), None)
    if (today is None or today.completeness < MEASURED_DAY) and before and previous is not None \
            and previous.completeness >= MEASURED_DAY:
        events.append({"type": "data_gap", "day": day.isoformat(),
                       "data": {"completeness": round(today.completeness, 6) if today else 0.0,
                                "last_measured_day": previous.day.isoformat(),
                                "rule": f"the day's completeness below {MEASURED_DAY} after a measured day: "
                                        "no data, not a shutdown"}})
    if today is not None and today.completeness >= MEASURED_DAY and before:
        median = statistics.median(d.kwh for d in before)
        if median > 0 and today.kwh < SHUTDOWN_SHARE * median:
            events.append({"type": "shutdown", "day": day.isoformat(),
                           "data": {"electricity_kwh": round(today.kwh, 6), "median_daily_kwh": round(median, 6),
                                    "rule": f"below {SHUTDOWN_SHARE:.0%} of the median of the 28 days before"}})
    recent_first = day - dt.timedelta(days=RECENT_DAYS - 1)
    recent = _measured(days, recent_first, day + dt.timedelta(days=1))
    baseline = _measured(days, recent_first - dt.timedelta(days=BASELINE_DAYS), recent_first)
    if len(recent) >= MIN_RECENT_DAYS and len(baseline) >= MIN_BASELINE_DAYS:
        recent_mean = statistics.fmean(d.kwh for d in recent)
        base_mean = statistics.fmean(d.kwh for d in baseline)
        if base_mean > 0 and recent_mean < DROP_SHARE * base_mean:
            events.append({"type": "activity_drop", "day": day.isoformat(),
                           "data": {"recent_mean_daily_kwh": round(recent_mean, 6),
                                    "baseline_mean_daily_kwh": round(base_mean, 6),
                                    "rule": f"7-day mean below {DROP_SHARE:.0%} of the 28 days before"}})
    return events


def _covers(start_s: int, end_s: int, day_start_s: int, day_end_s: int) -> bool:
    return start_s < day_end_s and end_s > day_start_s


def _band(band: tuple[float, float] | None) -> list[float] | None:
    return list(band) if band else None


def detect_cold_store_event(report: WarehouseReport, day: dt.date, timezone: str,
                              meters: Sequence[dict[str, Any]]) -> list[dict[str, Any]]:
    """The `cold_store_failure` event of local `day`, if any, from the warehouse `report` of the days ending on it.

    Qualifying: refrigeration outages of at least `OUTAGE_MIN_HOURS` with at least one no-load hour (a meter
    that only fell silent is a data gap, not a stopped compressor) and excursions of at least
    `EXCURSION_MIN_MINUTES`, each covering part of `day`. `meters` (the warehouse meters) go into the evidence.
    """
    day_start_s = local_midnight_s(day, timezone)
    day_end_s = local_midnight_s(day + dt.timedelta(days=1), timezone)
    outages = [o for o in report.outages if o.hours >= OUTAGE_MIN_HOURS and o.no_load_hours > 0
               and _covers(o.start_s, o.end_s, day_start_s, day_end_s)]
    bands = {t.meter: t.band_c for t in report.temperatures}
    excursions = [e for e in report.excursions if e.minutes >= EXCURSION_MIN_MINUTES
                  and _covers(e.start_s, e.end_s, day_start_s, day_end_s)]
    if not outages and not excursions:
        return []
    worst = max(excursions, key=lambda e: (e.deviation_c, -e.start_s), default=None)
    zone = ZoneInfo(timezone)
    window_first = dt.datetime.fromtimestamp(report.start_s, zone).date()
    return [{"type": "cold_store_failure", "day": day.isoformat(), "data": {
        "outage_hours": sum(o.hours for o in outages),
        "outages": [o.to_json(zone) for o in outages],
        "excursion_minutes": round(sum(e.minutes for e in excursions), 6),
        "excursions": [{**e.to_json(zone), "band_c": _band(bands.get(e.meter))} for e in excursions],
        "worst_temperature": None if worst is None else {
            "meter": worst.meter, "side": worst.side, "peak_c": worst.peak_c, "deviation_c": worst.deviation_c,
            "band_c": _band(bands.get(worst.meter))},
        "meters": list(meters),
        "window": {"from": window_first.isoformat(), "to": (day + dt.timedelta(days=1)).isoformat()},
        "rule": f"refrigeration outage of at least {OUTAGE_MIN_HOURS} h with a no-load hour, or temperature "
                f"excursion of at least {EXCURSION_MIN_MINUTES:g} min, covering part of the day "
                "(outages and excursions as GET /warehouse over the window)",
    }}]
