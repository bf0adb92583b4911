"""A retrofit project as the registry stores it (core/registry/fileretrofits.py), read into a typed object."""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any


@dataclass(frozen=True, slots=True)
class NonRoutineEvent:
    """A dated change of static factors inside the boundary (IPMVP non-routine event): on its days the adjusted
    baseline gains `adjustment_per_day` (boundary unit); without an adjustment its days are excluded."""

    first: dt.date
    last: dt.date | None  # None: still in force
    description: str
    adjustment_per_day: float | None = None

    def covers(self, day: dt.date) -> bool:
        return self.first <= day and (self.last is None or day <= self.last)

    def to_json(self) -> dict[str, Any]:
        return {"from": self.first.isoformat(), "to": None if self.last is None else self.last.isoformat(),
                "description": self.description, "adjustment_per_day": self.adjustment_per_day,
                "treatment": "adjusted" if self.adjustment_per_day is not None else "excluded"}


@dataclass(frozen=True, slots=True)
class RetrofitProject:
    """One retrofit: its measurement boundary (meters; Option C = whole facility, B = the measure's sub-meters),
    baseline and installation periods (inclusive dates), expectations and financing."""

    enterprise: str
    id: str
    measure: str
    meters: tuple[str, ...]
    option: str
    unit: str  # "kWh" (electricity-only boundary) or "tce"
    baseline_from: dt.date
    baseline_to: dt.date
    installed_from: dt.date
    installed_to: dt.date
    expected_kwh_per_year: float | None = None
    expected_tce_per_year: float | None = None
    investment_cny: float | None = None
    bank: str | None = None
    non_routine: tuple[NonRoutineEvent, ...] = field(default_factory=tuple)

    def __post_init__(self) -> None:
        if self.unit not in ("kWh", "tce"):
            raise ValueError(f"retrofit {self.id}: unit must be kWh or tce, got {self.unit!r}")
        if not (self.baseline_from < self.baseline_to < self.installed_from <= self.installed_to):
            raise ValueError(f"retrofit {self.id}: periods out of order")
        if not self.meters:
            raise ValueError(f"retrofit {self.id}: no meters in the boundary")

    @property
    def key(self) -> str:
        """CODE/ID, as `enerdiag savings` names a project."""
        return f"{self.enterprise}/{self.id}"

    @property
    def reporting_from(self) -> dt.date:
        """The first reporting day: the day after installation ends."""
        return self.installed_to + dt.timedelta(days=1)

    def expected_per_year(self, kgce_per_kwh: float) -> float | None:
        """Expected savings per year in the boundary's unit (kWh → tce at the electricity coefficient)."""
        if self.unit == "kWh":
            return self.expected_kwh_per_year
        if self.expected_tce_per_year is not None:
            return self.expected_tce_per_year
        return None if self.expected_kwh_per_year is None else self.expected_kwh_per_year * kgce_per_kwh / 1000

    @classmethod
    def from_stored(cls, enterprise: str, stored: Mapping[str, Any]) -> RetrofitProject:
        day = dt.date.fromisoformat
        events = tuple(NonRoutineEvent(day(e["from"]), day(e["to"]) if e.get("to") else None,
                                       str(e.get("description") or ""), e.get("adjustment_per_day"))
                       for e in stored.get("non_routine") or ())
        return cls(enterprise=enterprise, id=str(stored["id"]), measure=str(stored["measure"]),
                   meters=tuple(stored["meters"]), option=str(stored.get("option") or "B"), unit=str(stored["unit"]),
                   baseline_from=day(stored["baseline_from"]), baseline_to=day(stored["baseline_to"]),
                   installed_from=day(stored["installed_from"]), installed_to=day(stored["installed_to"]),
                   expected_kwh_per_year=stored.get("expected_savings_kwh_per_year"),
                   expected_tce_per_year=stored.get("expected_savings_tce_per_year"),
                   investment_cny=stored.get("investment_cny"), bank=stored.get("bank"), non_routine=events)

    def to_json(self) -> dict[str, Any]:
        return {"id": self.id, "measure": self.measure, "meters": list(self.meters), "option": self.option,
                "unit": self.unit, "baseline_from": self.baseline_from.isoformat(),
                "baseline_to": self.baseline_to.isoformat(), "installed_from": self.installed_from.isoformat(),
                "installed_to": self.installed_to.isoformat(), "reporting_from": self.reporting_from.isoformat(),
                "expected_savings_kwh_per_year": self.expected_kwh_per_year,
                "expected_savings_tce_per_year": self.expected_tce_per_year,
                "investment_cny": self.investment_cny, "bank": self.bank,
                "non_routine": [e.to_json() for e in self.non_routine]}
