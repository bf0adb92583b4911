"""Unit-product energy-consumption quota standards (单位产品能源消耗限额) with their editions."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from itertools import pairwise

from pydantic import Field, PositiveFloat, model_validator

from .base import Cited, CitedModel, Model, ReferenceLookupError, Text, Unit


class Grades(Model):
    """Grade 1 (advanced) <= grade 2 (new build) <= grade 3 (the limit); lower consumption is better."""

    grade_1: PositiveFloat
    grade_2: PositiveFloat
    grade_3: PositiveFloat

    @model_validator(mode="after")
    def _ordered(self) -> Grades:
        if not self.grade_1 <= self.grade_2 <= self.grade_3:
            raise ValueError(
                f"grades must be ordered grade_1 <= grade_2 <= grade_3, got "
                f"{self.grade_1:g}, {self.grade_2:g}, {self.grade_3:g}"
            )
        return self


class SubIndicator(Model):
    unit: Unit
    grades: Grades


class NdrcLevels(Model):
    benchmark: PositiveFloat
    baseline: PositiveFloat
    source: Text


class QuotaEdition(CitedModel):
    """One edition of a standard for one product, in force on [valid_from, valid_to)."""

    standard: Text
    valid_from: date
    valid_to: date | None
    grades: Grades
    sub_indicators: dict[str, SubIndicator] = Field(default_factory=dict)
    corrections: str | None = None
    ndrc: NdrcLevels | None = None

    @model_validator(mode="after")
    def _dates(self) -> QuotaEdition:
        if self.valid_to is not None and self.valid_to <= self.valid_from:
            raise ValueError(f"valid_to {self.valid_to} must be after valid_from {self.valid_from}")
        return self

    def in_force(self, on: date) -> bool:
        return self.valid_from <= on and (self.valid_to is None or on < self.valid_to)


def check_non_overlapping(editions: dict[str, QuotaEdition] | dict, what: str) -> None:
    """Editions (anything with valid_from/valid_to) must not overlap in time."""
    ordered = sorted(editions.items(), key=lambda kv: kv[1].valid_from)
    for (name_a, a), (name_b, b) in pairwise(ordered):
        if a.valid_to is None or a.valid_to > b.valid_from:
            end = a.valid_to or "open end"
            raise ValueError(f"{what} {name_a} ({a.valid_from} to {end}) and {name_b} (from {b.valid_from}) overlap")


class Product(Model):
    name: Text
    indicator: Text
    unit: Unit
    editions: dict[str, QuotaEdition]

    @model_validator(mode="after")
    def _check(self) -> Product:
        if not self.editions:
            raise ValueError("a product needs at least one edition")
        check_non_overlapping(self.editions, "editions")
        return self


@dataclass(frozen=True, slots=True)
class Quota:
    """The quota in force for a product on a date: grades with unit, standard, source and mark."""

    product: str
    edition: str
    standard: str
    indicator: str
    unit: str
    grade_1: Cited[float]
    grade_2: Cited[float]
    grade_3: Cited[float]
    corrections: str | None
    source: str
    confidence: str

    @property
    def limit(self) -> Cited[float]:
        """Grade 3, the limit (限定值): above it is over quota."""
        return self.grade_3

    def grade_of(self, value: float) -> int | None:
        """The best grade `value` meets, None when over quota."""
        for number, limit in ((1, self.grade_1), (2, self.grade_2), (3, self.grade_3)):
            if value <= limit.value:
                return number
        return None

    def is_over(self, value: float) -> bool:
        """True when `value` is above grade 3."""
        return value > self.grade_3.value


class QuotaStandards(Model):
    """The quota_standards.yaml file."""

    sources: dict[str, str] = Field(default_factory=dict)
    products: dict[str, Product]

    def quota(self, product: str, on_date: date) -> Quota:
        """The edition of `product`'s standard in force on `on_date` (raises when none is)."""
        entry = self.products.get(product)
        if entry is None:
            raise ReferenceLookupError(f"no quota standard for product {product!r} (known: {sorted(self.products)})")
        for name, ed in entry.editions.items():
            if ed.in_force(on_date):

                def cited(value: float, ed: QuotaEdition = ed) -> Cited[float]:
                    return Cited(value, entry.unit, f"{ed.standard}; {ed.source}", ed.confidence, ed.note)

                return Quota(
                    product=product,
                    edition=name,
                    standard=ed.standard,
                    indicator=entry.indicator,
                    unit=entry.unit,
                    grade_1=cited(ed.grades.grade_1),
                    grade_2=cited(ed.grades.grade_2),
                    grade_3=cited(ed.grades.grade_3),
                    corrections=ed.corrections,
                    source=ed.source,
                    confidence=ed.confidence,
                )
        spans = ", ".join(f"{n}: {e.valid_from} to {e.valid_to or 'now'}" for n, e in entry.editions.items())
        raise ReferenceLookupError(f"no edition of the {product} quota in force on {on_date} ({spans})")
