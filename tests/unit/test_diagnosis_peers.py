"""Peer benchmarking: intensity percentile among same-industry enterprises."""

from __future__ import annotations

import pytest

from analytics.diagnosis.peers import MIN_PEERS, peer_norm, percentile_rank, rank_peers


def test_percentile_rank_mid_ranks_ties() -> None:
    assert percentile_rank(10.0, [10.0, 20.0, 30.0, 40.0]) == pytest.approx(12.5)
    assert percentile_rank(35.0, [10.0, 20.0, 30.0, 40.0]) == pytest.approx(75.0)


def test_rank_peers_within_industry_only() -> None:
    intensity = {f"A{i}": 100.0 + i for i in range(6)} | {"B1": 1.0, "B2": 2.0, "X": None}
    industry = {f"A{i}": "3011" for i in range(6)} | {"B1": "1353", "B2": "1353", "X": "3011"}
    ranks = rank_peers(intensity, industry)
    assert set(ranks) == {f"A{i}" for i in range(6)}  # B has fewer than MIN_PEERS, X has no value
    assert ranks["A0"].percentile == pytest.approx(100 * 0.5 / 6)
    assert ranks["A5"].peers == 6 and ranks["A5"].median == pytest.approx(102.5)
    assert MIN_PEERS == 5
    assert peer_norm(intensity, industry) == {"3011": pytest.approx(102.5)}
