"""scheduler_jobs: the periodic jobs' leases and last outcomes (`enerdiag scheduler`, core/registry/jobs.py).

Revision ID: 0005_i19_scheduler
Revises: 0004_i14_shifts
Create Date: 2026-12-07
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision: str = "0005_i19_scheduler"
down_revision: str | None = "0004_i14_shifts"
branch_labels: str | None = None
depends_on: str | None = None


def upgrade() -> None:
    """Create `scheduler_jobs` (one row per job; times are epoch seconds of the database clock)."""
    op.create_table(
        "scheduler_jobs",
        sa.Column("job", sa.String(64), nullable=False),
        sa.Column("holder", sa.String(200), nullable=True),
        sa.Column("lease_until", sa.Float(), nullable=True),
        sa.Column("slot", sa.Float(), nullable=True),
        sa.Column("started_at", sa.Float(), nullable=True),
        sa.Column("finished_at", sa.Float(), nullable=True),
        sa.Column("duration_s", sa.Float(), nullable=True),
        sa.Column("exit_code", sa.Integer(), nullable=True),
        sa.Column("error", sa.Text(), nullable=True),
        sa.Column("last_ok_at", sa.Float(), nullable=True),
        sa.Column("last_holder", sa.String(200), nullable=True),
        sa.Column("runs", sa.Integer(), nullable=False),
        sa.PrimaryKeyConstraint("job", name="pk_scheduler_jobs"),
    )


def downgrade() -> None:
    """Drop `scheduler_jobs` (the leases and outcomes are lost; the jobs run again at their next slot)."""
    op.drop_table("scheduler_jobs")
