"""Quota grades and over-quota gaps against GB 16780-2021 (clinker: grades 100 / 107 / 117 kgce/t)."""

from __future__ import annotations

import datetime as dt

import pytest

from analytics.quota import NOT_APPLICABLE, OK, OVER_QUOTA, assess_quota, over_quota_list
from core.reference import get_reference

DAY = dt.date(2025, 12, 31)


@pytest.mark.parametrize(("tce", "grade"), [(50.0, 1), (52.0, 2), (53.5, 2), (58.5, 3)])
def test_grades(tce: float, grade: int) -> None:
    result = assess_quota("cement_clinker", tce, 500.0, DAY, get_reference())
    assert result.status == OK
    assert result.value == pytest.approx(tce * 1000 / 500)
    assert result.grade == grade
    assert result.limit == 117.0
    assert result.standard is not None and result.standard.startswith("GB 16780-2021")


def test_over_quota_gap_in_kgce_per_t_and_tce() -> None:
    # 60 tce for 500 t = 120 kgce/t: 3 kgce/t above 117, i.e. 3 × 500 / 1000 = 1.5 tce in the period
    result = assess_quota("cement_clinker", 60.0, 500.0, DAY, get_reference())
    assert result.status == OVER_QUOTA
    assert result.grade is None
    assert result.gap_per_unit == pytest.approx(3.0)
    assert result.gap_tce == pytest.approx(1.5)
    out = result.as_dict()
    assert out["status"] == "over_quota" and out["limit"] == 117.0 and out["value"] == pytest.approx(120.0)
    assert out["grades"]["grade_3"]["confidence"] == "verified-secondary"


def test_not_applicable_cases() -> None:
    ref = get_reference()
    assert assess_quota(None, 10.0, 5.0, DAY, ref).status == NOT_APPLICABLE
    assert assess_quota("cement_clinker", 10.0, 0.0, DAY, ref).status == NOT_APPLICABLE
    unknown = assess_quota("no_such_product", 10.0, 5.0, DAY, ref)
    assert unknown.status == NOT_APPLICABLE and "no_such_product" in (unknown.reason or "")


def test_city_list_worst_first() -> None:
    ref = get_reference()
    results = [
        ("A", assess_quota("cement_clinker", 60.0, 500.0, DAY, ref)),  # 120 vs 117: +2.6 %
        ("B", assess_quota("cement_clinker", 50.0, 500.0, DAY, ref)),  # ok
        ("C", assess_quota("cement_clinker", 65.0, 500.0, DAY, ref)),  # 130 vs 117: +11.1 %
    ]
    ranked = over_quota_list(results)
    assert [code for code, _ in ranked] == ["C", "A"]
