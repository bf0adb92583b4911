"""The period's electricity bill of one enterprise from its frames: TOU period of each hour, kWh per period, the bill.

A day without a TOU edition (before 2022-01-05 in Shanxi) is not an error: its hours have no period, the warnings
name the missing reference, and CNY that needs TOU prices is None (the energy and tce figures are unaffected).
"""

from __future__ import annotations

import datetime as dt
import logging
import math
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from analytics.billing import (
    MONTH_DAYS,
    BasicCharge,
    Bill,
    DemandRules,
    ElectricityTariff,
    PeriodPrices,
    TariffError,
    basic_charge,
    compute_bill,
    period_prices,
    resolve_edition,
)
from analytics.diagnosis.finding import Valuation
from analytics.diagnosis.frames import PlantFrames
from analytics.refs import Reference

log = logging.getLogger(__name__)

UNKNOWN = ""
"""Period of an hour no TOU edition covers."""


def own_tariff(frames: PlantFrames) -> ElectricityTariff | None:
    """The enterprise's tariff from the registry (None when it has none, or the stored block cannot price)."""
    data = frames.facts.tariff
    if not data:
        return None
    try:
        return ElectricityTariff.from_registry(data)
    except (TariffError, TypeError, ValueError) as exc:
        log.warning("tariff of %s not usable (%s): the assumed tariff prices it", frames.enterprise.code, exc)
        return None


@dataclass(frozen=True, slots=True)
class TouHours:
    """Per hour of `PlantFrames.table`: its TOU period ('' without an edition) and the edition key pricing it."""

    periods: np.ndarray
    editions: np.ndarray
    prices: dict[str, PeriodPrices] = field(default_factory=dict)  # edition key ('' = no TOU) → prices
    warnings: tuple[str, ...] = ()

    @property
    def complete(self) -> bool:
        return not bool((self.periods == UNKNOWN).any())

    def sources(self) -> list[str]:
        return [p.note if p.edition is None else f"{p.edition}: {p.note}" for p in self.prices.values()]


def tou_hours(frames: PlantFrames, tariff: ElectricityTariff, reference: Reference) -> TouHours:
    """The TOU period of each local hour under the edition pricing its day (the tariff's, or the one in force)."""
    t = frames.table
    n = len(t)
    periods = np.full(n, UNKNOWN, dtype=object)
    keys = np.full(n, UNKNOWN, dtype=object)
    tariffs = getattr(reference, "tariffs_shanxi", None)
    if tariffs is None:
        return TouHours(periods, keys, {}, ("no TOU reference data (tariffs_shanxi) to price by period",))
    missing: dict[str, list[dt.date]] = {}
    prices: dict[str, PeriodPrices] = {}
    tables: dict[dt.date, tuple[str, list[str]] | None] = {}
    for day in sorted(set(t["day"])):
        try:
            found = resolve_edition(tariff, tariffs, day)
        except LookupError as exc:
            reason = str(exc).split(" (")[0].replace(str(day), "{day}")
            missing.setdefault(reason, []).append(day)
            tables[day] = None
            continue
        if found is None:
            tables[day] = ("", ["flat"] * 24)
            prices.setdefault("", period_prices(tariff, None))
            continue
        key, edition = found
        deep = False
        if edition.deep_valley is not None:
            try:
                deep = bool(tariffs.is_deep_valley_day(day).value)
            except LookupError:
                deep = False
        tables[day] = (key, edition.hourly(day.month, two_part_user=tariff.two_part, deep_valley_day=deep))
        if key not in prices:
            prices[key] = period_prices(tariff, edition,
                                        tariffs.power_factor_adjustment.bill_base.excludes)
    for i, (day, hour) in enumerate(zip(t["day"], t["hour"], strict=True)):
        entry = tables[day]
        if entry is not None:
            keys[i], periods[i] = entry[0], entry[1][hour]
    warnings = tuple(f"{reason.replace('{day}', f'{days[0]}')} and {len(days) - 1} more day(s) to {days[-1]}"
                     if len(days) > 1 else reason.replace("{day}", str(days[0]))
                     for reason, days in missing.items())
    if warnings:
        warnings = (*warnings, "TOU periods and TOU-priced CNY are null for those days (missing reference: a "
                               "time-of-use edition in tariffs_shanxi.yaml)")
    return TouHours(periods, keys, prices, warnings)


