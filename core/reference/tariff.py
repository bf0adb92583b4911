"""Shanxi industrial electricity tariffs: time-of-use editions, two-part tariff, power-factor adjustment."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime
from decimal import ROUND_HALF_UP, Decimal
from typing import Annotated, Literal
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

import chinese_calendar
from pydantic import AfterValidator, Field, PositiveFloat, model_validator

from .base import Cited, CitedModel, CitedValue, Model, ReferenceLookupError, Text
from .quota import check_non_overlapping

Period = Literal["critical_peak", "peak", "flat", "valley", "deep_valley"]
"""TOU periods: 尖峰 (critical peak, a.k.a. sharp), 高峰, 平, 低谷, 深谷."""

BASE_PERIODS: tuple[str, ...] = ("peak", "flat", "valley")

Component = Literal["energy", "line_loss", "transmission", "system", "funds", "other"]
"""Components of a kWh price on a Shanxi bill: 上网/代理购电 energy price, 上网环节线损, 输配电价 (energy part),
系统运行费用, 政府性基金及附加, and `other` (anything else the bill lists per kWh; never floats)."""
COMPONENTS: tuple[str, ...] = Component.__args__  # type: ignore[attr-defined]


def _span(value: tuple[int, int]) -> tuple[int, int]:
    start, end = value
    if not 0 <= start < end <= 24:
        raise ValueError(f"hours [{start}, {end}) must satisfy 0 <= start < end <= 24")
    return value


Span = Annotated[tuple[int, int], AfterValidator(_span)]
Month = Annotated[int, Field(ge=1, le=12)]


def _hours(spans: list[tuple[int, int]]) -> list[int]:
    return [h for start, end in spans for h in range(start, end)]


class Season(Model):
    """Months of a season and the peak/flat/valley hours that cover its 24 hours exactly once."""

    months: list[Month]
    periods: dict[Literal["peak", "flat", "valley"], list[Span]]

    @model_validator(mode="after")
    def _covers_day(self) -> Season:
        missing = [p for p in BASE_PERIODS if p not in self.periods]
        if missing:
            raise ValueError(f"periods missing: {missing}")
        seen: dict[int, str] = {}
        for period, spans in self.periods.items():
            for hour in _hours(spans):
                if hour in seen:
                    raise ValueError(f"hour {hour}:00 is in both {seen[hour]} and {period}")
                seen[hour] = period
        uncovered = sorted(set(range(24)) - set(seen))
        if uncovered:
            raise ValueError(f"hours not covered by any period: {', '.join(f'{h}:00' for h in uncovered)}")
        return self

    def hourly(self) -> list[str]:
        """The base period of each hour 0..23."""
        table = [""] * 24
        for period, spans in self.periods.items():
            for hour in _hours(spans):
                table[hour] = period
        return table


class CriticalPeakRule(Model):
    """Critical-peak hours (an overlay on peak hours) in some months, for some users."""

    months: list[Month]
    hours: list[Span]
    users: Literal["all", "two_part", "unclear"]
    note: str | None = None


HOLIDAY_NAMES: dict[str, str] = {
    "元旦": "New Year's Day",
    "春节": "Spring Festival",
    "清明节": "Tomb-sweeping Day",
    "劳动节": "Labour Day",
    "端午节": "Dragon Boat Festival",
    "中秋节": "Mid-autumn Festival",
    "国庆节": "National Day",
}
"""Chinese holiday names in the notices -> the names the chinesecalendar library uses."""


class DeepValleyRule(Model):
    """Deep-valley hours (an overlay on valley hours) on the days of some public holidays."""

    holidays: list[Literal["元旦", "春节", "清明节", "劳动节", "端午节", "中秋节", "国庆节"]]
    hours: list[Span]
    note: str | None = None


class Ratios(Model):
    """Price of each period as a multiple of the flat price."""

    peak: PositiveFloat
    flat: PositiveFloat
    valley: PositiveFloat
    critical_peak: PositiveFloat | None = None
    deep_valley: PositiveFloat | None = None

    @model_validator(mode="after")
    def _ordered(self) -> Ratios:
        if self.flat != 1.0:
            raise ValueError(f"flat ratio must be 1.0, got {self.flat}")
        if not self.valley < self.flat < self.peak:
            raise ValueError(f"ratios must satisfy valley < flat < peak, got {self.valley}, {self.flat}, {self.peak}")
        if self.critical_peak is not None and self.critical_peak < self.peak:
            raise ValueError(f"critical_peak ratio {self.critical_peak} below peak {self.peak}")
        if self.deep_valley is not None and self.deep_valley > self.valley:
            raise ValueError(f"deep_valley ratio {self.deep_valley} above valley {self.valley}")
        return self


class Floating(CitedModel):
    """The price components the period ratios apply to under an edition (the others are the same in every period)."""

    components: list[Component] = Field(min_length=1)


class TouEdition(CitedModel):
    """One Shanxi time-of-use notice, in force on [valid_from, valid_to)."""

    number: Text
    title: Text
    signed: date | None = None
    published: date | None = None
    valid_from: date
    valid_to: date | None
    basis: list[str] = Field(default_factory=list)
    official_url: str | None = None
    scope: str | None = None
    quote: str | None = None
    corroboration: str | None = None
    ratios: Ratios
    floating: Floating
    seasons: dict[str, Season]
    critical_peak: list[CriticalPeakRule] = Field(default_factory=list)
    deep_valley: DeepValleyRule | None = None
    open_questions: list[str] = Field(default_factory=list)

    @model_validator(mode="after")
    def _check(self) -> TouEdition:
        if self.valid_to is not None and self.valid_to <= self.valid_from:
            raise ValueError(f"valid_to {self.valid_to} must be after valid_from {self.valid_from}")
        owner: dict[int, str] = {}
        for name, season in self.seasons.items():
            for month in season.months:
                if month in owner:
                    raise ValueError(f"month {month} is in both seasons {owner[month]} and {name}")
                owner[month] = name
        if len(owner) != 12:
            raise ValueError(f"months without a season: {sorted(set(range(1, 13)) - set(owner))}")
        for i, rule in enumerate(self.critical_peak):
            if self.ratios.critical_peak is None:
                raise ValueError("critical_peak hours given but no critical_peak ratio")
            for month in rule.months:
                base = self.seasons[owner[month]].hourly()
                off_peak = [h for h in _hours(rule.hours) if base[h] != "peak"]
                if off_peak:
                    raise ValueError(f"critical_peak[{i}]: hour {off_peak[0]}:00 in month {month} is not a peak hour")
        if self.deep_valley is not None:
            if self.ratios.deep_valley is None:
                raise ValueError("deep_valley hours given but no deep_valley ratio")
            for name, season in self.seasons.items():
                base = season.hourly()
                outside = [h for h in _hours(self.deep_valley.hours) if base[h] != "valley"]
                if outside:
                    raise ValueError(f"deep_valley: hour {outside[0]}:00 is not a valley hour in season {name}")
        return self

    def in_force(self, on: date) -> bool:
        return self.valid_from <= on and (self.valid_to is None or on < self.valid_to)

    def season_of(self, month: int) -> str:
        for name, season in self.seasons.items():
            if month in season.months:
                return name
        raise ReferenceLookupError(f"month {month} is not in any season of {self.number}")

    def hourly(self, month: int, *, two_part_user: bool = True, deep_valley_day: bool = False) -> list[str]:
        """The period of each hour 0..23 in `month`, with the critical-peak and deep-valley overlays applied."""
        table = self.seasons[self.season_of(month)].hourly()
        for rule in self.critical_peak:
            applies = rule.users == "all" or (two_part_user and rule.users in ("two_part", "unclear"))
            if applies and month in rule.months:
                for hour in _hours(rule.hours):
                    table[hour] = "critical_peak"
        if deep_valley_day and self.deep_valley is not None:
            for hour in _hours(self.deep_valley.hours):
                table[hour] = "deep_valley"
        return table

    def ratio(self, period: str) -> float:
        value = getattr(self.ratios, period)
        if value is None:
            raise ReferenceLookupError(f"{self.number} has no {period} ratio")
        return float(value)


@dataclass(frozen=True, slots=True)
class TouSpan:
    """Hours [start, end) of one period."""

    start: int
    end: int
    period: str


class DemandDiscount(CitedModel):
    valid_from: date
    min_kwh_per_kva: PositiveFloat
    demand_rate_share: float = Field(gt=0, le=1)
    text: Text


class DemandFloor(CitedModel):
    """Demand billing: billed demand at least `share_of_capacity` × the kVA of transformers and HV motors (as kW);
    above `over_contract_share` × a contracted demand, the excess is billed `over_contract_multiplier` times."""

    share_of_capacity: float = Field(gt=0, lt=1)
    over_contract_share: float = Field(ge=1)
    over_contract_multiplier: float = Field(ge=1)
    text: Text


class TwoPartTariff(Model):
    applies_to: Text
    capacity_charge: CitedValue
    demand_charge: CitedValue
    demand_discount: DemandDiscount | None = None
    demand_floor: DemandFloor


@dataclass(frozen=True, slots=True)
class TwoPartCharges:
    """Basic-charge rates of the two-part tariff on a date; `value` None means unknown (see the mark)."""

    applies_to: str
    capacity_cny_per_kva_month: Cited[float | None]
    demand_cny_per_kw_month: Cited[float | None]
    demand_discount: Cited[float] | None  # share of the demand rate paid, with the rule in `note`
    demand_discount_min_kwh_per_kva: float | None


class PenaltyStep(Model):
    down_to: float = Field(ge=0, le=1)
    pct_per_step: PositiveFloat


class CreditStep(Model):
    up_to: float = Field(ge=0, le=1)
    pct_per_step: float = Field(lt=0)


def _hundredths(value: float) -> int:
    """A power factor in hundredths, rounded half up (0.855 -> 86)."""
    return int((Decimal(str(value)) * 100).quantize(Decimal(1), rounding=ROUND_HALF_UP))


class PfTable(CitedModel):
    """Power-factor adjustment for one standard: % of the month's bill per 0.01 away from the standard."""

    text: dict[str, str] = Field(default_factory=dict)
    penalty: list[PenaltyStep]
    credit: list[CreditStep]
    checks: dict[float, float] = Field(default_factory=dict)

    @model_validator(mode="after")
    def _steps(self) -> PfTable:
        downs = [s.down_to for s in self.penalty]
        if downs != sorted(downs, reverse=True) or len(set(downs)) != len(downs) or downs[-1:] != [0.0]:
            raise ValueError(f"penalty down_to must strictly decrease and end at 0.00, got {downs}")
        ups = [s.up_to for s in self.credit]
        if ups != sorted(ups) or len(set(ups)) != len(ups):
            raise ValueError(f"credit up_to must strictly increase, got {ups}")
        return self

    def adjustment(self, pf: float, standard: float) -> float:
        """% added to (positive) or cut from (negative) the bill at power factor `pf`."""
        if not 0 <= pf <= 1:
            raise ReferenceLookupError(f"power factor must be within 0..1, got {pf}")
        n, s = _hundredths(pf), _hundredths(standard)
        total = Decimal(0)
        current = s
        if n < s:
            for step in self.penalty:
                floor = max(_hundredths(step.down_to), n)
                if floor < current:
                    total += (current - floor) * Decimal(str(step.pct_per_step))
                    current = floor
                if current == n:
                    break
        else:
            for step in self.credit:
                ceiling = min(_hundredths(step.up_to), n)
                if ceiling > current:
                    total += (ceiling - current) * Decimal(str(step.pct_per_step))
                    current = ceiling
                if current == n:
                    break
        return float(total)


