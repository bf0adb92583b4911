"""Enterprise shift calendar: `enterprises.shifts` (the registry file's `shifts:`, issue 14).

Revision ID: 0004_i14_shifts
Revises: 0003_i14_tariff
Create Date: 2026-12-07
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import context, op

revision: str = "0004_i14_shifts"
down_revision: str | None = "0003_i14_tariff"
branch_labels: str | None = None
depends_on: str | None = None


def upgrade() -> None:
    """Add the column (plain ADD COLUMN on SQLite and PostgreSQL); a database that already has it — one a
    `create_all` of these models made before it was adopted — is left as it is."""
    if not context.is_offline_mode():
        present = {c["name"] for c in sa.inspect(op.get_bind()).get_columns("enterprises")}
        if "shifts" in present:
            return
    op.add_column("enterprises", sa.Column("shifts", sa.Text(), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("enterprises") as batch:
        batch.drop_column("shifts")
