"""City operation index: enterprises' energy use against a reference period, by county and by industry.

An enterprise's index is 100 × its daily energy use (tce/day) in the period over that in the reference
period; a group's index is 100 × Σ current / Σ reference over the enterprises with sufficient data in both
(a fixed panel, so enterprises joining or leaving the platform do not move the index), i.e. the
energy-weighted mean of its members' indices.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from typing import Final

MIN_COMPLETENESS: Final = 0.9
"""An enterprise enters the index only with ≥ 90 % of its expected readings in both periods (CalTRACK's
coverage rule for a baseline): an index computed on thin data says more about outages than activity."""


@dataclass(frozen=True, slots=True)
class EnterpriseActivity:
    """One enterprise's energy use per day in the period and the reference period, and its index."""

    code: str
    group: str
    current_tce_per_day: float
    reference_tce_per_day: float
    current_completeness: float
    reference_completeness: float

    @property
    def reason(self) -> str | None:
        """Why the enterprise is left out of the index, or None when it counts."""
        if self.current_completeness < MIN_COMPLETENESS:
            return f"completeness {self.current_completeness:.0%} in the period (< {MIN_COMPLETENESS:.0%})"
        if self.reference_completeness < MIN_COMPLETENESS:
            return f"completeness {self.reference_completeness:.0%} in the reference period (< {MIN_COMPLETENESS:.0%})"
        if self.reference_tce_per_day <= 0:
            return "no energy use in the reference period"
        return None

    @property
    def index(self) -> float | None:
        """100 × current / reference daily energy use (None when left out)."""
        if self.reason is not None:
            return None
        return 100.0 * self.current_tce_per_day / self.reference_tce_per_day


@dataclass(frozen=True, slots=True)
class GroupActivity:
    """A county's or industry's index over its panel of enterprises."""

    group: str
    index: float | None
    enterprises: int
    excluded: int
    current_tce_per_day: float
    reference_tce_per_day: float


def group_activity(rows: Iterable[EnterpriseActivity]) -> list[GroupActivity]:
    """Per group: 100 × Σ current / Σ reference over the members that count; groups sorted by name."""
    members: dict[str, list[EnterpriseActivity]] = {}
    for row in rows:
        members.setdefault(row.group, []).append(row)
    out = []
    for group in sorted(members):
        panel = [r for r in members[group] if r.reason is None]
        current = sum(r.current_tce_per_day for r in panel)
        reference = sum(r.reference_tce_per_day for r in panel)
        out.append(GroupActivity(group, 100.0 * current / reference if reference > 0 else None, len(panel),
                                 len(members[group]) - len(panel), current, reference))
    return out
