"""subsidy: programme budget years: who opened a pool and when; the date an application was made

Pools of a budget year exist only once an operator opened them (a claim used to create one for any year it
named), and an application counts in the year its programme's text says (usually the year it was made), so
the pool gains opened_at/opened_by_id and the application applied_on. Existing single pools (no `@year` in
their key) were opened by their programme file and get opened_at; existing annual pool rows stay unopened
until an operator sets their budget, and `smeai subsidy audit` lists them.

Revision ID: 0010
Revises: 0009
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

import smeai.db

revision = "0010"
down_revision = "0009"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.add_column("subsidy_pools", sa.Column("opened_at", smeai.db.UTCDateTime(timezone=True), nullable=True))
    op.add_column("subsidy_pools", sa.Column("opened_by_id", sa.Integer(), nullable=True))
    op.add_column("subsidy_applications", sa.Column("applied_on", sa.Date(), nullable=True))
    op.execute("UPDATE subsidy_pools SET opened_at = updated_at WHERE programme_code NOT LIKE '%@%'")
    day = "DATE(created_at)" if op.get_bind().dialect.name == "sqlite" else "CAST(created_at AS DATE)"
    op.execute(f"UPDATE subsidy_applications SET applied_on = {day}")


def downgrade() -> None:
    with op.batch_alter_table("subsidy_applications") as batch:
        batch.drop_column("applied_on")
    with op.batch_alter_table("subsidy_pools") as batch:
        batch.drop_column("opened_by_id")
        batch.drop_column("opened_at")
