"""CO2 emission factors: grid electricity by region and year (MEE/NBS), fuel combustion defaults (GB/T 32150)."""

from __future__ import annotations

from typing import Literal

from pydantic import Field, PositiveFloat, model_validator

from core.domain import CARRIER_UNITS, Carrier

from .base import Cited, CitedModel, CitedValue, Model, ReferenceLookupError

CO2_PER_C = 44.0 / 12.0
GRID_UNIT = "kgCO2/kWh"
DEFAULT_REGION = "national"


class FuelFactor(CitedModel):
    """Fuel-combustion defaults: EF = NCV x carbon content x oxidation x 44/12."""

    unit: Literal["m3", "t"]
    ncv_gj_per_unit: PositiveFloat
    carbon_t_per_tj: PositiveFloat
    oxidation: float = Field(gt=0, le=1)

    @property
    def kgco2_per_unit(self) -> float:
        """kgCO2 per unit: GJ/unit x tC/TJ (= kgC/GJ) x oxidation x 44/12."""
        return self.ncv_gj_per_unit * self.carbon_t_per_tj * self.oxidation * CO2_PER_C


class EmissionFactors(Model):
    """The emission_factors.yaml file."""

    grid_notices: dict[int, str]
    grid: dict[str, dict[int, CitedValue]]
    national_carbon_market_2023_2025: CitedValue
    fuels: dict[str, FuelFactor]
    purchased_heat: CitedValue
    carrier_map: dict[Carrier, str]

    @model_validator(mode="after")
    def _check(self) -> EmissionFactors:
        if DEFAULT_REGION not in self.grid or not self.grid[DEFAULT_REGION]:
            raise ValueError(f"grid needs a {DEFAULT_REGION!r} region with at least one year")
        for region, years in self.grid.items():
            for year, factor in years.items():
                where = f"grid.{region}.{year}"
                if not 2000 <= year <= 2100:
                    raise ValueError(f"{where}: implausible year")
                if factor.value is None:
                    raise ValueError(f"{where}: a grid factor cannot be null")
                if factor.unit != GRID_UNIT:
                    raise ValueError(f"{where}: unit must be {GRID_UNIT}, got {factor.unit}")
        for carrier, name in self.carrier_map.items():
            if name not in self.fuels:
                raise ValueError(f"carrier_map.{carrier.value}: no fuel {name!r}")
            if self.fuels[name].unit != CARRIER_UNITS[carrier]:
                raise ValueError(
                    f"carrier_map.{carrier.value}: fuel {name} is per {self.fuels[name].unit}, "
                    f"the carrier is metered in {CARRIER_UNITS[carrier]}"
                )
        if self.purchased_heat.unit != "kgCO2/GJ":
            raise ValueError("purchased_heat must be in kgCO2/GJ")
        return self

    def grid_factor(self, year: int, region: str = DEFAULT_REGION) -> Cited[float]:
        """Grid electricity factor (kgCO2/kWh) of `year`; a missing year falls back to the latest published one
        before it (or the earliest, for years before any), with a warning on the returned value."""
        series = self.grid.get(region)
        if series is None:
            raise ReferenceLookupError(f"no grid emission factors for region {region!r} (known: {sorted(self.grid)})")
        warnings: tuple[str, ...] = ()
        used = year
        if year not in series:
            earlier = [y for y in series if y < year]
            used = max(earlier) if earlier else min(series)
            warnings = (f"no {region} grid factor for {year}; used {used}, the nearest published year",)
        factor = series[used]
        assert factor.value is not None  # checked at load
        source = factor.source
        notice = self.grid_notices.get(used)
        if notice and notice not in source:
            source = f"{notice}; {source}"
        return Cited(factor.value, factor.unit, source, factor.confidence, factor.note, warnings)

    def fuel_factor(self, carrier: Carrier | str) -> Cited[float]:
        """Combustion CO2 factor in kgCO2 per unit of the carrier (m3 gas, t coal, t diesel)."""
        try:
            name = self.carrier_map.get(Carrier(carrier))
        except ValueError:
            name = None
        if name is None:
            known = ", ".join(c.value for c in self.carrier_map)
            raise ReferenceLookupError(f"no fuel emission factor for carrier {carrier!r} (known: {known})")
        fuel = self.fuels[name]
        note = f"{fuel.ncv_gj_per_unit:g} GJ/{fuel.unit} x {fuel.carbon_t_per_tj:g} tC/TJ x {fuel.oxidation:g} x 44/12"
        return Cited(fuel.kgco2_per_unit, f"kgCO2/{fuel.unit}", fuel.source, fuel.confidence, note)

    def heat_factor(self) -> Cited[float]:
        """Purchased heat (and steam, by its heat content) in kgCO2/GJ."""
        return self.purchased_heat.cited("purchased heat emission factor")
