"""Analysis results for tests: a small valid one for the consumers' tests (`analysis_result`), and the cases
of the `enerdiag analyze --json` object (CONTRACTS.md section 6) whose JSON text is pinned in
tests/data/analysis_golden/: the typed result's `to_json()` must print exactly what the untyped dict printed
before it (tests/unit/test_analysis_result.py). Each case is the arguments of `analytics.summary.enterprise_result`
and what the command adds afterwards (findings, withheld findings, the rollup coverage and its warning)."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from analytics.diagnosis.finding import Finding
from analytics.enterprise import EnterpriseInfo, GreenPurchase
from analytics.quota import QuotaResult
from analytics.result import AnalysisResult, BalanceFigures, BoundaryFigures, Co2Figures
from analytics.summary import AnalyzeOptions, budget_position, enterprise_result
from core.reference import get_reference

GOLDEN_DIR = Path(__file__).resolve().parents[1] / "data" / "analysis_golden"

PLANT = EnterpriseInfo(code="91140200MA0H2KXX88", product="cement_clinker")
BUDGETED = EnterpriseInfo(
    code="91140214MA0FE1KM73", industry="3011", county="云冈区",
    co2_budgets=((2023, 1000.0),),
    green_purchases=(GreenPurchase("green_certificate", dt.date(2023, 6, 1), dt.date(2023, 6, 30), 30.0),),
)
SILENT_M01 = [{"meter": "M01", "quantity": "energy_kwh", "role": "main", "carrier": "electricity",
               "completeness": 0.0, "readings": 0, "cadence_s": None, "expected_readings": None,
               "reason": "no readings in the period"}]
FULL_M01 = [{"meter": "M01", "quantity": "energy_kwh", "role": "main", "carrier": "electricity",
             "completeness": 0.97, "readings": 2900, "cadence_s": 900, "expected_readings": 2976, "reason": None}]
BASE_LOAD = Finding("base_load", "基础负荷偏高", "High base load", 12_000.0, 1.4748, 8_400.0, 7.5, {"night_kw": 120.0},
                    "夜间关停空压机", "Switch off compressors at night", "high", ("GB/T 13462",),
                    {"origin": "assumed", "flat_cny_per_kwh": 0.7}, ())
WITHHELD = [{"code": "over_quota", "title_zh": "超限额", "title_en": "Over quota",
             "reason": "the month's data cover 1/31 of it"}]


@dataclass(frozen=True)
class Case:
    """One pinned object: `enterprise_result` arguments, then what `enerdiag analyze` adds."""

    name: str
    args: tuple[Any, ...]
    kwargs: dict[str, Any] = field(default_factory=dict)
    findings: list[Finding] | None = None  # None: the command's --no-findings (the key stays [])
    withheld: list[dict[str, Any]] | None = None
    rollup: tuple[int, int] | None = None  # (raw readings, rolled-up readings) of `coverage.rollup`

    @property
    def path(self) -> Path:
        return GOLDEN_DIR / f"{self.name}.json"


def cases() -> list[Case]:
    ref = get_reference()
    dec, jan = dt.date(2025, 12, 1), dt.date(2026, 1, 1)
    totals = {"electricity": 100_000.0, "natural_gas": 5_000.0, "pv": 10_000.0, "output": 500.0}
    window = (dt.date(2023, 1, 1), dt.date(2023, 7, 1))
    budget = budget_position(BUDGETED, window, {"electricity": 800_000.0}, ref)
    return [
        Case("site_partial_gas", (PLANT, dec, jan, totals, {"electricity": 1.0, "natural_gas": 0.5}, ref)),
        Case("process_boundary", (PLANT, dec, jan, totals, {}, ref, AnalyzeOptions()),
             {"boundary": {"electricity": 40_000.0}}),
        Case("no_data_null_with_reasons", (PLANT, dt.date(2018, 1, 1), dt.date(2019, 1, 1), {}, {}, ref),
             {"expected": ["electricity", "output"], "meters": SILENT_M01}, findings=[], withheld=[], rollup=(0, 0)),
        Case("budget_green_findings", (BUDGETED, dt.date(2023, 6, 1), dt.date(2023, 7, 1), {"electricity": 150_000.0},
                                       {"electricity": 1.0}, ref, AnalyzeOptions(green_purchased_kwh=5_000.0)),
             {"budget": budget, "expected": ["electricity"], "meters": FULL_M01},
             findings=[BASE_LOAD], withheld=WITHHELD, rollup=(3000, 2900)),
        Case("output_absent_no_pv", (PLANT, dec, jan, {"electricity": 80_000.0}, {"electricity": 0.95}, ref,
                                            AnalyzeOptions(include_pv=False)),
             {"expected": ["electricity", "output"], "meters": FULL_M01}, findings=[], withheld=[], rollup=(10, 10)),
    ]


def analysis_result(completeness: dict[str, float | None] | None = None, *, period: tuple[str, str] = (
        "2025-11-01", "2026-11-01"), energy: dict[str, float | None] | None = None, tce: float | None = None,
        output_t: float | None = 20.0, co2_t: float | None = 10.0, scope1_t: float | None = 0.0,
        intensity_kgce_per_t: float | None = None, intensity_t_per_t: float | None = 0.5,
        green_share: float | None = 0.1, quota: QuotaResult | None = None) -> AnalysisResult:
    """A small valid result for tests of its consumers (figures not computed: set what the test reads)."""
    scope2 = None if co2_t is None else co2_t - (scope1_t or 0.0)
    co2 = Co2Figures(scope1_t=scope1_t, scope2_t=scope2, green_share=green_share, green_kwh=0.0,
                     green_purchased_kwh=0.0, scope2_method="location_based", scope2_location_t=scope2,
                     intensity_t_per_t=intensity_t_per_t, scope1_combustion_t=scope1_t, scope1_process_t=0.0,
                     grid_factor=None, scope2_national_t=None, national_grid_factor=None)
    return AnalysisResult(
        enterprise=PLANT.code, period_from=dt.date.fromisoformat(period[0]), period_to=dt.date.fromisoformat(period[1]),
        timezone="Asia/Shanghai", energy=energy or {}, electricity_balance=BalanceFigures(None, None, None, None, None),
        tce=tce, tce_method="equivalent", co2_t=co2_t, co2=co2, output_t=output_t,
        intensity_kgce_per_t=intensity_kgce_per_t, boundary=BoundaryFigures(PLANT.product, "site", tce, "t"),
        quota=quota or QuotaResult("ok"), completeness=completeness or {}, evidence={})


def section6(*args: Any, **kwargs: Any) -> tuple[dict[str, Any], QuotaResult]:
    """`enterprise_result` as the printed section-6 object, with its quota assessment (for tests of the JSON)."""
    result = enterprise_result(*args, **kwargs)
    return result.to_json(), result.quota
