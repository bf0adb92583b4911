"""The electricity bill as the grid computes it, from the enterprise's own tariff (registry `tariff:`) or an assumed
one.

Pure: prices per TOU period, the two-part tariff's basic charge (capacity kVA or demand kW, the demand floor, the
105 % contract rule, the demand discount), the power-factor adjustment against the enterprise's own standard, and
the month's bill. Every result carries the tariff's `label()`: whether its CNY came from the enterprise's bill or
from an assumption. docs/diagnosis.md (money) says which clause each rule follows.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

ENTERPRISE = "enterprise"
"""Origin of a tariff read from the enterprise's bill (registry `tariff:`)."""
ASSUMED = "assumed"
"""Origin of the default tariff enerdiag assumes when the registry has none (reports must show it)."""

AUTO_TOU, NO_TOU = "auto", "none"
MONTH_DAYS = 30.4375
"""Mean days per month: a period's basic charge is the monthly charge × days / 30.4375 (pro rata)."""

DEFAULT_NON_ENERGY_CNY_PER_KWH = 0.20
"""Assumed part of the flat kWh price that is not the energy (上网/代理购电) price: the 1-10 kV transmission and
distribution price (0.1472, tariffs_shanxi.yaml, unverified) plus system operation, line loss and government funds,
rounded (enerdiag assumption). Only the energy part floats under 晋发改商品发〔2026〕15号."""
DEFAULT_FUEL_PRICES: dict[str, float] = {"natural_gas": 3.5, "coal": 900.0, "diesel": 7800.0, "steam": 220.0,
                                         "heat": 60.0}
"""Assumed fuel prices, CNY per carrier unit (m3, t, t, t, GJ): orders of magnitude of Shanxi industrial prices in
2024-2026 (pipeline gas, 5,000 kcal thermal coal, diesel at about 6.6 CNY/L, low-pressure steam, district heat);
enerdiag assumptions, always labelled; a registry `tariff.fuel_prices` entry replaces them."""
FUEL_UNITS: dict[str, str] = {"natural_gas": "m3", "coal": "t", "diesel": "t", "steam": "t", "heat": "GJ",
                              "water": "m3"}


class TariffError(ValueError):
    """A tariff that cannot price (says which part is missing)."""


