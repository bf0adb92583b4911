"""The typed reference data (one field per data file) and the accessors the analytics call.

Every accessor is pure and returns `Cited` values (value, unit, source, confidence) so figures can show their
provenance. Schemas and validation of each file live in coal.py, emission.py, quota.py and tariff.py.
"""

from __future__ import annotations

from datetime import date, datetime

from core.domain import Carrier

from .base import Cited, Model
from .coal import CoalEquivalents, Method
from .emission import DEFAULT_REGION, EmissionFactors
from .quota import Quota, QuotaStandards
from .tariff import Tariffs, TouSpan, TwoPartCharges

DATA_FILES: tuple[str, ...] = ("coal_equivalents", "emission_factors", "quota_standards", "tariffs_shanxi")
"""Data file stems under core/reference/data/ (`<stem>.yaml`); also the top-level keys of an override file."""


class ReferenceData(Model):
    """All reference tables, validated; field names are the data files' stems."""

    coal_equivalents: CoalEquivalents
    emission_factors: EmissionFactors
    quota_standards: QuotaStandards
    tariffs_shanxi: Tariffs

    def coal_coefficient(self, carrier: Carrier | str, method: Method = "equivalent") -> Cited[float]:
        """kgce per unit of `carrier` in its enerdiag unit (kWh, m3, t, GJ), GB/T 2589-2020."""
        return self.coal_equivalents.coefficient(carrier, method)

    def grid_emission_factor(self, year: int, region: str = DEFAULT_REGION) -> Cited[float]:
        """Grid electricity kgCO2/kWh of `year`; falls back to the nearest published year (see `.warnings`)."""
        return self.emission_factors.grid_factor(year, region)

    def fuel_emission_factor(self, carrier: Carrier | str) -> Cited[float]:
        """Combustion kgCO2 per unit of `carrier` (natural_gas m3, coal t, diesel t)."""
        return self.emission_factors.fuel_factor(carrier)

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
