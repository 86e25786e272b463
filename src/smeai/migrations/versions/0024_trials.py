"""trials: trials, rows, candidates, answers, judgements, votes, reports, attachments

Revision ID: 0024
Revises: 0023
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

from smeai.db import UTCDateTime

revision = "0024"
down_revision = "0023"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "trials",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("org_id", sa.Integer(), nullable=False),
        sa.Column("created_by_id", sa.Integer(), nullable=True),
        sa.Column("title", sa.String(length=200), nullable=False),
        sa.Column("template_code", sa.String(length=60), nullable=True),
        sa.Column("schema_json", sa.JSON(), nullable=True),
        sa.Column("judge_mode", sa.String(length=12), nullable=False),
        sa.Column("judge_model", sa.String(length=120), nullable=True),
        sa.Column("rubric", sa.Text(), nullable=False),
        sa.Column("monthly_calls", sa.Integer(), nullable=False),
        sa.Column("state", sa.String(length=12), nullable=False),
        sa.Column("run_no", sa.Integer(), nullable=False),
        sa.Column("calls_done", sa.Integer(), nullable=False),
        sa.Column("calls_total", sa.Integer(), nullable=False),
        sa.Column("estimate_milli_fen", sa.BigInteger(), nullable=False),
        sa.Column("gateway_key_id", sa.Integer(), nullable=True),
        sa.Column("error", sa.Text(), nullable=False),
        sa.Column("created_at", UTCDateTime(timezone=True), nullable=False),
        sa.Column("started_at", UTCDateTime(timezone=True), nullable=True),
        sa.Column("finished_at", UTCDateTime(timezone=True), nullable=True),
        sa.ForeignKeyConstraint(["created_by_id"], ["users.id"], name=op.f("fk_trials_created_by_id_users")),
        sa.ForeignKeyConstraint(["org_id"], ["organisations.id"], name=op.f("fk_trials_org_id_organisations")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_trials")),
    )
    with op.batch_alter_table("trials", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_trials_org_id"), ["org_id"], unique=False)
        batch_op.create_index(batch_op.f("ix_trials_state"), ["state"], unique=False)

    op.create_table(
        "trial_candidates",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("trial_id", sa.Integer(), nullable=False),
        sa.Column("position", sa.Integer(), nullable=False),
        sa.Column("model", sa.String(length=120), nullable=False),
        sa.Column("system_prompt", sa.Text(), nullable=False),
        sa.Column("temperature", sa.Float(), nullable=False),
        sa.Column("max_tokens", sa.Integer(), nullable=False),
        sa.ForeignKeyConstraint(
            ["trial_id"], ["trials.id"], name=op.f("fk_trial_candidates_trial_id_trials"), ondelete="CASCADE"
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_trial_candidates")),
    )
    with op.batch_alter_table("trial_candidates", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_trial_candidates_trial_id"), ["trial_id"], unique=False)

    op.create_table(
        "trial_reports",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("trial_id", sa.Integer(), nullable=False),
        sa.Column("token", sa.String(length=64), nullable=False),
        sa.Column("snapshot", sa.JSON(), nullable=False),
        sa.Column("created_by_id", sa.Integer(), nullable=True),
        sa.Column("created_at", UTCDateTime(timezone=True), nullable=False),
        sa.Column("expires_at", UTCDateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(["created_by_id"], ["users.id"], name=op.f("fk_trial_reports_created_by_id_users")),
        sa.ForeignKeyConstraint(
            ["trial_id"], ["trials.id"], name=op.f("fk_trial_reports_trial_id_trials"), ondelete="CASCADE"
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_trial_reports")),
        sa.UniqueConstraint("token", name=op.f("uq_trial_reports_token")),
    )
    with op.batch_alter_table("trial_reports", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_trial_reports_trial_id"), ["trial_id"], unique=False)

    op.create_table(
        "trial_rows",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("trial_id", sa.Integer(), nullable=False),
        sa.Column("position", sa.Integer(), nullable=False),
        sa.Column("input", sa.Text(), nullable=False),
        sa.Column("reference", sa.Text(), nullable=False),
        sa.Column("checks", sa.JSON(), nullable=False),
        sa.ForeignKeyConstraint(
            ["trial_id"], ["trials.id"], name=op.f("fk_trial_rows_trial_id_trials"), ondelete="CASCADE"
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_trial_rows")),
    )
    with op.batch_alter_table("trial_rows", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_trial_rows_trial_id"), ["trial_id"], unique=False)

    op.create_table(
        "trial_answers",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("trial_id", sa.Integer(), nullable=False),
        sa.Column("row_id", sa.Integer(), nullable=False),
        sa.Column("candidate_id", sa.Integer(), nullable=False),
        sa.Column("run_no", sa.Integer(), nullable=False),
        sa.Column("status", sa.String(length=12), nullable=False),
        sa.Column("text", sa.Text(), nullable=False),
        sa.Column("error", sa.Text(), nullable=False),
        sa.Column("prompt_tokens", sa.Integer(), nullable=False),
        sa.Column("completion_tokens", sa.Integer(), nullable=False),
        sa.Column("estimated", sa.Boolean(), nullable=False),
        sa.Column("cost_milli_fen", sa.BigInteger(), nullable=False),
        sa.Column("latency_ms", sa.Integer(), nullable=False),
        sa.Column("ttft_ms", sa.Integer(), nullable=True),
        sa.Column("cache_n", sa.Integer(), nullable=True),
        sa.Column("usage_id", sa.String(length=80), nullable=True),
        sa.Column("checks", sa.JSON(), nullable=False),
        sa.Column("passed", sa.Boolean(), nullable=True),
        sa.Column("judge_score", sa.Float(), nullable=True),
        sa.Column("created_at", UTCDateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["candidate_id"],
            ["trial_candidates.id"],
            name=op.f("fk_trial_answers_candidate_id_trial_candidates"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["row_id"], ["trial_rows.id"], name=op.f("fk_trial_answers_row_id_trial_rows"), ondelete="CASCADE"
        ),
        sa.ForeignKeyConstraint(
            ["trial_id"], ["trials.id"], name=op.f("fk_trial_answers_trial_id_trials"), ondelete="CASCADE"
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_trial_answers")),
        sa.UniqueConstraint("row_id", "candidate_id", "run_no", name=op.f("uq_trial_answers_row_id")),
    )
    with op.batch_alter_table("trial_answers", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_trial_answers_trial_id"), ["trial_id"], unique=False)

    op.create_table(
        "trial_attachments",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("report_id", sa.Integer(), nullable=False),
        sa.Column("kind", sa.String(length=20), nullable=False),
        sa.Column("target_id", sa.Integer(), nullable=False),
        sa.Column("created_by_id", sa.Integer(), nullable=True),
        sa.Column("created_at", UTCDateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(["created_by_id"], ["users.id"], name=op.f("fk_trial_attachments_created_by_id_users")),
        sa.ForeignKeyConstraint(
            ["report_id"],
            ["trial_reports.id"],
            name=op.f("fk_trial_attachments_report_id_trial_reports"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_trial_attachments")),
        sa.UniqueConstraint("report_id", "kind", "target_id", name=op.f("uq_trial_attachments_report_id")),
    )
    with op.batch_alter_table("trial_attachments", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_trial_attachments_report_id"), ["report_id"], unique=False)

    op.create_table(
        "trial_judgements",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("trial_id", sa.Integer(), nullable=False),
        sa.Column("run_no", sa.Integer(), nullable=False),
        sa.Column("row_id", sa.Integer(), nullable=False),
        sa.Column("x_id", sa.Integer(), nullable=False),
        sa.Column("y_id", sa.Integer(), nullable=False),
        sa.Column("first", sa.String(length=4), nullable=True),
        sa.Column("second", sa.String(length=4), nullable=True),
        sa.Column("outcome", sa.String(length=4), nullable=False),
        sa.ForeignKeyConstraint(
            ["row_id"], ["trial_rows.id"], name=op.f("fk_trial_judgements_row_id_trial_rows"), ondelete="CASCADE"
        ),
        sa.ForeignKeyConstraint(
            ["trial_id"], ["trials.id"], name=op.f("fk_trial_judgements_trial_id_trials"), ondelete="CASCADE"
        ),
        sa.ForeignKeyConstraint(
            ["x_id"],
            ["trial_candidates.id"],
            name=op.f("fk_trial_judgements_x_id_trial_candidates"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["y_id"],
            ["trial_candidates.id"],
            name=op.f("fk_trial_judgements_y_id_trial_candidates"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_trial_judgements")),
    )
    with op.batch_alter_table("trial_judgements", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_trial_judgements_trial_id"), ["trial_id"], unique=False)

    op.create_table(
        "trial_votes",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("trial_id", sa.Integer(), nullable=False),
        sa.Column("voter_id", sa.Integer(), nullable=True),
        sa.Column("left_id", sa.Integer(), nullable=False),
        sa.Column("right_id", sa.Integer(), nullable=False),
        sa.Column("choice", sa.String(length=8), nullable=True),
        sa.Column("created_at", UTCDateTime(timezone=True), nullable=False),
        sa.Column("voted_at", UTCDateTime(timezone=True), nullable=True),
        sa.ForeignKeyConstraint(
            ["left_id"], ["trial_answers.id"], name=op.f("fk_trial_votes_left_id_trial_answers"), ondelete="CASCADE"
        ),
        sa.ForeignKeyConstraint(
            ["right_id"], ["trial_answers.id"], name=op.f("fk_trial_votes_right_id_trial_answers"), ondelete="CASCADE"
        ),
        sa.ForeignKeyConstraint(
            ["trial_id"], ["trials.id"], name=op.f("fk_trial_votes_trial_id_trials"), ondelete="CASCADE"
        ),
        sa.ForeignKeyConstraint(["voter_id"], ["users.id"], name=op.f("fk_trial_votes_voter_id_users")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_trial_votes")),
    )
    with op.batch_alter_table("trial_votes", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_trial_votes_trial_id"), ["trial_id"], unique=False)


def downgrade() -> None:
    with op.batch_alter_table("trial_votes", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_trial_votes_trial_id"))

    op.drop_table("trial_votes")
    with op.batch_alter_table("trial_judgements", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_trial_judgements_trial_id"))

    op.drop_table("trial_judgements")
    with op.batch_alter_table("trial_attachments", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_trial_attachments_report_id"))

    op.drop_table("trial_attachments")
    with op.batch_alter_table("trial_answers", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_trial_answers_trial_id"))

    op.drop_table("trial_answers")
    with op.batch_alter_table("trial_rows", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_trial_rows_trial_id"))

    op.drop_table("trial_rows")
    with op.batch_alter_table("trial_reports", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_trial_reports_trial_id"))

    op.drop_table("trial_reports")
    with op.batch_alter_table("trial_candidates", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_trial_candidates_trial_id"))

    op.drop_table("trial_candidates")
    with op.batch_alter_table("trials", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_trials_state"))
        batch_op.drop_index(batch_op.f("ix_trials_org_id"))

    op.drop_table("trials")
