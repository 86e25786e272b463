"""catalog: a change stamp (one row per database, bumped by every catalog write), each offering's
change sequence (so a worker reads only what changed since its index), and the built search index
stored for every worker to start from

Revision ID: 0026
Revises: 0019
"""

from __future__ import annotations

import uuid

import sqlalchemy as sa
from alembic import op

from smeai.db import UTCDateTime

revision = "0026"
down_revision = "0019"
branch_labels = None
depends_on = None


def upgrade() -> None:
    stamps = op.create_table(
        "change_stamps",
        sa.Column("name", sa.String(length=40), nullable=False),
        sa.Column("version", sa.BigInteger(), nullable=False),
        sa.Column("token", sa.String(length=32), nullable=False),
        sa.Column("changed_at", UTCDateTime(timezone=True), nullable=True),
        sa.PrimaryKeyConstraint("name", name=op.f("pk_change_stamps")),
    )
    # the token names this database's history: a file index built against another database (or this
    # one before it was emptied) never passes for current
    op.bulk_insert(stamps, [{"name": "catalog", "version": 0, "token": uuid.uuid4().hex}])
    op.create_table(
        "search_indexes",
        sa.Column("name", sa.String(length=40), nullable=False),
        sa.Column("token", sa.String(length=32), nullable=False),
        sa.Column("version", sa.BigInteger(), nullable=False),
        sa.Column("format", sa.String(length=40), nullable=False),
        sa.Column("rows", sa.Integer(), nullable=False),
        sa.Column("built_at", UTCDateTime(timezone=True), nullable=False),
        sa.Column("data", sa.LargeBinary(), nullable=False),
        sa.PrimaryKeyConstraint("name", name=op.f("pk_search_indexes")),
    )
    with op.batch_alter_table("offerings", schema=None) as batch_op:
        batch_op.add_column(sa.Column("change_seq", sa.BigInteger(), server_default="0", nullable=False))
        batch_op.create_index(batch_op.f("ix_offerings_change_seq"), ["change_seq"], unique=False)


def downgrade() -> None:
    with op.batch_alter_table("offerings", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_offerings_change_seq"))
        batch_op.drop_column("change_seq")
    op.drop_table("search_indexes")
    op.drop_table("change_stamps")
