"""gateway: upstreams, routes and versioned prices, keys, wallets, holds, usage, the wallet ledger, 模型券 grants

Revision ID: 0020
Revises: 0026
Create Date: 2026-12-06 08:06:14.988497
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

import smeai.db

revision = "0020"
down_revision = "0026"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "gateway_upstreams",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("name", sa.String(length=60), nullable=False),
        sa.Column("base_url", sa.String(length=300), nullable=False),
        sa.Column("api_key_env", sa.String(length=100), nullable=True),
        sa.Column("tokenize_url", sa.String(length=300), nullable=True),
        sa.Column("overhead_tokens", sa.Integer(), nullable=False),
        sa.Column("retries", sa.Integer(), nullable=False),
        sa.Column("timeout_s", sa.Integer(), nullable=False),
        sa.Column("fallback_on", sa.JSON(), nullable=False),
        sa.Column("active", sa.Boolean(), nullable=False),
        sa.Column("created_at", smeai.db.UTCDateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_gateway_upstreams")),
        sa.UniqueConstraint("name", name=op.f("uq_gateway_upstreams_name")),
    )
    op.create_table(
        "gateway_keys",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("org_id", sa.Integer(), nullable=False),
        sa.Column("name", sa.String(length=100), nullable=False),
        sa.Column("prefix", sa.String(length=16), nullable=False),
        sa.Column("key_hash", sa.String(length=64), nullable=False),
        sa.Column("allowed_models", sa.JSON(), nullable=True),
        sa.Column("rpm", sa.Integer(), nullable=True),
        sa.Column("tpm", sa.Integer(), nullable=True),
        sa.Column("concurrency", sa.Integer(), nullable=False),
        sa.Column("in_flight", sa.Integer(), nullable=False),
        sa.Column("max_tokens", sa.Integer(), nullable=False),
        sa.Column("monthly_cap_mf", sa.BigInteger(), nullable=True),
        sa.Column("expires_at", smeai.db.UTCDateTime(timezone=True), nullable=True),
        sa.Column("revoked_at", smeai.db.UTCDateTime(timezone=True), nullable=True),
        sa.Column("created_by_id", sa.Integer(), nullable=True),
        sa.Column("created_at", smeai.db.UTCDateTime(timezone=True), nullable=False),
        sa.Column("last_used_at", smeai.db.UTCDateTime(timezone=True), nullable=True),
        sa.CheckConstraint("in_flight <= concurrency", name=op.f("ck_gateway_keys_within_concurrency")),
        sa.CheckConstraint("in_flight >= 0", name=op.f("ck_gateway_keys_in_flight_not_negative")),
        sa.ForeignKeyConstraint(["org_id"], ["organisations.id"], name=op.f("fk_gateway_keys_org_id_organisations")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_gateway_keys")),
        sa.UniqueConstraint("key_hash", name=op.f("uq_gateway_keys_key_hash")),
    )
    with op.batch_alter_table("gateway_keys", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_gateway_keys_org_id"), ["org_id"], unique=False)

    op.create_table(
        "gateway_routes",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("alias", sa.String(length=100), nullable=False),
        sa.Column("upstream_id", sa.Integer(), nullable=False),
        sa.Column("upstream_model", sa.String(length=200), nullable=False),
        sa.Column("priority", sa.Integer(), nullable=False),
        sa.Column("active", sa.Boolean(), nullable=False),
        sa.ForeignKeyConstraint(
            ["upstream_id"], ["gateway_upstreams.id"], name=op.f("fk_gateway_routes_upstream_id_gateway_upstreams")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_gateway_routes")),
        sa.UniqueConstraint("alias", "upstream_id", name=op.f("uq_gateway_routes_alias")),
    )
    with op.batch_alter_table("gateway_routes", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_gateway_routes_alias"), ["alias"], unique=False)
        batch_op.create_index(batch_op.f("ix_gateway_routes_upstream_id"), ["upstream_id"], unique=False)

    op.create_table(
        "gateway_wallet_entries",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("org_id", sa.Integer(), nullable=False),
        sa.Column("kind", sa.String(length=20), nullable=False),
        sa.Column("hold_id", sa.Integer(), nullable=True),
        sa.Column("grant_id", sa.Integer(), nullable=True),
        sa.Column("own_mf", sa.BigInteger(), nullable=False),
        sa.Column("voucher_mf", sa.BigInteger(), nullable=False),
        sa.Column("own_held_mf", sa.BigInteger(), nullable=False),
        sa.Column("voucher_held_mf", sa.BigInteger(), nullable=False),
        sa.Column("loss_mf", sa.BigInteger(), nullable=False),
        sa.Column("actor_user_id", sa.Integer(), nullable=True),
        sa.Column("note", sa.Text(), nullable=True),
        sa.Column("created_at", smeai.db.UTCDateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["org_id"], ["organisations.id"], name=op.f("fk_gateway_wallet_entries_org_id_organisations")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_gateway_wallet_entries")),
    )
    with op.batch_alter_table("gateway_wallet_entries", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_gateway_wallet_entries_created_at"), ["created_at"], unique=False)
        batch_op.create_index(batch_op.f("ix_gateway_wallet_entries_hold_id"), ["hold_id"], unique=False)
        batch_op.create_index(batch_op.f("ix_gateway_wallet_entries_kind"), ["kind"], unique=False)
        batch_op.create_index(batch_op.f("ix_gateway_wallet_entries_org_id"), ["org_id"], unique=False)

    op.create_table(
        "gateway_wallets",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("org_id", sa.Integer(), nullable=False),
        sa.Column("own_balance_mf", sa.BigInteger(), nullable=False),
        sa.Column("own_held_mf", sa.BigInteger(), nullable=False),
        sa.Column("voucher_balance_mf", sa.BigInteger(), nullable=False),
        sa.Column("voucher_held_mf", sa.BigInteger(), nullable=False),
        sa.Column("voucher_rate_bp", sa.Integer(), nullable=False),
        sa.Column("grant_id", sa.Integer(), nullable=True),
        sa.Column("updated_at", smeai.db.UTCDateTime(timezone=True), nullable=False),
        sa.CheckConstraint("own_held_mf <= own_balance_mf", name=op.f("ck_gateway_wallets_own_within_balance")),
        sa.CheckConstraint("own_held_mf >= 0", name=op.f("ck_gateway_wallets_own_held_not_negative")),
        sa.CheckConstraint(
            "voucher_held_mf <= voucher_balance_mf", name=op.f("ck_gateway_wallets_voucher_within_balance")
        ),
        sa.CheckConstraint("voucher_held_mf >= 0", name=op.f("ck_gateway_wallets_voucher_held_not_negative")),
        sa.CheckConstraint(
            "voucher_rate_bp >= 0 AND voucher_rate_bp <= 10000", name=op.f("ck_gateway_wallets_rate_in_range")
        ),
        sa.ForeignKeyConstraint(["org_id"], ["organisations.id"], name=op.f("fk_gateway_wallets_org_id_organisations")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_gateway_wallets")),
        sa.UniqueConstraint("org_id", name=op.f("uq_gateway_wallets_org_id")),
    )
    op.create_table(
        "gateway_holds",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("org_id", sa.Integer(), nullable=False),
        sa.Column("key_id", sa.Integer(), nullable=False),
        sa.Column("idempotency_key", sa.String(length=100), nullable=True),
        sa.Column("fingerprint", sa.String(length=64), nullable=False),
        sa.Column("alias", sa.String(length=100), nullable=False),
        sa.Column("route_id", sa.Integer(), nullable=True),
        sa.Column("month", sa.String(length=7), nullable=False),
        sa.Column("state", sa.String(length=10), nullable=False),
        sa.Column("input_bound", sa.Integer(), nullable=False),
        sa.Column("output_bound", sa.Integer(), nullable=False),
        sa.Column("input_mf_per_1k", sa.BigInteger(), nullable=False),
        sa.Column("output_mf_per_1k", sa.BigInteger(), nullable=False),
        sa.Column("own_mf", sa.BigInteger(), nullable=False),
        sa.Column("voucher_mf", sa.BigInteger(), nullable=False),
        sa.Column("rate_bp", sa.Integer(), nullable=False),
        sa.Column("grant_id", sa.Integer(), nullable=True),
        sa.Column("created_at", smeai.db.UTCDateTime(timezone=True), nullable=False),
        sa.Column("expires_at", smeai.db.UTCDateTime(timezone=True), nullable=False),
        sa.Column("resolved_at", smeai.db.UTCDateTime(timezone=True), nullable=True),
        sa.CheckConstraint("own_mf >= 0 AND voucher_mf >= 0", name=op.f("ck_gateway_holds_parts_not_negative")),
        sa.ForeignKeyConstraint(["key_id"], ["gateway_keys.id"], name=op.f("fk_gateway_holds_key_id_gateway_keys")),
        sa.ForeignKeyConstraint(["org_id"], ["organisations.id"], name=op.f("fk_gateway_holds_org_id_organisations")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_gateway_holds")),
        sa.UniqueConstraint("key_id", "idempotency_key", name=op.f("uq_gateway_holds_key_id")),
    )
    with op.batch_alter_table("gateway_holds", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_gateway_holds_created_at"), ["created_at"], unique=False)
        batch_op.create_index(batch_op.f("ix_gateway_holds_expires_at"), ["expires_at"], unique=False)
        batch_op.create_index(batch_op.f("ix_gateway_holds_key_id"), ["key_id"], unique=False)
        batch_op.create_index(batch_op.f("ix_gateway_holds_org_id"), ["org_id"], unique=False)
        batch_op.create_index(batch_op.f("ix_gateway_holds_state"), ["state"], unique=False)

    op.create_table(
        "gateway_key_months",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("key_id", sa.Integer(), nullable=False),
        sa.Column("month", sa.String(length=7), nullable=False),
        sa.Column("held_mf", sa.BigInteger(), nullable=False),
        sa.Column("spent_mf", sa.BigInteger(), nullable=False),
        sa.CheckConstraint("held_mf >= 0", name=op.f("ck_gateway_key_months_held_not_negative")),
        sa.CheckConstraint("spent_mf >= 0", name=op.f("ck_gateway_key_months_spent_not_negative")),
        sa.ForeignKeyConstraint(
            ["key_id"], ["gateway_keys.id"], name=op.f("fk_gateway_key_months_key_id_gateway_keys")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_gateway_key_months")),
        sa.UniqueConstraint("key_id", "month", name=op.f("uq_gateway_key_months_key_id")),
    )
    with op.batch_alter_table("gateway_key_months", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_gateway_key_months_key_id"), ["key_id"], unique=False)

    op.create_table(
        "gateway_prices",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("route_id", sa.Integer(), nullable=False),
        sa.Column("input_mf_per_1k", sa.BigInteger(), nullable=False),
        sa.Column("output_mf_per_1k", sa.BigInteger(), nullable=False),
        sa.Column("effective_from", smeai.db.UTCDateTime(timezone=True), nullable=False),
        sa.Column("created_by_id", sa.Integer(), nullable=True),
        sa.Column("created_at", smeai.db.UTCDateTime(timezone=True), nullable=False),
        sa.CheckConstraint("input_mf_per_1k >= 0", name=op.f("ck_gateway_prices_input_not_negative")),
        sa.CheckConstraint("output_mf_per_1k >= 0", name=op.f("ck_gateway_prices_output_not_negative")),
        sa.ForeignKeyConstraint(
            ["route_id"], ["gateway_routes.id"], name=op.f("fk_gateway_prices_route_id_gateway_routes")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_gateway_prices")),
    )
    with op.batch_alter_table("gateway_prices", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_gateway_prices_route_id"), ["route_id"], unique=False)

    op.create_table(
        "gateway_usage",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("hold_id", sa.Integer(), nullable=False),
        sa.Column("org_id", sa.Integer(), nullable=False),
        sa.Column("key_id", sa.Integer(), nullable=False),
        sa.Column("model", sa.String(length=100), nullable=False),
        sa.Column("upstream_id", sa.Integer(), nullable=True),
        sa.Column("upstream_model", sa.String(length=200), nullable=True),
        sa.Column("prompt_tokens", sa.Integer(), nullable=False),
        sa.Column("completion_tokens", sa.Integer(), nullable=False),
        sa.Column("estimated", sa.Boolean(), nullable=False),
        sa.Column("list_mf", sa.BigInteger(), nullable=False),
        sa.Column("cost_mf", sa.BigInteger(), nullable=False),
        sa.Column("own_mf", sa.BigInteger(), nullable=False),
        sa.Column("voucher_mf", sa.BigInteger(), nullable=False),
        sa.Column("loss_mf", sa.BigInteger(), nullable=False),
        sa.Column("status", sa.String(length=20), nullable=False),
        sa.Column("stream", sa.Boolean(), nullable=False),
        sa.Column("day", sa.Date(), nullable=False),
        sa.Column("latency_ms", sa.Integer(), nullable=True),
        sa.Column("ttft_ms", sa.Integer(), nullable=True),
        sa.Column("response", sa.JSON(), nullable=True),
        sa.Column("created_at", smeai.db.UTCDateTime(timezone=True), nullable=False),
        sa.CheckConstraint("cost_mf = own_mf + voucher_mf", name=op.f("ck_gateway_usage_cost_is_parts")),
        sa.CheckConstraint(
            "prompt_tokens >= 0 AND completion_tokens >= 0", name=op.f("ck_gateway_usage_tokens_not_negative")
        ),
        sa.ForeignKeyConstraint(["hold_id"], ["gateway_holds.id"], name=op.f("fk_gateway_usage_hold_id_gateway_holds")),
        sa.ForeignKeyConstraint(["key_id"], ["gateway_keys.id"], name=op.f("fk_gateway_usage_key_id_gateway_keys")),
        sa.ForeignKeyConstraint(["org_id"], ["organisations.id"], name=op.f("fk_gateway_usage_org_id_organisations")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_gateway_usage")),
        sa.UniqueConstraint("hold_id", name=op.f("uq_gateway_usage_hold_id")),
    )
    with op.batch_alter_table("gateway_usage", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_gateway_usage_day"), ["day"], unique=False)
        batch_op.create_index(batch_op.f("ix_gateway_usage_key_id"), ["key_id"], unique=False)
        batch_op.create_index(batch_op.f("ix_gateway_usage_model"), ["model"], unique=False)
        batch_op.create_index(batch_op.f("ix_gateway_usage_org_id"), ["org_id"], unique=False)

    op.create_table(
        "gateway_voucher_grants",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("org_id", sa.Integer(), nullable=False),
        sa.Column("application_id", sa.Integer(), nullable=False),
        sa.Column("programme_code", sa.String(length=60), nullable=False),
        sa.Column("rate_bp", sa.Integer(), nullable=False),
        sa.Column("funded_mf", sa.BigInteger(), nullable=False),
        sa.Column("spent_mf", sa.BigInteger(), nullable=False),
        sa.Column("ends_on", sa.Date(), nullable=True),
        sa.Column("closed_at", smeai.db.UTCDateTime(timezone=True), nullable=True),
        sa.Column("paid_fen", sa.BigInteger(), nullable=True),
        sa.Column("created_by_id", sa.Integer(), nullable=True),
        sa.Column("created_at", smeai.db.UTCDateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["application_id"],
            ["subsidy_applications.id"],
            name=op.f("fk_gateway_voucher_grants_application_id_subsidy_applications"),
        ),
        sa.ForeignKeyConstraint(
            ["org_id"], ["organisations.id"], name=op.f("fk_gateway_voucher_grants_org_id_organisations")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_gateway_voucher_grants")),
        sa.UniqueConstraint("application_id", name=op.f("uq_gateway_voucher_grants_application_id")),
    )
    with op.batch_alter_table("gateway_voucher_grants", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_gateway_voucher_grants_org_id"), ["org_id"], unique=False)


def downgrade() -> None:
    with op.batch_alter_table("gateway_voucher_grants", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_gateway_voucher_grants_org_id"))

    op.drop_table("gateway_voucher_grants")
    with op.batch_alter_table("gateway_usage", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_gateway_usage_org_id"))
        batch_op.drop_index(batch_op.f("ix_gateway_usage_model"))
        batch_op.drop_index(batch_op.f("ix_gateway_usage_key_id"))
        batch_op.drop_index(batch_op.f("ix_gateway_usage_day"))

    op.drop_table("gateway_usage")
    with op.batch_alter_table("gateway_prices", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_gateway_prices_route_id"))

    op.drop_table("gateway_prices")
    with op.batch_alter_table("gateway_key_months", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_gateway_key_months_key_id"))

    op.drop_table("gateway_key_months")
    with op.batch_alter_table("gateway_holds", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_gateway_holds_state"))
        batch_op.drop_index(batch_op.f("ix_gateway_holds_org_id"))
        batch_op.drop_index(batch_op.f("ix_gateway_holds_key_id"))
        batch_op.drop_index(batch_op.f("ix_gateway_holds_expires_at"))
        batch_op.drop_index(batch_op.f("ix_gateway_holds_created_at"))

    op.drop_table("gateway_holds")
    op.drop_table("gateway_wallets")
    with op.batch_alter_table("gateway_wallet_entries", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_gateway_wallet_entries_org_id"))
        batch_op.drop_index(batch_op.f("ix_gateway_wallet_entries_kind"))
        batch_op.drop_index(batch_op.f("ix_gateway_wallet_entries_hold_id"))
        batch_op.drop_index(batch_op.f("ix_gateway_wallet_entries_created_at"))

    op.drop_table("gateway_wallet_entries")
    with op.batch_alter_table("gateway_routes", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_gateway_routes_upstream_id"))
        batch_op.drop_index(batch_op.f("ix_gateway_routes_alias"))

    op.drop_table("gateway_routes")
    with op.batch_alter_table("gateway_keys", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_gateway_keys_org_id"))

    op.drop_table("gateway_keys")
    op.drop_table("gateway_upstreams")
