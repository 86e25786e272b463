"""gateway: a key's per-minute window (requests and tokens) kept on its row, shared by every worker

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


def downgrade() -> None:
    with op.batch_alter_table("gateway_keys", schema=None) as batch_op:
        batch_op.drop_column("rate_tokens")
        batch_op.drop_column("rate_requests")
        batch_op.drop_column("rate_window_at")