def kwh_by_period(frames: PlantFrames, hours: TouHours) -> dict[str, float]:
    """Main-meter kWh per TOU period over the hours an edition covers."""
    kwh = frames.table["kwh"].to_numpy(dtype=float)
    out: dict[str, float] = {}
    for period, q in zip(hours.periods, kwh, strict=True):
        if period != UNKNOWN and np.isfinite(q):
            out[period] = out.get(period, 0.0) + float(q)
    return out


def period_months(frames: PlantFrames) -> float:
    """The period in months for the basic charge: whole calendar months as the bill counts them, otherwise
    days / 30.4375 (pro rata)."""
    first, end = frames.first_day, frames.end_day
    if first.day == 1 and end.day == 1:
        return float((end.year - first.year) * 12 + end.month - first.month)
    return frames.days / MONTH_DAYS


def max_demand_kw(frames: PlantFrames) -> float | None:
    """Highest 15-min mean demand of the main meter(s): from `demand_kw`, else hourly kWh (a lower bound)."""
    if frames.demand_kw is not None and len(frames.demand_kw):
        return float(frames.demand_kw.max())
    kwh = frames.table["kwh"]
    return None if kwh.isna().all() else float(kwh.max())


def measured_pf(frames: PlantFrames) -> float | None:
    """The period's average power factor of the main meter(s), P / √(P² + Q²); None without reactive energy."""
    t = frames.table
    if t["kvarh"].isna().all():
        return None
    kwh, kvarh = float(np.nansum(t["kwh"])), float(np.nansum(t["kvarh"]))
    return None if kwh <= 0 else kwh / math.hypot(kwh, kvarh)


def demand_rules(reference: Reference, on: dt.date) -> DemandRules:
    tariffs = getattr(reference, "tariffs_shanxi", None)
    return DemandRules() if tariffs is None else DemandRules.from_reference(tariffs, on)


def current_basic(frames: PlantFrames, tariff: ElectricityTariff, reference: Reference) -> BasicCharge | None:
    """The basic charge on the tariff's own basis over the period (None: single-part, or capacity unknown)."""
    kva = frames.facts.contracted_kva
    rate = tariff.rate(tariff.basis) if tariff.basis else None
    if not kva or not rate or tariff.basis is None:
        return None
    kwh = float(np.nansum(frames.table["kwh"]))
    return basic_charge(tariff.basis, rate, kva, max_demand_kw(frames), period_months(frames), kwh,
                        demand_rules(reference, frames.first_day), tariff.contract_demand_kw)


def period_bill(frames: PlantFrames, value: Valuation, reference: Reference,
                power_factor: float | None = None) -> tuple[Bill | None, TouHours]:
    """The period's bill of the main meter(s) at `power_factor` (default: measured); None when an hour with kWh
    has no TOU edition (the second item's warnings say which reference is missing)."""
    tariff = value.tariff
    hours = tou_hours(frames, tariff, reference)
    kwh = frames.table["kwh"].to_numpy(dtype=float)
    if ((hours.periods == UNKNOWN) & np.isfinite(kwh)).any():
        return None, hours
    energy: dict[str, float] = {}
    by_period: dict[str, float] = {}
    unadjusted = 0.0
    for period, key, q in zip(hours.periods, hours.editions, kwh, strict=True):
        if not np.isfinite(q):
            continue
        prices = hours.prices[key]
        energy[period] = energy.get(period, 0.0) + float(q) * prices.price(period)
        by_period[period] = by_period.get(period, 0.0) + float(q)
        unadjusted += float(q) * prices.unadjusted
    notes = "; ".join(hours.sources())
    pf = measured_pf(frames) if power_factor is None else power_factor

    def adjust(p: float, standard: float) -> float:
        return float(reference.power_factor_adjustment(p, standard).value)  # type: ignore[attr-defined]

    bill = compute_bill(tariff, by_period, energy, unadjusted, basic=current_basic(frames, tariff, reference),
                        power_factor=pf, pf_adjustment=adjust, prices_note=notes)
    return bill, hours


def tariff_evidence(tariff: ElectricityTariff, hours: TouHours | None = None) -> dict[str, Any]:
    """The tariff a finding's CNY used, for its evidence."""
    out: dict[str, Any] = {"tariff": tariff.label()}
    if hours is not None:
        out["tou_prices"] = {k or "none": {p: round(v, 6) for p, v in pp.prices.items()}
                             for k, pp in hours.prices.items()}
    return out
