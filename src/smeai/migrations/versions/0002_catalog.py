"""catalog: offerings and their history (edits, review decisions, comments)

Revision ID: 0002
Revises: 0001
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

import smeai.db

revision = "0002"
down_revision = "0001"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "offerings",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("ext_id", sa.String(length=100), nullable=False),
        sa.Column("provider_id", sa.Integer(), nullable=False),
        sa.Column("name", sa.String(length=200), nullable=False),
        sa.Column("kind", sa.String(length=20), nullable=False),
        sa.Column("summary", sa.Text(), nullable=False),
        sa.Column("description", sa.Text(), nullable=True),
        sa.Column("industries", sa.JSON(), nullable=False),
        sa.Column("scenarios", sa.JSON(), nullable=False),
        sa.Column("deployment", sa.JSON(), nullable=False),
        sa.Column("regions", sa.JSON(), nullable=False),
        sa.Column("tags", sa.JSON(), nullable=False),
        sa.Column("voucher_eligible", sa.JSON(), nullable=False),
        sa.Column("pricing_model", sa.String(length=20), nullable=False),
        sa.Column("entry_price_wan", sa.Float(), nullable=False),
        sa.Column("pricing_note", sa.Text(), nullable=True),
        sa.Column("min_stage", sa.Integer(), nullable=False),
        sa.Column("max_stage", sa.Integer(), nullable=False),
        sa.Column("status", sa.String(length=20), nullable=False),
        sa.Column("created_by_id", sa.Integer(), nullable=True),
        sa.Column("created_at", smeai.db.UTCDateTime(timezone=True), nullable=False),
        sa.Column("updated_at", smeai.db.UTCDateTime(timezone=True), nullable=False),
        sa.Column("submitted_at", smeai.db.UTCDateTime(timezone=True), nullable=True),
        sa.Column("published_at", smeai.db.UTCDateTime(timezone=True), nullable=True),
        sa.Column("deleted_at", smeai.db.UTCDateTime(timezone=True), nullable=True),
        sa.ForeignKeyConstraint(["created_by_id"], ["users.id"], name=op.f("fk_offerings_created_by_id_users")),
        sa.ForeignKeyConstraint(
            ["provider_id"], ["organisations.id"], name=op.f("fk_offerings_provider_id_organisations")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_offerings")),
        sa.UniqueConstraint("ext_id", name=op.f("uq_offerings_ext_id")),
    )
    with op.batch_alter_table("offerings", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_offerings_kind"), ["kind"], unique=False)
        batch_op.create_index(batch_op.f("ix_offerings_provider_id"), ["provider_id"], unique=False)
        batch_op.create_index(batch_op.f("ix_offerings_status"), ["status"], unique=False)
        batch_op.create_index(batch_op.f("ix_offerings_updated_at"), ["updated_at"], unique=False)

    op.create_table(
        "offering_events",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("offering_id", sa.Integer(), nullable=False),
        sa.Column("action", sa.String(length=20), nullable=False),
        sa.Column("from_status", sa.String(length=20), nullable=True),
        sa.Column("to_status", sa.String(length=20), nullable=True),
        sa.Column("user_id", sa.Integer(), nullable=True),
        sa.Column("comment", sa.Text(), nullable=True),
        sa.Column("checklist", sa.JSON(), nullable=True),
        sa.Column("snapshot", sa.JSON(), nullable=True),
        sa.Column("at", smeai.db.UTCDateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["offering_id"], ["offerings.id"], name=op.f("fk_offering_events_offering_id_offerings"), ondelete="CASCADE"
        ),
        sa.ForeignKeyConstraint(["user_id"], ["users.id"], name=op.f("fk_offering_events_user_id_users")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_offering_events")),
    )
    with op.batch_alter_table("offering_events", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_offering_events_offering_id"), ["offering_id"], unique=False)


def downgrade() -> None:
    with op.batch_alter_table("offering_events", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_offering_events_offering_id"))

    op.drop_table("offering_events")
    with op.batch_alter_table("offerings", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_offerings_updated_at"))
        batch_op.drop_index(batch_op.f("ix_offerings_status"))
        batch_op.drop_index(batch_op.f("ix_offerings_provider_id"))
        batch_op.drop_index(batch_op.f("ix_offerings_kind"))

    op.drop_table("offerings")
