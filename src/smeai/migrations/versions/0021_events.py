"""events: events and training, their speakers, registrations (seat, waiting list, check-in, feedback) and a
matchmaking day's one-to-one meetings

Revision ID: 0021
Revises: 0020
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

from smeai.db import UTCDateTime

revision = "0021"
down_revision = "0020"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "events",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("kind", sa.String(length=20), nullable=False),
        sa.Column("title", sa.String(length=200), nullable=False),
        sa.Column("summary", sa.Text(), nullable=False),
        sa.Column("agenda", sa.Text(), nullable=True),
        sa.Column("starts_at", UTCDateTime(timezone=True), nullable=False),
        sa.Column("ends_at", UTCDateTime(timezone=True), nullable=False),
        sa.Column("place", sa.String(length=300), nullable=True),
        sa.Column("online_url", sa.String(length=500), nullable=True),
        sa.Column("industries", sa.JSON(), nullable=False),
        sa.Column("provinces", sa.JSON(), nullable=False),
        sa.Column("stages", sa.JSON(), nullable=False),
        sa.Column("topics", sa.JSON(), nullable=False),
        sa.Column("capacity", sa.Integer(), nullable=False),
        sa.Column("seats_taken", sa.Integer(), nullable=False),
        sa.Column("waitlist_seq", sa.Integer(), nullable=False),
        sa.Column("slot_minutes", sa.Integer(), nullable=True),
        sa.Column("status", sa.String(length=12), nullable=False),
        sa.Column("created_by", sa.Integer(), nullable=True),
        sa.Column("created_at", UTCDateTime(timezone=True), nullable=False),
        sa.Column("updated_at", UTCDateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(["created_by"], ["users.id"], name=op.f("fk_events_created_by_users")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_events")),
    )
    with op.batch_alter_table("events", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_events_kind"), ["kind"], unique=False)
        batch_op.create_index(batch_op.f("ix_events_starts_at"), ["starts_at"], unique=False)
        batch_op.create_index(batch_op.f("ix_events_status"), ["status"], unique=False)

    op.create_table(
        "event_registrations",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("event_id", sa.Integer(), nullable=False),
        sa.Column("user_id", sa.Integer(), nullable=False),
        sa.Column("org_id", sa.Integer(), nullable=False),
        sa.Column("status", sa.String(length=12), nullable=False),
        sa.Column("waitlist_no", sa.Integer(), nullable=True),
        sa.Column("ticket", sa.String(length=40), nullable=False),
        sa.Column("registered_at", UTCDateTime(timezone=True), nullable=False),
        sa.Column("promoted_at", UTCDateTime(timezone=True), nullable=True),
        sa.Column("cancelled_at", UTCDateTime(timezone=True), nullable=True),
        sa.Column("reminded_at", UTCDateTime(timezone=True), nullable=True),
        sa.Column("checked_in_at", UTCDateTime(timezone=True), nullable=True),
        sa.Column("checked_in_by", sa.Integer(), nullable=True),
        sa.Column("satisfaction", sa.Integer(), nullable=True),
        sa.Column("comment", sa.Text(), nullable=True),
        sa.Column("feedback_at", UTCDateTime(timezone=True), nullable=True),
        sa.ForeignKeyConstraint(
            ["checked_in_by"], ["users.id"], name=op.f("fk_event_registrations_checked_in_by_users")
        ),
        sa.ForeignKeyConstraint(
            ["event_id"], ["events.id"], name=op.f("fk_event_registrations_event_id_events"), ondelete="CASCADE"
        ),
        sa.ForeignKeyConstraint(
            ["org_id"], ["organisations.id"], name=op.f("fk_event_registrations_org_id_organisations")
        ),
        sa.ForeignKeyConstraint(["user_id"], ["users.id"], name=op.f("fk_event_registrations_user_id_users")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_event_registrations")),
        sa.UniqueConstraint("event_id", "user_id", name=op.f("uq_event_registrations_event_id")),
        sa.UniqueConstraint("ticket", name=op.f("uq_event_registrations_ticket")),
    )
    with op.batch_alter_table("event_registrations", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_event_registrations_event_id"), ["event_id"], unique=False)
        batch_op.create_index(batch_op.f("ix_event_registrations_org_id"), ["org_id"], unique=False)
        batch_op.create_index(batch_op.f("ix_event_registrations_status"), ["status"], unique=False)
        batch_op.create_index(batch_op.f("ix_event_registrations_user_id"), ["user_id"], unique=False)

    op.create_table(
        "event_speakers",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("event_id", sa.Integer(), nullable=False),
        sa.Column("name", sa.String(length=100), nullable=False),
        sa.Column("affiliation", sa.String(length=200), nullable=True),
        sa.Column("topic", sa.String(length=200), nullable=True),
        sa.Column("provider_org_id", sa.Integer(), nullable=True),
        sa.ForeignKeyConstraint(
            ["event_id"], ["events.id"], name=op.f("fk_event_speakers_event_id_events"), ondelete="CASCADE"
        ),
        sa.ForeignKeyConstraint(
            ["provider_org_id"], ["organisations.id"], name=op.f("fk_event_speakers_provider_org_id_organisations")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_event_speakers")),
    )
    with op.batch_alter_table("event_speakers", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_event_speakers_event_id"), ["event_id"], unique=False)
        batch_op.create_index(batch_op.f("ix_event_speakers_provider_org_id"), ["provider_org_id"], unique=False)

    op.create_table(
        "event_meetings",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("event_id", sa.Integer(), nullable=False),
        sa.Column("slot_at", UTCDateTime(timezone=True), nullable=False),
        sa.Column("slot_key", sa.String(length=20), nullable=True),
        sa.Column("enterprise_org_id", sa.Integer(), nullable=False),
        sa.Column("provider_org_id", sa.Integer(), nullable=False),
        sa.Column("need_id", sa.Integer(), nullable=True),
        sa.Column("offering_id", sa.Integer(), nullable=True),
        sa.Column("topic", sa.String(length=300), nullable=True),
        sa.Column("status", sa.String(length=12), nullable=False),
        sa.Column("booked_by", sa.Integer(), nullable=True),
        sa.Column("engagement_id", sa.Integer(), nullable=True),
        sa.Column("created_at", UTCDateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(["booked_by"], ["users.id"], name=op.f("fk_event_meetings_booked_by_users")),
        sa.ForeignKeyConstraint(
            ["engagement_id"], ["engagements.id"], name=op.f("fk_event_meetings_engagement_id_engagements")
        ),
        sa.ForeignKeyConstraint(
            ["enterprise_org_id"], ["organisations.id"], name=op.f("fk_event_meetings_enterprise_org_id_organisations")
        ),
        sa.ForeignKeyConstraint(
            ["event_id"], ["events.id"], name=op.f("fk_event_meetings_event_id_events"), ondelete="CASCADE"
        ),
        sa.ForeignKeyConstraint(["need_id"], ["needs.id"], name=op.f("fk_event_meetings_need_id_needs")),
        sa.ForeignKeyConstraint(
            ["offering_id"], ["offerings.id"], name=op.f("fk_event_meetings_offering_id_offerings")
        ),
        sa.ForeignKeyConstraint(
            ["provider_org_id"], ["organisations.id"], name=op.f("fk_event_meetings_provider_org_id_organisations")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_event_meetings")),
        sa.UniqueConstraint("event_id", "enterprise_org_id", "slot_key", name="uq_event_meetings_enterprise_slot"),
        sa.UniqueConstraint("event_id", "provider_org_id", "slot_key", name="uq_event_meetings_provider_slot"),
    )
    with op.batch_alter_table("event_meetings", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_event_meetings_enterprise_org_id"), ["enterprise_org_id"], unique=False)
        batch_op.create_index(batch_op.f("ix_event_meetings_event_id"), ["event_id"], unique=False)
        batch_op.create_index(batch_op.f("ix_event_meetings_provider_org_id"), ["provider_org_id"], unique=False)


def downgrade() -> None:
    with op.batch_alter_table("event_meetings", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_event_meetings_provider_org_id"))
        batch_op.drop_index(batch_op.f("ix_event_meetings_event_id"))
        batch_op.drop_index(batch_op.f("ix_event_meetings_enterprise_org_id"))

    op.drop_table("event_meetings")
    with op.batch_alter_table("event_speakers", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_event_speakers_provider_org_id"))
        batch_op.drop_index(batch_op.f("ix_event_speakers_event_id"))

    op.drop_table("event_speakers")
    with op.batch_alter_table("event_registrations", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_event_registrations_user_id"))
        batch_op.drop_index(batch_op.f("ix_event_registrations_status"))
        batch_op.drop_index(batch_op.f("ix_event_registrations_org_id"))
        batch_op.drop_index(batch_op.f("ix_event_registrations_event_id"))

    op.drop_table("event_registrations")
    with op.batch_alter_table("events", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_events_status"))
        batch_op.drop_index(batch_op.f("ix_events_starts_at"))
        batch_op.drop_index(batch_op.f("ix_events_kind"))

    op.drop_table("events")
