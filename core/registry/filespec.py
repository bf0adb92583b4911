"""The registry file's vocabulary: allowed keys, the validated specs (plain data) and the error type."""

from __future__ import annotations

import datetime as dt
import re
from dataclasses import dataclass, field
from typing import Any

PRODUCT_KEY = re.compile(r"^[a-z0-9][a-z0-9_]{0,63}$")
INDUSTRY_CODE = re.compile(r"^\d{4}$")
OUTPUT_UNITS = ("t", "m2")  # ceramic-tile quotas are per m2 (GB 21252); everything else per tonne

TOP_KEYS = {"enterprises", "banks", "consents", "products", "carbon_budgets", "green_power"}
PRODUCT_KEYS = {"key", "name", "unit", "quota"}
ENTERPRISE_KEYS = {
    "code",
    "name",
    "industry",
    "county",
    "timezone",
    "product",
    "contracted_capacity_kva",
    "address",
    "gateways",
    "meters",
    "carbon_budgets",
    "green_power",
    "province",
    "ets",
    "process_co2",
    "tariff",
    "shifts",
    "retrofits",
    "orderly",
}
GATEWAY_KEYS = {"id", "password", "password_hash", "description"}
METER_KEYS = {
    "id",
    "gateway",
    "carrier",
    "role",
    "multiplier",
    "product",
    "unit",
    "name",
    "parent",
    "rated_current_a",
    "contracted_capacity_kva",
    "temp_min_c",
    "temp_max_c",
    "register_max",
    "events",
}
EVENT_KEYS = {"kind", "at", "old_reading", "new_reading", "multiplier", "note"}
BANK_KEYS = {"id", "name"}
CONSENT_KEYS = {"enterprise", "bank", "scopes", "until", "granted_at"}
BUDGET_KEYS = {"year", "budget_t", "note"}
GREEN_KEYS = {"type", "from", "until", "mwh", "reference", "note"}
TOP_BUDGET_KEYS = BUDGET_KEYS | {"enterprise"}
TOP_GREEN_KEYS = GREEN_KEYS | {"enterprise"}
PROCESS_KEYS = {"clinker", "carbonates", "reductants", "product_carbon", "source"}
CLINKER_KEYS = {"cao", "mgo", "cao_non_carbonate", "mgo_non_carbonate", "dust_t_per_t"}
CARBONATE_KEYS = {"mineral", "t_per_output", "fraction", "calcination"}
REDUCTANT_KEYS = {"material", "t_per_output", "carbon"}


class RegistryFileError(ValueError):
    """A registry file that cannot be loaded; `errors` lists every problem as 'FILE:LINE: field: why'."""

    def __init__(self, errors: list[str]) -> None:
        super().__init__("\n".join(errors))
        self.errors = errors


# ---------------------------------------------------------------- validated specs (pure data)


@dataclass
class ProductSpec:
    key: str
    name: str | None
    unit: str
    quota_key: str | None


@dataclass
class GatewaySpec:
    gateway_id: str
    password: str | None
    password_hash: str | None
    description: str | None


@dataclass
class EventSpec:
    kind: str
    at: dt.datetime
    old_reading: float | None
    new_reading: float | None
    multiplier: float | None
    note: str | None


@dataclass
class MeterSpec:
    meter_id: str
    gateway_id: str | None
    carrier: str
    role: str
    unit: str
    multiplier: float
    product: str | None
    name: str | None
    parent: str | None
    rated_current_a: float | None
    contracted_capacity_kva: float | None
    temp_min_c: float | None
    temp_max_c: float | None
    register_max: float | None
    events: list[EventSpec]


@dataclass
class EnterpriseSpec:
    code: str
    name: str
    industry: str
    county: str
    timezone: str
    product: str | None
    contracted_capacity_kva: float | None
    address: str | None
    gateways: list[GatewaySpec]
    meters: list[MeterSpec]
    province: str | None = None  # grid-factor province key (emission_factors.yaml grid_provinces)
    ets: bool = False  # national carbon market participant
    process_co2: dict[str, Any] | None = None  # analytics.process_co2.ProcessInputs.to_json form
    tariff: dict[str, Any] | None = None  # the bill's tariff block, checked (core/registry/filetariff.py)
    shifts: str | None = None  # the declared shift calendar, stored form of core.registry.fileshifts
    retrofits: list[dict[str, Any]] | None = None  # retrofit projects, stored form of core.registry.fileretrofits
    retrofit_banks: list[tuple[str, str]] = field(default_factory=list)  # (bank, 'FILE:LINE: path') to check
    orderly_priority: str | None = None  # orderly-use priority class (core/registry/fileorderly.py); None: normal
    security_kw: float | None = None  # declared security load (保安负荷), kW


@dataclass
class BudgetSpec:
    enterprise: str
    year: int
    budget_t: float
    note: str | None
    where: str  # 'FILE:LINE: path', for the reference check against the database


@dataclass
class GreenSpec:
    enterprise: str
    kind: str
    period_from: dt.date
    period_until: dt.date
    mwh: float
    reference: str
    note: str | None
    where: str


@dataclass
class BankSpec:
    bank_id: str
    name: str


@dataclass
class ConsentSpec:
    enterprise: str
    bank: str
    scopes: list[str]
    until: dt.date
    granted_at: dt.datetime | None
    enterprise_where: str  # 'FILE:LINE: consents[i].enterprise', for references checked against the database
    bank_where: str


@dataclass
class RegistrySpec:
    products: list[ProductSpec] = field(default_factory=list)
    enterprises: list[EnterpriseSpec] = field(default_factory=list)
    banks: list[BankSpec] = field(default_factory=list)
    consents: list[ConsentSpec] = field(default_factory=list)
    budgets: list[BudgetSpec] = field(default_factory=list)  # under enterprises and top level
    green: list[GreenSpec] = field(default_factory=list)
    undeclared_products: set[str] = field(default_factory=set)  # quota keys used without a products entry
