"""Enterprises gain `tariff`: the electricity tariff read from the enterprise's bill (issue 14, item 4).

Revision ID: 0003_i14_tariff
Revises: 0002_i14_carbon
Create Date: 2026-12-07
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import context, op

revision: str = "0003_i14_tariff"
down_revision: str | None = "0002_i14_carbon"
branch_labels: str | None = None
depends_on: str | None = None


def upgrade() -> None:
    # a database adopted from `create_all` of these models already has it (offline SQL cannot look)
    if not context.is_offline_mode() and "tariff" in {
            c["name"] for c in sa.inspect(op.get_bind()).get_columns("enterprises")}:
        return
    op.add_column("enterprises", sa.Column("tariff", sa.JSON(), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("enterprises") as batch:  # SQLite before 3.35 cannot drop a column in place
        batch.drop_column("tariff")
