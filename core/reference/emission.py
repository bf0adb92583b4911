"""CO2 emission factors: grid electricity by region and year (MEE/NBS), fuel combustion defaults (GB/T 32150)."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Literal

from pydantic import Field, PositiveFloat, model_validator

from core.domain import CARRIER_UNITS, Carrier

from .base import Cited, CitedModel, CitedValue, Model, ReferenceLookupError, Text

CO2_PER_C = 44.0 / 12.0
GRID_UNIT = "kgCO2/kWh"
DEFAULT_REGION = "national"


GridPurpose = Literal["location", "market", "ets"]
"""What the grid factor is for: location-based accounting (provincial > regional > national), market-based Scope 2
after green purchases (the national residual factor), or the national carbon market's reporting (its own factor)."""

RESIDUAL_REGION = "national_excluding_market_non_fossil"
"""The MEE/NBS national factor excluding market-traded non-fossil power: the rest of the electricity after green
purchases is counted at it, so green power is deducted exactly once."""

YearRule = Literal["latest_published", "published_only"]


class FuelFactor(CitedModel):
    """Fuel-combustion defaults: EF = NCV x carbon content x oxidation x 44/12, the NCV from the coal entry `heat`."""

    unit: Literal["m3", "t"]
    heat: Text
    carbon_t_per_tj: PositiveFloat
    oxidation: float = Field(gt=0, le=1)

    def kgco2_per_unit(self, ncv_gj_per_unit: float) -> float:
        """kgCO2 per unit: GJ/unit x tC/TJ (= kgC/GJ) x oxidation x 44/12."""
        return ncv_gj_per_unit * self.carbon_t_per_tj * self.oxidation * CO2_PER_C


class MarketFactor(CitedValue):
    """The national carbon market's grid factor and the reporting years it applies to."""

    years: tuple[int, ...] = Field(min_length=1)


class ProvinceGrid(Model):
    """A province's GB/T 2260 division (2 digits) and the regional grid its factor falls back to."""

    division: str = Field(pattern=r"^[1-8][0-9]$")
    grid: Text
    name: Text


class GridProvinces(CitedModel):
    """Province -> regional grid (cited as a whole)."""

    provinces: dict[str, ProvinceGrid]

    def by_division(self, division: str) -> str | None:
        """The province key of a 2-digit GB/T 2260 division code."""
        return next((key for key, p in self.provinces.items() if p.division == division), None)


class ClinkerDefaults(Model):
    """Cement clinker: the method's citation and the default CaO/MgO fractions when the plant gives none."""

    method: CitedModel
    cao: CitedValue
    mgo: CitedValue


class ReductantMethod(Model):
    method: CitedModel


class ProcessFactors(Model):
    """Process-emission references: clinker calcination, carbonate factors (kgCO2/t), ferroalloy reductants."""

    clinker: ClinkerDefaults
    carbonates: dict[str, CitedValue]
    reductants: ReductantMethod

    @model_validator(mode="after")
    def _check(self) -> ProcessFactors:
        for name, factor in self.carbonates.items():
            if factor.value is None or factor.unit != "kgCO2/t":
                raise ValueError(f"carbonates.{name}: needs a value in kgCO2/t")
        for name in ("cao", "mgo"):
            fraction = getattr(self.clinker, name)
            if fraction.unit != "1" or (fraction.value is not None and fraction.value >= 1):
                raise ValueError(f"clinker.{name}: a mass fraction (unit '1', below 1)")
        return self

    def carbonate(self, mineral: str) -> Cited[float]:
        """kgCO2 per t of a carbonate mineral (calcite, magnesite, dolomite ...)."""
        factor = self.carbonates.get(mineral)
        if factor is None:
            raise ReferenceLookupError(f"no CO2 factor for carbonate {mineral!r} (known: {', '.join(self.carbonates)})")
        return factor.cited(f"carbonate {mineral}")


@dataclass(frozen=True, slots=True)
class GridFactor:
    """The grid factor chosen for an account: value with its year, region, basis and citation (what reports show)."""

    value: float
    unit: str
    source: str
    confidence: str
    year: int
    region: str
    basis: str  # provincial | regional | national | residual | carbon_market | requested
    note: str | None = None
    warnings: tuple[str, ...] = field(default=())

    def as_dict(self) -> dict[str, Any]:
        out: dict[str, Any] = {"value": self.value, "unit": self.unit, "year": self.year, "region": self.region,
                               "basis": self.basis, "source": self.source, "confidence": self.confidence}
        if self.note:
            out["note"] = self.note
        if self.warnings:
            out["warnings"] = list(self.warnings)
        return out


