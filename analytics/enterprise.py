"""Which meter counters make an enterprise's totals, and the per-carrier daily and monthly sums.

Sub-meters measure part of what a main meter already measured: adding them would double count. So a
carrier's total is the sum of its `main` meters when the enterprise has one, else of every meter that is
not a `sub` or `safety` meter. PV meters make the `pv` total; output counters make `output` for the
enterprise's product only (tonnes of different products do not add up).
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from typing import Final

import pandas as pd

from analytics.calendar import monthly_from_daily
from analytics.consumption import CounterEvent
from analytics.process_co2 import ProcessInputs
from core.domain import QUANTITIES, MeterRole

ELECTRIC_QUANTITIES: Final = frozenset({"energy_kwh", "export_kwh", "reactive_kvarh", "pv_kwh"})
EXCLUDED_FROM_TOTALS: Final = frozenset({MeterRole.SUB.value, MeterRole.SAFETY.value})

TOTAL_CARRIERS: Final = {
    "energy_kwh": "electricity",
    "export_kwh": "electricity_export",
    "reactive_kvarh": "reactive",
    "pv_kwh": "pv",
    "gas_m3": "natural_gas",
    "steam_t": "steam",
    "heat_gj": "heat",
    "water_m3": "water",
    "coal_t": "coal",
    "diesel_t": "diesel",
    "output_t": "output",
}
"""Counter quantity → the carrier name of the enterprise total it feeds (section 6 names, plus
`electricity_export`, `pv` and `reactive`, which the accounting needs)."""


@dataclass(frozen=True, slots=True)
class MeterInfo:
    """The registry facts the rollups need about one meter (plain data, no ORM)."""

    meter_id: str
    carrier: str
    role: str = MeterRole.MAIN.value
    multiplier: float = 1.0
    product: str | None = None
    register_max: float | None = None
    max_rate_per_h: float | None = None
    events: tuple[CounterEvent, ...] = field(default_factory=tuple)


@dataclass(frozen=True, slots=True)
class GreenPurchase:
    """Green electricity bought for the local days [first_day, last_day] (both inclusive), in MWh.

    `kind`: `green_certificate` (绿证, unbundled) or `green_power_trade` (绿电交易, certificates bundled).
    """

    kind: str
    first_day: dt.date
    last_day: dt.date
    mwh: float

    def kwh_in(self, period_from: dt.date, period_to: dt.date) -> float:
        """The kWh falling in the local days [period_from, period_to), pro rata by days of the purchase period."""
        days = (self.last_day - self.first_day).days + 1
        lo = max(self.first_day, period_from)
        hi = min(self.last_day + dt.timedelta(days=1), period_to)
        overlap = max((hi - lo).days, 0)
        return self.mwh * 1000.0 * overlap / days if days > 0 else 0.0


@dataclass(frozen=True, slots=True)
class EnterpriseInfo:
    """The registry facts about one enterprise that rollups and accounting need."""

    code: str
    timezone: str = "Asia/Shanghai"
    product: str | None = None
    industry: str | None = None
    county: str | None = None
    meters: tuple[MeterInfo, ...] = field(default_factory=tuple)
    quota_product: str | None = None  # the product's key in the quota reference data, when it differs
    output_unit: str = "t"
    co2_budgets: tuple[tuple[int, float], ...] = field(default_factory=tuple)  # (year, tCO2) from the registry
    green_purchases: tuple[GreenPurchase, ...] = field(default_factory=tuple)
    province: str | None = None  # grid-factor province key (registry `province`); None: from the credit code
    ets: bool = False  # a national carbon market participant (全国碳市场重点排放单位)
    process_co2: ProcessInputs | None = None  # registry `process_co2:` (clinker fractions, carbonates, reductants)

    def co2_budget(self, year: int) -> float | None:
        """The CO2 budget (t) for a calendar year, if the registry has one."""
        return next((budget for y, budget in self.co2_budgets if y == year), None)

    @property
    def quota_key(self) -> str | None:
        """The quota reference key of the enterprise's product (the product key itself by default)."""
        return self.quota_product or self.product

    def meter(self, meter_id: str) -> MeterInfo | None:
        return next((m for m in self.meters if m.meter_id == meter_id), None)


def _registry_carrier(quantity: str) -> str | None:
    return "electricity" if quantity in ELECTRIC_QUANTITIES else QUANTITIES[quantity].carrier


def total_carrier(enterprise: EnterpriseInfo, meter_id: str, quantity: str) -> str | None:
    """The enterprise total that (meter, counter quantity) feeds, or None when it must not be added."""
    if quantity not in TOTAL_CARRIERS:
        return None
    meter = enterprise.meter(meter_id)
    if meter is None:
        return None  # readings of a meter the registry does not know are not attributed to any total
    if meter.role == MeterRole.PV.value:
        return "pv" if quantity in ("pv_kwh", "energy_kwh") else None
    if quantity == "pv_kwh":
        return "pv"
    if quantity == "output_t":
        wanted = enterprise.product
        return "output" if wanted is None or meter.product in (None, wanted) else None
    base = _registry_carrier(quantity)
    has_main = any(m.role == MeterRole.MAIN.value and m.carrier == base for m in enterprise.meters)
    if has_main:
        return TOTAL_CARRIERS[quantity] if meter.role == MeterRole.MAIN.value else None
    return TOTAL_CARRIERS[quantity] if meter.role not in EXCLUDED_FROM_TOTALS else None


