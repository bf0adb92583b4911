"""`enterprise_info` points: tags from the registry, one point per local day at local midnight.

Epochs: 2026-12-01T00:00+08:00 = 1796054400, 2026-12-01T00:00Z = 1796083200.
"""

from __future__ import annotations

import datetime as dt

from analytics.enterprise_info import UNKNOWN, InfoRow, lines, recent_days


def test_one_point_per_enterprise_and_local_day_at_local_midnight() -> None:
    rows = [InfoRow("91140200MA0H2KXX88", "云冈区", "3011", "大同示例水泥有限公司", "cement_clinker"),
            InfoRow("91140200MA0H2KYY99", None, None, timezone="UTC")]
    out = lines(rows, [dt.date(2026, 12, 2), dt.date(2026, 12, 1), dt.date(2026, 12, 1)])
    assert out == [
        'enterprise_info,county=云冈区,enterprise=91140200MA0H2KXX88,industry=3011 '
        'name="大同示例水泥有限公司",product="cement_clinker" 1796054400',
        'enterprise_info,county=云冈区,enterprise=91140200MA0H2KXX88,industry=3011 '
        'name="大同示例水泥有限公司",product="cement_clinker" 1796140800',
        f'enterprise_info,county={UNKNOWN},enterprise=91140200MA0H2KYY99,industry={UNKNOWN} '
        'name="91140200MA0H2KYY99",product="" 1796083200',
        f'enterprise_info,county={UNKNOWN},enterprise=91140200MA0H2KYY99,industry={UNKNOWN} '
        'name="91140200MA0H2KYY99",product="" 1796169600',
    ]


def test_recent_days_are_local_days() -> None:
    now = dt.datetime(2026, 11, 30, 17, 0, tzinfo=dt.UTC)  # 01:00 on 1 December in Shanghai
    assert recent_days(now, 1) == [dt.date(2026, 12, 1), dt.date(2026, 11, 30)]
    assert recent_days(now, 0, "UTC") == [dt.date(2026, 11, 30)]
