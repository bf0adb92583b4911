"""GB/T 2589-2020 standard-coal coefficients and their conversion to enerdiag's carrier units."""

from __future__ import annotations

from typing import Literal

from pydantic import PositiveFloat, model_validator

from core.domain import CARRIER_UNITS, Carrier

from .base import KGCE_KJ, Cited, CitedModel, Model, ReferenceLookupError, Text

EntryUnit = Literal["kWh", "kg", "t", "m3", "MJ", "GJ"]

UNIT_CONVERSIONS: dict[tuple[str, str], float] = {
    ("kg", "t"): 1000.0,  # 1 t = 1,000 kg
    ("MJ", "GJ"): 1000.0,  # 1 GJ = 1,000 MJ
    ("t", "m3"): 1.0,  # water only: 1 m3 of fresh water = 1 t
}
"""(standard's unit, carrier's unit) -> how many of the standard's units make one of the carrier's."""

NCV_TOLERANCE = 0.01
"""kgce_per_unit must match ncv / 29,307.6 kJ within 1 % (the standard rounds its kcal figures)."""

Method = Literal["equivalent", "equal"]


def units_per(entry_unit: str, carrier: Carrier) -> float:
    """How many `entry_unit` make one unit of `carrier` (CARRIER_UNITS); raises if there is no explicit rule."""
    target = CARRIER_UNITS[carrier]
    if entry_unit == target:
        return 1.0
    if (entry_unit, target) == ("t", "m3") and carrier is not Carrier.WATER:
        raise ValueError(f"t -> m3 is only defined for water, not {carrier.value}")
    try:
        return UNIT_CONVERSIONS[(entry_unit, target)]
    except KeyError:
        raise ValueError(f"no conversion from {entry_unit} to {target} (carrier {carrier.value})") from None


class CoalEntry(CitedModel):
    """One coefficient of the standard: kgce per `unit`."""

    unit: EntryUnit
    kgce_per_unit: PositiveFloat | None
    ncv_kj: PositiveFloat | None = None
    mj: PositiveFloat | None = None
    range: tuple[PositiveFloat, PositiveFloat] | None = None

    @model_validator(mode="after")
    def _check(self) -> CoalEntry:
        value = self.kgce_per_unit
        if (value is None) != (self.confidence == "unknown"):
            raise ValueError("kgce_per_unit is null exactly when confidence is 'unknown'")
        if value is None:
            return self
        if self.range is not None and not self.range[0] <= value <= self.range[1]:
            raise ValueError(f"kgce_per_unit {value} outside its range {list(self.range)}")
        heat_kj = self.ncv_kj if self.ncv_kj is not None else (self.mj * 1000 if self.mj is not None else None)
        if heat_kj is not None:
            expected = heat_kj / KGCE_KJ
            if abs(value - expected) > NCV_TOLERANCE * expected:
                raise ValueError(
                    f"kgce_per_unit {value} disagrees with its heat content ({heat_kj:g} kJ / {KGCE_KJ} = "
                    f"{expected:.4f}); give ncv_kj (or mj) to match"
                )
        return self


class CoalBasis(CitedModel):
    kgce_kj: PositiveFloat

    @model_validator(mode="after")
    def _check(self) -> CoalBasis:
        if self.kgce_kj != KGCE_KJ:
            raise ValueError(f"kgce_kj must be {KGCE_KJ} (GB/T 2589-2020), got {self.kgce_kj}")
        return self


class CoalEquivalents(Model):
    """The coal_equivalents.yaml file."""

    standard: Text
    basis: CoalBasis
    carriers: dict[str, CoalEntry]
    media: dict[str, CoalEntry]
    equal_value: dict[str, CoalEntry]
    carrier_map: dict[Carrier, str]

    @model_validator(mode="after")
    def _check(self) -> CoalEquivalents:
        both = sorted(set(self.carriers) & set(self.media))
        if both:
            raise ValueError(f"entries in both carriers and media: {both}")
        entries = self.entries()
        for carrier, name in self.carrier_map.items():
            if name not in entries:
                raise ValueError(f"carrier_map.{carrier.value}: no entry {name!r} in carriers or media")
            units_per(entries[name].unit, carrier)  # raises when the conversion is not explicit
        for name, entry in self.equal_value.items():
            if name in entries and entry.unit != entries[name].unit:
                raise ValueError(f"equal_value.{name}: unit {entry.unit} differs from the equivalent value's")
        return self

    def entries(self) -> dict[str, CoalEntry]:
        """Energy carriers and energy-consuming media of the standard, by name."""
        return {**self.carriers, **self.media}

    def coefficient(self, carrier: Carrier | str, method: Method = "equivalent") -> Cited[float]:
        """kgce per unit of an enerdiag carrier (kWh, m3, t, GJ as in CARRIER_UNITS), converted explicitly.

        `equivalent` (当量值) is GB/T 2589's heat content; `equal` (等价值) differs only for electricity, where it
        needs the year's power-supply coal consumption (unknown unless the override file gives it).
        """
        try:
            carrier = Carrier(carrier)
        except ValueError:
            raise ReferenceLookupError(f"unknown carrier {carrier!r}") from None
        name = self.carrier_map.get(carrier)
        if name is None:
            known = ", ".join(c.value for c in self.carrier_map)
            raise ReferenceLookupError(f"no standard-coal coefficient for carrier {carrier.value!r} (known: {known})")
        entry = self.entries()[name]
        if method == "equal" and name in self.equal_value:
            entry = self.equal_value[name]
        elif method not in ("equivalent", "equal"):
            raise ReferenceLookupError(f"unknown method {method!r} (equivalent | equal)")
        if entry.kgce_per_unit is None:
            raise ReferenceLookupError(
                f"{method} value of {carrier.value} is unknown ({entry.source}); set it in the override file"
            )
        factor = units_per(entry.unit, carrier)
        unit = CARRIER_UNITS[carrier]
        note = entry.note
        if factor != 1.0:
            conversion = f"{entry.kgce_per_unit:g} kgce/{entry.unit} x {factor:g} {entry.unit}/{unit}"
            note = f"{conversion}; {note}" if note else conversion
        return Cited(entry.kgce_per_unit * factor, f"kgce/{unit}", entry.source, entry.confidence, note)