class PfStandard(Model):
    standard: float = Field(gt=0, le=1)
    applies_to: Text


class PfBillBase(CitedModel):
    """What the adjustment % applies to: the month's basic charge plus the kWh charges without `excludes`."""

    excludes: list[Component] = Field(default_factory=list)
    text: Text


class PowerFactorAdjustment(Model):
    method: Text
    standards: list[PfStandard]
    tables: dict[str, PfTable]
    bill_base: PfBillBase

    @model_validator(mode="after")
    def _check(self) -> PowerFactorAdjustment:
        known = {s.standard for s in self.standards}
        for key, table in self.tables.items():
            try:
                standard = float(key)
            except ValueError:
                raise ValueError(f"tables.{key}: key must be the standard power factor, e.g. '0.90'") from None
            if standard not in known:
                raise ValueError(f"tables.{key}: not one of the standards {sorted(known)}")
            for pf, expected in table.checks.items():
                got = table.adjustment(pf, standard)
                if abs(got - expected) > 1e-9:
                    raise ValueError(
                        f"tables.{key}: check failed, pf {pf} gives {got:+g} %, the table says {expected:+g} %"
                    )
        return self

    def table(self, standard: float) -> PfTable:
        for key, table in self.tables.items():
            if abs(float(key) - standard) < 1e-9:
                return table
        raise ReferenceLookupError(
            f"no power-factor adjustment table for standard {standard:.2f} (tables: {sorted(self.tables)})"
        )


