"""Enterprises gain `retrofits`: retrofit projects whose savings are measured and verified (issue 16).

Revision ID: 0006_i16_retrofits
Revises: 0005_i19_scheduler
Create Date: 2026-12-07
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import context, op

revision: str = "0006_i16_retrofits"
down_revision: str | None = "0005_i19_scheduler"
branch_labels: str | None = None
depends_on: str | None = None


def upgrade() -> None:
    # a database adopted from `create_all` of these models already has it (offline SQL cannot look)
    if not context.is_offline_mode() and "retrofits" in {
            c["name"] for c in sa.inspect(op.get_bind()).get_columns("enterprises")}:
        return
    op.add_column("enterprises", sa.Column("retrofits", sa.JSON(), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("enterprises") as batch:  # SQLite before 3.35 cannot drop a column in place
        batch.drop_column("retrofits")
