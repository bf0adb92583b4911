"""The typed reference data (one field per data file) and the accessors the analytics call.

Every accessor is pure and returns `Cited` values (value, unit, source, confidence) so figures can show their
provenance. Schemas and validation of each file live in coal.py, emission.py, quota.py and tariff.py.
"""

from __future__ import annotations

from datetime import date, datetime

from pydantic import model_validator

from core.domain import Carrier

from .base import KGCE_KJ, Cited, Model, ReferenceLookupError
from .coal import CoalEntry, CoalEquivalents, Method
from .emission import DEFAULT_REGION, EmissionFactors, FuelFactor, GridFactor, GridPurpose
from .quota import Quota, QuotaStandards
from .tariff import Tariffs, TouSpan, TwoPartCharges

FUEL_UNIT_PER_ENTRY_UNIT: dict[tuple[str, str], float] = {("kg", "t"): 1000.0, ("t", "t"): 1.0, ("m3", "m3"): 1.0}
"""(coal entry's unit, fuel's unit) -> entry units in one fuel unit, for the fuel's NCV."""

DATA_FILES: tuple[str, ...] = ("coal_equivalents", "emission_factors", "quota_standards", "tariffs_shanxi")
"""Data file stems under core/reference/data/ (`<stem>.yaml`); also the top-level keys of an override file."""


