"""Tables of events and training (活动与培训): the event, its speakers, who registered (and where they stand:
a seat, the waiting list, cancelled), and on a matchmaking day the one-to-one meetings.

The seat and waiting-list counters live on the event row so that a registration is one conditional UPDATE of
that row (service.register); the meeting slots are held by unique constraints (meetings.book)."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import JSON, ForeignKey, Integer, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column, relationship

from smeai.auth.models import Organisation, User
from smeai.catalog.models import Offering
from smeai.db import Base, UTCDateTime, utcnow
from smeai.matching.models import Need


class Event(Base):
    """One event an operator publishes: a course, seminar, matchmaking day, site visit, launch or competition."""

    __tablename__ = "events"

    id: Mapped[int] = mapped_column(primary_key=True)
    kind: Mapped[str] = mapped_column(String(20), index=True)  # EventKind
    title: Mapped[str] = mapped_column(String(200))
    summary: Mapped[str] = mapped_column(Text)
    agenda: Mapped[str | None] = mapped_column(Text)  # one item a line: "09:30 开场"
    starts_at: Mapped[datetime] = mapped_column(UTCDateTime, index=True)
    ends_at: Mapped[datetime] = mapped_column(UTCDateTime)
    place: Mapped[str | None] = mapped_column(String(300))
    online_url: Mapped[str | None] = mapped_column(String(500))
    # Audience: taxonomy codes; empty means every one.
    industries: Mapped[list[str]] = mapped_column(JSON, default=list)  # sections
    provinces: Mapped[list[str]] = mapped_column(JSON, default=list)
    stages: Mapped[list[str]] = mapped_column(JSON, default=list)
    # The self-diagnosis dimensions the event works on: a diagnosis with these gaps recommends it.
    topics: Mapped[list[str]] = mapped_column(JSON, default=list)
    capacity: Mapped[int] = mapped_column(Integer)
    seats_taken: Mapped[int] = mapped_column(Integer, default=0)  # registered, not cancelled
    waitlist_seq: Mapped[int] = mapped_column(Integer, default=0)  # the last waiting-list number given
    slot_minutes: Mapped[int | None] = mapped_column(Integer)  # a matchmaking day's meeting length
    status: Mapped[str] = mapped_column(String(12), index=True)  # EventStatus
    created_by: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)

    speakers: Mapped[list[EventSpeaker]] = relationship(
        back_populates="event", order_by="EventSpeaker.id", cascade="all, delete-orphan"
    )


class EventSpeaker(Base):
    """A speaker: a provider organisation from the catalog, or an expert named in words."""

    __tablename__ = "event_speakers"

    id: Mapped[int] = mapped_column(primary_key=True)
    event_id: Mapped[int] = mapped_column(ForeignKey("events.id", ondelete="CASCADE"), index=True)
    name: Mapped[str] = mapped_column(String(100))
    affiliation: Mapped[str | None] = mapped_column(String(200))
    topic: Mapped[str | None] = mapped_column(String(200))
    provider_org_id: Mapped[int | None] = mapped_column(ForeignKey("organisations.id"), index=True)

    event: Mapped[Event] = relationship(back_populates="speakers")
    provider: Mapped[Organisation | None] = relationship()


class Registration(Base):
    """One person's place at an event, for their organisation: a seat, a waiting-list number, or cancelled;
    then checked in (the QR ticket or the list) and their feedback."""

    __tablename__ = "event_registrations"
    __table_args__ = (UniqueConstraint("event_id", "user_id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    event_id: Mapped[int] = mapped_column(ForeignKey("events.id", ondelete="CASCADE"), index=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id"), index=True)
    org_id: Mapped[int] = mapped_column(ForeignKey("organisations.id"), index=True)
    status: Mapped[str] = mapped_column(String(12), index=True)  # RegistrationStatus
    waitlist_no: Mapped[int | None] = mapped_column(Integer)  # the order on the waiting list
    ticket: Mapped[str] = mapped_column(String(40), unique=True)  # the QR code's secret
    registered_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    promoted_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    cancelled_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    reminded_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    checked_in_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    checked_in_by: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    satisfaction: Mapped[int | None] = mapped_column(Integer)  # 1-5
    comment: Mapped[str | None] = mapped_column(Text)
    feedback_at: Mapped[datetime | None] = mapped_column(UTCDateTime)

    event: Mapped[Event] = relationship()
    user: Mapped[User] = relationship(foreign_keys=[user_id])
    organisation: Mapped[Organisation] = relationship()


class Meeting(Base):
    """A one-to-one meeting on a matchmaking day: an enterprise and a provider in one slot. While booked,
    `slot_key` holds the slot's start so that the unique constraints refuse a second meeting of either party
    in it; a cancelled meeting clears it (NULLs never collide), freeing the slot."""

    __tablename__ = "event_meetings"
    __table_args__ = (
        UniqueConstraint("event_id", "enterprise_org_id", "slot_key", name="uq_event_meetings_enterprise_slot"),
        UniqueConstraint("event_id", "provider_org_id", "slot_key", name="uq_event_meetings_provider_slot"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    event_id: Mapped[int] = mapped_column(ForeignKey("events.id", ondelete="CASCADE"), index=True)
    slot_at: Mapped[datetime] = mapped_column(UTCDateTime)
    slot_key: Mapped[str | None] = mapped_column(String(20))  # slot_at as text while booked
    enterprise_org_id: Mapped[int] = mapped_column(ForeignKey("organisations.id"), index=True)
    provider_org_id: Mapped[int] = mapped_column(ForeignKey("organisations.id"), index=True)
    need_id: Mapped[int | None] = mapped_column(ForeignKey("needs.id"))
    offering_id: Mapped[int | None] = mapped_column(ForeignKey("offerings.id"))
    topic: Mapped[str | None] = mapped_column(String(300))
    status: Mapped[str] = mapped_column(String(12))  # MeetingStatus
    booked_by: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    engagement_id: Mapped[int | None] = mapped_column(ForeignKey("engagements.id"))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)

    event: Mapped[Event] = relationship()
    enterprise: Mapped[Organisation] = relationship(foreign_keys=[enterprise_org_id])
    provider: Mapped[Organisation] = relationship(foreign_keys=[provider_org_id])
    need: Mapped[Need | None] = relationship()
    offering: Mapped[Offering | None] = relationship()
