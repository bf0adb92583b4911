"""Tables the API owns in the registry database: rate limits, objections (异议), credit snapshots, webhooks.

They share the registry's declarative Base and its migrations (`core/registry/migrations/`), so every
process that opens the registry creates or migrates them (`core.registry.schema.upgrade_schema`, which imports
this module for the complete metadata); `ensure_tables` does it explicitly for a process that starts with the API.
"""

from __future__ import annotations

import datetime as dt

from sqlalchemy import Date, Engine, ForeignKey, Index, Integer, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from core.registry.models import Base, UTCDateTime, utcnow


class RateLimitWindow(Base):
    """Requests counted for one API key in one fixed window; shared by every API process on the database."""

    __tablename__ = "api_rate_limit"

    bucket: Mapped[str] = mapped_column(String(64), primary_key=True)
    window_start: Mapped[int] = mapped_column(Integer, primary_key=True)  # epoch seconds, multiple of the window
    count: Mapped[int] = mapped_column(Integer, default=0)


class Objection(Base):
    """An enterprise's objection (异议) to a figure; while open, every bank reading that figure sees it."""

    __tablename__ = "api_objections"
    __table_args__ = (Index("ix_api_objections_enterprise_indicator", "enterprise_code", "indicator"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    enterprise_code: Mapped[str] = mapped_column(ForeignKey("enterprises.code", ondelete="CASCADE"))
    indicator: Mapped[str] = mapped_column(String(64))
    period: Mapped[str | None] = mapped_column(String(32))  # e.g. "2026-10"; None: the figure in general
    text: Mapped[str] = mapped_column(Text)
    opened_at: Mapped[dt.datetime] = mapped_column(UTCDateTime, default=utcnow)
    resolved_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime)
    resolution: Mapped[str | None] = mapped_column(Text)


class CreditSnapshot(Base):
    """Credit indicators of one enterprise on one `as_of` day, computed after a rollup (`api.precompute`).

    The request path reads one row instead of five InfluxDB queries and an `analyze` run; the body is the
    JSON the endpoint returns (without the objections, which are added per request).
    """

    __tablename__ = "api_credit_snapshots"

    enterprise_code: Mapped[str] = mapped_column(ForeignKey("enterprises.code", ondelete="CASCADE"),
                                                 primary_key=True)
    as_of: Mapped[dt.date] = mapped_column(Date, primary_key=True)
    body: Mapped[str] = mapped_column(Text)
    computed_at: Mapped[dt.datetime] = mapped_column(UTCDateTime, default=utcnow)


class Webhook(Base):
    """A bank's endpoint for post-loan monitoring events (贷后监测), signed with a shared HMAC secret."""

    __tablename__ = "api_webhooks"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    bank_id: Mapped[str] = mapped_column(ForeignKey("banks.id", ondelete="CASCADE"), index=True)
    url: Mapped[str] = mapped_column(String(2000))
    secret: Mapped[str] = mapped_column(String(128))  # HMAC key: must be usable, so kept as issued
    events: Mapped[str] = mapped_column(String(200))  # comma-separated event types
    created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime, default=utcnow)
    revoked_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime)


class WebhookDelivery(Base):
    """One event for one webhook: its payload, attempts, outcome; unique per (webhook, event key)."""

    __tablename__ = "api_webhook_deliveries"
    __table_args__ = (
        Index("ix_api_webhook_deliveries_key", "webhook_id", "event_key", unique=True),
        Index("ix_api_webhook_deliveries_due", "state", "next_attempt_at"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    webhook_id: Mapped[int] = mapped_column(ForeignKey("api_webhooks.id", ondelete="CASCADE"))
    event_key: Mapped[str] = mapped_column(String(200))  # e.g. shutdown:<code>:<day>
    event_type: Mapped[str] = mapped_column(String(32))
    enterprise_code: Mapped[str] = mapped_column(String(18))
    payload: Mapped[str] = mapped_column(Text)  # the exact JSON bytes signed and sent
    state: Mapped[str] = mapped_column(String(16), default="pending")  # pending | delivered | failed
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    next_attempt_at: Mapped[dt.datetime] = mapped_column(UTCDateTime, default=utcnow)
    last_status: Mapped[int | None] = mapped_column(Integer)
    last_error: Mapped[str | None] = mapped_column(String(300))
    created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime, default=utcnow)
    delivered_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime)


def ensure_tables(engine: Engine) -> None:
    """Bring the registry schema, the API's tables included, to the current revision (core.registry.schema)."""
    from core.registry.schema import upgrade_schema

    upgrade_schema(engine)
