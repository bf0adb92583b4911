"""The `enerdiag analyze --json` object (CONTRACTS.md section 6), computed from period totals."""

from __future__ import annotations

import datetime as dt
import json

import pytest

from analytics.enterprise import EnterpriseInfo
from analytics.summary import AnalyzeOptions
from core.reference import get_reference
from tests.support.analysis_results import section6

PLANT = EnterpriseInfo(code="91140200MA0H2KXX88", product="cement_clinker")
TOTALS = {"electricity": 100_000.0, "natural_gas": 5_000.0, "pv": 10_000.0, "output": 500.0}


def test_section_6_keys_and_numbers() -> None:
    obj, quota = section6(PLANT, dt.date(2025, 12, 1), dt.date(2026, 1, 1), TOTALS,
                          {"electricity": 1.0, "natural_gas": 0.5}, get_reference())
    for key in ("enterprise", "from", "to", "energy", "tce", "co2_t", "co2", "output_t", "intensity_kgce_per_t",
                "quota", "findings"):
        assert key in obj
    assert obj["from"] == "2025-12-01" and obj["to"] == "2026-01-01"
    assert set(obj["co2"]) >= {"scope1_t", "scope2_t", "green_share"}
    assert set(obj["quota"]) >= {"standard", "indicator", "value", "grade", "limit", "status"}
    kgce = 110_000 * 0.1229 + 5_000 * 1.2143  # 13,519 + 6,071.5
    assert obj["tce"] == pytest.approx(kgce / 1000)
    assert obj["intensity_kgce_per_t"] == pytest.approx(kgce / 500)  # 39.141 kgce/t: grade 1
    assert obj["quota"]["grade"] == 1 and quota.status == "ok"
    assert obj["energy"] == {"electricity": 110_000.0, "natural_gas": 5_000.0}
    assert obj["electricity_balance"]["pv_self_kwh"] == 10_000.0
    assert isinstance(obj["tce"], float) and isinstance(obj["co2_t"], float)
    assert any("natural_gas" in w for w in obj["warnings"])  # completeness 0.5 is reported
    assert any("grid factor" in w or "nearest" in w for w in obj["warnings"])  # 2025 falls back, and says so
    assert obj["evidence"]["tce"]["natural_gas"]["coefficient"]["confidence"] == "recalled"
    json.dumps(obj)  # JSON-ready throughout


def test_boundary_changes_only_the_unit_product_figure() -> None:
    obj, _ = section6(PLANT, dt.date(2025, 12, 1), dt.date(2026, 1, 1), TOTALS, {}, get_reference(),
                      AnalyzeOptions(), boundary={"electricity": 40_000.0})
    assert obj["tce"] == pytest.approx((110_000 * 0.1229 + 5_000 * 1.2143) / 1000)
    assert obj["intensity_kgce_per_t"] == pytest.approx(40_000 * 0.1229 / 500)
    assert obj["boundary"]["scope"] == "process_meters"


def test_no_product_quota_not_applicable() -> None:
    obj, _ = section6(EnterpriseInfo(code="91140200MA0H2KXX88"), dt.date(2025, 12, 1),
                      dt.date(2025, 12, 2), {"electricity": 10.0}, {}, get_reference())
    assert obj["quota"]["status"] == "n/a"
    assert obj["output_t"] is None and obj["intensity_kgce_per_t"] is None


SILENT_M01 = [{"meter": "M01", "quantity": "energy_kwh", "role": "main", "carrier": "electricity",
               "completeness": 0.0, "readings": 0, "cadence_s": None, "expected_readings": None,
               "reason": "no readings in the period"}]


def test_a_period_without_data_is_null_with_reasons_not_zero() -> None:
    obj, quota = section6(PLANT, dt.date(2018, 1, 1), dt.date(2019, 1, 1), {}, {}, get_reference(),
                          expected=["electricity", "output"], meters=SILENT_M01)
    assert obj["energy"] == {"electricity": None}
    assert (obj["tce"], obj["co2_t"], obj["output_t"], obj["intensity_kgce_per_t"]) == (None, None, None, None)
    assert obj["co2"]["scope2_t"] is None and obj["boundary"]["tce"] is None
    assert obj["completeness"] == {"electricity": 0.0, "output": 0.0}
    assert obj["coverage"] == {"enterprise": 0.0, "carriers": {"electricity": 0.0, "output": 0.0},
                               "meters": SILENT_M01}
    assert obj["missing"]["energy.electricity"] == "no readings of the electricity meters in the period (meters M01)"
    assert obj["missing"]["tce"] == "no energy meter sent readings in the period"
    assert quota.status == "n/a" and obj["quota"]["status"] == "n/a"
    assert any("no data in the period for: electricity, output" in w for w in obj["warnings"])
    json.dumps(obj)


def test_a_carrier_without_data_is_null_while_the_others_count() -> None:
    obj, _ = section6(PLANT, dt.date(2025, 12, 1), dt.date(2026, 1, 1), {"electricity": 100_000.0},
                      {"electricity": 1.0}, get_reference(), expected=["electricity", "natural_gas"])
    assert obj["energy"] == {"electricity": 100_000.0, "natural_gas": None}
    assert obj["tce"] == pytest.approx(100_000 * 0.1229 / 1000)  # known carriers only, and it says so
    assert obj["completeness"] == {"electricity": 1.0, "natural_gas": 0.0}
    assert obj["coverage"]["enterprise"] == 0.0  # the weakest energy carrier bounds the enterprise
    assert set(obj["missing"]) == {"energy.natural_gas"}
    full, _ = section6(PLANT, dt.date(2025, 12, 1), dt.date(2026, 1, 1), TOTALS,
                       {"electricity": 1.0, "natural_gas": 1.0, "output": 1.0}, get_reference(),
                       expected=["electricity", "natural_gas", "output"])
    legacy, _ = section6(PLANT, dt.date(2025, 12, 1), dt.date(2026, 1, 1), TOTALS,
                         {"electricity": 1.0, "natural_gas": 1.0, "output": 1.0}, get_reference())
    assert full["missing"] == {} and full["coverage"]["enterprise"] == 1.0
    assert {k: v for k, v in full.items() if k not in ("coverage", "missing")} == legacy  # full data: unchanged