def product_carrier(enterprise: EnterpriseInfo, meter_id: str, quantity: str) -> tuple[str, str] | None:
    """(product, carrier) when the counter measures energy used for a product's process (the quota boundary).

    A meter mapped to a product in the registry (`product:`), other than output, PV and safety meters, is
    part of that product's process boundary; its energy counters add up per carrier.
    """
    meter = enterprise.meter(meter_id)
    if meter is None or not meter.product or quantity not in TOTAL_CARRIERS or quantity == "output_t":
        return None
    if meter.carrier == "output" or meter.role in (MeterRole.PV.value, MeterRole.SAFETY.value):
        return None
    if quantity in ("pv_kwh", "reactive_kvarh"):
        return None
    return meter.product, TOTAL_CARRIERS[quantity]


def _aggregate(meter_daily: pd.DataFrame, enterprises: Mapping[str, EnterpriseInfo], default_code: str | None,
               classify: Callable[[EnterpriseInfo, str, str], tuple[str, ...] | None],
               names: tuple[str, ...]) -> pd.DataFrame:
    """Sum meter-day rows into (enterprise, *names, day) groups; completeness = mean over contributing counters."""
    columns = ["enterprise", *names, "day", "value", "estimated", "completeness", "meters"]
    if meter_daily.empty:
        return pd.DataFrame(columns=columns)
    frame = meter_daily.copy()
    if "enterprise" not in frame.columns:
        frame["enterprise"] = default_code
    triples = frame[["enterprise", "meter", "quantity"]].drop_duplicates()
    mapping: dict[tuple[str, str, str], tuple[str, ...] | None] = {}
    for code, meter, quantity in triples.itertuples(index=False):
        enterprise = enterprises.get(code)
        mapping[(code, meter, quantity)] = classify(enterprise, meter, quantity) if enterprise else None
    keys = [mapping[k] for k in zip(frame["enterprise"], frame["meter"], frame["quantity"], strict=True)]
    for i, name in enumerate(names):
        frame[name] = [k[i] if k else None for k in keys]
    frame = frame[frame[names[-1]].notna()]
    if frame.empty:
        return pd.DataFrame(columns=columns)
    group = ["enterprise", *names]
    counters = frame[[*group, "meter", "quantity"]].drop_duplicates().groupby(group).size().rename("meters")
    out = frame.groupby([*group, "day"], sort=True)[["value", "estimated", "completeness"]].sum().reset_index()
    out = out.join(counters, on=group)
    out["meters"] = out["meters"].astype(int)
    out["completeness"] = (out["completeness"] / out["meters"]).clip(0.0, 1.0)
    return out[columns]


def _total_key(enterprise: EnterpriseInfo, meter_id: str, quantity: str) -> tuple[str, ...] | None:
    carrier = total_carrier(enterprise, meter_id, quantity)
    return (carrier,) if carrier else None


def enterprises_daily(meter_daily: pd.DataFrame, enterprises: Mapping[str, EnterpriseInfo]) -> pd.DataFrame:
    """`enterprise_daily` for many enterprises at once (meter-day rows carry an `enterprise` column)."""
    return _aggregate(meter_daily, enterprises, None, _total_key, ("carrier",))


def products_daily(meter_daily: pd.DataFrame, enterprises: Mapping[str, EnterpriseInfo]) -> pd.DataFrame:
    """`product_daily` for many enterprises at once."""
    return _aggregate(meter_daily, enterprises, None, product_carrier, ("product", "carrier"))


def product_daily(meter_daily: pd.DataFrame, enterprise: EnterpriseInfo) -> pd.DataFrame:
    """Per-product, per-carrier daily energy of the meters mapped to a product (see `product_carrier`)."""
    out = _aggregate(meter_daily, {enterprise.code: enterprise}, enterprise.code, product_carrier,
                     ("product", "carrier"))
    return out.drop(columns=["enterprise"])


def enterprise_daily(meter_daily: pd.DataFrame, enterprise: EnterpriseInfo) -> pd.DataFrame:
    """Per-carrier daily totals from per-meter daily rows (`meter`, `quantity`, `day`, `value`, ...).

    `completeness` is the mean over the contributing counters (a counter missing on a day counts 0).
    """
    out = _aggregate(meter_daily, {enterprise.code: enterprise}, enterprise.code, _total_key, ("carrier",))
    return out.drop(columns=["enterprise"])


def enterprise_monthly(daily: pd.DataFrame) -> pd.DataFrame:
    """Per-carrier monthly totals from `enterprise_daily` rows (missing days count 0 completeness)."""
    return monthly_from_daily(daily.drop(columns=["meters"], errors="ignore"))


def period_totals(rows: Iterable[tuple[str, float]]) -> dict[str, float]:
    """Sum (carrier, value) pairs into a dict keyed by carrier."""
    out: dict[str, float] = {}
    for carrier, value in rows:
        out[carrier] = out.get(carrier, 0.0) + float(value)
    return out
