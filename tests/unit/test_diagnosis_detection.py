"""Detection quality on a simulated city of 80 plants, a third of them without an output meter, against the
simulators' ground truth (issues #6 and #14)."""

from __future__ import annotations

import pytest

from core.reference import get_reference
from tests.support.diagnosis_evaluation import MAGNITUDE_TOLERANCE, SCORED_CODES, run_city, score

NO_OUTPUT_SHARE = 1 / 3


@pytest.fixture(scope="module")
def city() -> tuple:
    return run_city(get_reference(), plants=80, seed=11, no_output_share=NO_OUTPUT_SHARE)


@pytest.fixture(scope="module")
def scores(city) -> dict:
    return score(*city)


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


@pytest.mark.parametrize("code", ["base_load", "shutdown", "peak_shift"])
def test_plants_without_output_meter_are_scored_on_their_own(city, code: str) -> None:
    """The load-profile findings hold on the plants that have no production counter (about 27 of 80)."""
    plants, found = city
    unmetered = [(p, f) for p, f in zip(plants, found, strict=True) if not p.truth["output_meter"]]
    assert 20 <= len(unmetered) <= 30
    s = score([p for p, _ in unmetered], [f for _, f in unmetered])[code]
    assert s.tp >= 2 and s.fn == 0 and s.fp == 0, (code, s)
    assert all(abs(e) <= MAGNITUDE_TOLERANCE for e in s.errors)
    if code in ("base_load", "shutdown"):
        hits = [x for p, fs in unmetered for x in fs if x.code == code]
        assert all(x.evidence["operating_hours_from"] == "load profile" for x in hits)


def test_healthy_plants_get_no_energy_findings() -> None:
    """A healthy city (peers set the base-load norm), a third without output meters, gives no finding at all."""
    _, found = run_city(get_reference(), plants=30, seed=5, problem_share=0.0, no_output_share=NO_OUTPUT_SHARE)
    codes = {f.code for fs in found for f in fs} - {"data_quality"}
    assert codes == set(), codes
