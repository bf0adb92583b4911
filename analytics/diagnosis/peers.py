"""Peer benchmarking: an enterprise's intensity percentile among same-industry enterprises, and peer norms."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass

import numpy as np

MIN_PEERS = 5
"""Fewer than 5 same-industry enterprises (the enterprise included) give no percentile or peer norm."""


@dataclass(frozen=True, slots=True)
class PeerRank:
    """Where one enterprise's value sits among its peers (lower intensity = better)."""

    enterprise: str
    value: float
    percentile: float  # share of peers with a lower value, 0..100 (0 = best)
    peers: int
    median: float
    best_quartile: float


def percentile_rank(value: float, peer_values: Sequence[float]) -> float:
    """Percentile (0-100) of `value` among `peer_values`: % strictly below plus half of the ties (mid-rank)."""
    v = np.asarray(peer_values, dtype=float)
    if not len(v):
        raise ValueError("no peer values")
    below = float((v < value).sum())
    ties = float((v == value).sum())
    return 100.0 * (below + 0.5 * ties) / len(v)


def rank_peers(intensity: Mapping[str, float | None], industry: Mapping[str, str | None]) -> dict[str, PeerRank]:
    """Each enterprise's intensity percentile within its industry (enterprises without a value are left out)."""
    groups: dict[str, dict[str, float]] = {}
    for code, value in intensity.items():
        ind = industry.get(code)
        if ind is None or value is None or not np.isfinite(value):
            continue
        groups.setdefault(ind, {})[code] = float(value)
    out: dict[str, PeerRank] = {}
    for members in groups.values():
        if len(members) < MIN_PEERS:
            continue
        values = list(members.values())
        median, q1 = float(np.median(values)), float(np.quantile(values, 0.25))
        for code, value in members.items():
            out[code] = PeerRank(code, value, percentile_rank(value, values), len(values), median, q1)
    return out


def peer_norm(values: Mapping[str, float | None], industry: Mapping[str, str | None]) -> dict[str, float]:
    """Median of a per-enterprise figure by industry (industries with fewer than MIN_PEERS values left out)."""
    groups: dict[str, list[float]] = {}
    for code, value in values.items():
        ind = industry.get(code)
        if ind is not None and value is not None and np.isfinite(value):
            groups.setdefault(ind, []).append(float(value))
    return {ind: float(np.median(v)) for ind, v in groups.items() if len(v) >= MIN_PEERS}