@dataclass(frozen=True, slots=True)
class ElectricityTariff:
    """One enterprise's electricity tariff: energy prices (per period or by component), basic charge, PF standard."""

    origin: str
    source: str
    tou_edition: str = AUTO_TOU  # "auto": the reference edition in force; "none": no TOU; or an edition key
    energy_prices: Mapping[str, float] | None = None  # all-in CNY/kWh per period, as on the bill
    components: Mapping[str, float] | None = None  # CNY/kWh of the flat period by component (core.reference)
    basis: str | None = None  # capacity | demand | None (single-part tariff)
    capacity_cny_per_kva_month: float | None = None
    demand_cny_per_kw_month: float | None = None
    contract_demand_kw: float | None = None
    pf_standard: float = 0.90
    voltage_class: str | None = None
    fuel_prices: Mapping[str, float] = field(default_factory=dict)

    def __post_init__(self) -> None:
        if self.origin not in (ENTERPRISE, ASSUMED):
            raise TariffError(f"origin must be {ENTERPRISE!r} or {ASSUMED!r}, got {self.origin!r}")
        if (self.energy_prices is None) == (self.components is None):
            raise TariffError("give energy_prices per period or components, exactly one")
        if self.energy_prices is not None and "flat" not in self.energy_prices:
            raise TariffError("energy_prices need the flat price")
        if self.components is not None and "energy" not in self.components:
            raise TariffError("components need the energy price")
        if self.basis not in (None, "capacity", "demand"):
            raise TariffError(f"basis must be capacity or demand, got {self.basis!r}")
        prices = [*(self.energy_prices or {}).values(), *(self.components or {}).values(),
                  *self.fuel_prices.values()]
        if any(not p > 0 for p in prices):
            raise TariffError("prices must be positive")

    @classmethod
    def from_registry(cls, data: Mapping[str, Any]) -> ElectricityTariff:
        """The registry's `tariff` block (checked by core/registry/filetariff.py) as a tariff of the enterprise."""
        basic = data.get("basic_charge") or {}
        return cls(
            origin=ENTERPRISE,
            source=data.get("source") or "the enterprise's electricity bill (registry tariff)",
            tou_edition=data.get("tou_edition") or AUTO_TOU,
            energy_prices=data.get("energy_prices"),
            components=data.get("components"),
            basis=basic.get("basis"),
            capacity_cny_per_kva_month=basic.get("capacity_cny_per_kva_month"),
            demand_cny_per_kw_month=basic.get("demand_cny_per_kw_month"),
            contract_demand_kw=basic.get("contract_demand_kw"),
            pf_standard=float(data.get("pf_standard") or 0.90),
            voltage_class=data.get("voltage_class"),
            fuel_prices=dict(data.get("fuel_prices") or {}),
        )

    @classmethod
    def assumed(cls, flat_cny_per_kwh: float, capacity_cny_per_kva_month: float, demand_cny_per_kw_month: float,
                source: str) -> ElectricityTariff:
        """The default: a two-part tariff on capacity at the assumed rates, flat price split into an energy part
        and `DEFAULT_NON_ENERGY_CNY_PER_KWH` that does not float, PF standard 0.90, TOU edition in force."""
        other = min(DEFAULT_NON_ENERGY_CNY_PER_KWH, flat_cny_per_kwh / 2)
        return cls(origin=ASSUMED, source=source, components={"energy": flat_cny_per_kwh - other, "other": other},
                   basis="capacity", capacity_cny_per_kva_month=capacity_cny_per_kva_month,
                   demand_cny_per_kw_month=demand_cny_per_kw_month)

    @property
    def two_part(self) -> bool:
        return self.basis is not None

    @property
    def flat_cny_per_kwh(self) -> float:
        if self.energy_prices is not None:
            return float(self.energy_prices["flat"])
        return float(sum((self.components or {}).values()))

    def rate(self, basis: str) -> float | None:
        return self.capacity_cny_per_kva_month if basis == "capacity" else self.demand_cny_per_kw_month

    def label(self) -> dict[str, Any]:
        """What every CNY figure priced with this tariff says about it."""
        return {"origin": self.origin, "source": self.source, "voltage_class": self.voltage_class,
                "tou_edition": self.tou_edition, "basis": self.basis, "pf_standard": self.pf_standard,
                "flat_cny_per_kwh": round(self.flat_cny_per_kwh, 6),
                "priced_by": "energy_prices" if self.energy_prices is not None else "components"}

    def describe(self) -> str:
        """One line for a report's reference list."""
        parts = [f"flat {self.flat_cny_per_kwh:.4g} CNY/kWh"]
        if self.energy_prices is not None:
            parts = [", ".join(f"{k} {v:g}" for k, v in self.energy_prices.items()) + " CNY/kWh"]
        if self.basis is not None:
            rate = self.rate(self.basis)
            unit = "CNY/kVA·month" if self.basis == "capacity" else "CNY/kW·month"
            parts.append(f"basic charge by {self.basis} {rate:g} {unit}" if rate else f"basic charge by {self.basis}")
        parts.append(f"TOU {self.tou_edition}; PF standard {self.pf_standard:.2f}")
        return "; ".join(parts)

    def fuel_price(self, carrier: str) -> tuple[float, str] | None:
        """(CNY per unit, origin) of a fuel: the registry's, else the assumed default; None if neither."""
        if carrier in self.fuel_prices:
            return float(self.fuel_prices[carrier]), ENTERPRISE
        if carrier in DEFAULT_FUEL_PRICES:
            return DEFAULT_FUEL_PRICES[carrier], ASSUMED
        return None


