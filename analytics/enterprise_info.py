"""Points of `enterprise_info`: the registry's county, industry and name where Grafana can filter on them.

County and industry are not tags of the energy measurements (docs/schema.md), so the dashboards'
variables read them from this small measurement: one point per enterprise and local day, time = the
local midnight that starts the day (as `enterprise_daily`), tags `enterprise`, `county`, `industry`,
fields `name` and `product` (strings). A point per day, not one forever, lets panels bound it by
`$timeFilter` and keeps a county change from rewriting history. Writers: see docs/dashboards.md.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable
from dataclasses import dataclass
from zoneinfo import ZoneInfo

from core.influx import line
from core.measurements import ENTERPRISE_INFO

UNKNOWN = "未登记"  # county/industry missing in the registry: still selectable, never an empty tag


@dataclass(frozen=True, slots=True)
class InfoRow:
    """The registry facts one point carries."""

    code: str
    county: str | None
    industry: str | None
    name: str | None = None
    product: str | None = None
    timezone: str = "Asia/Shanghai"


def local_midnight_s(day: dt.date, timezone: str) -> int:
    """Epoch seconds of the local midnight starting `day`."""
    return int(dt.datetime.combine(day, dt.time(), ZoneInfo(timezone)).timestamp())


def lines(rows: Iterable[InfoRow], days: Iterable[dt.date]) -> list[str]:
    """One point per enterprise and local day (idempotent: same series and time overwrite)."""
    day_list = sorted(set(days))
    out: list[str] = []
    for row in rows:
        tags = {"enterprise": row.code, "county": row.county or UNKNOWN, "industry": row.industry or UNKNOWN}
        fields: dict[str, str | float | int | bool] = {"name": row.name or row.code, "product": row.product or ""}
        out.extend(line(ENTERPRISE_INFO, tags, fields, local_midnight_s(day, row.timezone)) for day in day_list)
    return out


def recent_days(now: dt.datetime, back: int, timezone: str = "Asia/Shanghai") -> list[dt.date]:
    """Today (local) and the `back` days before it: what a daily or hourly writer should (re)write."""
    today = now.astimezone(ZoneInfo(timezone)).date()
    return [today - dt.timedelta(days=k) for k in range(back + 1)]
