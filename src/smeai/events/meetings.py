"""A matchmaking day's one-to-one meetings (供需对接): an enterprise and a provider registered for the day
book a slot, from the enterprise's needs and the provider's offerings. Neither party can be in two meetings at
once: the unique constraints on (event, party, slot) refuse it even when two bookings race (the check before
the INSERT only gives the usual case a friendlier answer). Each side sees its own schedule; operators all.
Opening an engagement from a meeting is in flows.py (it goes through matching's service)."""

from __future__ import annotations

from datetime import datetime, timedelta

from sqlalchemy import ColumnElement, false, or_, select, true
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session, selectinload

from smeai.auth.actor import Actor
from smeai.auth.models import Organisation
from smeai.auth.permissions import OrgKind, Permission
from smeai.catalog.models import Offering
from smeai.db import utcnow
from smeai.errors import Conflict, Invalid, NotFound
from smeai.events import service
from smeai.events.models import Event, Meeting, Registration
from smeai.events.schemas import EventKind, MeetingIn, MeetingStatus, RegistrationStatus
from smeai.i18n import N_
from smeai.matching.models import Need

MAX_SLOTS = 96


class SlotTaken(Conflict):
    """One of the two parties already has a meeting in that slot."""

    code = "slot_taken"


def slots(event: Event) -> list[datetime]:
    """The meeting slots of a matchmaking day: from its start, every slot_minutes, ending by its end."""
    if event.kind != EventKind.MATCHMAKING or not event.slot_minutes:
        return []
    step = timedelta(minutes=event.slot_minutes)
    out: list[datetime] = []
    at = event.starts_at
    while at + step <= event.ends_at and len(out) < MAX_SLOTS:
        out.append(at)
        at += step
    return out


def slot_key(at: datetime) -> str:
    return at.strftime("%Y%m%d%H%M")


def visible_meetings(actor: Actor) -> ColumnElement[bool]:
    if actor.can(Permission.EVENT_MANAGE):
        return true()
    if actor.can(Permission.EVENT_ATTEND) and actor.org_id is not None:
        return or_(Meeting.enterprise_org_id == actor.org_id, Meeting.provider_org_id == actor.org_id)
    return false()


def get_meeting(session: Session, actor: Actor, meeting_id: int) -> Meeting:
    found = session.scalar(select(Meeting).where(Meeting.id == meeting_id, visible_meetings(actor)))
    if found is None:
        raise NotFound(N_("Meeting not found."))
    return found


def schedule(session: Session, actor: Actor, event_id: int, *, org_id: int | None = None) -> list[Meeting]:
    """The booked meetings at a matchmaking day the actor may see (one organisation's, when given), by slot."""
    query = (
        select(Meeting)
        .where(Meeting.event_id == event_id, Meeting.status == MeetingStatus.BOOKED, visible_meetings(actor))
        .options(selectinload(Meeting.enterprise), selectinload(Meeting.provider))
    )
    if org_id is not None:
        query = query.where(or_(Meeting.enterprise_org_id == org_id, Meeting.provider_org_id == org_id))
    return list(session.scalars(query.order_by(Meeting.slot_at, Meeting.id)))


def my_meetings(session: Session, actor: Actor) -> list[Meeting]:
    """Every booked meeting of the actor's organisation, at any matchmaking day."""
    if actor.org_id is None or not actor.can(Permission.EVENT_ATTEND):
        return []
    query = select(Meeting).where(
        Meeting.status == MeetingStatus.BOOKED,
        or_(Meeting.enterprise_org_id == actor.org_id, Meeting.provider_org_id == actor.org_id),
    )
    return list(session.scalars(query.order_by(Meeting.slot_at.desc(), Meeting.id)))


def participants(session: Session, event_id: int, kind: OrgKind) -> list[Organisation]:
    """The organisations of a kind holding a seat at the event: who can be met."""
    query = (
        select(Organisation)
        .join(Registration, Registration.org_id == Organisation.id)
        .where(
            Registration.event_id == event_id,
            Registration.status == RegistrationStatus.REGISTERED,
            Organisation.kind == str(kind),
        )
        .order_by(Organisation.name)
    )
    return list(session.scalars(query).unique())


def needs_of(session: Session, org_id: int) -> list[Need]:
    """An enterprise's open needs: what a meeting can be about."""
    query = select(Need).where(Need.org_id == org_id, Need.status != "closed").order_by(Need.created_at.desc())
    return list(session.scalars(query))


def offerings_of(session: Session, org_id: int) -> list[Offering]:
    """A provider's published offerings."""
    query = select(Offering).where(
        Offering.provider_id == org_id, Offering.status == "published", Offering.deleted_at.is_(None)
    )
    return list(session.scalars(query.order_by(Offering.name)))


def _registered(session: Session, event_id: int, org_id: int) -> bool:
    return (
        session.scalar(
            select(Registration.id).where(
                Registration.event_id == event_id,
                Registration.org_id == org_id,
                Registration.status == RegistrationStatus.REGISTERED,
            )
        )
        is not None
    )


