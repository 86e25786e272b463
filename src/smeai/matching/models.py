"""Tables of supply-demand matching: needs, engagements and their history, challenges and proposals,
offering modules (社区食堂)."""

from __future__ import annotations

from datetime import date, datetime

from sqlalchemy import JSON, BigInteger, Date, Float, ForeignKey, Integer, String, Text
from sqlalchemy.orm import Mapped, mapped_column, relationship

from smeai.auth.models import Organisation
from smeai.catalog.models import Offering
from smeai.db import Base, UTCDateTime, utcnow


class Need(Base):
    """需求: what an enterprise wants, in its own words plus the structure the platform detected."""

    __tablename__ = "needs"

    id: Mapped[int] = mapped_column(primary_key=True)
    org_id: Mapped[int] = mapped_column(ForeignKey("organisations.id"), index=True)
    author_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"), index=True)  # a consultant, maybe
    title: Mapped[str] = mapped_column(String(200))
    text: Mapped[str] = mapped_column(Text)
    industry: Mapped[str | None] = mapped_column(String(4))  # section letter or C + division
    province_code: Mapped[str | None] = mapped_column(String(2))
    stage: Mapped[int | None] = mapped_column(Integer)
    budget_fen: Mapped[int | None] = mapped_column(BigInteger)
    deployment: Mapped[list[str]] = mapped_column(JSON, default=list)
    scenarios: Mapped[list[str]] = mapped_column(JSON, default=list)
    scenarios_confirmed: Mapped[bool] = mapped_column(default=False)
    urgency: Mapped[str] = mapped_column(String(10), default="normal")  # NeedUrgency
    status: Mapped[str] = mapped_column(String(20), index=True)  # NeedStatus
    source: Mapped[str] = mapped_column(String(20), default="text")  # text / package / challenge
    package: Mapped[dict | None] = mapped_column(JSON)  # a module-menu package sent as this need
    # What the platform read from the text when it was saved: {field: {"value", "evidence"}} for the
    # fields it filled (budget in 万元); proposed to the author until confirmed or edited.
    extracted: Mapped[dict | None] = mapped_column(JSON)
    fields_confirmed: Mapped[bool] = mapped_column(default=False)
    # The ranked list as last computed (snapshot.py): pool stamp, need key, matches with scores and
    # reasons, near misses. A recommendation is this, never an engagement.
    snapshot: Mapped[dict | None] = mapped_column(JSON)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


class Engagement(Base):
    """落地跟进: one need met by one offering, from recommendation to evaluated outcome."""

    __tablename__ = "engagements"

    id: Mapped[int] = mapped_column(primary_key=True)
    need_id: Mapped[int] = mapped_column(ForeignKey("needs.id"), index=True)
    offering_id: Mapped[int | None] = mapped_column(ForeignKey("offerings.id"), index=True)  # None: a proposal
    enterprise_org_id: Mapped[int] = mapped_column(ForeignKey("organisations.id"), index=True)
    provider_org_id: Mapped[int] = mapped_column(ForeignKey("organisations.id"), index=True)
    state: Mapped[str] = mapped_column(String(20), index=True)  # EngagementState
    score: Mapped[float | None] = mapped_column(Float)
    reasons: Mapped[list[str]] = mapped_column(JSON, default=list)
    closed_reason: Mapped[str | None] = mapped_column(String(500))
    provider_response: Mapped[str | None] = mapped_column(Text)
    # Set when the enterprise shows interest: from then on the provider sees the engagement.
    provider_notified_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    outcome: Mapped[dict | None] = mapped_column(JSON)  # cost_fen, effect, satisfaction (1-5)
    case_id: Mapped[int | None] = mapped_column(Integer)  # the case it became, when cases exist
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow, index=True)

    need: Mapped[Need] = relationship(lazy="joined")
    offering: Mapped[Offering | None] = relationship()
    enterprise: Mapped[Organisation] = relationship(foreign_keys=[enterprise_org_id])
    provider: Mapped[Organisation] = relationship(foreign_keys=[provider_org_id])
    events: Mapped[list[EngagementEvent]] = relationship(
        back_populates="engagement", order_by="EngagementEvent.id", cascade="all, delete-orphan"
    )


class EngagementEvent(Base):
    __tablename__ = "engagement_events"

    id: Mapped[int] = mapped_column(primary_key=True)
    engagement_id: Mapped[int] = mapped_column(ForeignKey("engagements.id"), index=True)
    from_state: Mapped[str | None] = mapped_column(String(20))
    to_state: Mapped[str] = mapped_column(String(20))
    user_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    note: Mapped[str | None] = mapped_column(Text)
    at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)

    engagement: Mapped[Engagement] = relationship(back_populates="events")


class Challenge(Base):
    """发榜: a problem an enterprise publishes for providers and research institutes to take on."""

    __tablename__ = "challenges"

    id: Mapped[int] = mapped_column(primary_key=True)
    org_id: Mapped[int] = mapped_column(ForeignKey("organisations.id"), index=True)
    author_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    title: Mapped[str] = mapped_column(String(200))
    problem: Mapped[str] = mapped_column(Text)
    data_available: Mapped[str | None] = mapped_column(Text)
    budget_fen: Mapped[int | None] = mapped_column(BigInteger)
    deadline_on: Mapped[date | None] = mapped_column(Date)
    status: Mapped[str] = mapped_column(String(20), index=True)  # ChallengeStatus
    need_id: Mapped[int | None] = mapped_column(ForeignKey("needs.id"))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


class Proposal(Base):
    """揭榜: a provider's or institute's answer to a challenge."""

    __tablename__ = "proposals"

    id: Mapped[int] = mapped_column(primary_key=True)
    challenge_id: Mapped[int] = mapped_column(ForeignKey("challenges.id"), index=True)
    org_id: Mapped[int] = mapped_column(ForeignKey("organisations.id"), index=True)
    author_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    offering_id: Mapped[int | None] = mapped_column(ForeignKey("offerings.id"))
    summary: Mapped[str] = mapped_column(Text)
    price_fen: Mapped[int | None] = mapped_column(BigInteger)
    status: Mapped[str] = mapped_column(String(20))  # ProposalStatus
    engagement_id: Mapped[int | None] = mapped_column(ForeignKey("engagements.id"))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


class OfferingModule(Base):
    """社区食堂: one dish on the menu, a priced module of an offering."""

    __tablename__ = "offering_modules"

    id: Mapped[int] = mapped_column(primary_key=True)
    offering_id: Mapped[int] = mapped_column(ForeignKey("offerings.id"), index=True)
    name: Mapped[str] = mapped_column(String(200))
    description: Mapped[str | None] = mapped_column(Text)
    price_fen: Mapped[int] = mapped_column(BigInteger)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
