"""matching: needs, engagements and their events, challenges and proposals, offering modules

Revision ID: 0007
Revises: 0006
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

import smeai.db

revision = "0007"
down_revision = "0006"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "needs",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("org_id", sa.Integer(), nullable=False),
        sa.Column("author_id", sa.Integer(), nullable=True),
        sa.Column("title", sa.String(length=200), nullable=False),
        sa.Column("text", sa.Text(), nullable=False),
        sa.Column("industry", sa.String(length=4), nullable=True),
        sa.Column("province_code", sa.String(length=2), nullable=True),
        sa.Column("stage", sa.Integer(), nullable=True),
        sa.Column("budget_fen", sa.Integer(), nullable=True),
        sa.Column("deployment", sa.JSON(), nullable=False),
        sa.Column("scenarios", sa.JSON(), nullable=False),
        sa.Column("scenarios_confirmed", sa.Boolean(), nullable=False),
        sa.Column("urgency", sa.String(length=10), nullable=False),
        sa.Column("status", sa.String(length=20), nullable=False),
        sa.Column("source", sa.String(length=20), nullable=False),
        sa.Column("package", sa.JSON(), nullable=True),
        sa.Column("created_at", smeai.db.UTCDateTime(timezone=True), nullable=False),
        sa.Column("updated_at", smeai.db.UTCDateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(["author_id"], ["users.id"], name=op.f("fk_needs_author_id_users")),
        sa.ForeignKeyConstraint(["org_id"], ["organisations.id"], name=op.f("fk_needs_org_id_organisations")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_needs")),
    )
    with op.batch_alter_table("needs", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_needs_author_id"), ["author_id"], unique=False)
        batch_op.create_index(batch_op.f("ix_needs_org_id"), ["org_id"], unique=False)
        batch_op.create_index(batch_op.f("ix_needs_status"), ["status"], unique=False)

    op.create_table(
        "challenges",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("org_id", sa.Integer(), nullable=False),
        sa.Column("author_id", sa.Integer(), nullable=True),
        sa.Column("title", sa.String(length=200), nullable=False),
        sa.Column("problem", sa.Text(), nullable=False),
        sa.Column("data_available", sa.Text(), nullable=True),
        sa.Column("budget_fen", sa.Integer(), nullable=True),
        sa.Column("deadline_on", sa.Date(), nullable=True),
        sa.Column("status", sa.String(length=20), nullable=False),
        sa.Column("need_id", sa.Integer(), nullable=True),
        sa.Column("created_at", smeai.db.UTCDateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(["author_id"], ["users.id"], name=op.f("fk_challenges_author_id_users")),
        sa.ForeignKeyConstraint(["need_id"], ["needs.id"], name=op.f("fk_challenges_need_id_needs")),
        sa.ForeignKeyConstraint(["org_id"], ["organisations.id"], name=op.f("fk_challenges_org_id_organisations")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_challenges")),
    )
    with op.batch_alter_table("challenges", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_challenges_org_id"), ["org_id"], unique=False)
        batch_op.create_index(batch_op.f("ix_challenges_status"), ["status"], unique=False)

    op.create_table(
        "engagements",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("need_id", sa.Integer(), nullable=False),
        sa.Column("offering_id", sa.Integer(), nullable=True),
        sa.Column("enterprise_org_id", sa.Integer(), nullable=False),
        sa.Column("provider_org_id", sa.Integer(), nullable=False),
        sa.Column("state", sa.String(length=20), nullable=False),
        sa.Column("score", sa.Float(), nullable=True),
        sa.Column("reasons", sa.JSON(), nullable=False),
        sa.Column("closed_reason", sa.String(length=500), nullable=True),
        sa.Column("provider_response", sa.Text(), nullable=True),
        sa.Column("provider_notified_at", smeai.db.UTCDateTime(timezone=True), nullable=True),
        sa.Column("outcome", sa.JSON(), nullable=True),
        sa.Column("case_id", sa.Integer(), nullable=True),
        sa.Column("created_at", smeai.db.UTCDateTime(timezone=True), nullable=False),
        sa.Column("updated_at", smeai.db.UTCDateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["enterprise_org_id"], ["organisations.id"], name=op.f("fk_engagements_enterprise_org_id_organisations")
        ),
        sa.ForeignKeyConstraint(["need_id"], ["needs.id"], name=op.f("fk_engagements_need_id_needs")),
        sa.ForeignKeyConstraint(["offering_id"], ["offerings.id"], name=op.f("fk_engagements_offering_id_offerings")),
        sa.ForeignKeyConstraint(
            ["provider_org_id"], ["organisations.id"], name=op.f("fk_engagements_provider_org_id_organisations")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_engagements")),
    )
    with op.batch_alter_table("engagements", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_engagements_enterprise_org_id"), ["enterprise_org_id"], unique=False)
        batch_op.create_index(batch_op.f("ix_engagements_need_id"), ["need_id"], unique=False)
        batch_op.create_index(batch_op.f("ix_engagements_offering_id"), ["offering_id"], unique=False)
        batch_op.create_index(batch_op.f("ix_engagements_provider_org_id"), ["provider_org_id"], unique=False)
        batch_op.create_index(batch_op.f("ix_engagements_state"), ["state"], unique=False)
        batch_op.create_index(batch_op.f("ix_engagements_updated_at"), ["updated_at"], unique=False)

    op.create_table(
        "offering_modules",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("offering_id", sa.Integer(), nullable=False),
        sa.Column("name", sa.String(length=200), nullable=False),
        sa.Column("description", sa.Text(), nullable=True),
        sa.Column("price_fen", sa.Integer(), nullable=False),
        sa.Column("created_at", smeai.db.UTCDateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["offering_id"], ["offerings.id"], name=op.f("fk_offering_modules_offering_id_offerings")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_offering_modules")),
    )
    with op.batch_alter_table("offering_modules", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_offering_modules_offering_id"), ["offering_id"], unique=False)

    op.create_table(
        "engagement_events",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("engagement_id", sa.Integer(), nullable=False),
        sa.Column("from_state", sa.String(length=20), nullable=True),
        sa.Column("to_state", sa.String(length=20), nullable=False),
        sa.Column("user_id", sa.Integer(), nullable=True),
        sa.Column("note", sa.Text(), nullable=True),
        sa.Column("at", smeai.db.UTCDateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["engagement_id"], ["engagements.id"], name=op.f("fk_engagement_events_engagement_id_engagements")
        ),
        sa.ForeignKeyConstraint(["user_id"], ["users.id"], name=op.f("fk_engagement_events_user_id_users")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_engagement_events")),
    )
    with op.batch_alter_table("engagement_events", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_engagement_events_engagement_id"), ["engagement_id"], unique=False)

    op.create_table(
        "proposals",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("challenge_id", sa.Integer(), nullable=False),
        sa.Column("org_id", sa.Integer(), nullable=False),
        sa.Column("author_id", sa.Integer(), nullable=True),
        sa.Column("offering_id", sa.Integer(), nullable=True),
        sa.Column("summary", sa.Text(), nullable=False),
        sa.Column("price_fen", sa.Integer(), nullable=True),
        sa.Column("status", sa.String(length=20), nullable=False),
        sa.Column("engagement_id", sa.Integer(), nullable=True),
        sa.Column("created_at", smeai.db.UTCDateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(["author_id"], ["users.id"], name=op.f("fk_proposals_author_id_users")),
        sa.ForeignKeyConstraint(["challenge_id"], ["challenges.id"], name=op.f("fk_proposals_challenge_id_challenges")),
        sa.ForeignKeyConstraint(
            ["engagement_id"], ["engagements.id"], name=op.f("fk_proposals_engagement_id_engagements")
        ),
        sa.ForeignKeyConstraint(["offering_id"], ["offerings.id"], name=op.f("fk_proposals_offering_id_offerings")),
        sa.ForeignKeyConstraint(["org_id"], ["organisations.id"], name=op.f("fk_proposals_org_id_organisations")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_proposals")),
    )
    with op.batch_alter_table("proposals", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_proposals_challenge_id"), ["challenge_id"], unique=False)
        batch_op.create_index(batch_op.f("ix_proposals_org_id"), ["org_id"], unique=False)

    # ### end Alembic commands ###


def downgrade() -> None:
    op.drop_table("proposals")
    op.drop_table("engagement_events")
    op.drop_table("offering_modules")
    op.drop_table("engagements")
    op.drop_table("challenges")
    op.drop_table("needs")
