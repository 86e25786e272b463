"""survey: uploads imported in the background (state, progress, outcome, the runner's claim)

Revision ID: 0025
Revises: 0028
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

from smeai.db import UTCDateTime

revision = "0025"
down_revision = "0028"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "survey_uploads",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("org_id", sa.Integer(), nullable=True),
        sa.Column("uploaded_by", sa.Integer(), nullable=True),
        sa.Column("wave_code", sa.String(length=40), nullable=False),
        sa.Column("wave_name", sa.String(length=200), nullable=True),
        sa.Column("filename", sa.String(length=255), nullable=False),
        sa.Column("file_key", sa.String(length=500), nullable=False),
        sa.Column("size_bytes", sa.BigInteger(), nullable=False),
        sa.Column("state", sa.String(length=12), nullable=False),
        sa.Column("rows_done", sa.Integer(), nullable=False),
        sa.Column("rows_total", sa.Integer(), nullable=True),
        sa.Column("import_id", sa.Integer(), nullable=True),
        sa.Column("already_imported", sa.Boolean(), nullable=False),
        sa.Column("unmapped", sa.JSON(), nullable=False),
        sa.Column("reasons", sa.JSON(), nullable=False),
        sa.Column("n_reasons", sa.Integer(), nullable=False),
        sa.Column("error_message", sa.String(length=500), nullable=False),
        sa.Column("error_fields", sa.JSON(), nullable=False),
        sa.Column("attempts", sa.Integer(), nullable=False),
        sa.Column("claimed_by", sa.String(length=120), nullable=True),
        sa.Column("claimed_until", UTCDateTime(timezone=True), nullable=True),
        sa.Column("created_at", UTCDateTime(timezone=True), nullable=False),
        sa.Column("started_at", UTCDateTime(timezone=True), nullable=True),
        sa.Column("finished_at", UTCDateTime(timezone=True), nullable=True),
        sa.ForeignKeyConstraint(
            ["import_id"],
            ["survey_imports.id"],
            name=op.f("fk_survey_uploads_import_id_survey_imports"),
            ondelete="SET NULL",
        ),
        sa.ForeignKeyConstraint(
            ["org_id"], ["organisations.id"], name=op.f("fk_survey_uploads_org_id_organisations"), ondelete="CASCADE"
        ),
        sa.ForeignKeyConstraint(
            ["uploaded_by"], ["users.id"], name=op.f("fk_survey_uploads_uploaded_by_users"), ondelete="SET NULL"
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_survey_uploads")),
    )
    with op.batch_alter_table("survey_uploads", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_survey_uploads_org_id"), ["org_id"], unique=False)
        batch_op.create_index(batch_op.f("ix_survey_uploads_state"), ["state"], unique=False)


def downgrade() -> None:
    with op.batch_alter_table("survey_uploads", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_survey_uploads_state"))
        batch_op.drop_index(batch_op.f("ix_survey_uploads_org_id"))
    op.drop_table("survey_uploads")
