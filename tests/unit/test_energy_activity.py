"""City operation index by county/industry: a fixed panel, energy-weighted, thin data left out."""

from __future__ import annotations

import pytest

from analytics.activity import EnterpriseActivity, group_activity


def row(code: str, group: str, cur: float, ref: float, c_cur: float = 1.0, c_ref: float = 1.0) -> EnterpriseActivity:
    return EnterpriseActivity(code, group, cur, ref, c_cur, c_ref)


def test_enterprise_and_group_indices() -> None:
    rows = [
        row("A", "云冈区", 12.0, 10.0),  # 120
        row("B", "云冈区", 3.0, 6.0),  # 50
        row("C", "云冈区", 50.0, 1.0, c_cur=0.5),  # thin data this period: left out
        row("D", "平城区", 0.0, 4.0),  # shut down: 0
        row("E", "平城区", 5.0, 0.0),  # new: no reference, left out
    ]
    assert rows[0].index == pytest.approx(120.0)
    assert rows[1].index == pytest.approx(50.0)
    assert rows[2].index is None and "50%" in (rows[2].reason or "")
    assert rows[4].index is None
    groups = {g.group: g for g in group_activity(rows)}
    # energy-weighted: (12 + 3) / (10 + 6) = 93.75, not the mean of 120 and 50
    assert groups["云冈区"].index == pytest.approx(93.75)
    assert (groups["云冈区"].enterprises, groups["云冈区"].excluded) == (2, 1)
    assert groups["平城区"].index == pytest.approx(0.0)
    assert (groups["平城区"].enterprises, groups["平城区"].excluded) == (1, 1)


def test_group_with_nobody_in_the_panel() -> None:
    (group,) = group_activity([row("A", "x", 1.0, 1.0, c_ref=0.2)])
    assert group.index is None and group.enterprises == 0 and group.excluded == 1