def book(session: Session, actor: Actor, event_id: int, data: MeetingIn, *, now: datetime | None = None) -> Meeting:
    """The enterprise or the provider books a slot with the other. Both must hold a seat at the day; the slot
    must be one of its slots and free for both; a need must be the enterprise's, an offering the provider's."""
    actor.require(Permission.EVENT_ATTEND)
    event = service.get_event(session, actor, event_id)
    if event.kind != EventKind.MATCHMAKING:
        raise Invalid(N_("Meetings are booked at matchmaking days."), fields={"event": "not a matchmaking day"})
    service._open(event, now or utcnow())
    me = session.get(Organisation, actor.org_id) if actor.org_id is not None else None
    other = session.get(Organisation, data.with_org_id)
    if me is None or other is None or {me.kind, other.kind} != {OrgKind.ENTERPRISE, OrgKind.PROVIDER}:
        raise Invalid(N_("A meeting is between an enterprise and a provider."), fields={"with_org_id": "invalid"})
    if not _registered(session, event_id, me.id):
        raise Conflict(N_("Register for the matchmaking day before booking meetings."))
    if not _registered(session, event_id, other.id):
        raise Invalid(N_("They are not registered for this matchmaking day."), fields={"with_org_id": "invalid"})
    if data.slot_at not in slots(event):
        raise Invalid(N_("Choose one of the day's slots."), fields={"slot_at": "invalid"})
    enterprise, provider = (me, other) if me.kind == OrgKind.ENTERPRISE else (other, me)
    if data.need_id is not None:
        need = session.get(Need, data.need_id)
        if need is None or need.org_id != enterprise.id:
            raise Invalid(N_("Choose one of the enterprise's needs."), fields={"need_id": "invalid"})
    if data.offering_id is not None:
        offering = session.get(Offering, data.offering_id)
        if offering is None or offering.provider_id != provider.id:
            raise Invalid(N_("Choose one of the provider's offerings."), fields={"offering_id": "invalid"})
    key = slot_key(data.slot_at)
    busy = session.scalar(
        select(Meeting.id).where(
            Meeting.event_id == event_id,
            Meeting.slot_key == key,
            or_(Meeting.enterprise_org_id == enterprise.id, Meeting.provider_org_id == provider.id),
        )
    )
    if busy is not None:
        raise SlotTaken(N_("One of you already has a meeting in this slot."), fields={"slot_at": "taken"})
    meeting = Meeting(
        event_id=event_id,
        slot_at=data.slot_at,
        slot_key=key,
        enterprise_org_id=enterprise.id,
        provider_org_id=provider.id,
        need_id=data.need_id,
        offering_id=data.offering_id,
        topic=data.topic,
        status=str(MeetingStatus.BOOKED),
        booked_by=actor.user_id,
    )
    session.add(meeting)
    try:
        session.flush()
    except IntegrityError:  # a booking that raced this one took the slot: the constraint decides
        raise SlotTaken(N_("One of you already has a meeting in this slot."), fields={"slot_at": "taken"}) from None
    return meeting


def side_of(actor: Actor, meeting: Meeting) -> str | None:
    if actor.can(Permission.EVENT_MANAGE):
        return "centre"
    if actor.can(Permission.EVENT_ATTEND) and actor.org_id == meeting.enterprise_org_id:
        return "enterprise"
    if actor.can(Permission.EVENT_ATTEND) and actor.org_id == meeting.provider_org_id:
        return "provider"
    return None


def cancel(session: Session, actor: Actor, meeting_id: int) -> Meeting:
    """Either side (or an operator) cancels a meeting; its slot is free again for both."""
    meeting = get_meeting(session, actor, meeting_id)
    if side_of(actor, meeting) is None:
        raise NotFound(N_("Meeting not found."))
    if meeting.status != MeetingStatus.BOOKED:
        raise Conflict(N_("This meeting is already cancelled."))
    if meeting.engagement_id is not None:
        raise Conflict(N_("This meeting has opened an engagement: follow it there."))
    meeting.status, meeting.slot_key = str(MeetingStatus.CANCELLED), None
    session.flush()
    return meeting


def counterpart(actor: Actor, meeting: Meeting) -> Organisation:
    return meeting.provider if actor.org_id == meeting.enterprise_org_id else meeting.enterprise


def busy_slots(session: Session, event_id: int, org_ids: list[int]) -> set[str]:
    """The slot keys in which any of these organisations already meets someone."""
    if not org_ids:
        return set()
    rows = session.scalars(
        select(Meeting.slot_key).where(
            Meeting.event_id == event_id,
            Meeting.slot_key.is_not(None),
            or_(Meeting.enterprise_org_id.in_(org_ids), Meeting.provider_org_id.in_(org_ids)),
        )
    )
    return {k for k in rows if k}
