"""Run every detector over one enterprise's frames: the diagnosis's list of findings, worst first."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field

from analytics.carbon import location_grid_region
from analytics.diagnosis.bill import own_tariff
from analytics.diagnosis.carbonbudget import detect_carbon_budget
from analytics.diagnosis.cold import detect_cold_store_failure
from analytics.diagnosis.finding import Finding, Prices, Valuation
from analytics.diagnosis.frames import PlantFrames
from analytics.diagnosis.load import base_load_share, detect_base_load, detect_demand_over_capacity, detect_peak_shift
from analytics.diagnosis.peers import peer_norm
from analytics.diagnosis.power import detect_low_power_factor
from analytics.diagnosis.production import (
    detect_intensity_step,
    detect_over_quota,
    detect_shutdowns,
)
from analytics.diagnosis.quality import detect_data_quality
from analytics.refs import Reference

SEVERITY_ORDER = {"high": 0, "medium": 1, "low": 2}


@dataclass(frozen=True, slots=True)
class PeerNorms:
    """Figures the city's same-industry enterprises set as the norm (industry → value)."""

    base_load_share: dict[str, float] = field(default_factory=dict)


def diagnose(frames: PlantFrames, reference: Reference, prices: Prices | None = None,
             norms: PeerNorms | None = None) -> list[Finding]:
    """All findings of one enterprise over its period, high severity first, then by money saved."""
    year = frames.first_day.year
    value = Valuation(reference, year, prices or Prices(), location_grid_region(reference, year, frames.enterprise),
                      own_tariff=own_tariff(frames))
    norms = norms or PeerNorms()
    found: list[Finding | None] = [
        detect_over_quota(frames, value, reference),
        detect_base_load(frames, value, norms.base_load_share.get(frames.enterprise.industry or "")),
        detect_low_power_factor(frames, value, reference),
        detect_peak_shift(frames, value, reference),
        detect_demand_over_capacity(frames, value, reference),
        detect_intensity_step(frames, value, reference),
        *detect_shutdowns(frames, value, reference),
        *detect_cold_store_failure(frames, value),
        detect_data_quality(frames, value),
        detect_carbon_budget(frames, value, reference),
    ]
    out = [f for f in found if f is not None]
    return sorted(out, key=lambda f: (SEVERITY_ORDER.get(f.severity, 3), -(f.savings_cny or 0.0)))


def city_norms(plants: Sequence[PlantFrames]) -> PeerNorms:
    """Peer norms from a city's enterprises (median off-shift base-load share per industry)."""
    shares: dict[str, float | None] = {}
    industry: dict[str, str | None] = {}
    for f in plants:
        stats = base_load_share(f)
        shares[f.enterprise.code] = None if stats is None else stats["share"]
        industry[f.enterprise.code] = f.enterprise.industry
    return PeerNorms(base_load_share=peer_norm(shares, industry))
