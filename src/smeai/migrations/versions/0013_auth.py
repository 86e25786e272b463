"""auth: self-registration, organisation verification, invitations, privacy consent; mail: the outbox

users gain email verification, a role within the organisation (admin/member), a membership state (a
person who registered with an existing credit code waits for the organisation's admin), the privacy
notice version consented to, notification opt-outs and the erasure stamp. organisations gain their
verification state and business licence; credit_code becomes unique. New tables: invitations,
mail_outbox.

Existing data: every user so far was created by an administrator, so their email counts as verified
(they keep logging in) and they are their organisation's admins; every existing organisation is
verified. A credit code held by several organisations stays with the oldest (the others lose it).

Revision ID: 0013
Revises: 0012
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

from smeai.db import UTCDateTime

revision = "0013"
down_revision = "0012"
branch_labels = None
depends_on = None


def upgrade() -> None:
    bind = op.get_bind()
    orgs = sa.table("organisations", sa.column("id", sa.Integer), sa.column("credit_code", sa.String))
    seen: set[str] = set()
    for org_id, code in bind.execute(sa.select(orgs.c.id, orgs.c.credit_code).order_by(orgs.c.id)):
        if code is None:
            continue
        if code in seen:
            bind.execute(orgs.update().where(orgs.c.id == org_id).values(credit_code=None))
        seen.add(code)

    with op.batch_alter_table("organisations", schema=None) as batch_op:
        batch_op.add_column(sa.Column("verification", sa.String(length=10), server_default="verified", nullable=False))
        batch_op.add_column(sa.Column("verification_note", sa.Text(), nullable=True))
        batch_op.add_column(sa.Column("verified_at", UTCDateTime(timezone=True), nullable=True))
        batch_op.add_column(sa.Column("licence_file", sa.String(length=200), nullable=True))
        batch_op.add_column(sa.Column("licence_uploaded_at", UTCDateTime(timezone=True), nullable=True))
        batch_op.create_index(batch_op.f("ix_organisations_verification"), ["verification"], unique=False)
        batch_op.create_unique_constraint(batch_op.f("uq_organisations_credit_code"), ["credit_code"])

    with op.batch_alter_table("users", schema=None) as batch_op:
        batch_op.add_column(sa.Column("phone", sa.String(length=30), nullable=True))
        batch_op.add_column(sa.Column("email_verified_at", UTCDateTime(timezone=True), nullable=True))
        batch_op.add_column(sa.Column("org_role", sa.String(length=10), server_default="member", nullable=False))
        batch_op.add_column(sa.Column("membership", sa.String(length=10), server_default="active", nullable=False))
        batch_op.add_column(sa.Column("privacy_version", sa.String(length=20), nullable=True))
        batch_op.add_column(sa.Column("privacy_consented_at", UTCDateTime(timezone=True), nullable=True))
        batch_op.add_column(sa.Column("mail_optout", sa.JSON(), nullable=True))
        batch_op.add_column(sa.Column("registered_from", sa.String(length=64), nullable=True))
        batch_op.add_column(sa.Column("deleted_at", UTCDateTime(timezone=True), nullable=True))
        batch_op.create_index(batch_op.f("ix_users_registered_from"), ["registered_from"], unique=False)

    users = sa.table(
        "users",
        sa.column("created_at", UTCDateTime(timezone=True)),
        sa.column("email_verified_at", UTCDateTime(timezone=True)),
        sa.column("org_role", sa.String),
    )
    bind.execute(users.update().values(email_verified_at=users.c.created_at, org_role="admin"))

    op.create_table(
        "invitations",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("org_id", sa.Integer(), nullable=False),
        sa.Column("email", sa.String(length=200), nullable=False),
        sa.Column("org_role", sa.String(length=10), nullable=False),
        sa.Column("invited_by", sa.Integer(), nullable=True),
        sa.Column("token_sha256", sa.String(length=64), nullable=False),
        sa.Column("created_at", UTCDateTime(timezone=True), nullable=False),
        sa.Column("expires_at", UTCDateTime(timezone=True), nullable=False),
        sa.Column("accepted_at", UTCDateTime(timezone=True), nullable=True),
        sa.Column("revoked_at", UTCDateTime(timezone=True), nullable=True),
        sa.ForeignKeyConstraint(
            ["invited_by"], ["users.id"], name=op.f("fk_invitations_invited_by_users"), ondelete="SET NULL"
        ),
        sa.ForeignKeyConstraint(["org_id"], ["organisations.id"], name=op.f("fk_invitations_org_id_organisations")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_invitations")),
        sa.UniqueConstraint("token_sha256", name=op.f("uq_invitations_token_sha256")),
    )
    op.create_index(op.f("ix_invitations_org_id"), "invitations", ["org_id"], unique=False)

    op.create_table(
        "mail_outbox",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("to_addr", sa.String(length=200), nullable=False),
        sa.Column("subject", sa.String(length=300), nullable=False),
        sa.Column("body", sa.Text(), nullable=False),
        sa.Column("template", sa.String(length=40), nullable=False),
        sa.Column("category", sa.String(length=20), nullable=False),
        sa.Column("created_at", UTCDateTime(timezone=True), nullable=False),
        sa.Column("attempts", sa.Integer(), nullable=False),
        sa.Column("next_attempt_at", UTCDateTime(timezone=True), nullable=False),
        sa.Column("claimed_until", UTCDateTime(timezone=True), nullable=True),
        sa.Column("sent_at", UTCDateTime(timezone=True), nullable=True),
        sa.Column("failed_at", UTCDateTime(timezone=True), nullable=True),
        sa.Column("last_error", sa.String(length=500), nullable=True),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_mail_outbox")),
    )
    for column in ("to_addr", "created_at", "next_attempt_at", "sent_at"):
        op.create_index(op.f(f"ix_mail_outbox_{column}"), "mail_outbox", [column], unique=False)


def downgrade() -> None:
    for column in ("to_addr", "created_at", "next_attempt_at", "sent_at"):
        op.drop_index(op.f(f"ix_mail_outbox_{column}"), table_name="mail_outbox")
    op.drop_table("mail_outbox")
    op.drop_index(op.f("ix_invitations_org_id"), table_name="invitations")
    op.drop_table("invitations")
    with op.batch_alter_table("users", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_users_registered_from"))
        for column in (
            "deleted_at",
            "registered_from",
            "mail_optout",
            "privacy_consented_at",
            "privacy_version",
            "membership",
            "org_role",
            "email_verified_at",
            "phone",
        ):
            batch_op.drop_column(column)
    with op.batch_alter_table("organisations", schema=None) as batch_op:
        batch_op.drop_constraint(batch_op.f("uq_organisations_credit_code"), type_="unique")
        batch_op.drop_index(batch_op.f("ix_organisations_verification"))
        for column in ("licence_uploaded_at", "licence_file", "verified_at", "verification_note", "verification"):
            batch_op.drop_column(column)
