"""matching: what a need's text stated, the need's ranked list as a snapshot, no bare recommendations

needs.extracted (JSON) holds the fields read from the need's words with their evidence, proposed to
the author; needs.fields_confirmed says the author confirmed or edited them. needs.snapshot (JSON)
holds the need's ranked list (pool stamp, scores, reasons): recommendations are no longer engagements.

Existing engagements in state 'recommended' (a match nobody acted on) become their need's snapshot
(offering, score, reasons, with no pool stamp, so the page recomputes it) and are deleted with their
history. Downgrade drops the columns; the deleted rows are not brought back.

Revision ID: 0012
Revises: 0011
"""

from __future__ import annotations

from collections import defaultdict

import sqlalchemy as sa
from alembic import op

revision = "0012"
down_revision = "0011"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.add_column("needs", sa.Column("extracted", sa.JSON(), nullable=True))
    op.add_column("needs", sa.Column("fields_confirmed", sa.Boolean(), nullable=False, server_default=sa.false()))
    op.add_column("needs", sa.Column("snapshot", sa.JSON(), nullable=True))
    bind = op.get_bind()
    needs = sa.table("needs", sa.column("id", sa.Integer), sa.column("snapshot", sa.JSON))
    engagements = sa.table(
        "engagements",
        sa.column("id", sa.Integer),
        sa.column("need_id", sa.Integer),
        sa.column("offering_id", sa.Integer),
        sa.column("state", sa.String),
        sa.column("score", sa.Float),
        sa.column("reasons", sa.JSON),
    )
    offerings = sa.table("offerings", sa.column("id", sa.Integer), sa.column("ext_id", sa.String))
    events = sa.table("engagement_events", sa.column("engagement_id", sa.Integer))
    proposals = sa.table("proposals", sa.column("engagement_id", sa.Integer))
    rows = bind.execute(
        sa.select(
            engagements.c.id, engagements.c.need_id, offerings.c.ext_id, engagements.c.score, engagements.c.reasons
        )
        .select_from(engagements.outerjoin(offerings, offerings.c.id == engagements.c.offering_id))
        .where(engagements.c.state == "recommended")
        .order_by(engagements.c.need_id, engagements.c.score.desc(), engagements.c.id)
    ).all()
    kept: dict[int, list[dict]] = defaultdict(list)
    for _id, need_id, ext_id, score, reasons in rows:
        if ext_id is not None:
            kept[need_id].append({"id": ext_id, "score": score or 0.0, "reasons": list(reasons or [])})
    for need_id, matches in kept.items():
        snapshot = {"pool": None, "need": None, "matches": matches, "near": [], "migrated": True}
        bind.execute(sa.update(needs).where(needs.c.id == need_id).values(snapshot=snapshot))
    ids = [r[0] for r in rows]
    for start in range(0, len(ids), 500):
        chunk = ids[start : start + 500]
        bind.execute(sa.update(proposals).where(proposals.c.engagement_id.in_(chunk)).values(engagement_id=None))
        bind.execute(sa.delete(events).where(events.c.engagement_id.in_(chunk)))
        bind.execute(sa.delete(engagements).where(engagements.c.id.in_(chunk)))


def downgrade() -> None:
    with op.batch_alter_table("needs") as batch:
        batch.drop_column("snapshot")
        batch.drop_column("fields_confirmed")
        batch.drop_column("extracted")
