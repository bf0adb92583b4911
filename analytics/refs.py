"""The reference accessors the accounting modules need, as a Protocol so tests and callers inject them.

`core.reference.get_reference()` satisfies it; a test can pass a small object with hand-picked numbers.
"""

from __future__ import annotations

from datetime import date
from typing import Any, Protocol


class CitedLike(Protocol):
    """A reference value with its provenance (`core.reference.Cited`)."""

    value: Any
    unit: str
    source: str
    confidence: str
    warnings: tuple[str, ...]


class QuotaLike(Protocol):
    """A quota edition in force (`core.reference.Quota`)."""

    product: str
    edition: str
    standard: str
    indicator: str
    unit: str
    grade_1: CitedLike
    grade_2: CitedLike
    grade_3: CitedLike
    corrections: str | None
    source: str
    confidence: str


class Reference(Protocol):
    """What energy, carbon and quota accounting read from the reference data."""

    def coal_coefficient(self, carrier: str, method: Any = "equivalent") -> CitedLike: ...

    def grid_emission_factor(self, year: int, region: str = "national") -> CitedLike: ...

    def fuel_emission_factor(self, carrier: str) -> CitedLike: ...

    def heat_emission_factor(self) -> CitedLike: ...

    def quota(self, product: str, on_date: date) -> QuotaLike: ...

    def province_of(self, province: str | None, credit_code: str | None = None) -> str | None: ...

    def select_grid_factor(self, year: int, *, province: str | None = None, purpose: Any = "location",
                           region: str | None = None) -> Any: ...

    def carbonate_emission_factor(self, mineral: str) -> CitedLike: ...

    def clinker_default(self, oxide: str) -> CitedLike | None: ...

    def process_method(self, kind: str) -> CitedLike: ...


def cited_dict(cited: CitedLike) -> dict[str, Any]:
    """JSON evidence for one reference value: value, unit, source, confidence (and warnings if any)."""
    out: dict[str, Any] = {"value": cited.value, "unit": cited.unit, "source": cited.source,
                           "confidence": cited.confidence}
    warnings = getattr(cited, "warnings", ())
    if warnings:
        out["warnings"] = list(warnings)
    return out
