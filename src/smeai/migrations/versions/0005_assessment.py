"""assessment: stored assessments (instrument id + version, answers, result)

Revision ID: 0005
Revises: 0004
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

import smeai.db

revision = "0005"
down_revision = "0004"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "assessments",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("org_id", sa.Integer(), nullable=False),
        sa.Column("created_by", sa.Integer(), nullable=True),
        sa.Column("instrument_id", sa.String(length=60), nullable=False),
        sa.Column("instrument_version", sa.String(length=20), nullable=False),
        sa.Column("status", sa.String(length=12), nullable=False),
        sa.Column("answers", sa.JSON(), nullable=False),
        sa.Column("result", sa.JSON(), nullable=True),
        sa.Column("overall", sa.Float(), nullable=True),
        sa.Column("level_rank", sa.Integer(), nullable=True),
        sa.Column("previous_id", sa.Integer(), nullable=True),
        sa.Column("created_at", smeai.db.UTCDateTime(timezone=True), nullable=False),
        sa.Column("updated_at", smeai.db.UTCDateTime(timezone=True), nullable=False),
        sa.Column("completed_at", smeai.db.UTCDateTime(timezone=True), nullable=True),
        sa.ForeignKeyConstraint(
            ["created_by"], ["users.id"], name=op.f("fk_assessments_created_by_users"), ondelete="SET NULL"
        ),
        sa.ForeignKeyConstraint(
            ["org_id"], ["organisations.id"], name=op.f("fk_assessments_org_id_organisations"), ondelete="CASCADE"
        ),
        sa.ForeignKeyConstraint(
            ["previous_id"],
            ["assessments.id"],
            name=op.f("fk_assessments_previous_id_assessments"),
            ondelete="SET NULL",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_assessments")),
    )
    with op.batch_alter_table("assessments", schema=None) as batch_op:
        batch_op.create_index("ix_assessments_instrument_status", ["instrument_id", "status"], unique=False)
        batch_op.create_index(batch_op.f("ix_assessments_org_id"), ["org_id"], unique=False)


def downgrade() -> None:
    with op.batch_alter_table("assessments", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_assessments_org_id"))
        batch_op.drop_index("ix_assessments_instrument_status")
    op.drop_table("assessments")
