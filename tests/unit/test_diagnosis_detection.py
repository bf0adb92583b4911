"""Detection quality on a simulated city of 80 plants against the simulators' ground truth (issue #6)."""

from __future__ import annotations

import pytest

from core.reference import get_reference
from tests.support.diagnosis_evaluation import MAGNITUDE_TOLERANCE, SCORED_CODES, run_city, score


@pytest.fixture(scope="module")
def scores() -> dict:
    return score(*run_city(get_reference(), plants=80, seed=11))


@pytest.mark.parametrize("code", SCORED_CODES)
def test_recall_and_precision_at_least_0_9(scores: dict, code: str) -> None:
    s = scores[code]
    assert s.tp >= 3, f"too few {code} cases in the city to judge"
    assert s.recall >= 0.9 and s.precision >= 0.9, (code, s)


@pytest.mark.parametrize("code", SCORED_CODES)
def test_magnitudes_within_20_percent(scores: dict, code: str) -> None:
    s = scores[code]
    assert len(s.errors) == s.tp
    assert all(abs(e) <= MAGNITUDE_TOLERANCE for e in s.errors), (code, s.errors)


def test_healthy_plants_get_no_energy_findings() -> None:
    """A healthy city (peers set the base-load norm) gives no finding at all."""
    _, found = run_city(get_reference(), plants=30, seed=5, problem_share=0.0)
    codes = {f.code for fs in found for f in fs} - {"data_quality"}
    assert codes == set(), codes
