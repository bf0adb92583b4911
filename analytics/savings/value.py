"""Avoided energy in tce, tCO2 and CNY, each with the coefficient, factor or price it used (pure).

tce: GB/T 2589-2020 equivalent-value coefficients (`Reference.coal_coefficient`); tCO2: the grid factor of the
enterprise's location-based account for the month's year (`analytics.carbon.location_grid_region`) and the fuel
factors of the reference data; CNY: the enterprise's tariff (its bill, registry `tariff:`) or the labelled assumed
one, electricity at its flat (平段) price, fuels at the registry's price or the assumed default. A factor the
reference data does not have for a year makes that figure null with the reason, never a crash.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

from analytics.billing import FUEL_UNITS, ElectricityTariff
from analytics.carbon import location_grid_region
from analytics.enterprise import EnterpriseInfo
from analytics.refs import Reference, cited_dict

ELECTRICITY = "electricity"


@dataclass(frozen=True, slots=True)
class CarrierValue:
    """What one unit of a carrier is worth in one year: kgce, kgCO2 (None: unknown) and CNY (None: no price)."""

    carrier: str
    unit: str
    kgce_per_unit: float
    kgco2_per_unit: float | None
    cny_per_unit: float | None
    sources: dict[str, Any] = field(default_factory=dict)  # "tce", "co2", "price": cited values
    warnings: tuple[str, ...] = ()


@dataclass(frozen=True, slots=True)
class Valuer:
    """Values avoided quantities per carrier with the enterprise's reference factors and tariff."""

    reference: Reference
    enterprise: EnterpriseInfo
    tariff: ElectricityTariff

    def kgce_per_unit(self, carrier: str) -> float:
        return float(self.reference.coal_coefficient(carrier).value)

    def carrier(self, carrier: str, year: int) -> CarrierValue:
        coal = self.reference.coal_coefficient(carrier)
        sources: dict[str, Any] = {"tce": cited_dict(coal)}
        warnings: list[str] = []
        co2: float | None = None
        try:
            if carrier == ELECTRICITY:
                region = location_grid_region(self.reference, year, self.enterprise)
                factor = self.reference.grid_emission_factor(year, region)
                sources["co2"] = {**cited_dict(factor), "region": region, "year": year}
            else:
                factor = self.reference.fuel_emission_factor(carrier)
                sources["co2"] = cited_dict(factor)
            co2 = float(factor.value)
        except LookupError as exc:
            warnings.append(f"no CO2 factor for {carrier} in {year}: {exc}")
        price: float | None = None
        if carrier == ELECTRICITY:
            price = self.tariff.flat_cny_per_kwh
            sources["price"] = {"value": price, "unit": "CNY/kWh", "basis": "flat (平段) price of the tariff",
                                "origin": self.tariff.origin, "source": self.tariff.source}
        else:
            found = self.tariff.fuel_price(carrier)
            if found is None:
                warnings.append(f"no price for {carrier}: its CNY is unknown")
            else:
                price = found[0]
                sources["price"] = {"value": price, "unit": f"CNY/{FUEL_UNITS.get(carrier, 'unit')}",
                                    "origin": found[1]}
        unit = "kWh" if carrier == ELECTRICITY else FUEL_UNITS.get(carrier, coal.unit.split("/")[-1])
        return CarrierValue(carrier, unit, float(coal.value), co2, price, sources, tuple(warnings))


@dataclass(frozen=True, slots=True)
class Worth:
    """The value of avoided quantities: tce, tCO2 and CNY (None when a factor or price is missing)."""

    tce: float
    tco2: float | None
    cny: float | None
    warnings: tuple[str, ...] = ()


def worth(avoided: Mapping[str, float], values: Mapping[str, CarrierValue]) -> Worth:
    """tce, tCO2, CNY of avoided quantities per carrier (in each carrier's unit)."""
    tce = sum(q * values[c].kgce_per_unit / 1000 for c, q in avoided.items())
    co2_parts = [None if values[c].kgco2_per_unit is None else q * values[c].kgco2_per_unit / 1000
                 for c, q in avoided.items()]
    cny_parts = [None if values[c].cny_per_unit is None else q * values[c].cny_per_unit for c, q in avoided.items()]
    warnings = tuple(w for c in avoided for w in values[c].warnings)
    return Worth(tce, None if None in co2_parts else sum(p for p in co2_parts if p is not None),
                 None if None in cny_parts else sum(p for p in cny_parts if p is not None), warnings)


def values_by_year(valuer: Valuer, carriers: Iterable[str], years: Iterable[int]) -> dict[int, dict[str, CarrierValue]]:
    return {y: {c: valuer.carrier(c, y) for c in carriers} for y in sorted(set(years))}