class ReferenceData(Model):
    """All reference tables, validated; field names are the data files' stems."""

    coal_equivalents: CoalEquivalents
    emission_factors: EmissionFactors
    quota_standards: QuotaStandards
    tariffs_shanxi: Tariffs

    @model_validator(mode="after")
    def _one_heat_value_per_fuel(self) -> ReferenceData:
        entries = self.coal_equivalents.entries()
        for name, fuel in self.emission_factors.fuels.items():
            entry = entries.get(fuel.heat)
            where = f"emission_factors.fuels.{name}.heat"
            if entry is None:
                raise ValueError(f"{where}: no coal_equivalents entry {fuel.heat!r}")
            if entry.kgce_per_unit is None:
                raise ValueError(f"{where}: coal_equivalents entry {fuel.heat!r} has no coefficient")
            if (entry.unit, fuel.unit) not in FUEL_UNIT_PER_ENTRY_UNIT:
                raise ValueError(f"{where}: entry per {entry.unit}, fuel per {fuel.unit}: no conversion")
        return self

    def coal_coefficient(self, carrier: Carrier | str, method: Method = "equivalent") -> Cited[float]:
        """kgce per unit of `carrier` in its enerdiag unit (kWh, m3, t, GJ), GB/T 2589-2020."""
        return self.coal_equivalents.coefficient(carrier, method)

    def grid_emission_factor(self, year: int, region: str = DEFAULT_REGION) -> Cited[float]:
        """Grid electricity kgCO2/kWh of `year`; falls back to the nearest published year (see `.warnings`)."""
        return self.emission_factors.grid_factor(year, region)

    def fuel_ncv(self, fuel: FuelFactor) -> Cited[float]:
        """GJ per fuel unit: the coal entry's kgce per unit x 29.3076 MJ/kgce, the heat value tce also uses."""
        entry: CoalEntry = self.coal_equivalents.entries()[fuel.heat]
        assert entry.kgce_per_unit is not None  # checked at load
        per = FUEL_UNIT_PER_ENTRY_UNIT[(entry.unit, fuel.unit)]
        gj = entry.kgce_per_unit * per * KGCE_KJ / 1e6
        note = f"{entry.kgce_per_unit:g} kgce/{entry.unit} x {KGCE_KJ:g} kJ/kgce (coal_equivalents {fuel.heat})"
        return Cited(gj, "GJ", entry.source, entry.confidence, note)

    def fuel_emission_factor(self, carrier: Carrier | str) -> Cited[float]:
        """Combustion kgCO2 per unit of `carrier` (natural_gas m3, coal t, diesel t) on its one heat value."""
        fuel = self.emission_factors.fuel(carrier)
        ncv = self.fuel_ncv(fuel)
        note = (f"{ncv.value:.6g} GJ/{fuel.unit} (NCV from the standard-coal coefficient: {ncv.note}; "
                f"{ncv.confidence}) x {fuel.carbon_t_per_tj:g} tC/TJ x {fuel.oxidation:g} x 44/12")
        return Cited(fuel.kgco2_per_unit(ncv.value), f"kgCO2/{fuel.unit}", fuel.source, fuel.confidence, note)

    def province_of(self, province: str | None, credit_code: str | None = None) -> str | None:
        """Province key from the registry's `province` or the credit code's division (None if unknown)."""
        return self.emission_factors.province_of(province, credit_code)

    def select_grid_factor(self, year: int, *, province: str | None = None, purpose: GridPurpose = "location",
                           region: str | None = None) -> GridFactor:
        """The grid factor of `year` for `purpose` (provincial > regional > national, residual, carbon market)."""
        return self.emission_factors.select_grid(year, province=province, purpose=purpose, region=region)

    def carbonate_emission_factor(self, mineral: str) -> Cited[float]:
        """kgCO2 per t of a carbonate mineral decomposed (stoichiometric)."""
        return self.emission_factors.process.carbonate(mineral)

    def clinker_default(self, oxide: str) -> Cited[float] | None:
        """Default mass fraction of `cao` or `mgo` in clinker (None where no default exists); method citation aside."""
        value = getattr(self.emission_factors.process.clinker, oxide)
        return None if value.value is None else value.cited(f"clinker {oxide} default")

    def process_method(self, kind: str) -> Cited[str]:
        """The citation of a process-emission method (`clinker`, `reductants`)."""
        node = getattr(self.emission_factors.process, kind, None)
        if node is None or not hasattr(node, "method"):
            raise ReferenceLookupError(f"no process method {kind!r}")
        m = node.method
        return Cited(kind, "1", m.source, m.confidence, m.note)

    def heat_emission_factor(self) -> Cited[float]:
        """Purchased heat kgCO2/GJ."""
        return self.emission_factors.heat_factor()

    def quota(self, product: str, on_date: date) -> Quota:
        """The quota standard edition in force for `product` on `on_date` (grades 1-3, limit = grade 3)."""
        return self.quota_standards.quota(product, on_date)

    def tou_periods(
        self, on_date: date, month: int | None = None, *, two_part_user: bool = True, deep_valley_day: bool = False
    ) -> Cited[tuple[TouSpan, ...]]:
        """Shanxi TOU hour spans of a day (edition in force on `on_date`, season of `month`)."""
        return self.tariffs_shanxi.periods(on_date, month, two_part_user=two_part_user, deep_valley_day=deep_valley_day)

    def tou_period_of(
        self, local_datetime: datetime, *, two_part_user: bool = True, deep_valley_day: bool = False
    ) -> Cited[str]:
        """critical_peak | peak | flat | valley | deep_valley at a moment (naive = Asia/Shanghai local time)."""
        return self.tariffs_shanxi.period_of(
            local_datetime, two_part_user=two_part_user, deep_valley_day=deep_valley_day
        )

    def is_deep_valley_day(self, on_date: date) -> Cited[bool]:
        """Whether deep-valley hours apply on `on_date` (a rest day of the holidays the edition names)."""
        return self.tariffs_shanxi.is_deep_valley_day(on_date)

    def tou_price(
        self,
        local_datetime: datetime,
        flat_price: float | None = None,
        *,
        two_part_user: bool = True,
        deep_valley_day: bool = False,
    ) -> Cited[float]:
        """CNY/kWh at a moment: flat price x the period's ratio."""
        return self.tariffs_shanxi.price(
            local_datetime, flat_price, two_part_user=two_part_user, deep_valley_day=deep_valley_day
        )

    def power_factor_adjustment(self, pf: float, standard: float = 0.90) -> Cited[float]:
        """力率调整电费: % of the month's bill added (+) or cut (-) at power factor `pf`."""
        return self.tariffs_shanxi.pf_adjustment(pf, standard)

    def demand_and_capacity_charges(self, on_date: date) -> TwoPartCharges:
        """Two-part tariff rates in force on `on_date` (None values are unknown: see their marks)."""
        return self.tariffs_shanxi.two_part_charges(on_date)
