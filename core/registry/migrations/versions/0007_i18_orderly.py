"""Orderly power use: `enterprises.orderly_priority` and `enterprises.security_kw` (registry `orderly:`, issue 18).

Revision ID: 0007_i18_orderly
Revises: 0006_i16_retrofits
Create Date: 2026-12-07
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import context, op

revision: str = "0007_i18_orderly"
down_revision: str | None = "0006_i16_retrofits"
branch_labels: str | None = None
depends_on: str | None = None

COLUMNS = (("orderly_priority", sa.String(16)), ("security_kw", sa.Float()))


def upgrade() -> None:
    """Add the columns (plain ADD COLUMN on SQLite and PostgreSQL); columns a `create_all` of these models made
    before the database was adopted are left as they are."""
    present: set[str] = set()
    if not context.is_offline_mode():
        present = {c["name"] for c in sa.inspect(op.get_bind()).get_columns("enterprises")}
    for name, type_ in COLUMNS:
        if name not in present:
            op.add_column("enterprises", sa.Column(name, type_, nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("enterprises") as batch:
        for name, _ in reversed(COLUMNS):
            batch.drop_column(name)
