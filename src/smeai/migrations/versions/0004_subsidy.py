"""subsidy: programmes, applications, ledger (pools, counters, claim locks, ledger, documents, idempotency keys)

Revision ID: 0004
Revises: 0003
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

import smeai.db  # custom column types

revision = "0004"
down_revision = "0003"
branch_labels = None
depends_on = None


def _ledger_append_only() -> None:
    """The database itself refuses to change a ledger row (the ORM refuses too). On SQLite only UPDATE is
    refused: the test suite empties tables with DELETE there (PostgreSQL's TRUNCATE fires no row trigger)."""
    if op.get_bind().dialect.name == "postgresql":
        op.execute(
            "CREATE FUNCTION subsidy_ledger_append_only() RETURNS trigger LANGUAGE plpgsql AS $$ "
            "BEGIN RAISE EXCEPTION 'the subsidy ledger is append-only'; END $$"
        )
        op.execute(
            "CREATE TRIGGER subsidy_ledger_append_only BEFORE UPDATE OR DELETE ON subsidy_ledger_entries "
            "FOR EACH ROW EXECUTE FUNCTION subsidy_ledger_append_only()"
        )
    else:
        op.execute(
            "CREATE TRIGGER subsidy_ledger_no_update BEFORE UPDATE ON subsidy_ledger_entries "
            "BEGIN SELECT RAISE(ABORT, 'the subsidy ledger is append-only'); END"
        )


def upgrade() -> None:
    op.create_table(
        "subsidy_counters",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("key", sa.String(length=300), nullable=False),
        sa.Column("committed_fen", sa.BigInteger(), nullable=False),
        sa.Column("cap_fen", sa.BigInteger(), nullable=True),
        sa.CheckConstraint("cap_fen IS NULL OR committed_fen <= cap_fen", name=op.f("ck_subsidy_counters_within_cap")),
        sa.CheckConstraint("committed_fen >= 0", name=op.f("ck_subsidy_counters_committed_not_negative")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_subsidy_counters")),
        sa.UniqueConstraint("key", name=op.f("uq_subsidy_counters_key")),
    )
    op.create_table(
        "subsidy_idempotency_keys",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("user_id", sa.Integer(), nullable=False),
        sa.Column("key", sa.String(length=100), nullable=False),
        sa.Column("fingerprint", sa.String(length=64), nullable=False),
        sa.Column("response", sa.JSON(), nullable=True),
        sa.Column("created_at", smeai.db.UTCDateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_subsidy_idempotency_keys")),
        sa.UniqueConstraint("user_id", "key", name=op.f("uq_subsidy_idempotency_keys_user_id")),
    )
    op.create_table(
        "subsidy_pools",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("programme_code", sa.String(length=60), nullable=False),
        sa.Column("budget_fen", sa.BigInteger(), nullable=True),
        sa.Column("reserved_fen", sa.BigInteger(), nullable=False),
        sa.Column("paid_fen", sa.BigInteger(), nullable=False),
        sa.Column("updated_at", smeai.db.UTCDateTime(timezone=True), nullable=False),
        sa.CheckConstraint(
            "budget_fen IS NULL OR reserved_fen + paid_fen <= budget_fen", name=op.f("ck_subsidy_pools_within_budget")
        ),
        sa.CheckConstraint("paid_fen >= 0", name=op.f("ck_subsidy_pools_paid_not_negative")),
        sa.CheckConstraint("reserved_fen >= 0", name=op.f("ck_subsidy_pools_reserved_not_negative")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_subsidy_pools")),
        sa.UniqueConstraint("programme_code", name=op.f("uq_subsidy_pools_programme_code")),
    )
    op.create_table(
        "subsidy_applications",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("programme_code", sa.String(length=60), nullable=False),
        sa.Column("org_id", sa.Integer(), nullable=False),
        sa.Column("applicant_id", sa.Integer(), nullable=True),
        sa.Column("state", sa.String(length=20), nullable=False),
        sa.Column("offering_id", sa.Integer(), nullable=True),
        sa.Column("description", sa.Text(), nullable=False),
        sa.Column("kind", sa.String(length=20), nullable=True),
        sa.Column("supplier_name", sa.String(length=200), nullable=False),
        sa.Column("supplier_affiliated", sa.Boolean(), nullable=False),
        sa.Column("contract_no", sa.String(length=100), nullable=True),
        sa.Column("contract_ref", sa.String(length=300), nullable=False),
        sa.Column("contract_fen", sa.BigInteger(), nullable=False),
        sa.Column("signed_on", sa.Date(), nullable=True),
        sa.Column("starts_on", sa.Date(), nullable=True),
        sa.Column("ends_on", sa.Date(), nullable=True),
        sa.Column("paid_on", sa.Date(), nullable=True),
        sa.Column("service_year", sa.Integer(), nullable=False),
        sa.Column("flags", sa.JSON(), nullable=False),
        sa.Column("budget_year", sa.Integer(), nullable=False),
        sa.Column("requested_fen", sa.BigInteger(), nullable=False),
        sa.Column("explanation", sa.JSON(), nullable=False),
        sa.Column("approved_fen", sa.BigInteger(), nullable=True),
        sa.Column("paid_fen", sa.BigInteger(), nullable=True),
        sa.Column("decision_note", sa.Text(), nullable=True),
        sa.Column("redeem_by_on", sa.Date(), nullable=True),
        sa.Column("created_at", smeai.db.UTCDateTime(timezone=True), nullable=False),
        sa.Column("updated_at", smeai.db.UTCDateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["applicant_id"], ["users.id"], name=op.f("fk_subsidy_applications_applicant_id_users")
        ),
        sa.ForeignKeyConstraint(
            ["org_id"], ["organisations.id"], name=op.f("fk_subsidy_applications_org_id_organisations")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_subsidy_applications")),
    )
    with op.batch_alter_table("subsidy_applications", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_subsidy_applications_contract_ref"), ["contract_ref"], unique=False)
        batch_op.create_index(batch_op.f("ix_subsidy_applications_created_at"), ["created_at"], unique=False)
        batch_op.create_index(batch_op.f("ix_subsidy_applications_org_id"), ["org_id"], unique=False)
        batch_op.create_index(batch_op.f("ix_subsidy_applications_programme_code"), ["programme_code"], unique=False)
        batch_op.create_index(batch_op.f("ix_subsidy_applications_state"), ["state"], unique=False)

    op.create_table(
        "subsidy_claim_locks",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("key", sa.String(length=400), nullable=False),
        sa.Column("application_id", sa.Integer(), nullable=False),
        sa.ForeignKeyConstraint(
            ["application_id"],
            ["subsidy_applications.id"],
            name=op.f("fk_subsidy_claim_locks_application_id_subsidy_applications"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_subsidy_claim_locks")),
        sa.UniqueConstraint("key", name=op.f("uq_subsidy_claim_locks_key")),
    )
    with op.batch_alter_table("subsidy_claim_locks", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_subsidy_claim_locks_application_id"), ["application_id"], unique=False)

    op.create_table(
        "subsidy_documents",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("application_id", sa.Integer(), nullable=False),
        sa.Column("kind", sa.String(length=20), nullable=False),
        sa.Column("filename", sa.String(length=200), nullable=False),
        sa.Column("stored_name", sa.String(length=200), nullable=False),
        sa.Column("content_type", sa.String(length=60), nullable=False),
        sa.Column("size_bytes", sa.Integer(), nullable=False),
        sa.Column("sha256", sa.String(length=64), nullable=False),
        sa.Column("uploaded_by_id", sa.Integer(), nullable=True),
        sa.Column("uploaded_at", smeai.db.UTCDateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["application_id"],
            ["subsidy_applications.id"],
            name=op.f("fk_subsidy_documents_application_id_subsidy_applications"),
        ),
        sa.ForeignKeyConstraint(
            ["uploaded_by_id"], ["users.id"], name=op.f("fk_subsidy_documents_uploaded_by_id_users")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_subsidy_documents")),
    )
    with op.batch_alter_table("subsidy_documents", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_subsidy_documents_application_id"), ["application_id"], unique=False)

    op.create_table(
        "subsidy_events",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("application_id", sa.Integer(), nullable=False),
        sa.Column("action", sa.String(length=20), nullable=False),
        sa.Column("from_state", sa.String(length=20), nullable=True),
        sa.Column("to_state", sa.String(length=20), nullable=False),
        sa.Column("actor_user_id", sa.Integer(), nullable=True),
        sa.Column("note", sa.Text(), nullable=True),
        sa.Column("created_at", smeai.db.UTCDateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(["actor_user_id"], ["users.id"], name=op.f("fk_subsidy_events_actor_user_id_users")),
        sa.ForeignKeyConstraint(
            ["application_id"],
            ["subsidy_applications.id"],
            name=op.f("fk_subsidy_events_application_id_subsidy_applications"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_subsidy_events")),
    )
    with op.batch_alter_table("subsidy_events", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_subsidy_events_application_id"), ["application_id"], unique=False)

    op.create_table(
        "subsidy_ledger_entries",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("kind", sa.String(length=10), nullable=False),
        sa.Column("programme_code", sa.String(length=60), nullable=False),
        sa.Column("application_id", sa.Integer(), nullable=False),
        sa.Column("org_id", sa.Integer(), nullable=False),
        sa.Column("budget_year", sa.Integer(), nullable=False),
        sa.Column("contract_ref", sa.String(length=300), nullable=False),
        sa.Column("amount_fen", sa.BigInteger(), nullable=False),
        sa.Column("actor_user_id", sa.Integer(), nullable=True),
        sa.Column("created_at", smeai.db.UTCDateTime(timezone=True), nullable=False),
        sa.CheckConstraint("amount_fen > 0", name=op.f("ck_subsidy_ledger_entries_amount_positive")),
        sa.ForeignKeyConstraint(
            ["actor_user_id"], ["users.id"], name=op.f("fk_subsidy_ledger_entries_actor_user_id_users")
        ),
        sa.ForeignKeyConstraint(
            ["application_id"],
            ["subsidy_applications.id"],
            name=op.f("fk_subsidy_ledger_entries_application_id_subsidy_applications"),
        ),
        sa.ForeignKeyConstraint(
            ["org_id"], ["organisations.id"], name=op.f("fk_subsidy_ledger_entries_org_id_organisations")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_subsidy_ledger_entries")),
    )
    with op.batch_alter_table("subsidy_ledger_entries", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_subsidy_ledger_entries_application_id"), ["application_id"], unique=False)
        batch_op.create_index(batch_op.f("ix_subsidy_ledger_entries_created_at"), ["created_at"], unique=False)
        batch_op.create_index(batch_op.f("ix_subsidy_ledger_entries_kind"), ["kind"], unique=False)
        batch_op.create_index(batch_op.f("ix_subsidy_ledger_entries_programme_code"), ["programme_code"], unique=False)

    _ledger_append_only()


def downgrade() -> None:
    if op.get_bind().dialect.name == "postgresql":
        op.execute("DROP TRIGGER IF EXISTS subsidy_ledger_append_only ON subsidy_ledger_entries")
        op.execute("DROP FUNCTION IF EXISTS subsidy_ledger_append_only()")
    else:
        op.execute("DROP TRIGGER IF EXISTS subsidy_ledger_no_update")
    with op.batch_alter_table("subsidy_ledger_entries", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_subsidy_ledger_entries_programme_code"))
        batch_op.drop_index(batch_op.f("ix_subsidy_ledger_entries_kind"))
        batch_op.drop_index(batch_op.f("ix_subsidy_ledger_entries_created_at"))
        batch_op.drop_index(batch_op.f("ix_subsidy_ledger_entries_application_id"))

    op.drop_table("subsidy_ledger_entries")
    with op.batch_alter_table("subsidy_events", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_subsidy_events_application_id"))

    op.drop_table("subsidy_events")
    with op.batch_alter_table("subsidy_documents", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_subsidy_documents_application_id"))

    op.drop_table("subsidy_documents")
    with op.batch_alter_table("subsidy_claim_locks", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_subsidy_claim_locks_application_id"))

    op.drop_table("subsidy_claim_locks")
    with op.batch_alter_table("subsidy_applications", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_subsidy_applications_state"))
        batch_op.drop_index(batch_op.f("ix_subsidy_applications_programme_code"))
        batch_op.drop_index(batch_op.f("ix_subsidy_applications_org_id"))
        batch_op.drop_index(batch_op.f("ix_subsidy_applications_created_at"))
        batch_op.drop_index(batch_op.f("ix_subsidy_applications_contract_ref"))

    op.drop_table("subsidy_applications")
    op.drop_table("subsidy_pools")
    op.drop_table("subsidy_idempotency_keys")
    op.drop_table("subsidy_counters")
