"""The resource pool (资源池): offerings and their history (edits, review decisions, comments)."""

from __future__ import annotations

import uuid
from collections.abc import Callable
from datetime import datetime
from typing import Any

from sqlalchemy import JSON, BigInteger, ForeignKey, Integer, LargeBinary, String, Text, event, insert, inspect, update
from sqlalchemy.orm import Mapped, Session, mapped_column, relationship

from smeai.auth.models import Organisation
from smeai.db import Base, UTCDateTime, utcnow


class Offering(Base):
    __tablename__ = "offerings"

    id: Mapped[int] = mapped_column(primary_key=True)
    ext_id: Mapped[str] = mapped_column(String(100), unique=True)  # the interchange `id`
    provider_id: Mapped[int] = mapped_column(ForeignKey("organisations.id"), index=True)
    name: Mapped[str] = mapped_column(String(200))
    kind: Mapped[str] = mapped_column(String(20), index=True)  # OfferingKind
    summary: Mapped[str] = mapped_column(Text)
    description: Mapped[str | None] = mapped_column(Text)
    industries: Mapped[list[str]] = mapped_column(JSON, default=list)
    scenarios: Mapped[list[str]] = mapped_column(JSON, default=list)
    deployment: Mapped[list[str]] = mapped_column(JSON, default=list)
    regions: Mapped[list[str]] = mapped_column(JSON, default=list)
    tags: Mapped[list[str]] = mapped_column(JSON, default=list)
    voucher_eligible: Mapped[list[str]] = mapped_column(JSON, default=list)
    pricing_model: Mapped[str] = mapped_column(String(20))  # PricingModel
    # the interchange's entry_price_wan, in integer fen (1 万元 = 1,000,000 fen; ≤ money.MAX_FEN)
    entry_price_fen: Mapped[int] = mapped_column(BigInteger)
    pricing_note: Mapped[str | None] = mapped_column(Text)
    min_stage: Mapped[int] = mapped_column(Integer, default=0)
    max_stage: Mapped[int] = mapped_column(Integer, default=4)
    status: Mapped[str] = mapped_column(String(20), index=True)  # OfferingStatus
    created_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow, index=True)
    submitted_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    published_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    deleted_at: Mapped[datetime | None] = mapped_column(UTCDateTime)  # soft delete; history stays
    # the catalog change stamp's version of this row's last change (stamp.py sets it on every write, and
    # on the provider's rename): a search index asks for `change_seq > its version`, never for all rows
    change_seq: Mapped[int] = mapped_column(BigInteger, default=0, server_default="0", index=True)

    provider: Mapped[Organisation] = relationship(lazy="joined")
    events: Mapped[list[OfferingEvent]] = relationship(
        back_populates="offering", order_by="OfferingEvent.id", cascade="all, delete-orphan"
    )

    @property
    def provider_name(self) -> str:
        return self.provider.name


class OfferingEvent(Base):
    """One entry of an offering's history: created, edited, submitted, approved, rejected, commented…

    `snapshot` holds the interchange record after the change, so every past version can be shown.
    """

    __tablename__ = "offering_events"

    id: Mapped[int] = mapped_column(primary_key=True)
    offering_id: Mapped[int] = mapped_column(ForeignKey("offerings.id", ondelete="CASCADE"), index=True)
    action: Mapped[str] = mapped_column(String(20))  # OfferingAction
    from_status: Mapped[str | None] = mapped_column(String(20))
    to_status: Mapped[str | None] = mapped_column(String(20))
    user_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    comment: Mapped[str | None] = mapped_column(Text)
    checklist: Mapped[dict[str, bool] | None] = mapped_column(JSON)
    snapshot: Mapped[dict[str, Any] | None] = mapped_column(JSON)
    at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)

    offering: Mapped[Offering] = relationship(back_populates="events")


class ChangeStamp(Base):
    """One counter per database, bumped in the same transaction as every catalog write (stamp.py).

    Every worker reads it before a search (one primary-key lookup) to know whether its index is current;
    the row lock orders the writers, so versions are handed out in commit order. `token` is new whenever
    the row is (a new or emptied database), so an index built against another history is never reused."""

    __tablename__ = "change_stamps"

    name: Mapped[str] = mapped_column(String(40), primary_key=True)
    version: Mapped[int] = mapped_column(BigInteger)
    token: Mapped[str] = mapped_column(String(32))
    changed_at: Mapped[datetime | None] = mapped_column(UTCDateTime)


class SearchIndex(Base):
    """A built search index (catalog/index.py's columns and vocabularies as one .npz), written by the
    `catalog-index` job or `smeai catalog index build`, read by each worker at start: it then reads only
    the offerings changed since `version`, instead of segmenting the whole pool (56 s at 100k)."""

    __tablename__ = "search_indexes"

    name: Mapped[str] = mapped_column(String(40), primary_key=True)
    token: Mapped[str] = mapped_column(String(32))  # the change stamp's token it was built against
    version: Mapped[int] = mapped_column(BigInteger)  # ... and its version then
    format: Mapped[str] = mapped_column(String(40))  # the index code's and text data's fingerprint
    rows: Mapped[int] = mapped_column(Integer)
    built_at: Mapped[datetime] = mapped_column(UTCDateTime)
    data: Mapped[bytes] = mapped_column(LargeBinary)


# ---- the change stamp, bumped by every flush that changes the catalog (why: catalog/stamp.py). It lives
# here, beside the tables, so that it is registered wherever the models are imported, by every process.

STAMP_NAME = "catalog"
BUMPED = "smeai_catalog_bumped"  # Session.info key: this transaction bumped the stamp (uncommitted)
ROLLBACK_HOOKS: list[Callable[[Session], None]] = []  # called when such a transaction rolls back


def bump_stamp(session: Session) -> int:
    """The next version, taken in this transaction (its row lock orders concurrent writers)."""
    conn = session.connection()
    row = conn.execute(
        update(ChangeStamp)
        .where(ChangeStamp.name == STAMP_NAME)
        .values(version=ChangeStamp.version + 1, changed_at=utcnow())
        .returning(ChangeStamp.version)
    ).first()
    if row is not None:
        version = int(row[0])
    else:  # an emptied database: a new history, under a new token
        version = 1
        values = {"name": STAMP_NAME, "version": 1, "token": uuid.uuid4().hex, "changed_at": utcnow()}
        conn.execute(insert(ChangeStamp).values(**values))
    session.info[BUMPED] = True
    return version


@event.listens_for(Session, "before_flush")
def _before_flush(session: Session, _context: Any, _instances: Any) -> None:
    offerings = [o for o in session.new if isinstance(o, Offering)]
    offerings += [o for o in session.dirty if isinstance(o, Offering) and session.is_modified(o)]
    offerings += [o for o in session.deleted if isinstance(o, Offering)]
    renamed = [
        o.id
        for o in session.dirty
        if isinstance(o, Organisation) and o.id is not None and inspect(o).attrs.name.history.has_changes()
    ]
    if not offerings and not renamed:
        return
    version = bump_stamp(session)
    for o in offerings:
        o.change_seq = version
    if renamed:  # the provider name is indexed with each of its offerings
        session.connection().execute(
            update(Offering).where(Offering.provider_id.in_(renamed)).values(change_seq=version)
        )


@event.listens_for(Session, "after_commit")
def _after_commit(session: Session) -> None:
    session.info.pop(BUMPED, None)


@event.listens_for(Session, "after_soft_rollback")
def _after_rollback(session: Session, _previous: Any) -> None:
    if session.info.pop(BUMPED, None):
        for hook in ROLLBACK_HOOKS:
            hook(session)
