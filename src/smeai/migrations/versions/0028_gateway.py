"""gateway: a key's per-minute window (requests and tokens) kept on its row, shared by every worker; a
price's cached-input price and a usage record's cached tokens; a subsidy application's mark that it funds a gateway wallet (redeemed by metered use, never by invoices)

Revision ID: 0028
Revises: 0024
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

from smeai.db import UTCDateTime

revision = "0028"
down_revision = "0024"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("gateway_keys", schema=None) as batch_op:
        batch_op.add_column(sa.Column("rate_window_at", UTCDateTime(timezone=True), nullable=True))
        batch_op.add_column(sa.Column("rate_requests", sa.Integer(), server_default="0", nullable=False))
        batch_op.add_column(sa.Column("rate_tokens", sa.BigInteger(), server_default="0", nullable=False))
    for table in ("gateway_prices", "gateway_holds"):
        with op.batch_alter_table(table, schema=None) as batch_op:
            batch_op.add_column(sa.Column("cached_input_mf_per_1k", sa.BigInteger(), nullable=True))
    with op.batch_alter_table("gateway_usage", schema=None) as batch_op:
        batch_op.add_column(sa.Column("cached_tokens", sa.Integer(), server_default="0", nullable=False))
    with op.batch_alter_table("subsidy_applications", schema=None) as batch_op:
        batch_op.add_column(sa.Column("metered_at", UTCDateTime(timezone=True), nullable=True))
    # the 模型券 that already fund a wallet are metered since their grant
    op.execute(
        "UPDATE subsidy_applications SET metered_at = (SELECT g.created_at FROM gateway_voucher_grants g"
        " WHERE g.application_id = subsidy_applications.id)"
        " WHERE id IN (SELECT application_id FROM gateway_voucher_grants)"
    )


def downgrade() -> None:
    with op.batch_alter_table("gateway_usage", schema=None) as batch_op:
        batch_op.drop_column("cached_tokens")
    for table in ("gateway_holds", "gateway_prices"):
        with op.batch_alter_table(table, schema=None) as batch_op:
            batch_op.drop_column("cached_input_mf_per_1k")
    with op.batch_alter_table("subsidy_applications", schema=None) as batch_op:
        batch_op.drop_column("metered_at")
    with op.batch_alter_table("gateway_keys", schema=None) as batch_op:
        batch_op.drop_column("rate_tokens")
        batch_op.drop_column("rate_requests")
        batch_op.drop_column("rate_window_at")
