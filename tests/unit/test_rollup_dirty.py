"""Dirty detection of the rollup job: raw reading counts against the counts the rollups were made from."""

from __future__ import annotations

from analytics.rollup_job import differing

DAY = 1_764_460_800


def test_differing_buckets_per_enterprise() -> None:
    raw = {("A", "M01", "energy_kwh", DAY): 1440, ("A", "M01", "energy_kwh", DAY + 86400): 700,
           ("B", "M01", "gas_m3", DAY): 96}
    stored = {("A", "M01", "energy_kwh", DAY): 1440, ("A", "M01", "energy_kwh", DAY + 86400): 640,
              ("B", "M01", "gas_m3", DAY): 96, ("C", "M09", "energy_kwh", DAY): 5}
    # A got 60 late readings on day 2; B is up to date; C's rollups have readings the raw layer lacks
    assert differing(raw, stored) == {"A": {DAY + 86400}, "C": {DAY}}
    assert differing(raw, raw) == {}
