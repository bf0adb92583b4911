"""Enterprise carbon facts (issue 14): grid-factor `province`, national carbon market flag `ets`, `process_co2`.

On adoption of a `create_all` database (`core.registry.schema`) the table may already have the columns, when the code
that made it had them: only the missing ones are added.

Revision ID: 0002_i14_carbon
Revises: 0001_baseline
Create Date: 2026-12-07
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import context, op

revision: str = "0002_i14_carbon"
down_revision: str | None = "0001_baseline"
branch_labels: str | None = None
depends_on: str | None = None

TABLE = "enterprises"


def _columns() -> list[sa.Column[object]]:
    return [
        sa.Column("province", sa.String(32), nullable=True),
        sa.Column("ets", sa.Boolean(), nullable=False, server_default=sa.false()),
        sa.Column("process_co2", sa.JSON(), nullable=True),
    ]


def upgrade() -> None:
    columns = _columns()
    if TABLE in context.config.attributes.get("existing_tables", ()) and not context.is_offline_mode():
        present = {c["name"] for c in sa.inspect(op.get_bind()).get_columns(TABLE)}
        columns = [c for c in columns if c.name not in present]
    for column in columns:  # a plain ADD COLUMN (SQLite has it too), so `registry migrate --sql` can print it
        op.add_column(TABLE, column)


def downgrade() -> None:
    with op.batch_alter_table(TABLE) as batch:
        for column in reversed(_columns()):
            batch.drop_column(column.name)
