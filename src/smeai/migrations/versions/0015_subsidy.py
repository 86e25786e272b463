"""subsidy: an application keeps the version of the programme file it was decided under

subsidy_applications.programme_version holds the first 12 hex digits of the programme file's SHA-256 at
submission (programmes.version_of); existing applications keep NULL (decided before versions were kept).

Revision ID: 0015
Revises: 0014
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0015"
down_revision = "0014"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("subsidy_applications") as batch:
        batch.add_column(sa.Column("programme_version", sa.String(length=12), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("subsidy_applications") as batch:
        batch.drop_column("programme_version")
