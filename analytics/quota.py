"""Quota compliance: unit-product consumption against the GB quota standard's grades (grade 3 = the limit).

The edition in force on the period's last day applies. Above grade 3 the enterprise is `over_quota`, and the
gap is given per unit of output and in tce for the period. `n/a` when the enterprise has no quota product,
no output in the period, or the reference data has no edition in force.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any

from analytics.refs import QuotaLike, Reference, cited_dict

OK = "ok"
OVER_QUOTA = "over_quota"
NOT_APPLICABLE = "n/a"


@dataclass(frozen=True, slots=True)
class QuotaResult:
    """One enterprise's quota assessment for a period."""

    status: str
    product: str | None = None
    standard: str | None = None
    edition: str | None = None
    indicator: str | None = None
    unit: str | None = None
    value: float | None = None
    grade: int | None = None
    limit: float | None = None
    gap_per_unit: float | None = None
    gap_tce: float | None = None
    reason: str | None = None
    quota: QuotaLike | None = field(default=None, repr=False)

    @property
    def severity(self) -> float:
        """How far above the limit, as a fraction of it (0 when not over): ranks products with different units."""
        if self.status != OVER_QUOTA or not self.limit or self.value is None:
            return 0.0
        return (self.value - self.limit) / self.limit

    def as_dict(self) -> dict[str, Any]:
        """The `quota` object of `enerdiag analyze --json` (CONTRACTS.md section 6) plus evidence."""
        out: dict[str, Any] = {"standard": self.standard, "indicator": self.indicator, "value": self.value,
                               "grade": self.grade, "limit": self.limit, "status": self.status,
                               "unit": self.unit, "product": self.product}
        if self.status == OVER_QUOTA:
            out["gap_per_unit"] = self.gap_per_unit
            out["gap_tce"] = self.gap_tce
        if self.reason:
            out["reason"] = self.reason
        if self.quota is not None:
            out["edition"] = self.edition
            out["grades"] = {f"grade_{n}": cited_dict(getattr(self.quota, f"grade_{n}")) for n in (1, 2, 3)}
            out["source"] = self.quota.source
            out["confidence"] = self.quota.confidence
            if self.quota.corrections:
                out["corrections"] = self.quota.corrections
        return out


def grade_of(quota: QuotaLike, value: float) -> int | None:
    """The best grade `value` meets (1, 2, 3), None above grade 3."""
    for number in (1, 2, 3):
        if value <= getattr(quota, f"grade_{number}").value:
            return number
    return None


def assess_quota(product: str | None, tce: float, output: float | None, last_day: dt.date,
                 reference: Reference) -> QuotaResult:
    """Compare kgce per unit of output with the quota edition in force on `last_day`."""
    if not product:
        return QuotaResult(NOT_APPLICABLE, reason="no quota product in the registry")
    try:
        quota = reference.quota(product, last_day)
    except LookupError as exc:
        return QuotaResult(NOT_APPLICABLE, product=product, reason=str(exc))
    base = {"product": product, "standard": quota.standard, "edition": quota.edition, "indicator": quota.indicator,
            "unit": quota.unit, "limit": quota.grade_3.value, "quota": quota}
    if not output or output <= 0:
        return QuotaResult(NOT_APPLICABLE, reason="no output measured in the period", **base)
    value = tce * 1000.0 / output
    grade = grade_of(quota, value)
    if grade is not None:
        return QuotaResult(OK, value=value, grade=grade, **base)
    gap = value - quota.grade_3.value
    return QuotaResult(OVER_QUOTA, value=value, grade=None, gap_per_unit=gap, gap_tce=gap * output / 1000.0, **base)


def over_quota_list(results: Iterable[tuple[str, QuotaResult]]) -> list[tuple[str, QuotaResult]]:
    """The over-quota enterprises, worst first (largest excess over the limit, relative to it; then tce gap)."""
    over = [(code, r) for code, r in results if r.status == OVER_QUOTA]
    return sorted(over, key=lambda item: (-item[1].severity, -(item[1].gap_tce or 0.0), item[0]))
