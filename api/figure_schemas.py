"""200 bodies of the figure endpoints, for the OpenAPI document only (issue #7).

The handlers keep returning the orjson bytes built by `api.figures` / `api.warehouse`; these models are
attached with `responses={200: {"model": ...}}` (not `response_model`), so FastAPI never filters or coerces
a body. Required keys and types follow docs/api.md; evidence objects are open (`additionalProperties`)
because they carry the inputs of `enerdiag analyze` and the safety summary as they are.
"""

from __future__ import annotations

from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field

from api.schemas import Objection

Number = float | None
"""A figure that is null when it cannot be computed (no data, division by zero, non-finite)."""


class Open(BaseModel):
    """An object whose listed keys are always present and which may carry more (evidence)."""

    model_config = ConfigDict(extra="allow", populate_by_name=True)


class Closed(BaseModel):
    model_config = ConfigDict(extra="forbid", populate_by_name=True)


class Period(Open):
    start: str = Field(alias="from", description="first day (or local time), inclusive")
    end: str = Field(alias="to", description="end, exclusive")


class TotalMeter(Closed):
    meter: str
    quantity: str
    carrier: str
    role: str | None


class ProfileEvidence(Open):
    period: Period
    completeness_by_carrier: dict[str, Number]
    tce_method: str | None
    co2: dict[str, Any]
    quota: dict[str, Any]
    coefficients: dict[str, Any] = Field(description="the `evidence` of `enerdiag analyze`: coefficients and sources")
    warnings: list[str]


class ProfileMonth(Closed):
    month: str = Field(pattern=r"^\d{4}-\d{2}$")
    energy: dict[str, Number] = Field(description="per carrier, CONTRACTS.md section 6 units")
    tce: Number
    co2_t: Number
    output_t: Number
    intensity_kgce_per_t: Number
    completeness: float = Field(description="the lowest carrier completeness of the month, 0..1")
    evidence: ProfileEvidence


class Profile(Closed):
    enterprise: str
    start: str = Field(alias="from", description="first month, YYYY-MM")
    end: str = Field(alias="to", description="last month, YYYY-MM, inclusive")
    timezone: str
    meters: list[TotalMeter] = Field(description="the meters whose counters make the totals")
    months: list[ProfileMonth]
    objections: list[Objection]


class Sufficiency(Closed):
    sufficient: bool
    needs: str = Field(description="the rule in words")
    coverage: dict[str, Any] = Field(description="what the window had: months or days counted, completeness")


class Insufficient(Closed):
    """A figure left null because its window lacks the data it needs (docs/api.md, "Data sufficiency")."""

    period: Period
    window: str | None
    completeness: Number
    coverage: dict[str, Any]
    needs: str


class IndicatorEvidence(Open):
    """What one credit indicator was computed from: `formula` or `source`, and its inputs."""

    period: Period
    meters: list[TotalMeter | str] = Field(description="total meters; meter ids for the safety indicators")
    completeness: Number = Field(description="null for safety alarms (events)")
    inputs: dict[str, Any]
    formula: str | None = None
    source: str | None = None
    window: str | None = Field(None, description="the window in words, e.g. `12 months 2025-11 to 2026-10`")
    sufficiency: Sufficiency | None = Field(None, description="the data-sufficiency rule of the figure and the "
                                                              "coverage it had (absent for safety alarms)")


class CreditEvidence(Open):
    activity_index: IndicatorEvidence
    utilisation: IndicatorEvidence
    trend_mom: IndicatorEvidence
    trend_yoy: IndicatorEvidence
    stability_cv: IndicatorEvidence
    shutdown_days_90d: IndicatorEvidence
    no_data_days_90d: IndicatorEvidence
    quota_status: IndicatorEvidence
    carbon_intensity_t_per_t: IndicatorEvidence
    green_share: IndicatorEvidence
    completeness: IndicatorEvidence
    open_critical_safety_alarms: IndicatorEvidence
    safety_alarms_90d: IndicatorEvidence


class Anomaly(Closed):
    kind: Literal["shutdown_day", "data_gap"]
    day: str
    electricity_kwh: Number = Field(None, description="shutdown days")
    completeness: Number = Field(None, description="days without data")


class SafetyCounts(Closed):
    critical: int
    alarm: int
    pre_alarm: int


