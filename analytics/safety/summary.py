"""Alarms for the report and the bank API: rebuilt from InfluxDB `safety_alarm` (the shared store), summarised.

The report's safety section (month's alarms and advice) and the credit indicator "open critical safety
alarms" read through here, so they need neither the watcher's machine nor its SQLite list.
"""

from __future__ import annotations

import datetime as dt
from collections import Counter
from collections.abc import Iterable
from typing import Any

from analytics.safety.alarms import Alarm
from analytics.safety.rules import RULES, Severity
from core.influx import InfluxV1, quote_literal
from core.measurements import SAFETY_ALARM


def alarms_from_points(records: Iterable[dict[str, Any]]) -> list[Alarm]:
    """Alarms rebuilt from `safety_alarm` records (time, tags and fields): the latest point of each alarm id
    wins, the highest severity seen is kept; an alarm with no `closed` point is open."""
    by_id: dict[str, dict[str, Any]] = {}
    worst: dict[str, Severity] = {}
    for r in sorted(records, key=lambda r: r["time"]):
        aid = r.get("alarm_id")
        if not aid:
            continue
        by_id[aid] = r
        sev = Severity.from_label(r["severity"])
        worst[aid] = max(worst.get(aid, Severity.NONE), sev)
    out: list[Alarm] = []
    for aid, r in by_id.items():
        end = r.get("end_s") if r.get("state") == "closed" else None
        out.append(Alarm(
            r["enterprise"], r["meter"], r["rule"], worst[aid], dt.datetime.fromtimestamp(int(r["start_s"]), dt.UTC),
            None if end is None else dt.datetime.fromtimestamp(int(end), dt.UTC), float(r["peak"]),
            float(r["value"]), float(r["threshold"]), {},
        ))
    return sorted(out, key=lambda a: (a.start, a.meter, a.rule))


def load_alarms(influx: InfluxV1, enterprise: str, start_s: int, end_s: int) -> list[Alarm]:
    """Alarms of an enterprise with a point in [start_s, end_s) (an alarm open before the period and still
    open has its points earlier: look back far enough, e.g. 90 days, to see it)."""
    q = (f'SELECT * FROM "{SAFETY_ALARM}" WHERE "enterprise" = {quote_literal(enterprise)} '
         f"AND time >= {int(start_s)}s AND time < {int(end_s)}s")
    return alarms_from_points(r for s in influx.query(q) for r in s.records())


def summarise(alarms: Iterable[Alarm], start: dt.datetime, end: dt.datetime) -> dict[str, Any]:
    """The period's alarms for a report or an indicator: counts by rule and severity, open and open-critical
    counts, hours in alarm, the worst peak per rule and the advice (Chinese) per rule that fired."""
    in_period = [a for a in alarms if a.start < end and (a.end is None or a.end >= start)]
    by_rule: dict[str, dict[str, Any]] = {}
    for a in in_period:
        info = RULES[a.rule]
        entry = by_rule.setdefault(a.rule, {"title": info.title_zh, "unit": info.unit, "count": 0,
                                            "by_severity": Counter(), "worst_peak": a.peak, "hours": 0.0,
                                            "advice": info.advice_zh})
        entry["count"] += 1
        entry["by_severity"][a.severity.label] += 1
        worse = min if info.lower_is_worse else max
        entry["worst_peak"] = worse(entry["worst_peak"], a.peak)
        until = min(a.end or end, end)
        entry["hours"] += max(0.0, (until - max(a.start, start)).total_seconds() / 3600.0)
    for entry in by_rule.values():
        entry["by_severity"] = dict(entry["by_severity"])
        entry["hours"] = round(entry["hours"], 2)
    return {
        "from": start.isoformat(),
        "to": end.isoformat(),
        "alarms": len(in_period),
        "open": sum(a.is_open for a in in_period),
        "open_critical": sum(a.is_open and a.severity is Severity.CRITICAL for a in in_period),
        "by_severity": dict(Counter(a.severity.label for a in in_period)),
        "by_rule": by_rule,
        "meters": sorted({a.meter for a in in_period}),
    }
