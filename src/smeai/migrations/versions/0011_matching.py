"""matching: money columns in BIGINT fen, as everywhere else

needs.budget_fen, challenges.budget_fen, proposals.price_fen and offering_modules.price_fen were
INTEGER, so any amount above 2^31-1 fen (about 2,147 万元) failed on PostgreSQL, below the platform's
stated maximum (smeai.money.MAX_FEN, 1,000 亿元). Values are kept as they are.

PostgreSQL changes the column type in place. SQLite stores every INTEGER as up to 64 bits already, but
keeps the declared type; it cannot ALTER a column's type, and batch mode's copy-and-rename would
cascade through the foreign keys that point at these tables, so each column is replaced in place:
add a BIGINT column, copy, drop the old one, rename (SQLite 3.35+).

Revision ID: 0011
Revises: 0010
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0011"
down_revision = "0010"
branch_labels = None
depends_on = None

COLUMNS = [
    ("needs", "budget_fen", True),
    ("challenges", "budget_fen", True),
    ("proposals", "price_fen", True),
    ("offering_modules", "price_fen", False),
]


def _retype(to: type[sa.types.TypeEngine], frm: type[sa.types.TypeEngine]) -> None:
    bind = op.get_bind()
    for table, column, nullable in COLUMNS:
        if bind.dialect.name != "sqlite":
            op.alter_column(table, column, type_=to(), existing_type=frm(), existing_nullable=nullable)
            continue
        temp = f"{column}_new"
        default = None if nullable else sa.text("0")  # SQLite adds a NOT NULL column only with a default
        op.add_column(table, sa.Column(temp, to(), nullable=nullable, server_default=default))
        op.execute(f'UPDATE "{table}" SET "{temp}" = "{column}"')
        op.drop_column(table, column)
        op.alter_column(table, temp, new_column_name=column)


def upgrade() -> None:
    _retype(sa.BigInteger, sa.Integer)


def downgrade() -> None:
    _retype(sa.Integer, sa.BigInteger)
