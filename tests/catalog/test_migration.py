"""Migration 0008 turns the float price of 万元 into integer fen without losing an offering, a price
or the history around it, on SQLite and PostgreSQL, and back again."""

from __future__ import annotations

import math
from datetime import UTC, datetime

import sqlalchemy as sa
from alembic import command

from smeai.db import get_engine
from smeai.migrate import alembic_config, upgrade
from smeai.money import MAX_FEN

# (ext_id, status, stored 万元, fen after 0008, status after 0008)
ROWS = [
    ("whole", "published", 8.0, 8_000_000, "published"),
    ("tenth", "published", 0.1, 100_000, "published"),
    ("fine", "draft", 1.234567, 1_234_567, "draft"),
    ("free", "published", 0.0, 0, "published"),
    ("max", "published", 10_000_000.0, MAX_FEN, "published"),
    ("huge", "published", 1e308, MAX_FEN, "submitted"),  # was never a price: back to review
    ("inf", "published", math.inf, MAX_FEN, "submitted"),
    ("inf-draft", "draft", math.inf, MAX_FEN, "draft"),
    ("negative", "submitted", -2.0, 0, "submitted"),
]


def _fill_0007(url: str, rows: list[tuple]) -> None:
    now = datetime.now(UTC)
    meta = sa.MetaData()
    with get_engine(url).begin() as conn:
        meta.reflect(conn, only=["organisations", "offerings", "offering_events", "offering_modules"])
        t = meta.tables
        org_id = conn.execute(
            t["organisations"].insert().values(name="老服务商", kind="provider", created_at=now, updated_at=now)
        ).inserted_primary_key[0]
        for ext_id, status, wan, _fen, _after in rows:
            offering_id = conn.execute(
                t["offerings"]
                .insert()
                .values(
                    ext_id=ext_id,
                    provider_id=org_id,
                    name=ext_id,
                    kind="saas",
                    summary="摘要",
                    industries=["*"],
                    scenarios=[],
                    deployment=["saas"],
                    regions=["*"],
                    tags=[],
                    voucher_eligible=[],
                    pricing_model="one_off",
                    entry_price_wan=wan,
                    min_stage=0,
                    max_stage=4,
                    status=status,
                    created_at=now,
                    updated_at=now,
                )
            ).inserted_primary_key[0]
            conn.execute(t["offering_events"].insert().values(offering_id=offering_id, action="imported", at=now))
            conn.execute(
                t["offering_modules"].insert().values(offering_id=offering_id, name="模块", price_fen=1, created_at=now)
            )


def _read(url: str, column: str) -> dict[str, tuple]:
    with get_engine(url).connect() as conn:
        rows = conn.execute(sa.text(f"SELECT ext_id, {column}, status FROM offerings")).all()
        events = dict(
            conn.execute(
                sa.text(
                    "SELECT o.ext_id, count(e.id) FROM offerings o JOIN offering_events e ON e.offering_id = o.id "
                    "GROUP BY o.ext_id"
                )
            ).all()
        )
        modules = conn.execute(sa.text("SELECT count(*) FROM offering_modules")).scalar_one()
    return {ext_id: (price, status, events.get(ext_id, 0)) for ext_id, price, status in rows} | {"_modules": modules}


def test_0008_converts_every_stored_price_and_keeps_the_history(fresh_url):
    rows = ROWS + ([("nan", "published", math.nan, 0, "submitted")] if fresh_url.startswith("postgresql") else [])
    upgrade(fresh_url, "0007")
    _fill_0007(fresh_url, rows)

    upgrade(fresh_url, "0008")
    after = _read(fresh_url, "entry_price_fen")
    assert after.pop("_modules") == len(rows)  # rows referencing offerings are untouched
    for ext_id, _status, _wan, fen, status in rows:
        price, new_status, events = after[ext_id]
        assert (price, new_status) == (fen, status), ext_id
        repaired = fen in (0, MAX_FEN) and ext_id not in ("free", "max")
        assert events == (2 if repaired else 1), ext_id  # the history is kept; a repair is noted in it

    command.downgrade(alembic_config(fresh_url), "0007")
    back = _read(fresh_url, "entry_price_wan")
    assert back.pop("_modules") == len(rows)
    assert {k: v[0] for k, v in back.items()} == {ext_id: fen / 1_000_000 for ext_id, _s, _w, fen, _a in rows}
    upgrade(fresh_url)  # and forward again to the head
