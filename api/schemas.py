"""Response shapes, for the OpenAPI document (handlers serialise with orjson; these describe the bytes)."""

from __future__ import annotations

from pydantic import BaseModel, Field


class Check(BaseModel):
    ok: bool
    detail: str


class Health(BaseModel):
    status: str = Field(description="'ok' when every dependency answers")
    checks: dict[str, Check]


class EnterpriseItem(BaseModel):
    code: str
    name: str
    industry: str
    county: str
    scopes: list[str]
    consent_until: str = Field(description="last day (inclusive, China time) the consent lets your bank read")


class EnterpriseList(BaseModel):
    items: list[EnterpriseItem]
    next_after: str | None = Field(description="pass as `after` to read the next page; null on the last page")


class SeriesPoint(BaseModel):
    start: str = Field(description="start of the interval, local time with offset (RFC 3339)")
    value: float | None = Field(description="the interval's value; null when no reading fell in it")
    samples: int = Field(description="readings the value is computed from")
    completeness: float | None = Field(None, description="counters: share (0..1) of the interval the readings cover")
    estimated: float | None = Field(None, description="counters: part of the value interpolated across gaps")


class MeterSeries(BaseModel):
    meter: str
    role: str | None
    multiplier: float | None = Field(description=(
        "the meter's CT/PT ratio in the registry: counter consumption has it applied (by the rollups); "
        "gauge values are as the meter reported them"))
    points: list[SeriesPoint]


class Objection(BaseModel):
    id: int
    indicator: str
    period: str | None
    text: str
    opened_at: str


class Series(BaseModel):
    enterprise: str
    quantity: str
    unit: str
    kind: str = Field(description="'gauge' (instantaneous) or 'counter' (consumption per interval)")
    aggregation: str = Field(description="how an interval's value is formed: 'mean' (gauges) or 'sum' (counters)")
    interval: str
    timezone: str
    period: dict[str, str] = Field(description="[from, to) as local dates")
    meters: list[MeterSeries]
    objections: list[Objection]
