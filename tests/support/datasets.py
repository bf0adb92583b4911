"""Paths of the real data sets the tests use (copies under tests/data/datasets/, credited in docs/datasets.md)."""

from __future__ import annotations

from pathlib import Path

DATASETS = Path(__file__).resolve().parents[1] / "data" / "datasets"
UCI_STEEL_2018 = DATASETS / "uci-steel-industry-2018.csv"
