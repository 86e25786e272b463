"""subsidy: acceptance records (验收) of post-completion programmes (改造后补贴)

Revision ID: 0023
Revises: 0022
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

from smeai.db import UTCDateTime

revision = "0023"
down_revision = "0022"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "subsidy_acceptances",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("application_id", sa.Integer(), nullable=False),
        sa.Column("passed", sa.Boolean(), nullable=False),
        sa.Column("conclusion", sa.Text(), nullable=False),
        sa.Column("reviewers", sa.JSON(), nullable=False),
        sa.Column("measurements", sa.JSON(), nullable=False),
        sa.Column("site_visit_on", sa.Date(), nullable=True),
        sa.Column("recorded_by_id", sa.Integer(), nullable=True),
        sa.Column("recorded_at", UTCDateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["application_id"],
            ["subsidy_applications.id"],
            name=op.f("fk_subsidy_acceptances_application_id_subsidy_applications"),
        ),
        sa.ForeignKeyConstraint(
            ["recorded_by_id"], ["users.id"], name=op.f("fk_subsidy_acceptances_recorded_by_id_users")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_subsidy_acceptances")),
        sa.UniqueConstraint("application_id", name=op.f("uq_subsidy_acceptances_application_id")),
    )


def downgrade() -> None:
    op.drop_table("subsidy_acceptances")