class CreditIndicators(Closed):
    enterprise: str
    timezone: str
    as_of: str
    reference_month: str = Field(pattern=r"^\d{4}-\d{2}$", description="the last complete month before as_of")
    activity_index: int | None = Field(description="null when fewer than 10 of the 12 months are ≥ 80 % complete")
    utilisation: Number
    trend_mom: Number
    trend_yoy: Number
    stability_cv: Number
    shutdown_days_90d: int | None = Field(description="stops seen in the data; null with < 60 measured days")
    no_data_days_90d: int = Field(description="days of the 90 with completeness < 0.5 (not counted as shutdowns)")
    quota_status: str | None = Field(description="ok, over_quota or n/a; null when the data are insufficient")
    carbon_intensity_t_per_t: Number
    green_share: Number
    completeness: float
    open_critical_safety_alarms: int
    safety_alarms_90d: SafetyCounts
    anomalies: list[Anomaly]
    insufficient: dict[str, Insufficient] = Field(description="each figure that is null for lack of data: its "
                                                              "window, coverage and what it needs")
    evidence: CreditEvidence
    warnings: list[str]
    objections: list[Objection]
    computed_at: str | None = Field(None, description="when the figures were precomputed after a rollup (absent: "
                                                      "computed for this request)")


class Outage(Closed):
    meter: str
    start: str
    end: str = Field(description="local ISO time, exclusive")
    hours: int
    kind: Literal["no_data", "no_load", "mixed"]
    no_data_hours: int
    no_load_hours: int


class Excursion(Closed):
    meter: str
    side: Literal["above", "below"]
    start: str
    end: str
    ended: bool
    minutes: Number
    readings: int
    peak_c: Number
    deviation_c: Number


class Refrigeration(Closed):
    meter: str
    continuity: Number
    completeness: Number
    hours: int
    running_hours: int
    no_load_hours: int
    no_data_hours: int
    energy_kwh: Number
    median_hour_kwh: Number


class Temperature(Closed):
    meter: str
    band_c: list[float] | None = Field(description="[temp_min_c, temp_max_c]; null when the registry has none")
    completeness: Number
    readings: int
    hours_with_readings: int
    hours_in_band: int
    in_band_share: Number
    min_c: Number
    max_c: Number
    excursions: int


class WarehousePeriod(Period):
    hours: int


class WarehouseEvidence(Open):
    period: WarehousePeriod
    meters: list[dict[str, Any]]
    completeness: Number
    sources: dict[str, str]
    rules: dict[str, str]


class Warehouse(Closed):
    enterprise: str
    timezone: str
    start: str = Field(alias="from")
    end: str = Field(alias="to")
    continuity: Number = Field(description="the lowest refrigeration meter's; null without refrigeration meters, "
                                           "or when one of them is < 80 % complete (see `insufficient`)")
    insufficient: dict[str, dict[str, Any]] = Field(description="figures null for lack of data: `continuity`")
    completeness: Number
    outage_hours: int
    outages: list[Outage]
    excursion_minutes: Number
    excursions: list[Excursion]
    refrigeration: list[Refrigeration]
    temperature: list[Temperature]
    evidence: WarehouseEvidence
    warnings: list[str]
    objections: list[Objection]


class Baseline(Open):
    months: list[dict[str, Any]] = Field(description="month, electricity_kwh, output_t, kwh_per_t")
    kwh_per_t: Number


class OrderEvidence(Open):
    period: Period
    measured_output_t: Number
    output_coverage: Number
    electricity_kwh: Number
    electricity_completeness: Number
    baseline: Baseline
    insufficient: list[str] = Field(description="why the output is not measured, or not available at all")
    rules: dict[str, Any]
    meters: list[TotalMeter]


class OrderVerification(Closed):
    enterprise: str
    timezone: str
    expected_output_t: float
    method: Literal["measured", "estimated_from_electricity", "unavailable"]
    output_t: Number
    uncertainty_t: Number
    ratio_to_expected: Number
    shortfall_t: Number
    evidence: OrderEvidence
    objections: list[Objection]


def documented(model: type[BaseModel], description: str) -> dict[int | str, dict[str, Any]]:
    """`responses=` entry that documents the 200 body as `model` without FastAPI validating the answer."""
    return {200: {"model": model, "description": description}}
