"""survey: waves, imports (with error files) and responses

Revision ID: 0006
Revises: 0005
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

import smeai.db

revision = "0006"
down_revision = "0005"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "survey_waves",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("code", sa.String(length=40), nullable=False),
        sa.Column("name", sa.String(length=200), nullable=False),
        sa.Column("created_at", smeai.db.UTCDateTime(timezone=True), nullable=False),
        sa.Column("created_by", sa.Integer(), nullable=True),
        sa.ForeignKeyConstraint(
            ["created_by"], ["users.id"], name=op.f("fk_survey_waves_created_by_users"), ondelete="SET NULL"
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_survey_waves")),
        sa.UniqueConstraint("code", name=op.f("uq_survey_waves_code")),
    )
    op.create_table(
        "survey_imports",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("wave_id", sa.Integer(), nullable=False),
        sa.Column("filename", sa.String(length=255), nullable=False),
        sa.Column("layout", sa.String(length=20), nullable=False),
        sa.Column("sha256", sa.String(length=64), nullable=False),
        sa.Column("n_rows", sa.Integer(), nullable=False),
        sa.Column("n_inserted", sa.Integer(), nullable=False),
        sa.Column("n_existing", sa.Integer(), nullable=False),
        sa.Column("n_rejected", sa.Integer(), nullable=False),
        sa.Column("errors_csv", sa.Text(), nullable=False),
        sa.Column("imported_at", smeai.db.UTCDateTime(timezone=True), nullable=False),
        sa.Column("imported_by", sa.Integer(), nullable=True),
        sa.ForeignKeyConstraint(
            ["imported_by"], ["users.id"], name=op.f("fk_survey_imports_imported_by_users"), ondelete="SET NULL"
        ),
        sa.ForeignKeyConstraint(
            ["wave_id"], ["survey_waves.id"], name=op.f("fk_survey_imports_wave_id_survey_waves"), ondelete="CASCADE"
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_survey_imports")),
        sa.UniqueConstraint("wave_id", "sha256", name=op.f("uq_survey_imports_wave_id")),
    )
    with op.batch_alter_table("survey_imports", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_survey_imports_wave_id"), ["wave_id"], unique=False)

    small = sa.SmallInteger
    op.create_table(
        "survey_responses",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("wave_id", sa.Integer(), nullable=False),
        sa.Column("import_id", sa.Integer(), nullable=False),
        sa.Column("row_no", sa.Integer(), nullable=False),
        sa.Column("response_id", sa.String(length=100), nullable=False),
        sa.Column("submitted_at", sa.String(length=40), nullable=False),
        sa.Column("survey_year", small(), nullable=False),
        sa.Column("province_code", sa.String(length=2), nullable=False),
        sa.Column("city", sa.String(length=60), nullable=True),
        sa.Column("pilot_batch", small(), nullable=False),
        sa.Column("industry_section", sa.String(length=1), nullable=False),
        sa.Column("mfg_division", small(), nullable=True),
        sa.Column("founded_year", small(), nullable=False),
        sa.Column("employees", sa.Integer(), nullable=True),
        sa.Column("revenue_wan", sa.Float(), nullable=False),
        sa.Column("ai_status", small(), nullable=False),
        sa.Column("ai_investment_wan", sa.Float(), nullable=True),
        sa.Column("ai_stage", small(), nullable=True),
        sa.Column("link_rnd", small(), nullable=True),
        sa.Column("link_production", small(), nullable=True),
        sa.Column("link_supply_chain", small(), nullable=True),
        sa.Column("link_sales", small(), nullable=True),
        sa.Column("link_service", small(), nullable=True),
        sa.Column("link_management", small(), nullable=True),
        sa.Column("model_type", small(), nullable=True),
        sa.Column("answers", sa.JSON(), nullable=False),
        sa.ForeignKeyConstraint(
            ["import_id"],
            ["survey_imports.id"],
            name=op.f("fk_survey_responses_import_id_survey_imports"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["wave_id"], ["survey_waves.id"], name=op.f("fk_survey_responses_wave_id_survey_waves"), ondelete="CASCADE"
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_survey_responses")),
        sa.UniqueConstraint("wave_id", "response_id", name=op.f("uq_survey_responses_wave_id")),
    )
    with op.batch_alter_table("survey_responses", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_survey_responses_import_id"), ["import_id"], unique=False)
        batch_op.create_index(batch_op.f("ix_survey_responses_wave_id"), ["wave_id"], unique=False)


def downgrade() -> None:
    with op.batch_alter_table("survey_responses", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_survey_responses_wave_id"))
        batch_op.drop_index(batch_op.f("ix_survey_responses_import_id"))
    op.drop_table("survey_responses")
    with op.batch_alter_table("survey_imports", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_survey_imports_wave_id"))
    op.drop_table("survey_imports")
    op.drop_table("survey_waves")