class EmissionFactors(Model):
    """The emission_factors.yaml file."""

    grid_unpublished_year: YearRule
    grid_notices: dict[int, str]
    grid: dict[str, dict[int, CitedValue]]
    national_carbon_market: MarketFactor
    grid_provinces: GridProvinces
    fuels: dict[str, FuelFactor]
    purchased_heat: CitedValue
    carrier_map: dict[Carrier, str]
    process: ProcessFactors

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
        for key, province in self.grid_provinces.provinces.items():
            if province.grid not in self.grid:
                raise ValueError(f"grid_provinces.{key}: no grid factors for its region {province.grid!r}")
        divisions = [p.division for p in self.grid_provinces.provinces.values()]
        if len(set(divisions)) != len(divisions):
            raise ValueError("grid_provinces: a division code is given twice")
        if self.national_carbon_market.value is None or self.national_carbon_market.unit != GRID_UNIT:
            raise ValueError(f"national_carbon_market: needs a value in {GRID_UNIT}")
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

    def fuel(self, carrier: Carrier | str) -> FuelFactor:
        """The combustion entry of a carrier (its NCV comes from the coal entry it names: `ReferenceData`)."""
        try:
            name = self.carrier_map.get(Carrier(carrier))
        except ValueError:
            name = None
        if name is None:
            known = ", ".join(c.value for c in self.carrier_map)
            raise ReferenceLookupError(f"no fuel emission factor for carrier {carrier!r} (known: {known})")
        return self.fuels[name]

    def province_of(self, province: str | None, credit_code: str | None = None) -> str | None:
        """The province key: the one given (the registry's `province`), else the GB/T 2260 division in digits 3-4 of
        the unified social credit code (GB 32100-2015); None when neither names a known province."""
        if province:
            return province if province in self.grid_provinces.provinces else None
        if credit_code and len(credit_code) >= 4:
            return self.grid_provinces.by_division(credit_code[2:4])
        return None

    def select_grid(self, year: int, *, province: str | None = None, purpose: GridPurpose = "location",
                    region: str | None = None) -> GridFactor:
        """The grid factor for `purpose` in `year` (docs/analytics.md "Which grid factor"); raises
        `ReferenceLookupError` naming the missing notice when none can be cited for the year."""
        if purpose == "ets":
            market = self.national_carbon_market
            if year not in market.years:
                raise ReferenceLookupError(
                    f"no national carbon market grid factor for {year} (reference data: reporting years "
                    f"{min(market.years)}-{max(market.years)}, {market.source}); add it to the override file")
            assert market.value is not None  # checked at load
            return GridFactor(market.value, market.unit, market.source, market.confidence, year, "national",
                              "carbon_market", market.note)
        if purpose == "market":
            chain: list[tuple[str, str]] = [(RESIDUAL_REGION, "residual")]
        elif region is not None:
            if region not in self.grid:
                known = sorted(self.grid)
                raise ReferenceLookupError(f"no grid emission factors for region {region!r} (known: {known})")
            chain = [(region, "requested")]
        else:
            chain = []
            grid_of = self.grid_provinces.provinces.get(province or "")
            if province in self.grid:
                chain.append((province, "provincial"))  # type: ignore[arg-type]
            if grid_of is not None:
                chain.append((grid_of.grid, "regional"))
            chain.append((DEFAULT_REGION, "national"))
        for name, basis in chain:
            if year in self.grid[name]:
                return self._grid_factor(name, year, basis)
        names = ", ".join(name for name, _ in chain)
        earlier = [(y, -i, name, basis) for i, (name, basis) in enumerate(chain) for y in self.grid[name] if y < year]
        if not earlier:
            first = min(y for name, _ in chain for y in self.grid[name])
            raise ReferenceLookupError(f"no MEE/NBS electricity CO2 factor for {year} or earlier ({names}); the "
                                       f"earliest published is {first}; add one to the override file with its source")
        latest = max(earlier)[0]
        if self.grid_unpublished_year == "published_only":
            raise ReferenceLookupError(f"the MEE/NBS electricity CO2 factor for {year} ({names}) is not published "
                                       f"(latest: {latest}); add it to the override file when it is")
        _, _, name, basis = max(earlier)
        warning = (f"the MEE/NBS electricity CO2 factor for {year} is not yet published: the {latest} {name} factor is "
                   f"used (provisional, the latest published)")
        return self._grid_factor(name, latest, basis, (warning,))

    def _grid_factor(self, name: str, year: int, basis: str, warnings: tuple[str, ...] = ()) -> GridFactor:
        factor = self.grid[name][year]
        assert factor.value is not None  # checked at load
        source = factor.source
        notice = self.grid_notices.get(year)
        if notice and notice not in source:
            source = f"{notice}; {source}"
        return GridFactor(factor.value, factor.unit, source, factor.confidence, year, name, basis, factor.note,
                          warnings)

    def heat_factor(self) -> Cited[float]:
        """Purchased heat (and steam, by its heat content) in kgCO2/GJ."""
        return self.purchased_heat.cited("purchased heat emission factor")
