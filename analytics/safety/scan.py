"""Batch evaluation over stored readings (backfills, late data, re-runs after a rules change)."""

from __future__ import annotations

import pandas as pd

from analytics.safety.alarms import Alarm, detect
from analytics.safety.context import SafetyContext
from analytics.safety.engine import SAFETY_KEYS
from core.influx import InfluxV1, quote_ident, quote_literal

_FIELDS = sorted(SAFETY_KEYS)


def load_frames(
    influx: InfluxV1, start_s: int, end_s: int, enterprise: str | None = None
) -> dict[tuple[str, str], pd.DataFrame]:
    """Safety quantities of every meter in [start_s, end_s), one frame per (enterprise, meter)."""
    where = f"time >= {int(start_s)}s AND time < {int(end_s)}s"
    if enterprise:
        where += f" AND {quote_ident('enterprise')} = {quote_literal(enterprise)}"
    fields = ", ".join(quote_ident(f) for f in _FIELDS)
    q = f'SELECT {fields} FROM {influx.raw_source} WHERE {where} GROUP BY "enterprise", "meter"'
    frames: dict[tuple[str, str], pd.DataFrame] = {}
    for s in influx.query(q):
        frame = pd.DataFrame(s.values, columns=s.columns).set_index("time")
        frame.index = pd.to_datetime(frame.index, unit="s", utc=True)
        frame = frame.dropna(axis=1, how="all").astype(float)
        if not frame.empty and len(frame.columns):
            frames[(s.tags["enterprise"], s.tags["meter"])] = frame
    return frames


def scan(
    influx: InfluxV1, context: SafetyContext, start_s: int, end_s: int, enterprise: str | None = None
) -> list[Alarm]:
    """Alarms in the stored readings of the watched meters (alarms still open at `end_s` have end None)."""
    alarms: list[Alarm] = []
    for (code, meter), frame in load_frames(influx, start_s, end_s, enterprise).items():
        ctx = context(code, meter)
        if ctx is not None:
            alarms.extend(detect(frame, ctx[0], code, meter, ctx[1]))
    return alarms
