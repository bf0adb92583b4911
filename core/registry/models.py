"""Registry tables (SQLAlchemy 2 typed declarative). Names are binding: other packages code against them."""

from __future__ import annotations

import datetime as dt
from typing import Any

from sqlalchemy import (
    JSON,
    Boolean,
    Date,
    DateTime,
    Float,
    ForeignKey,
    ForeignKeyConstraint,
    Index,
    Integer,
    MetaData,
    String,
    Text,
    TypeDecorator,
)
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column, relationship
from sqlalchemy.sql.expression import false

from core.domain import DEFAULT_TIMEZONE

NAMING = {
    "ix": "ix_%(column_0_label)s",
    "uq": "uq_%(table_name)s_%(column_0_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}


def utcnow() -> dt.datetime:
    """Now, timezone-aware UTC (every registry timestamp is stored as UTC)."""
    return dt.datetime.now(dt.UTC).replace(microsecond=0)


class UTCDateTime(TypeDecorator[dt.datetime]):
    """A timestamp stored as naive UTC and always returned timezone-aware (SQLite keeps no offset)."""

    impl = DateTime
    cache_ok = True

    def process_bind_param(self, value: dt.datetime | None, dialect: Any) -> dt.datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError("registry timestamps must be timezone-aware")
        return value.astimezone(dt.UTC).replace(tzinfo=None)

    def process_result_value(self, value: dt.datetime | None, dialect: Any) -> dt.datetime | None:
        return None if value is None else value.replace(tzinfo=dt.UTC)


class Base(DeclarativeBase):
    metadata = MetaData(naming_convention=NAMING)


class Product(Base):
    """A product an output counter measures; `quota_key` names its entry in the quota reference data."""

    __tablename__ = "products"

    key: Mapped[str] = mapped_column(String(64), primary_key=True)
    name: Mapped[str | None] = mapped_column(String(200))
    unit: Mapped[str] = mapped_column(String(16), default="t")
    quota_key: Mapped[str | None] = mapped_column(String(64))


class Enterprise(Base):
    """An enterprise, keyed by its unified social credit code."""

    __tablename__ = "enterprises"

    code: Mapped[str] = mapped_column(String(18), primary_key=True)
    name: Mapped[str] = mapped_column(String(200))
    industry: Mapped[str] = mapped_column(String(4))  # GB/T 4754-2017 class code
    county: Mapped[str] = mapped_column(String(64))
    timezone: Mapped[str] = mapped_column(String(64), default=DEFAULT_TIMEZONE)
    product: Mapped[str | None] = mapped_column(ForeignKey("products.key"))
    contracted_capacity_kva: Mapped[float | None] = mapped_column(Float)
    address: Mapped[str | None] = mapped_column(String(300))
    created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime, default=utcnow)
    updated_at: Mapped[dt.datetime] = mapped_column(UTCDateTime, default=utcnow, onupdate=utcnow)
    province: Mapped[str | None] = mapped_column(String(32))  # grid-factor province; None: from the credit code
    ets: Mapped[bool] = mapped_column(Boolean, default=False, server_default=false())  # national carbon market
    process_co2: Mapped[dict[str, Any] | None] = mapped_column(JSON)  # clinker fractions, carbonates, reductants
    # last, as revision 0003 adds it: the bill's tariff block (core/registry/filetariff.py)
    tariff: Mapped[dict[str, Any] | None] = mapped_column(JSON)
    # last, as revision 0004 adds it: the declared shift calendar (core/registry/fileshifts.py form)
    shifts: Mapped[str | None] = mapped_column(Text)
    # last, as revision 0006 adds it: retrofit projects (core/registry/fileretrofits.py stored form)
    retrofits: Mapped[list[dict[str, Any]] | None] = mapped_column(JSON)
    # last, as revision 0007 adds them: orderly power use (core/registry/fileorderly.py)
    orderly_priority: Mapped[str | None] = mapped_column(String(16))  # None: normal
    security_kw: Mapped[float | None] = mapped_column(Float)  # declared security load (保安负荷)

    gateways: Mapped[list[Gateway]] = relationship(
        back_populates="enterprise", cascade="all, delete-orphan", order_by="Gateway.gateway_id"
    )
    meters: Mapped[list[Meter]] = relationship(
        back_populates="enterprise", cascade="all, delete-orphan", order_by="Meter.meter_id"
    )
    carbon_budgets: Mapped[list[CarbonBudget]] = relationship(
        back_populates="enterprise", cascade="all, delete-orphan", order_by="CarbonBudget.year"
    )
    green_purchases: Mapped[list[GreenPurchase]] = relationship(
        back_populates="enterprise", cascade="all, delete-orphan", order_by="GreenPurchase.period_from"
    )


