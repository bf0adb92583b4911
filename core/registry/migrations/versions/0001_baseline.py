"""Baseline: the registry schema as `Base.metadata.create_all` made it before migrations (core + API tables).

Written out, not derived from the models, so it stays what it was when the models change. A database that
`create_all` made earlier is adopted (`core.registry.schema`): its tables are kept, only missing ones are
created here (`config.attributes["existing_tables"]`), and the revision is recorded.

Revision ID: 0001_baseline
Revises:
Create Date: 2026-11-26
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import context, op

revision: str = "0001_baseline"
down_revision: str | None = None
branch_labels: str | None = None
depends_on: str | None = None

TABLES = (
    "products", "enterprises", "banks", "registry_version", "api_rate_limit", "audit_log", "api_keys", "consents",
    "carbon_budgets", "green_purchases", "gateways", "meters", "meter_events", "api_objections",
    "api_credit_snapshots", "api_webhooks", "api_webhook_deliveries",
)
"""Every table of the baseline, parents before children."""


def _create(name: str, *elements: sa.schema.SchemaItem) -> None:
    """Create table `name` with its indexes, unless it is adopted from a `create_all` database."""
    if name in context.config.attributes.get("existing_tables", ()):
        return
    op.create_table(name, *elements)


def _cascade(columns: list[str], refcolumns: list[str], name: str) -> sa.ForeignKeyConstraint:
    return sa.ForeignKeyConstraint(columns, refcolumns, name=name, ondelete="CASCADE")


def _enterprise_fk(table: str) -> sa.ForeignKeyConstraint:
    return _cascade(["enterprise_code"], ["enterprises.code"], f"fk_{table}_enterprise_code_enterprises")


def upgrade() -> None:
    """Create the 17 registry tables (timestamps are naive-UTC DATETIME/TIMESTAMP: `UTCDateTime`'s impl)."""
    _create(
        "products",
        sa.Column("key", sa.String(64), nullable=False),
        sa.Column("name", sa.String(200), nullable=True),
        sa.Column("unit", sa.String(16), nullable=False),
        sa.Column("quota_key", sa.String(64), nullable=True),
        sa.PrimaryKeyConstraint("key", name="pk_products"),
    )
    _create(
        "enterprises",
        sa.Column("code", sa.String(18), nullable=False),
        sa.Column("name", sa.String(200), nullable=False),
        sa.Column("industry", sa.String(4), nullable=False),
        sa.Column("county", sa.String(64), nullable=False),
        sa.Column("timezone", sa.String(64), nullable=False),
        sa.Column("product", sa.String(64), nullable=True),
        sa.Column("contracted_capacity_kva", sa.Float(), nullable=True),
        sa.Column("address", sa.String(300), nullable=True),
        sa.Column("created_at", sa.DateTime(), nullable=False),
        sa.Column("updated_at", sa.DateTime(), nullable=False),
        sa.ForeignKeyConstraint(["product"], ["products.key"], name="fk_enterprises_product_products"),
        sa.PrimaryKeyConstraint("code", name="pk_enterprises"),
    )
    _create(
        "banks",
        sa.Column("id", sa.String(64), nullable=False),
        sa.Column("name", sa.String(200), nullable=False),
        sa.Column("created_at", sa.DateTime(), nullable=False),
        sa.PrimaryKeyConstraint("id", name="pk_banks"),
    )
    _create(
        "registry_version",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.PrimaryKeyConstraint("id", name="pk_registry_version"),
    )
    _create(
        "api_rate_limit",
        sa.Column("bucket", sa.String(64), nullable=False),
        sa.Column("window_start", sa.Integer(), nullable=False),
        sa.Column("count", sa.Integer(), nullable=False),
        sa.PrimaryKeyConstraint("bucket", "window_start", name="pk_api_rate_limit"),
    )
    _create(
        "audit_log",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("bank_id", sa.String(64), nullable=True),
        sa.Column("enterprise_code", sa.String(18), nullable=False),
        sa.Column("path", sa.String(1000), nullable=False),
        sa.Column("status", sa.Integer(), nullable=False),
        sa.Column("at", sa.DateTime(), nullable=False),
        sa.PrimaryKeyConstraint("id", name="pk_audit_log"),
        sa.Index("ix_audit_log_enterprise_at", "enterprise_code", "at"),
    )
    _create(
        "api_keys",
        sa.Column("key_id", sa.String(32), nullable=False),
        sa.Column("bank_id", sa.String(64), nullable=False),
        sa.Column("secret_hash", sa.String(255), nullable=False),
        sa.Column("created_at", sa.DateTime(), nullable=False),
        sa.Column("expires_at", sa.DateTime(), nullable=True),
        sa.Column("revoked_at", sa.DateTime(), nullable=True),
        _cascade(["bank_id"], ["banks.id"], "fk_api_keys_bank_id_banks"),
        sa.PrimaryKeyConstraint("key_id", name="pk_api_keys"),
        sa.Index("ix_api_keys_bank_id", "bank_id"),
    )
    _create(
        "consents",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("enterprise_code", sa.String(18), nullable=False),
        sa.Column("bank_id", sa.String(64), nullable=False),
        sa.Column("scopes", sa.JSON(), nullable=False),
        sa.Column("until", sa.Date(), nullable=False),
        sa.Column("granted_at", sa.DateTime(), nullable=False),
        sa.Column("revoked_at", sa.DateTime(), nullable=True),
        _cascade(["bank_id"], ["banks.id"], "fk_consents_bank_id_banks"),
        _enterprise_fk("consents"),
        sa.PrimaryKeyConstraint("id", name="pk_consents"),
        sa.Index("ix_consents_enterprise_bank", "enterprise_code", "bank_id"),
    )
    _create(
        "carbon_budgets",
        sa.Column("enterprise_code", sa.String(18), nullable=False),
        sa.Column("year", sa.Integer(), nullable=False),
        sa.Column("budget_t", sa.Float(), nullable=False),
        sa.Column("note", sa.Text(), nullable=True),
        _enterprise_fk("carbon_budgets"),
        sa.PrimaryKeyConstraint("enterprise_code", "year", name="pk_carbon_budgets"),
    )
    _create(
        "green_purchases",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("enterprise_code", sa.String(18), nullable=False),
        sa.Column("kind", sa.String(32), nullable=False),
        sa.Column("period_from", sa.Date(), nullable=False),
        sa.Column("period_until", sa.Date(), nullable=False),
        sa.Column("mwh", sa.Float(), nullable=False),
        sa.Column("reference", sa.String(200), nullable=False),
        sa.Column("note", sa.Text(), nullable=True),
        _enterprise_fk("green_purchases"),
        sa.PrimaryKeyConstraint("id", name="pk_green_purchases"),
        sa.Index("ix_green_purchases_identity", "enterprise_code", "kind", "period_from", "period_until", "reference",
                 unique=True),
    )
    _create(
        "gateways",
        sa.Column("enterprise_code", sa.String(18), nullable=False),
        sa.Column("gateway_id", sa.String(64), nullable=False),
        sa.Column("password_hash", sa.String(255), nullable=True),
        sa.Column("description", sa.String(300), nullable=True),
        _enterprise_fk("gateways"),
        sa.PrimaryKeyConstraint("enterprise_code", "gateway_id", name="pk_gateways"),
    )
    _create(
        "meters",
        sa.Column("enterprise_code", sa.String(18), nullable=False),
        sa.Column("meter_id", sa.String(64), nullable=False),
        sa.Column("gateway_id", sa.String(64), nullable=True),
        sa.Column("carrier", sa.String(32), nullable=False),
        sa.Column("role", sa.String(16), nullable=False),
        sa.Column("unit", sa.String(16), nullable=False),
        sa.Column("multiplier", sa.Float(), nullable=False),
        sa.Column("product", sa.String(64), nullable=True),
        sa.Column("name", sa.String(200), nullable=True),
        sa.Column("parent_meter_id", sa.String(64), nullable=True),
        sa.Column("rated_current_a", sa.Float(), nullable=True),
        sa.Column("contracted_capacity_kva", sa.Float(), nullable=True),
        sa.Column("temp_min_c", sa.Float(), nullable=True),
        sa.Column("temp_max_c", sa.Float(), nullable=True),
        sa.Column("register_max", sa.Float(), nullable=True),
        sa.ForeignKeyConstraint(["enterprise_code", "gateway_id"], ["gateways.enterprise_code", "gateways.gateway_id"],
                                name="fk_meters_gateway"),
        _enterprise_fk("meters"),
        sa.ForeignKeyConstraint(["product"], ["products.key"], name="fk_meters_product_products"),
        sa.PrimaryKeyConstraint("enterprise_code", "meter_id", name="pk_meters"),
    )
    _create(
        "meter_events",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("enterprise_code", sa.String(18), nullable=False),
        sa.Column("meter_id", sa.String(64), nullable=False),
        sa.Column("kind", sa.String(32), nullable=False),
        sa.Column("at", sa.DateTime(), nullable=False),
        sa.Column("old_reading", sa.Float(), nullable=True),
        sa.Column("new_reading", sa.Float(), nullable=True),
        sa.Column("multiplier", sa.Float(), nullable=True),
        sa.Column("note", sa.Text(), nullable=True),
        _cascade(["enterprise_code", "meter_id"], ["meters.enterprise_code", "meters.meter_id"],
                 "fk_meter_events_meter"),
        sa.PrimaryKeyConstraint("id", name="pk_meter_events"),
        sa.Index("ix_meter_events_meter_at", "enterprise_code", "meter_id", "at", unique=True),
    )
    _create(
        "api_objections",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("enterprise_code", sa.String(18), nullable=False),
        sa.Column("indicator", sa.String(64), nullable=False),
        sa.Column("period", sa.String(32), nullable=True),
        sa.Column("text", sa.Text(), nullable=False),
        sa.Column("opened_at", sa.DateTime(), nullable=False),
        sa.Column("resolved_at", sa.DateTime(), nullable=True),
        sa.Column("resolution", sa.Text(), nullable=True),
        _enterprise_fk("api_objections"),
        sa.PrimaryKeyConstraint("id", name="pk_api_objections"),
        sa.Index("ix_api_objections_enterprise_indicator", "enterprise_code", "indicator"),
    )
    _create(
        "api_credit_snapshots",
        sa.Column("enterprise_code", sa.String(18), nullable=False),
        sa.Column("as_of", sa.Date(), nullable=False),
        sa.Column("body", sa.Text(), nullable=False),
        sa.Column("computed_at", sa.DateTime(), nullable=False),
        _enterprise_fk("api_credit_snapshots"),
        sa.PrimaryKeyConstraint("enterprise_code", "as_of", name="pk_api_credit_snapshots"),
    )
    _create(
        "api_webhooks",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("bank_id", sa.String(64), nullable=False),
        sa.Column("url", sa.String(2000), nullable=False),
        sa.Column("secret", sa.String(128), nullable=False),
        sa.Column("events", sa.String(200), nullable=False),
        sa.Column("created_at", sa.DateTime(), nullable=False),
        sa.Column("revoked_at", sa.DateTime(), nullable=True),
        _cascade(["bank_id"], ["banks.id"], "fk_api_webhooks_bank_id_banks"),
        sa.PrimaryKeyConstraint("id", name="pk_api_webhooks"),
        sa.Index("ix_api_webhooks_bank_id", "bank_id"),
    )
    _create(
        "api_webhook_deliveries",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("webhook_id", sa.Integer(), nullable=False),
        sa.Column("event_key", sa.String(200), nullable=False),
        sa.Column("event_type", sa.String(32), nullable=False),
        sa.Column("enterprise_code", sa.String(18), nullable=False),
        sa.Column("payload", sa.Text(), nullable=False),
        sa.Column("state", sa.String(16), nullable=False),
        sa.Column("attempts", sa.Integer(), nullable=False),
        sa.Column("next_attempt_at", sa.DateTime(), nullable=False),
        sa.Column("last_status", sa.Integer(), nullable=True),
        sa.Column("last_error", sa.String(300), nullable=True),
        sa.Column("created_at", sa.DateTime(), nullable=False),
        sa.Column("delivered_at", sa.DateTime(), nullable=True),
        _cascade(["webhook_id"], ["api_webhooks.id"], "fk_api_webhook_deliveries_webhook_id_api_webhooks"),
        sa.PrimaryKeyConstraint("id", name="pk_api_webhook_deliveries"),
        sa.Index("ix_api_webhook_deliveries_key", "webhook_id", "event_key", unique=True),
        sa.Index("ix_api_webhook_deliveries_due", "state", "next_attempt_at"),
    )


def downgrade() -> None:
    """Drop every registry table (all data is lost: only for a scratch database)."""
    for name in reversed(TABLES):
        op.drop_table(name)