# ---------------------------------------------------------------- energy prices per TOU period


@dataclass(frozen=True, slots=True)
class PeriodPrices:
    """CNY/kWh of each period under one edition (or flat only), and the part of it that is not PF-adjusted."""

    prices: Mapping[str, float]
    unadjusted: float  # CNY/kWh of components the PF adjustment leaves out (government funds), where known
    edition: str | None
    note: str

    def price(self, period: str) -> float:
        if self.edition is None:
            return float(self.prices["flat"])
        if period not in self.prices:
            raise TariffError(f"no price for period {period} under {self.edition}")
        return float(self.prices[period])


def period_prices(tariff: ElectricityTariff, edition: Any | None, excluded: Iterable[str] = ("funds",)) -> PeriodPrices:
    """Prices per period under `edition` (a `TouEdition`; None for a tariff without TOU).

    From the bill's period prices as given; a period the bill does not list (critical peak, deep valley) is the flat
    price plus the floating part × (ratio − 1), the floating part read from the bill as (peak − flat) / (ratio_peak
    − 1). From components: the edition's floating components × the period's ratio plus the others unchanged.
    """
    excluded = tuple(excluded)
    unadjusted = sum(v for k, v in (tariff.components or {}).items() if k in excluded)
    if edition is None or tariff.tou_edition == NO_TOU:
        return PeriodPrices({"flat": tariff.flat_cny_per_kwh}, unadjusted, None, "no time-of-use: flat price")
    periods = [p for p in ("critical_peak", "peak", "flat", "valley", "deep_valley")
               if getattr(edition.ratios, p) is not None]
    if tariff.energy_prices is not None:
        given = dict(tariff.energy_prices)
        if not {"peak", "valley"} <= set(given):
            raise TariffError(f"the bill's prices lack peak or valley under {edition.number}")
        floating = (given["peak"] - given["flat"]) / (edition.ratio("peak") - 1.0)
        prices = {p: given[p] if p in given else given["flat"] + floating * (edition.ratio(p) - 1.0) for p in periods}
        derived = [p for p in periods if p not in given]
        note = "the bill's period prices" + (f"; {', '.join(derived)} derived from the bill's peak-flat spread and "
                                             f"the ratios of {edition.number}" if derived else "")
        return PeriodPrices(prices, unadjusted, edition.number, note)
    comps = dict(tariff.components or {})
    floats = set(edition.floating.components)
    moving = sum(v for k, v in comps.items() if k in floats)
    fixed = sum(v for k, v in comps.items() if k not in floats)
    prices = {p: moving * edition.ratio(p) + fixed for p in periods}
    note = (f"components; floating under {edition.number}: {', '.join(sorted(floats & set(comps))) or 'none'} "
            f"({edition.floating.confidence})")
    return PeriodPrices(prices, unadjusted, edition.number, note)


def resolve_edition(tariff: ElectricityTariff, tariffs: Any, day: dt.date) -> tuple[str, Any] | None:
    """(key, edition) pricing `day`: the tariff's named edition, or the reference edition in force ("auto");
    None for a tariff without TOU. Raises LookupError when no edition is in force (the caller marks it missing)."""
    if tariff.tou_edition == NO_TOU:
        return None
    if tariff.tou_edition != AUTO_TOU:
        edition = tariffs.editions.get(tariff.tou_edition)
        if edition is None:
            raise LookupError(f"TOU edition {tariff.tou_edition!r} of the tariff is not in the reference data")
        return tariff.tou_edition, edition
    return tariffs.edition_on(day)


# ---------------------------------------------------------------- basic charge of the two-part tariff


