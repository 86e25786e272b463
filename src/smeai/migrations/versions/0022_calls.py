"""calls: scenario lists (场景清单) with scenarios and responses; case-collection campaigns (案例征集) with
reviewer panels, entries and scores

Revision ID: 0022
Revises: 0021
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

from smeai.db import UTCDateTime

revision = "0022"
down_revision = "0021"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "call_lists",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("org_id", sa.Integer(), nullable=False),
        sa.Column("author_id", sa.Integer(), nullable=True),
        sa.Column("title", sa.String(length=200), nullable=False),
        sa.Column("summary", sa.Text(), nullable=False),
        sa.Column("province_code", sa.String(length=2), nullable=True),
        sa.Column("deadline_on", sa.Date(), nullable=False),
        sa.Column("published_at", UTCDateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(["author_id"], ["users.id"], name=op.f("fk_call_lists_author_id_users")),
        sa.ForeignKeyConstraint(["org_id"], ["organisations.id"], name=op.f("fk_call_lists_org_id_organisations")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_call_lists")),
    )
    op.create_index(op.f("ix_call_lists_org_id"), "call_lists", ["org_id"])
    op.create_index(op.f("ix_call_lists_published_at"), "call_lists", ["published_at"])
    op.create_table(
        "call_scenarios",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("list_id", sa.Integer(), nullable=False),
        sa.Column("title", sa.String(length=200), nullable=False),
        sa.Column("industry", sa.String(length=4), nullable=False),
        sa.Column("scenario_code", sa.String(length=60), nullable=False),
        sa.Column("problem", sa.Text(), nullable=False),
        sa.Column("data_offered", sa.Text(), nullable=False),
        sa.Column("site_offered", sa.Text(), nullable=False),
        sa.Column("expected_result", sa.Text(), nullable=False),
        sa.Column("status", sa.String(length=20), nullable=False),
        sa.Column("selected_response_id", sa.Integer(), nullable=True),
        sa.Column("selected_org_id", sa.Integer(), nullable=True),
        sa.Column("result", sa.Text(), nullable=True),
        sa.Column("decided_at", UTCDateTime(timezone=True), nullable=True),
        sa.ForeignKeyConstraint(
            ["list_id"], ["call_lists.id"], name=op.f("fk_call_scenarios_list_id_call_lists"), ondelete="CASCADE"
        ),
        sa.ForeignKeyConstraint(
            ["selected_org_id"], ["organisations.id"], name=op.f("fk_call_scenarios_selected_org_id_organisations")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_call_scenarios")),
    )
    op.create_index(op.f("ix_call_scenarios_list_id"), "call_scenarios", ["list_id"])
    op.create_table(
        "call_responses",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("scenario_id", sa.Integer(), nullable=False),
        sa.Column("org_id", sa.Integer(), nullable=False),
        sa.Column("author_id", sa.Integer(), nullable=True),
        sa.Column("approach", sa.Text(), nullable=False),
        sa.Column("status", sa.String(length=20), nullable=False),
        sa.Column("created_at", UTCDateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(["author_id"], ["users.id"], name=op.f("fk_call_responses_author_id_users")),
        sa.ForeignKeyConstraint(["org_id"], ["organisations.id"], name=op.f("fk_call_responses_org_id_organisations")),
        sa.ForeignKeyConstraint(
            ["scenario_id"],
            ["call_scenarios.id"],
            name=op.f("fk_call_responses_scenario_id_call_scenarios"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_call_responses")),
        sa.UniqueConstraint("scenario_id", "org_id", name=op.f("uq_call_responses_scenario_id")),
    )
    op.create_index(op.f("ix_call_responses_org_id"), "call_responses", ["org_id"])
    op.create_index(op.f("ix_call_responses_scenario_id"), "call_responses", ["scenario_id"])
    op.create_table(
        "call_campaigns",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("title", sa.String(length=200), nullable=False),
        sa.Column("summary", sa.Text(), nullable=False),
        sa.Column("criteria", sa.JSON(), nullable=False),
        sa.Column("deadline_on", sa.Date(), nullable=False),
        sa.Column("created_by_id", sa.Integer(), nullable=True),
        sa.Column("created_at", UTCDateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(["created_by_id"], ["users.id"], name=op.f("fk_call_campaigns_created_by_id_users")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_call_campaigns")),
    )
    op.create_table(
        "call_campaign_reviewers",
        sa.Column("campaign_id", sa.Integer(), nullable=False),
        sa.Column("user_id", sa.Integer(), nullable=False),
        sa.ForeignKeyConstraint(
            ["campaign_id"],
            ["call_campaigns.id"],
            name=op.f("fk_call_campaign_reviewers_campaign_id_call_campaigns"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["user_id"], ["users.id"], name=op.f("fk_call_campaign_reviewers_user_id_users"), ondelete="CASCADE"
        ),
        sa.PrimaryKeyConstraint("campaign_id", "user_id", name=op.f("pk_call_campaign_reviewers")),
    )
    op.create_index(op.f("ix_call_campaign_reviewers_user_id"), "call_campaign_reviewers", ["user_id"])
    op.create_table(
        "call_entries",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("campaign_id", sa.Integer(), nullable=False),
        sa.Column("org_id", sa.Integer(), nullable=False),
        sa.Column("author_id", sa.Integer(), nullable=True),
        sa.Column("engagement_id", sa.Integer(), nullable=True),
        sa.Column("case", sa.JSON(), nullable=False),
        sa.Column("status", sa.String(length=20), nullable=False),
        sa.Column("case_id", sa.Integer(), nullable=True),
        sa.Column("submitted_at", UTCDateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(["author_id"], ["users.id"], name=op.f("fk_call_entries_author_id_users")),
        sa.ForeignKeyConstraint(
            ["campaign_id"],
            ["call_campaigns.id"],
            name=op.f("fk_call_entries_campaign_id_call_campaigns"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(["case_id"], ["cases.id"], name=op.f("fk_call_entries_case_id_cases")),
        sa.ForeignKeyConstraint(
            ["engagement_id"], ["engagements.id"], name=op.f("fk_call_entries_engagement_id_engagements")
        ),
        sa.ForeignKeyConstraint(["org_id"], ["organisations.id"], name=op.f("fk_call_entries_org_id_organisations")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_call_entries")),
    )
    op.create_index(op.f("ix_call_entries_campaign_id"), "call_entries", ["campaign_id"])
    op.create_index(op.f("ix_call_entries_org_id"), "call_entries", ["org_id"])
    op.create_index(op.f("ix_call_entries_status"), "call_entries", ["status"])
    op.create_table(
        "call_scores",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("entry_id", sa.Integer(), nullable=False),
        sa.Column("reviewer_id", sa.Integer(), nullable=False),
        sa.Column("points", sa.JSON(), nullable=False),
        sa.Column("weighted_x100", sa.Integer(), nullable=False),
        sa.Column("comment", sa.Text(), nullable=True),
        sa.Column("submitted_at", UTCDateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["entry_id"], ["call_entries.id"], name=op.f("fk_call_scores_entry_id_call_entries"), ondelete="CASCADE"
        ),
        sa.ForeignKeyConstraint(["reviewer_id"], ["users.id"], name=op.f("fk_call_scores_reviewer_id_users")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_call_scores")),
        sa.UniqueConstraint("entry_id", "reviewer_id", name=op.f("uq_call_scores_entry_id")),
    )
    op.create_index(op.f("ix_call_scores_entry_id"), "call_scores", ["entry_id"])


def downgrade() -> None:
    op.drop_table("call_scores")
    op.drop_table("call_entries")
    op.drop_table("call_campaign_reviewers")
    op.drop_table("call_campaigns")
    op.drop_table("call_responses")
    op.drop_table("call_scenarios")
    op.drop_table("call_lists")
