"""cases: the case library and the offerings each case used

Revision ID: 0003
Revises: 0002
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

import smeai.db

revision = "0003"
down_revision = "0002"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "cases",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("title", sa.String(length=200), nullable=False),
        sa.Column("enterprise_name", sa.String(length=200), nullable=True),
        sa.Column("province_code", sa.String(length=2), nullable=False),
        sa.Column("city", sa.String(length=60), nullable=True),
        sa.Column("industry", sa.String(length=4), nullable=False),
        sa.Column("scenarios", sa.JSON(), nullable=False),
        sa.Column("problem", sa.Text(), nullable=False),
        sa.Column("solution", sa.Text(), nullable=False),
        sa.Column("effect", sa.Text(), nullable=False),
        sa.Column("providers", sa.JSON(), nullable=False),
        sa.Column("media", sa.JSON(), nullable=False),
        sa.Column("source", sa.String(length=200), nullable=True),
        sa.Column("status", sa.String(length=20), nullable=False),
        sa.Column("is_benchmark", sa.Boolean(), nullable=False),
        sa.Column("submitted_by_org_id", sa.Integer(), nullable=True),
        sa.Column("submitted_by_user_id", sa.Integer(), nullable=True),
        sa.Column("review_comment", sa.Text(), nullable=True),
        sa.Column("reviewed_by_user_id", sa.Integer(), nullable=True),
        sa.Column("created_at", smeai.db.UTCDateTime(timezone=True), nullable=False),
        sa.Column("updated_at", smeai.db.UTCDateTime(timezone=True), nullable=False),
        sa.Column("submitted_at", smeai.db.UTCDateTime(timezone=True), nullable=True),
        sa.Column("reviewed_at", smeai.db.UTCDateTime(timezone=True), nullable=True),
        sa.Column("published_at", smeai.db.UTCDateTime(timezone=True), nullable=True),
        sa.Column("deleted_at", smeai.db.UTCDateTime(timezone=True), nullable=True),
        sa.ForeignKeyConstraint(["reviewed_by_user_id"], ["users.id"], name=op.f("fk_cases_reviewed_by_user_id_users")),
        sa.ForeignKeyConstraint(
            ["submitted_by_org_id"], ["organisations.id"], name=op.f("fk_cases_submitted_by_org_id_organisations")
        ),
        sa.ForeignKeyConstraint(
            ["submitted_by_user_id"], ["users.id"], name=op.f("fk_cases_submitted_by_user_id_users")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_cases")),
    )
    with op.batch_alter_table("cases", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_cases_industry"), ["industry"], unique=False)
        batch_op.create_index(batch_op.f("ix_cases_province_code"), ["province_code"], unique=False)
        batch_op.create_index(batch_op.f("ix_cases_status"), ["status"], unique=False)
        batch_op.create_index(batch_op.f("ix_cases_submitted_by_org_id"), ["submitted_by_org_id"], unique=False)
        batch_op.create_index(batch_op.f("ix_cases_updated_at"), ["updated_at"], unique=False)

    op.create_table(
        "case_offerings",
        sa.Column("case_id", sa.Integer(), nullable=False),
        sa.Column("offering_id", sa.Integer(), nullable=False),
        sa.ForeignKeyConstraint(
            ["case_id"], ["cases.id"], name=op.f("fk_case_offerings_case_id_cases"), ondelete="CASCADE"
        ),
        sa.ForeignKeyConstraint(
            ["offering_id"], ["offerings.id"], name=op.f("fk_case_offerings_offering_id_offerings"), ondelete="CASCADE"
        ),
        sa.PrimaryKeyConstraint("case_id", "offering_id", name=op.f("pk_case_offerings")),
    )
    with op.batch_alter_table("case_offerings", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_case_offerings_offering_id"), ["offering_id"], unique=False)


def downgrade() -> None:
    with op.batch_alter_table("case_offerings", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_case_offerings_offering_id"))

    op.drop_table("case_offerings")
    with op.batch_alter_table("cases", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_cases_updated_at"))
        batch_op.drop_index(batch_op.f("ix_cases_submitted_by_org_id"))
        batch_op.drop_index(batch_op.f("ix_cases_status"))
        batch_op.drop_index(batch_op.f("ix_cases_province_code"))
        batch_op.drop_index(batch_op.f("ix_cases_industry"))

    op.drop_table("cases")
