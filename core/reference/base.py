"""Shared pieces of the reference schema: confidence marks, units, the `Cited` value the accessors return.

Every number the analytics take from the reference data travels with its source and confidence mark, so reports
and the API can show where it came from.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Annotated, Any, Generic, Literal, TypeVar

from pydantic import AfterValidator, BaseModel, ConfigDict, StringConstraints, model_validator

Confidence = Literal[
    "verified",
    "verified-secondary",
    "verified-widely",
    "unverified",
    "recalled",
    "unknown",
    "local-override",
]
"""How far a value was checked (docs/reference.md): read in the official text ... not found at all."""

CONFIDENCE_MARKS: tuple[str, ...] = Confidence.__args__  # type: ignore[attr-defined]

KNOWN_UNITS: frozenset[str] = frozenset(
    {
        "kWh", "MWh", "kg", "t", "m3", "m2", "MJ", "GJ", "kW", "kVA",
        "kgce/t", "kgce/m2", "kgce/kWh", "kWh/t",
        "kgCO2/kWh", "kgCO2/GJ", "kgCO2/m3", "kgCO2/t",
        "CNY/kWh", "CNY/kW/month", "CNY/kVA/month", "%", "1",
    }
)  # fmt: skip
"""Units a reference value may carry; anything else is a data error."""

Text = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1)]

KGCE_KJ = 29307.6
"""1 kgce = 29,307.6 kJ (7,000 kcal), GB/T 2589-2020."""

T = TypeVar("T")


@dataclass(frozen=True, slots=True)
class Cited(Generic[T]):
    """A reference value with its unit, source and confidence mark (what reports and the API show)."""

    value: T
    unit: str
    source: str
    confidence: str
    note: str | None = None
    warnings: tuple[str, ...] = field(default=())

    def as_dict(self) -> dict[str, Any]:
        """JSON-ready form for API evidence and report footnotes."""
        out: dict[str, Any] = {
            "value": self.value,
            "unit": self.unit,
            "source": self.source,
            "confidence": self.confidence,
        }
        if self.note:
            out["note"] = self.note
        if self.warnings:
            out["warnings"] = list(self.warnings)
        return out


class ReferenceLookupError(LookupError):
    """A lookup the reference data cannot answer (unknown key, no edition in force, value unknown)."""


def check_unit(unit: str) -> str:
    """Reject units the analytics do not know."""
    if unit not in KNOWN_UNITS:
        raise ValueError(f"unknown unit {unit!r} (known: {', '.join(sorted(KNOWN_UNITS))})")
    return unit


Unit = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1), AfterValidator(check_unit)]
"""A unit from KNOWN_UNITS (checked where the field is, so errors point at the unit's line)."""


class Model(BaseModel):
    """Strict, immutable base: unknown keys in the data files are errors."""

    model_config = ConfigDict(extra="forbid", frozen=True)


class CitedModel(Model):
    """A node of the data that carries its own source and confidence mark."""

    source: Text
    confidence: Confidence
    note: str | None = None


class CitedValue(CitedModel):
    """A single number with unit, source and mark; `null` only when the mark is `unknown`."""

    value: float | None
    unit: Unit
    period: str | None = None

    @model_validator(mode="after")
    def _check(self) -> CitedValue:
        if self.value is None and self.confidence != "unknown":
            raise ValueError(f"value is null but confidence is {self.confidence!r} (null needs 'unknown')")
        if self.value is not None and self.confidence == "unknown":
            raise ValueError("value given but confidence is 'unknown': give the mark it was checked to")
        if self.value is not None and self.value <= 0:
            raise ValueError(f"value must be positive, got {self.value}")
        return self

    def cited(self, what: str) -> Cited[float]:
        """The value as `Cited`; an unknown value is an error naming `what`."""
        if self.value is None:
            raise ReferenceLookupError(
                f"{what} is not known in the reference data ({self.source}); set it in the override file"
            )
        return Cited(self.value, self.unit, self.source, self.confidence, self.note)
