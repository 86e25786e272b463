"""catalog: offering price in integer fen

`offerings.entry_price_wan` (a float of 万元) becomes `offerings.entry_price_fen` (BIGINT, 1 万元 =
1,000,000 fen). Every stored price is converted, none dropped: a finite price in range becomes
round(wan * 1_000_000) exactly as `smeai.money.wan_to_fen` does (through the float's shortest decimal
form, so 0.1 万元 is 100,000 fen). A stored value that was never a price (Infinity, NaN, a negative
number or one beyond MAX_WAN, all accepted by the old float field) is kept at the nearest bound
(MAX_FEN, or 0) and, when published, sent back to review with a note in the offering's history,
so an operator sees it instead of the public seeing 1,000 亿元.

SQLite alters the table in place (ADD COLUMN, DROP COLUMN, SQLite 3.35+) rather than batch mode's
copy-and-rename: with foreign keys on, dropping the old table would cascade-delete the offerings'
history and fail on engagements and cases that reference them. In place, SQLite needs a default
for a NOT NULL column added to a filled table; the value is written at once, and PostgreSQL drops
the default again.

Revision ID: 0008
Revises: 0007
"""

from __future__ import annotations

import math
import sqlite3
from datetime import UTC, datetime
from decimal import Decimal

import sqlalchemy as sa
from alembic import op

import smeai.db

revision = "0008"
down_revision = "0007"
branch_labels = None
depends_on = None

# smeai.money at the time of writing, copied so that later changes there do not change this step.
MAX_FEN = 100_000_000_000 * 100
FEN_PER_WAN = 1_000_000

offerings = sa.table(
    "offerings",
    sa.column("id", sa.Integer()),
    sa.column("entry_price_wan", sa.Float()),
    sa.column("entry_price_fen", sa.BigInteger()),
    sa.column("status", sa.String()),
    sa.column("submitted_at", smeai.db.UTCDateTime()),
    sa.column("updated_at", smeai.db.UTCDateTime()),
)
events = sa.table(
    "offering_events",
    sa.column("offering_id", sa.Integer()),
    sa.column("action", sa.String()),
    sa.column("from_status", sa.String()),
    sa.column("to_status", sa.String()),
    sa.column("comment", sa.Text()),
    sa.column("at", smeai.db.UTCDateTime()),
)


def to_fen(wan: float | None) -> tuple[int, bool]:
    """(fen, whether it is the stored price itself rather than the nearest bound)."""
    if wan is None or math.isnan(wan) or wan < 0:
        return 0, False
    if math.isinf(wan) or wan * FEN_PER_WAN > MAX_FEN:
        return MAX_FEN, False
    return int((Decimal(repr(wan)) * FEN_PER_WAN).to_integral_value()), True


def _require_sqlite_drop_column() -> None:
    if op.get_bind().dialect.name == "sqlite" and sqlite3.sqlite_version_info < (3, 35):
        raise RuntimeError(
            f"smeai needs SQLite 3.35 or later (ALTER TABLE DROP COLUMN); this is {sqlite3.sqlite_version}"
        )


def upgrade() -> None:
    _require_sqlite_drop_column()
    bind = op.get_bind()
    op.add_column("offerings", sa.Column("entry_price_fen", sa.BigInteger(), nullable=False, server_default="0"))
    now = datetime.now(UTC)
    rows = bind.execute(sa.select(offerings.c.id, offerings.c.entry_price_wan, offerings.c.status)).all()
    updates, resubmit, notes = [], [], []
    for offering_id, wan, status in rows:
        fen, exact = to_fen(wan)
        updates.append({"oid": offering_id, "fen": fen})
        if not exact:
            comment = f"迁移 0008：原入门价格 {wan!r} 万元不是有效金额，已按 {fen // FEN_PER_WAN} 万元保存"
            to_status = status
            if status == "published":
                resubmit.append({"oid": offering_id})
                to_status, comment = "submitted", comment + "，并退回审核。"
            notes.append(
                {
                    "offering_id": offering_id,
                    "action": "updated",
                    "from_status": status,
                    "to_status": to_status,
                    "comment": comment,
                    "at": now,
                }
            )
    if updates:
        bind.execute(
            offerings.update().where(offerings.c.id == sa.bindparam("oid")).values(entry_price_fen=sa.bindparam("fen")),
            updates,
        )
    if resubmit:
        bind.execute(
            offerings.update()
            .where(offerings.c.id == sa.bindparam("oid"))
            .values(status="submitted", submitted_at=now, updated_at=now),
            resubmit,
        )
    if notes:
        bind.execute(events.insert(), notes)
    if bind.dialect.name == "postgresql":
        op.alter_column("offerings", "entry_price_fen", server_default=None)
    op.drop_column("offerings", "entry_price_wan")


def downgrade() -> None:
    _require_sqlite_drop_column()
    bind = op.get_bind()
    op.add_column("offerings", sa.Column("entry_price_wan", sa.Float(), nullable=False, server_default="0"))
    bind.execute(offerings.update().values(entry_price_wan=offerings.c.entry_price_fen / float(FEN_PER_WAN)))
    if bind.dialect.name == "postgresql":
        op.alter_column("offerings", "entry_price_wan", server_default=None)
    op.drop_column("offerings", "entry_price_fen")