class Tariffs(Model):
    """The tariffs_shanxi.yaml file."""

    region: Text
    timezone: Text
    editions: dict[str, TouEdition]
    prices: dict[str, CitedValue]
    two_part_tariff: TwoPartTariff
    power_factor_adjustment: PowerFactorAdjustment

    @model_validator(mode="after")
    def _check(self) -> Tariffs:
        try:
            ZoneInfo(self.timezone)
        except (ZoneInfoNotFoundError, ValueError):
            raise ValueError(f"unknown timezone {self.timezone!r}") from None
        if not self.editions:
            raise ValueError("at least one time-of-use edition is needed")
        check_non_overlapping(self.editions, "editions")
        return self

    def edition_on(self, on: date) -> tuple[str, TouEdition]:
        """The time-of-use edition in force on `on`."""
        for name, edition in self.editions.items():
            if edition.in_force(on):
                return name, edition
        spans = ", ".join(f"{n}: {e.valid_from} to {e.valid_to or 'now'}" for n, e in self.editions.items())
        raise ReferenceLookupError(f"no {self.region} time-of-use edition in force on {on} ({spans})")

    def local(self, moment: datetime) -> datetime:
        """`moment` in the tariff's local time (naive datetimes are taken as local already)."""
        return moment if moment.tzinfo is None else moment.astimezone(ZoneInfo(self.timezone))

    def periods(
        self, on_date: date, month: int | None = None, *, two_part_user: bool = True, deep_valley_day: bool = False
    ) -> Cited[tuple[TouSpan, ...]]:
        """The day's periods as hour spans, from the edition in force on `on_date` and the season of `month`."""
        _, edition = self.edition_on(on_date)
        table = edition.hourly(month or on_date.month, two_part_user=two_part_user, deep_valley_day=deep_valley_day)
        spans: list[TouSpan] = []
        start = 0
        for hour in range(1, 25):
            if hour == 24 or table[hour] != table[start]:
                spans.append(TouSpan(start, hour, table[start]))
                start = hour
        return Cited(tuple(spans), "h", _edition_source(edition), edition.confidence)

    def period_of(self, moment: datetime, *, two_part_user: bool = True, deep_valley_day: bool = False) -> Cited[str]:
        """The period (critical_peak, peak, flat, valley, deep_valley) that `moment` falls in."""
        local = self.local(moment)
        _, edition = self.edition_on(local.date())
        table = edition.hourly(local.month, two_part_user=two_part_user, deep_valley_day=deep_valley_day)
        return Cited(table[local.hour], "1", _edition_source(edition), edition.confidence)

    def price(
        self,
        moment: datetime,
        flat_price: float | None = None,
        *,
        two_part_user: bool = True,
        deep_valley_day: bool = False,
    ) -> Cited[float]:
        """Energy price (CNY/kWh) at `moment`: the flat price times the period's ratio.

        The flat price changes monthly (代理购电 tables) so the caller normally passes it; without it the data's
        `prices.flat_price` is used, which is unknown unless the override file sets it.
        """
        local = self.local(moment)
        _, edition = self.edition_on(local.date())
        period = edition.hourly(local.month, two_part_user=two_part_user, deep_valley_day=deep_valley_day)[local.hour]
        ratio = edition.ratio(period)
        if flat_price is None:
            if "flat_price" not in self.prices:
                raise ReferenceLookupError("no flat price: pass flat_price or set prices.flat_price in the override")
            base = self.prices["flat_price"].cited("the flat electricity price")
            flat, note = base.value, f"flat price {base.value:g} CNY/kWh from {base.source} ({base.confidence})"
        else:
            if flat_price <= 0:
                raise ReferenceLookupError(f"flat price must be positive, got {flat_price}")
            flat, note = flat_price, f"flat price {flat_price:g} CNY/kWh given by the caller"
        return Cited(
            flat * ratio, "CNY/kWh", _edition_source(edition), edition.confidence, f"{period} x {ratio:g}; {note}"
        )

    def is_deep_valley_day(self, on_date: date) -> Cited[bool]:
        """Whether `on_date` is a statutory rest day of a holiday with deep-valley hours in the edition in force.

        Read as the official rest days (chinesecalendar) of the named holidays; the sources give no exact ranges.
        """
        _, edition = self.edition_on(on_date)
        rule = edition.deep_valley
        if rule is None:
            return Cited(False, "1", _edition_source(edition), edition.confidence, "no deep-valley rule")
        try:
            is_holiday, name = chinese_calendar.get_holiday_detail(on_date)
        except NotImplementedError:
            raise ReferenceLookupError(f"the holiday calendar does not cover {on_date}") from None
        wanted = {HOLIDAY_NAMES[h] for h in rule.holidays}
        note = "statutory rest days of " + "/".join(rule.holidays) + " (chinesecalendar); " + (rule.note or "")
        return Cited(bool(is_holiday and name in wanted), "1", _edition_source(edition), edition.confidence, note)

    def pf_adjustment(self, pf: float, standard: float = 0.90) -> Cited[float]:
        """Adjustment (% of the month's basic + energy charges; + is a surcharge) for power factor `pf`."""
        table = self.power_factor_adjustment.table(standard)
        return Cited(
            table.adjustment(pf, standard),
            "%",
            f"{self.power_factor_adjustment.method}; {table.source}",
            table.confidence,
            f"power factor {_hundredths(pf) / 100:.2f} against standard {standard:.2f}",
        )

    def two_part_charges(self, on_date: date) -> TwoPartCharges:
        """Capacity and demand rates (values None while unknown) and the demand discount in force on `on_date`."""
        tp = self.two_part_tariff
        discount = None
        min_kwh = None
        if tp.demand_discount is not None and on_date >= tp.demand_discount.valid_from:
            d = tp.demand_discount
            discount = Cited(d.demand_rate_share, "1", d.source, d.confidence, d.text)
            min_kwh = d.min_kwh_per_kva
        return TwoPartCharges(
            applies_to=tp.applies_to,
            capacity_cny_per_kva_month=_maybe(tp.capacity_charge),
            demand_cny_per_kw_month=_maybe(tp.demand_charge),
            demand_discount=discount,
            demand_discount_min_kwh_per_kva=min_kwh,
        )


def _maybe(value: CitedValue) -> Cited[float | None]:
    return Cited(value.value, value.unit, value.source, value.confidence, value.note)


def _edition_source(edition: TouEdition) -> str:
    if edition.number in edition.source:
        return edition.source
    return f"{edition.number}; {edition.source}"
