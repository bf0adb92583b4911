"""The shared vocabulary: id pattern and the quantity table of CONTRACTS.md section 2."""

from __future__ import annotations

import pytest

from core.domain import COUNTER_KEYS, GAUGE_KEYS, ID_PATTERN, QUANTITIES


@pytest.mark.parametrize("good", ["M01", "gw-1", "a_b", "x" * 64])
def test_id_pattern_accepts_contract_ids(good: str) -> None:
    assert ID_PATTERN.match(good)


@pytest.mark.parametrize("bad", ["", "M01\n", "M 01", "M/01", "电表1", "x" * 65, "M01+"])
def test_id_pattern_rejects_everything_else_with_match_too(bad: str) -> None:
    assert ID_PATTERN.match(bad) is None


def test_quantity_table_matches_contract() -> None:
    assert len(QUANTITIES) == 17
    assert {
        "energy_kwh", "export_kwh", "reactive_kvarh", "pv_kwh", "gas_m3", "steam_t",
        "heat_gj", "water_m3", "coal_t", "diesel_t", "output_t",
    } == COUNTER_KEYS
    assert {"power_kw", "pf", "temp_c", "current_a", "voltage_v", "leakage_ma"} == GAUGE_KEYS
    assert QUANTITIES["pf"].max_value == 1.0
