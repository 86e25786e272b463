"""auth: API token scopes; failed logins remember the known browser (device cookie) they came from

Both are new columns added in place (ADD COLUMN on SQLite too): batch mode's copy-and-rename is not
needed for a nullable column or one with a server default, and would rebuild the tables for nothing.
Existing tokens keep the rights they were issued with ("full").

Revision ID: 0009
Revises: 0008
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0009"
down_revision = "0008"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.add_column("access_tokens", sa.Column("scope", sa.String(length=10), server_default="full", nullable=False))
    op.add_column("login_attempts", sa.Column("device", sa.String(length=32), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("login_attempts", schema=None) as batch_op:
        batch_op.drop_column("device")
    with op.batch_alter_table("access_tokens", schema=None) as batch_op:
        batch_op.drop_column("scope")
