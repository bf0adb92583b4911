"""The `Finding` every detector returns (CONTRACTS.md section 6) and the conversion of saved energy into tce, CO2, CNY.

Prices the reference data does not know (the monthly flat electricity price, two-part basic charges) are explicit
`Prices` inputs with their own provenance, so every report states the price it assumed.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from typing import Any

from analytics.billing import FUEL_UNITS, ElectricityTariff
from analytics.refs import Reference

DECIMALS = 3

ASSUMED = "assumed"
"""Confidence mark of a number enerdiag assumed because no source gave it (reports must show it)."""

DEFAULT_FLAT_PRICE_CNY_PER_KWH = 0.60
"""Assumed flat (平段) electricity price when the caller gives none: order of magnitude of Shanxi industrial 代理购电
prices in 2024-2026; the reference data leaves it unknown (tariffs_shanxi.yaml `prices.flat_price`)."""
DEFAULT_CAPACITY_CNY_PER_KVA_MONTH = 20.0
"""Assumed capacity (容量) charge rate; the reference data records it as unknown (4th regulatory period table)."""
DEFAULT_DEMAND_CNY_PER_KW_MONTH = 30.0
"""Assumed demand (需量) charge rate; the reference data records it as unknown (4th regulatory period table)."""


@dataclass(frozen=True, slots=True)
class Prices:
    """Money rates used to value savings, with where they came from."""

    flat_cny_per_kwh: float = DEFAULT_FLAT_PRICE_CNY_PER_KWH
    capacity_cny_per_kva_month: float = DEFAULT_CAPACITY_CNY_PER_KVA_MONTH
    demand_cny_per_kw_month: float = DEFAULT_DEMAND_CNY_PER_KW_MONTH
    source: str = "enerdiag defaults (reference data has no absolute prices)"
    confidence: str = ASSUMED

    def tariff(self) -> ElectricityTariff:
        """These rates as the assumed tariff (labelled `assumed`) used when the registry has no tariff."""
        return ElectricityTariff.assumed(self.flat_cny_per_kwh, self.capacity_cny_per_kva_month,
                                         self.demand_cny_per_kw_month, self.source)

    def as_dict(self) -> dict[str, Any]:
        return {"flat_cny_per_kwh": self.flat_cny_per_kwh,
                "capacity_cny_per_kva_month": self.capacity_cny_per_kva_month,
                "demand_cny_per_kw_month": self.demand_cny_per_kw_month,
                "source": self.source, "confidence": self.confidence}


@dataclass(frozen=True, slots=True)
class Finding:
    """One diagnosed problem: what was seen (evidence), what it costs or would save, what to do."""

    code: str
    title_zh: str
    title_en: str
    savings_kwh: float
    savings_tce: float
    savings_cny: float | None  # None: a reference the price needs is missing (see `warnings`)
    savings_co2_t: float
    evidence: dict[str, Any]
    recommendation_zh: str
    recommendation_en: str
    severity: str = "medium"  # low | medium | high
    sources: tuple[str, ...] = field(default_factory=tuple)
    cny_tariff: dict[str, Any] | None = None  # `ElectricityTariff.label()`: the enterprise's tariff or assumed
    warnings: tuple[str, ...] = field(default_factory=tuple)

    @property
    def title(self) -> str:
        """Chinese first, English second, as every user-facing text."""
        return f"{self.title_zh} ({self.title_en})"

    def as_dict(self) -> dict[str, Any]:
        """The `findings` item of `enerdiag analyze --json` (numbers as numbers)."""
        return {"code": self.code, "title": self.title, "title_zh": self.title_zh, "title_en": self.title_en,
                "savings_kwh": self.savings_kwh, "savings_tce": self.savings_tce, "savings_cny": self.savings_cny,
                "savings_co2_t": self.savings_co2_t, "severity": self.severity, "evidence": self.evidence,
                "recommendation": {"zh": self.recommendation_zh, "en": self.recommendation_en},
                "sources": list(self.sources), "savings_cny_tariff": self.cny_tariff,
                **({"warnings": list(self.warnings)} if self.warnings else {})}


@dataclass(frozen=True, slots=True)
class Valuation:
    """Converts saved kWh / fuel into tce, tCO2 and CNY with the reference factors of one year."""

    reference: Reference
    year: int
    prices: Prices = Prices()
    region: str = "national"
    own_tariff: ElectricityTariff | None = None  # the registry's (the enterprise's bill); else `prices` assumed

    @property
    def tariff(self) -> ElectricityTariff:
        """The tariff CNY figures are priced with: the enterprise's own, or the labelled assumed one."""
        return self.own_tariff if self.own_tariff is not None else self.prices.tariff()

    @property
    def kgce_per_kwh(self) -> float:
        return float(self.reference.coal_coefficient("electricity").value)

    @property
    def kgco2_per_kwh(self) -> float:
        return float(self.reference.grid_emission_factor(self.year, self.region).value)

    def electricity(self, kwh: float, cny: float | None = None, *, priced: bool = True) -> dict[str, Any]:
        """Savings fields for `kwh` of grid electricity (CNY at the tariff's flat price unless given; `priced`
        False: CNY unknown, null), labelled with the tariff."""
        money = (kwh * self.tariff.flat_cny_per_kwh if cny is None else cny) if priced else None
        return {"savings_kwh": _r(kwh), "savings_tce": _r(kwh * self.kgce_per_kwh / 1000.0),
                "savings_cny": None if money is None else _r(money),
                "savings_co2_t": _r(kwh * self.kgco2_per_kwh / 1000.0), "cny_tariff": self.tariff.label()}

    def carriers_cny(self, quantities: dict[str, float]) -> tuple[float, dict[str, Any], tuple[str, ...]]:
        """CNY of saved quantities per carrier (kWh at the tariff's flat price; fuels at the registry's price or the
        assumed default), each line saying its price and origin; carriers without a price are left out (warned)."""
        total, lines, warnings = 0.0, {}, []
        for carrier, quantity in quantities.items():
            if carrier == "electricity":
                price, origin = self.tariff.flat_cny_per_kwh, self.tariff.origin
                unit = "kWh"
            else:
                found = self.tariff.fuel_price(carrier)
                if found is None:
                    warnings.append(f"no price for {carrier}: its saving is left out of the CNY")
                    continue
                price, origin = found
                unit = FUEL_UNITS.get(carrier, "unit")
            total += quantity * price
            lines[carrier] = {"quantity": _r(quantity), "unit": unit, "price_cny_per_unit": price,
                              "price_origin": origin, "cny": _r(quantity * price)}
        return total, lines, tuple(warnings)

    def sources(self) -> tuple[str, ...]:
        coal = self.reference.coal_coefficient("electricity")
        grid = self.reference.grid_emission_factor(self.year, self.region)
        return (f"electricity {coal.value} {coal.unit}: {coal.source} ({coal.confidence})",
                f"grid factor {grid.value} {grid.unit}: {grid.source} ({grid.confidence})",
                f"prices: {self.tariff.origin} tariff, {self.tariff.describe()}; {self.tariff.source}")


def _r(x: float) -> float:
    return round(float(x), DECIMALS) + 0.0


def days_between(first: dt.date, end: dt.date) -> int:
    """Days in [first, end)."""
    return (end - first).days