class CarbonBudget(Base):
    """An enterprise's CO2 budget for one calendar year (tonnes, Scope 1 + Scope 2), e.g. a local allocation."""

    __tablename__ = "carbon_budgets"

    enterprise_code: Mapped[str] = mapped_column(ForeignKey("enterprises.code", ondelete="CASCADE"), primary_key=True)
    year: Mapped[int] = mapped_column(Integer, primary_key=True)
    budget_t: Mapped[float] = mapped_column(Float)
    note: Mapped[str | None] = mapped_column(Text)

    enterprise: Mapped[Enterprise] = relationship(back_populates="carbon_budgets")


GREEN_KINDS = ("green_certificate", "green_power_trade")
"""Green purchases: unbundled green certificates (绿证, GEC) and green power trades (绿电交易, certificates bundled)."""


class GreenPurchase(Base):
    """Green electricity an enterprise bought for the local days [period_from, period_until] (both inclusive)."""

    __tablename__ = "green_purchases"
    __table_args__ = (
        Index(
            "ix_green_purchases_identity",
            "enterprise_code",
            "kind",
            "period_from",
            "period_until",
            "reference",
            unique=True,
        ),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    enterprise_code: Mapped[str] = mapped_column(ForeignKey("enterprises.code", ondelete="CASCADE"))
    kind: Mapped[str] = mapped_column(String(32))  # GREEN_KINDS
    period_from: Mapped[dt.date] = mapped_column(Date)
    period_until: Mapped[dt.date] = mapped_column(Date)
    mwh: Mapped[float] = mapped_column(Float)
    reference: Mapped[str] = mapped_column(String(200), default="")  # certificate batch or contract number
    note: Mapped[str | None] = mapped_column(Text)

    enterprise: Mapped[Enterprise] = relationship(back_populates="green_purchases")


class Gateway(Base):
    """A gateway of an enterprise; its MQTT password is kept only as a Mosquitto PBKDF2-SHA512 hash."""

    __tablename__ = "gateways"

    enterprise_code: Mapped[str] = mapped_column(ForeignKey("enterprises.code", ondelete="CASCADE"), primary_key=True)
    gateway_id: Mapped[str] = mapped_column(String(64), primary_key=True)
    password_hash: Mapped[str | None] = mapped_column(String(255))
    description: Mapped[str | None] = mapped_column(String(300))

    enterprise: Mapped[Enterprise] = relationship(back_populates="gateways")

    @property
    def mqtt_username(self) -> str:
        """The MQTT user name of this gateway (see `mqtt_username`)."""
        return mqtt_username(self.enterprise_code, self.gateway_id)


def mqtt_username(enterprise_code: str, gateway_id: str) -> str:
    """MQTT user name of a gateway: `<credit code>.<gateway id>` ('.' occurs in neither, so it is unambiguous)."""
    return f"{enterprise_code}.{gateway_id}"


class Meter(Base):
    """A meter behind a gateway: what it measures (carrier, unit), its role, CT/PT multiplier and product."""

    __tablename__ = "meters"
    __table_args__ = (
        ForeignKeyConstraint(
            ["enterprise_code", "gateway_id"],
            ["gateways.enterprise_code", "gateways.gateway_id"],
            name="fk_meters_gateway",
        ),
    )

    enterprise_code: Mapped[str] = mapped_column(ForeignKey("enterprises.code", ondelete="CASCADE"), primary_key=True)
    meter_id: Mapped[str] = mapped_column(String(64), primary_key=True)
    gateway_id: Mapped[str | None] = mapped_column(String(64))
    carrier: Mapped[str] = mapped_column(String(32))  # core.domain.Carrier
    role: Mapped[str] = mapped_column(String(16))  # core.domain.MeterRole
    unit: Mapped[str] = mapped_column(String(16))
    multiplier: Mapped[float] = mapped_column(Float, default=1.0)
    product: Mapped[str | None] = mapped_column(ForeignKey("products.key"))
    name: Mapped[str | None] = mapped_column(String(200))
    parent_meter_id: Mapped[str | None] = mapped_column(String(64))
    rated_current_a: Mapped[float | None] = mapped_column(Float)
    contracted_capacity_kva: Mapped[float | None] = mapped_column(Float)
    temp_min_c: Mapped[float | None] = mapped_column(Float)
    temp_max_c: Mapped[float | None] = mapped_column(Float)
    register_max: Mapped[float | None] = mapped_column(Float)

    enterprise: Mapped[Enterprise] = relationship(back_populates="meters")
    events: Mapped[list[MeterEvent]] = relationship(
        back_populates="meter", cascade="all, delete-orphan", order_by="MeterEvent.at"
    )


class MeterEvent(Base):
    """Something that breaks a meter's counter series at a time: replacement, reset, new multiplier."""

    __tablename__ = "meter_events"
    __table_args__ = (
        ForeignKeyConstraint(
            ["enterprise_code", "meter_id"],
            ["meters.enterprise_code", "meters.meter_id"],
            name="fk_meter_events_meter",
            ondelete="CASCADE",
        ),
        Index("ix_meter_events_meter_at", "enterprise_code", "meter_id", "at", unique=True),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    enterprise_code: Mapped[str] = mapped_column(String(18))
    meter_id: Mapped[str] = mapped_column(String(64))
    kind: Mapped[str] = mapped_column(String(32))  # EVENT_KINDS
    at: Mapped[dt.datetime] = mapped_column(UTCDateTime)
    old_reading: Mapped[float | None] = mapped_column(Float)  # last register value of the old series
    new_reading: Mapped[float | None] = mapped_column(Float)  # first register value of the new series
    multiplier: Mapped[float | None] = mapped_column(Float)  # the multiplier from `at` on (multiplier_change)
    note: Mapped[str | None] = mapped_column(Text)

    meter: Mapped[Meter] = relationship(back_populates="events")


EVENT_KINDS = ("replaced", "reset", "multiplier_change")
"""Meter event kinds: counter replaced by a new meter, counter reset to a value, CT/PT multiplier changed."""


class Bank(Base):
    """A bank (or other lender) that reads enterprise data through the API with consent."""

    __tablename__ = "banks"

    id: Mapped[str] = mapped_column(String(64), primary_key=True)
    name: Mapped[str] = mapped_column(String(200))
    created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime, default=utcnow)


class Consent(Base):
    """An enterprise's consent that a bank reads the given scopes until a date (inclusive)."""

    __tablename__ = "consents"
    __table_args__ = (Index("ix_consents_enterprise_bank", "enterprise_code", "bank_id"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    enterprise_code: Mapped[str] = mapped_column(ForeignKey("enterprises.code", ondelete="CASCADE"))
    bank_id: Mapped[str] = mapped_column(ForeignKey("banks.id", ondelete="CASCADE"))
    scopes: Mapped[list[str]] = mapped_column(JSON)
    until: Mapped[dt.date] = mapped_column(Date)
    granted_at: Mapped[dt.datetime] = mapped_column(UTCDateTime, default=utcnow)
    revoked_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime)

    def is_active(self, today: dt.date) -> bool:
        """Granted, not revoked and not past `until` on `today`."""
        return self.revoked_at is None and today <= self.until


class ApiKey(Base):
    """A bank's API key: looked up by `key_id`, the secret kept only as an argon2id hash."""

    __tablename__ = "api_keys"

    key_id: Mapped[str] = mapped_column(String(32), primary_key=True)
    bank_id: Mapped[str] = mapped_column(ForeignKey("banks.id", ondelete="CASCADE"), index=True)
    secret_hash: Mapped[str] = mapped_column(String(255))
    created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime, default=utcnow)
    expires_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime)
    revoked_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime)

    bank: Mapped[Bank] = relationship()

    def is_usable(self, now: dt.datetime) -> bool:
        """Not revoked and not expired at `now`."""
        return self.revoked_at is None and (self.expires_at is None or now < self.expires_at)


class AuditRecord(Base):
    """One API request that reached an enterprise resource, allowed or denied (kept even if the bank goes)."""

    __tablename__ = "audit_log"
    __table_args__ = (Index("ix_audit_log_enterprise_at", "enterprise_code", "at"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    bank_id: Mapped[str | None] = mapped_column(String(64))
    enterprise_code: Mapped[str] = mapped_column(String(18))
    path: Mapped[str] = mapped_column(String(1000))
    status: Mapped[int] = mapped_column(Integer)
    at: Mapped[dt.datetime] = mapped_column(UTCDateTime, default=utcnow)


class RegistryVersion(Base):
    """One row counting committed changes to what the bank API caches (keys, consents, objections, meters…).

    `core.registry.changes` increments it in the same transaction as the change, so an API process that
    reads the counter on every request may keep those facts in memory until the counter moves.
    """

    __tablename__ = "registry_version"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)  # always 1
    version: Mapped[int] = mapped_column(Integer, default=0)
