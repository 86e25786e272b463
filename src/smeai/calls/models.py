"""Tables of what a centre calls for: scenario lists (场景清单) with their scenarios and the providers'
responses, and case-collection campaigns (案例征集) with their reviewer panels, entries and scores."""

from __future__ import annotations

from datetime import date, datetime

from sqlalchemy import JSON, Column, Date, ForeignKey, Integer, String, Table, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column, relationship

from smeai.auth.models import Organisation
from smeai.db import Base, UTCDateTime, utcnow


class ScenarioList(Base):
    """场景清单: a government department or a lead firm opens scenarios for providers to validate."""

    __tablename__ = "call_lists"

    id: Mapped[int] = mapped_column(primary_key=True)
    org_id: Mapped[int] = mapped_column(ForeignKey("organisations.id"), index=True)  # the publisher
    author_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    title: Mapped[str] = mapped_column(String(200))
    summary: Mapped[str] = mapped_column(Text)
    province_code: Mapped[str | None] = mapped_column(String(2))
    deadline_on: Mapped[date] = mapped_column(Date)  # responses close after this day
    published_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow, index=True)

    publisher: Mapped[Organisation] = relationship()
    scenarios: Mapped[list[Scenario]] = relationship(
        back_populates="scenario_list", order_by="Scenario.id", cascade="all, delete-orphan"
    )


class Scenario(Base):
    """One open scenario of a list: the problem, what is offered for validation, what is expected."""

    __tablename__ = "call_scenarios"

    id: Mapped[int] = mapped_column(primary_key=True)
    list_id: Mapped[int] = mapped_column(ForeignKey("call_lists.id", ondelete="CASCADE"), index=True)
    title: Mapped[str] = mapped_column(String(200))
    industry: Mapped[str] = mapped_column(String(4))  # section letter or C + division (taxonomy)
    scenario_code: Mapped[str] = mapped_column(String(60))  # taxonomy scenario
    problem: Mapped[str] = mapped_column(Text)
    data_offered: Mapped[str] = mapped_column(Text)
    site_offered: Mapped[str] = mapped_column(Text)
    expected_result: Mapped[str] = mapped_column(Text)
    status: Mapped[str] = mapped_column(String(20), default="open")  # ScenarioStatus
    # the outcome: the provider selected and, once validated, the result
    selected_response_id: Mapped[int | None] = mapped_column(Integer)
    selected_org_id: Mapped[int | None] = mapped_column(ForeignKey("organisations.id"))
    result: Mapped[str | None] = mapped_column(Text)
    decided_at: Mapped[datetime | None] = mapped_column(UTCDateTime)

    scenario_list: Mapped[ScenarioList] = relationship(back_populates="scenarios")
    selected_org: Mapped[Organisation | None] = relationship()


class ScenarioResponse(Base):
    """A provider's answer to one scenario (as to a challenge, 揭榜): one per provider per scenario."""

    __tablename__ = "call_responses"
    __table_args__ = (UniqueConstraint("scenario_id", "org_id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    scenario_id: Mapped[int] = mapped_column(ForeignKey("call_scenarios.id", ondelete="CASCADE"), index=True)
    org_id: Mapped[int] = mapped_column(ForeignKey("organisations.id"), index=True)
    author_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    approach: Mapped[str] = mapped_column(Text)
    status: Mapped[str] = mapped_column(String(20))  # ResponseStatus
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)

    organisation: Mapped[Organisation] = relationship()
    scenario: Mapped[Scenario] = relationship()


campaign_reviewers = Table(
    "call_campaign_reviewers",
    Base.metadata,
    Column("campaign_id", ForeignKey("call_campaigns.id", ondelete="CASCADE"), primary_key=True),
    Column("user_id", ForeignKey("users.id", ondelete="CASCADE"), primary_key=True, index=True),
)


class Campaign(Base):
    """案例征集: a call for cases with weighted criteria, a deadline and a reviewer panel."""

    __tablename__ = "call_campaigns"

    id: Mapped[int] = mapped_column(primary_key=True)
    title: Mapped[str] = mapped_column(String(200))
    summary: Mapped[str] = mapped_column(Text)
    criteria: Mapped[list[dict]] = mapped_column(JSON, default=list)  # [{name, weight_pct}], weights sum to 100
    deadline_on: Mapped[date] = mapped_column(Date)
    created_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


class Entry(Base):
    """A case submitted to a campaign: the case library's fields, and where it came from."""

    __tablename__ = "call_entries"

    id: Mapped[int] = mapped_column(primary_key=True)
    campaign_id: Mapped[int] = mapped_column(ForeignKey("call_campaigns.id", ondelete="CASCADE"), index=True)
    org_id: Mapped[int] = mapped_column(ForeignKey("organisations.id"), index=True)
    author_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    engagement_id: Mapped[int | None] = mapped_column(ForeignKey("engagements.id"))  # a promoted outcome
    case: Mapped[dict] = mapped_column(JSON)  # cases.schemas.CaseIn, as submitted
    status: Mapped[str] = mapped_column(String(20), index=True)  # EntryStatus
    case_id: Mapped[int | None] = mapped_column(ForeignKey("cases.id"))  # the 标杆 it became
    submitted_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)

    organisation: Mapped[Organisation] = relationship()


class Score(Base):
    """One reviewer's scores of one entry, per criterion (0-10); written once, never seen by the others."""

    __tablename__ = "call_scores"
    __table_args__ = (UniqueConstraint("entry_id", "reviewer_id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    entry_id: Mapped[int] = mapped_column(ForeignKey("call_entries.id", ondelete="CASCADE"), index=True)
    reviewer_id: Mapped[int] = mapped_column(ForeignKey("users.id"))
    points: Mapped[list[int]] = mapped_column(JSON)  # one per criterion, in the campaign's order
    weighted_x100: Mapped[int] = mapped_column(Integer)  # Σ points × weight_pct: 0..1000 (= 0.00..10.00 × 100)
    comment: Mapped[str | None] = mapped_column(Text)
    submitted_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
