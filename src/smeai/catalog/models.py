"""The resource pool (资源池): offerings and their history (edits, review decisions, comments)."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import JSON, BigInteger, ForeignKey, Integer, String, Text
from sqlalchemy.orm import Mapped, mapped_column, relationship

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