@dataclass(frozen=True, slots=True)
class DemandRules:
    """Demand-billing rules from the reference data (tariffs_shanxi.yaml two_part_tariff)."""

    floor_share: float = 0.40
    over_contract_share: float = 1.05
    over_contract_multiplier: float = 2.0
    discount_share: float | None = None  # share of the demand rate paid when the month's kWh/kVA reaches the minimum
    discount_min_kwh_per_kva: float | None = None
    source: str = ""

    @classmethod
    def from_reference(cls, tariffs: Any, on: dt.date) -> DemandRules:
        tp = tariffs.two_part_tariff
        floor = tp.demand_floor
        discount = tp.demand_discount
        active = discount is not None and on >= discount.valid_from
        src = f"{floor.source} ({floor.confidence})"
        if active:
            src += f"; {discount.text}: {discount.source} ({discount.confidence})"
        return cls(floor.share_of_capacity, floor.over_contract_share, floor.over_contract_multiplier,
                   discount.demand_rate_share if active else None,
                   discount.min_kwh_per_kva if active else None, src)


@dataclass(frozen=True, slots=True)
class BasicCharge:
    """The basic charge of one basis over a period: the billed quantity, the rate and the CNY."""

    basis: str
    rate: float
    billed: float  # kVA (capacity) or kW (demand) billed per month
    months: float
    cny: float
    floor_applied: bool = False
    discounted: bool = False
    note: str = ""

    def to_json(self) -> dict[str, Any]:
        return {"basis": self.basis, "rate": self.rate,
                "rate_unit": "CNY/kVA/month" if self.basis == "capacity" else "CNY/kW/month",
                "billed": round(self.billed, 3), "billed_unit": "kVA" if self.basis == "capacity" else "kW",
                "months": round(self.months, 4), "cny": round(self.cny, 2), "floor_applied": self.floor_applied,
                "discounted": self.discounted, "note": self.note}


def basic_charge(basis: str, rate: float, kva: float, max_kw: float | None, months: float, kwh: float,
                 rules: DemandRules, contract_kw: float | None = None) -> BasicCharge:
    """Basic charge on `basis` over `months`.

    capacity: kVA × rate. demand: the billed kW × rate, where billed kW is the contracted demand (at least the floor
    share × kVA; above `over_contract_share` × contract the excess counts `over_contract_multiplier` times) or, without
    a contract, the period's maximum demand, at least floor share × kVA (the demand floor); × the discount share when
    the month's kWh per kVA reaches the discount minimum.
    """
    if basis == "capacity":
        return BasicCharge("capacity", rate, kva, months, kva * rate * months, note="transformer capacity kVA")
    floor = rules.floor_share * kva
    peak = max_kw or 0.0
    if contract_kw is not None:
        contract = max(contract_kw, floor)
        limit = rules.over_contract_share * contract
        billed = contract if peak <= limit else peak + (rules.over_contract_multiplier - 1.0) * (peak - limit)
        floor_applied = contract_kw < floor
        note = (f"contract {contract:g} kW; maximum demand {peak:.1f} kW"
                + (f" above {rules.over_contract_share:.0%} of it: the excess billed "
                   f"{rules.over_contract_multiplier:g}×" if peak > limit else ""))
    else:
        billed = max(peak, floor)
        floor_applied = peak < floor
        note = f"maximum demand {peak:.1f} kW" + (
            f", below the floor {rules.floor_share:.0%} × {kva:g} kVA = {floor:g} kW" if floor_applied else "")
    share = 1.0
    per_kva = kwh / (kva * months) if kva and months else 0.0
    minimum = rules.discount_min_kwh_per_kva
    if rules.discount_share is not None and minimum and per_kva >= minimum:
        share = rules.discount_share
        note += f"; {per_kva:.0f} kWh/kVA·month ≥ {minimum:g}: {share:.0%} of the rate"
    return BasicCharge("demand", rate, billed, months, billed * rate * share * months, floor_applied, share < 1.0,
                       note)


