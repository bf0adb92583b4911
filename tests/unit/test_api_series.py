"""Pure series logic: local periods → InfluxDB grouping, and base buckets folded into local intervals."""

from __future__ import annotations

import datetime as dt
from zoneinfo import ZoneInfo

from api.series import Interval, aggregate, base_grouping, bucket_starts, gauge_query, local_midnight_utc_s

SHANGHAI = ZoneInfo("Asia/Shanghai")
BERLIN = ZoneInfo("Europe/Berlin")


def test_shanghai_days_group_by_day_offset_to_local_midnight() -> None:
    width, offset = base_grouping(Interval.DAY, SHANGHAI, dt.date(2026, 1, 1), dt.date(2026, 12, 1))
    assert (width, offset) == (86400, 16 * 3600)  # buckets start 16:00 UTC = 00:00 Beijing
    assert local_midnight_utc_s(dt.date(2026, 11, 1), SHANGHAI) % 86400 == offset


def test_daylight_saving_zone_falls_back_to_hours() -> None:
    assert base_grouping(Interval.DAY, BERLIN, dt.date(2026, 3, 1), dt.date(2026, 4, 1)) == (3600, 0)
    assert base_grouping(Interval.HOUR, SHANGHAI, dt.date(2026, 3, 1), dt.date(2026, 4, 1)) == (3600, 0)


def test_hours_across_a_dst_change_are_listed_once_each() -> None:
    starts = list(bucket_starts(Interval.HOUR, BERLIN, dt.date(2026, 3, 29), dt.date(2026, 3, 30)))
    assert len(starts) == 23  # the spring-forward day has 23 hours
    assert starts[2].hour == 3 and starts[1].hour == 1


def test_months_and_days_are_local_calendar_units() -> None:
    months = list(bucket_starts(Interval.MONTH, SHANGHAI, dt.date(2025, 11, 1), dt.date(2026, 2, 1)))
    assert [m.strftime("%Y-%m") for m in months] == ["2025-11", "2025-12", "2026-01"]
    days = list(bucket_starts(Interval.DAY, SHANGHAI, dt.date(2026, 2, 27), dt.date(2026, 3, 2)))
    assert [d.day for d in days] == [27, 28, 1]


def test_aggregate_is_sample_weighted_and_lists_empty_intervals() -> None:
    day1 = local_midnight_utc_s(dt.date(2026, 11, 1), SHANGHAI)
    rows = [(day1, 30.0, 3), (day1 + 3600, 100.0, 1), (day1 + 2 * 86400, None, 0)]
    buckets = aggregate(rows, Interval.DAY, SHANGHAI, dt.date(2026, 11, 1), dt.date(2026, 11, 4))
    assert [(b.start.day, b.mean, b.samples) for b in buckets] == [(1, 32.5, 4), (2, None, 0), (3, None, 0)]


def test_berlin_hours_fold_into_local_days() -> None:
    first = local_midnight_utc_s(dt.date(2026, 3, 29), BERLIN)  # 23-hour day
    rows = [(first + h * 3600, 1.0, 1) for h in range(24)]  # the last hour belongs to 30 March
    buckets = aggregate(rows, Interval.DAY, BERLIN, dt.date(2026, 3, 29), dt.date(2026, 3, 31))
    assert [(b.start.day, b.samples) for b in buckets] == [(29, 23), (30, 1)]


def test_gauge_query_quotes_and_bounds() -> None:
    q = gauge_query("91140200MA0H2KX165", "power_kw", 100, 200, 3600, 0, "M'1")
    assert "\"enterprise\" = '91140200MA0H2KX165'" in q
    assert "time >= 100s AND time < 200s" in q
    assert "\"meter\" = 'M\\'1'" in q
    assert q.endswith('GROUP BY time(3600s, 0s), "meter" fill(none)')
