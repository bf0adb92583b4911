"""The typed analysis result (analytics/result.py): `to_json()` prints today's section-6 object to the byte,
it validates on construction, and adding findings or coverage makes a new object."""

from __future__ import annotations

import dataclasses
import datetime as dt
import json

import pytest

from analytics.carbon import carbon_account
from analytics.coverage import uncovered_warning
from analytics.result import AnalysisError, AnalysisResult, Co2Figures
from analytics.summary import enterprise_result
from core.reference import get_reference
from tests.support.analysis_results import BASE_LOAD, PLANT, SILENT_M01, Case, cases


def _result(case: Case) -> AnalysisResult:
    result = enterprise_result(*case.args, **case.kwargs)
    if case.findings is not None:
        result = result.with_findings(case.findings, case.withheld or [])
    if case.rollup is not None:
        result = result.with_rollup_coverage(*case.rollup, uncovered_warning(*case.rollup, case.args[1]))
    return result


@pytest.mark.parametrize("case", cases(), ids=lambda c: c.name)
def test_to_json_prints_the_pinned_object_to_the_byte(case: Case) -> None:
    printed = json.dumps(_result(case).to_json(), ensure_ascii=False, indent=2) + "\n"
    assert printed == case.path.read_text(encoding="utf-8")


def _empty() -> AnalysisResult:
    return enterprise_result(PLANT, dt.date(2018, 1, 1), dt.date(2019, 1, 1), {}, {}, get_reference(),
                             expected=["electricity", "output"], meters=SILENT_M01)


def test_attributes_read_what_the_json_says() -> None:
    result = _empty()
    assert result.tce is None and result.co2.scope2_t is None and result.boundary.tce is None
    assert result.energy == {"electricity": None} and result.quota.status == "n/a"
    assert result.missing is not None and result.missing["tce"] == "no energy meter sent readings in the period"
    assert result.coverage is not None and result.coverage.enterprise == 0.0
    assert result.energy_completeness == 0.0 and result.completeness_of("output") == 0.0
    assert any("no data in the period" in w for w in result.warnings)


def test_it_is_frozen_and_its_mappings_are_read_only() -> None:
    result = _empty()
    with pytest.raises(dataclasses.FrozenInstanceError):
        result.tce = 1.0  # type: ignore[misc]
    with pytest.raises(TypeError):
        result.energy["electricity"] = 0.0  # type: ignore[index]
    printed = result.to_json()
    printed["energy"]["electricity"] = 0.0  # a caller's copy: the result keeps its null
    assert result.energy["electricity"] is None and result.to_json()["energy"]["electricity"] is None


def test_construction_refuses_a_zero_where_missing_says_null() -> None:
    result = _empty()
    with pytest.raises(AnalysisError, match="missing is never zero"):
        dataclasses.replace(result, tce=0.0)
    with pytest.raises(AnalysisError, match=r"energy\.electricity"):
        dataclasses.replace(result, energy={"electricity": 0.0})
    with pytest.raises(AnalysisError, match="finite"):
        dataclasses.replace(result, output_t=float("nan"))
    with pytest.raises(AnalysisError, match="share"):
        dataclasses.replace(result, completeness={"electricity": 1.5})
    with pytest.raises(AnalysisError, match="empty"):
        dataclasses.replace(result, period_to=result.period_from)
    with pytest.raises(AnalysisError, match="together"):
        dataclasses.replace(result, coverage=None)


def test_every_co2_key_the_carbon_account_adds_is_a_typed_field() -> None:
    account = carbon_account({"electricity": 1_000.0}, get_reference(), year=2023)
    assert set(account.result_keys()) <= {f.name for f in dataclasses.fields(Co2Figures)}


def test_findings_and_rollup_coverage_make_new_objects() -> None:
    result = _empty()
    found = result.with_findings([BASE_LOAD], [{"code": "shutdown", "reason": "too little data"}])
    assert result.findings == () and result.withheld_findings is None and "withheld_findings" not in result.to_json()
    assert found.findings == (BASE_LOAD,) and found.to_json()["findings"][0]["code"] == "base_load"
    behind = found.with_rollup_coverage(10, 8, "2 readings not rolled up")
    assert behind.coverage is not None and behind.coverage.rollup is not None
    assert behind.coverage.rollup.raw_readings == 10 and behind.warnings[-1] == "2 readings not rolled up"
    assert found.coverage is not None and found.coverage.rollup is None
    no_meters = enterprise_result(PLANT, dt.date(2025, 12, 1), dt.date(2026, 1, 1), {"electricity": 1.0}, {},
                                  get_reference())
    with pytest.raises(AnalysisError):
        no_meters.with_rollup_coverage(1, 1)