def cheapest_basic(tariff: ElectricityTariff, kva: float, max_kw: float | None, months: float, kwh: float,
                   rules: DemandRules) -> dict[str, BasicCharge]:
    """The basic charge on each basis the tariff has a rate for."""
    out: dict[str, BasicCharge] = {}
    for basis in ("capacity", "demand"):
        rate = tariff.rate(basis)
        if rate:
            contract = tariff.contract_demand_kw if basis == tariff.basis else None
            out[basis] = basic_charge(basis, rate, kva, max_kw, months, kwh, rules, contract)
    return out


# ---------------------------------------------------------------- the bill


@dataclass(frozen=True, slots=True)
class Bill:
    """A period's electricity bill: energy by period, basic charge, PF adjustment, total (CNY)."""

    tariff: Mapping[str, Any]
    kwh: Mapping[str, float]
    energy_cny: Mapping[str, float]
    unadjusted_cny: float
    basic: BasicCharge | None
    power_factor: float | None
    pf_standard: float
    pf_adjustment_pct: float
    pf_adjustment_cny: float
    prices_note: str
    warnings: tuple[str, ...] = ()

    @property
    def energy_total_cny(self) -> float:
        return float(sum(self.energy_cny.values()))

    @property
    def adjusted_base_cny(self) -> float:
        """What the PF adjustment % applies to: basic charge plus kWh charges without the excluded components."""
        return self.energy_total_cny - self.unadjusted_cny + (self.basic.cny if self.basic else 0.0)

    @property
    def total_cny(self) -> float:
        return self.energy_total_cny + (self.basic.cny if self.basic else 0.0) + self.pf_adjustment_cny

    def to_json(self) -> dict[str, Any]:
        return {"tariff": dict(self.tariff), "kwh": {k: round(v, 3) for k, v in self.kwh.items()},
                "energy_cny": {k: round(v, 2) for k, v in self.energy_cny.items()},
                "energy_total_cny": round(self.energy_total_cny, 2),
                "basic": None if self.basic is None else self.basic.to_json(),
                "power_factor": None if self.power_factor is None else round(self.power_factor, 4),
                "pf_standard": self.pf_standard, "pf_adjustment_pct": self.pf_adjustment_pct,
                "pf_adjusted_base_cny": round(self.adjusted_base_cny, 2),
                "pf_adjustment_cny": round(self.pf_adjustment_cny, 2), "total_cny": round(self.total_cny, 2),
                "prices": self.prices_note, "warnings": list(self.warnings)}


def price_energy(kwh: Mapping[str, float], prices: PeriodPrices) -> tuple[dict[str, float], float]:
    """(CNY per period, CNY of the components the PF adjustment leaves out) of `kwh` per period."""
    return {p: q * prices.price(p) for p, q in kwh.items()}, sum(kwh.values()) * prices.unadjusted


def compute_bill(tariff: ElectricityTariff, kwh: Mapping[str, float], energy: Mapping[str, float],
                 unadjusted: float, *, basic: BasicCharge | None, power_factor: float | None,
                 pf_adjustment: Callable[[float, float], float], prices_note: str) -> Bill:
    """The bill: kWh charges per period (`price_energy`), the basic charge, and the PF adjustment % (from
    `pf_adjustment(pf, standard)`, the reference table for the tariff's own standard) of the basic plus kWh charges
    without the excluded components (government funds, `unadjusted` CNY)."""
    warnings: list[str] = []
    if tariff.energy_prices is not None:
        warnings.append("the bill's period prices include any government funds: the PF adjustment base may be "
                        "overstated by them")
    pct = 0.0 if power_factor is None else float(pf_adjustment(power_factor, tariff.pf_standard))
    draft = Bill(tariff.label(), dict(kwh), dict(energy), unadjusted, basic, power_factor, tariff.pf_standard, pct,
                 0.0, prices_note, tuple(warnings))
    amount = pct / 100.0 * draft.adjusted_base_cny
    return Bill(draft.tariff, draft.kwh, draft.energy_cny, unadjusted, basic, power_factor, tariff.pf_standard, pct,
                amount, prices_note, tuple(warnings))
