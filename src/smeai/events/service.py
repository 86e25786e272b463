"""Events and training (活动与培训): publishing, registration with a waiting list, reminders, check-in and
feedback. Every rule is here; the matchmaking day's meetings are in meetings.py, what reads other domains
(diagnoses, needs, vouchers, engagements) in flows.py.

Seats. `Event.seats_taken` counts the registrations holding a seat. A registration takes one with a single
conditional UPDATE (`seats_taken < capacity`), so two people can never take the last seat; when none is
left it draws the next waiting-list number from `Event.waitlist_seq` in one UPDATE … RETURNING. Both
UPDATEs lock the event row until commit (PostgreSQL row lock; SQLite's one writer), and a cancellation
takes the same lock first, so the promotion of the first on the waiting list and any concurrent registration
are ordered: nobody overtakes the waiting list, and the waiting list keeps the order numbers were drawn in.

Sides: an event is visible to every signed-in user; a registration to its organisation and the operators;
anyone else gets *not found*.
"""

from __future__ import annotations

import secrets
from collections import defaultdict
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from statistics import mean

from sqlalchemy import ColumnElement, case, false, or_, select, true, update
from sqlalchemy.orm import Session, selectinload

from smeai.auth import audit
from smeai.auth.actor import Actor
from smeai.auth.links import BASE_URL_KEY
from smeai.auth.models import Organisation, User
from smeai.auth.permissions import OrgKind, Permission
from smeai.db import rows_matched, utcnow
from smeai.errors import Conflict, Invalid, NotFound
from smeai.events.models import Event, EventSpeaker, Registration
from smeai.events.schemas import EventIn, EventKind, EventStatus, FeedbackIn, RegistrationStatus
from smeai.i18n import N_, get_lang, translations
from smeai.mail import service as mail

R = RegistrationStatus
REMIND_BEFORE = timedelta(hours=24)


class EventClosed(Conflict):
    """The event has started, ended or was cancelled: registration and booking are over."""

    code = "event_closed"


class AlreadyRegistered(Conflict):
    """This person already holds a seat or a waiting-list place at the event."""

    code = "already_registered"


# --- events -----------------------------------------------------------------------------------------


def get_event(session: Session, actor: Actor, event_id: int) -> Event:
    event = session.get(Event, event_id)
    if event is None or (actor.user_id is None and not actor.is_system):
        raise NotFound(N_("Event not found."))
    return event


def list_events(
    session: Session,
    actor: Actor,
    *,
    upcoming: bool | None = None,
    kind: EventKind | None = None,
    now: datetime | None = None,
) -> list[Event]:
    """Events, the next first (upcoming) or the latest first (past); cancelled ones only for operators."""
    now = now or utcnow()
    query = select(Event).options(selectinload(Event.speakers))
    if not actor.can(Permission.EVENT_MANAGE):
        query = query.where(Event.status == EventStatus.PUBLISHED)
    if kind is not None:
        query = query.where(Event.kind == str(kind))
    if upcoming is True:
        query = query.where(Event.ends_at >= now).order_by(Event.starts_at, Event.id)
    elif upcoming is False:
        query = query.where(Event.ends_at < now).order_by(Event.starts_at.desc(), Event.id.desc())
    else:
        query = query.order_by(Event.starts_at.desc(), Event.id.desc())
    return list(session.scalars(query))


def audience_fits(event: Event, org: Organisation | None, stage: str | None = None) -> bool:
    """Whether an organisation is in the event's audience (an empty list is everyone; an unknown profile
    field is not held against it)."""
    if org is None:
        return True
    checks = (
        (event.industries, org.industry_section),
        (event.provinces, org.province_code),
        (event.stages, stage),
    )
    return all(not wanted or value is None or value in wanted for wanted, value in checks)


def publish_event(session: Session, actor: Actor, data: EventIn) -> Event:
    actor.require(Permission.EVENT_MANAGE)
    speakers = []
    for i, s in enumerate(data.speakers):
        if s.provider_org_id is not None:
            org = session.get(Organisation, s.provider_org_id)
            if org is None or org.kind != OrgKind.PROVIDER:
                raise Invalid(N_("A speaker must be a provider or an expert."), fields={f"speakers.{i}": "unknown"})
        speakers.append(EventSpeaker(**s.model_dump()))
    event = Event(
        **data.model_dump(exclude={"speakers"}),
        status=str(EventStatus.PUBLISHED),
        seats_taken=0,
        waitlist_seq=0,
        created_by=actor.user_id,
        speakers=speakers,
    )
    event.kind = str(data.kind)
    session.add(event)
    session.flush()
    audit.record(session, actor, "event.publish", event, after={"title": event.title, "capacity": event.capacity})
    return event


def cancel_event(session: Session, actor: Actor, event_id: int) -> Event:
    """The centre calls the event off: everyone registered or waiting hears of it."""
    actor.require(Permission.EVENT_MANAGE)
    event = get_event(session, actor, event_id)
    if event.status == EventStatus.CANCELLED:
        raise EventClosed(N_("This event was cancelled."))
    event.status = str(EventStatus.CANCELLED)
    event.updated_at = utcnow()
    for reg in _active(session, event.id):
        _tell(session, reg, N_("Event cancelled: %(title)s"), N_("The centre has cancelled “%(title)s”. Sorry."))
    session.flush()
    audit.record(session, actor, "event.cancel", event, before={"status": "published"}, after={"status": "cancelled"})
    return event


def speaker_choices(session: Session) -> list[tuple[int, str]]:
    """Providers that may be named as speakers."""
    rows = session.execute(
        select(Organisation.id, Organisation.name)
        .where(Organisation.kind == OrgKind.PROVIDER)
        .order_by(Organisation.name)
    )
    return [(i, n) for i, n in rows]


def is_speaker(event: Event, actor: Actor) -> bool:
    return actor.org_id is not None and any(s.provider_org_id == actor.org_id for s in event.speakers)


def speaking_at(session: Session, actor: Actor) -> list[Event]:
    """The events a provider speaks at."""
    if actor.org_id is None:
        return []
    query = (
        select(Event)
        .join(EventSpeaker, EventSpeaker.event_id == Event.id)
        .where(EventSpeaker.provider_org_id == actor.org_id, Event.status == EventStatus.PUBLISHED)
        .order_by(Event.starts_at.desc())
    )
    return list(session.scalars(query).unique())


# --- registrations --------------------------------------------------------------------------------


def visible_registrations(actor: Actor) -> ColumnElement[bool]:
    if actor.can(Permission.EVENT_MANAGE):
        return true()
    if actor.can(Permission.EVENT_ATTEND) and actor.org_id is not None:
        return Registration.org_id == actor.org_id
    return false()


def get_registration(session: Session, actor: Actor, registration_id: int) -> Registration:
    found = session.scalar(select(Registration).where(Registration.id == registration_id, visible_registrations(actor)))
    if found is None:
        raise NotFound(N_("Registration not found."))
    return found


def registration_of(session: Session, actor: Actor, event_id: int) -> Registration | None:
    """The acting person's own registration at the event (cancelled ones too)."""
    if actor.user_id is None:
        return None
    return session.scalar(
        select(Registration).where(Registration.event_id == event_id, Registration.user_id == actor.user_id)
    )


def org_registrations(session: Session, actor: Actor, event_id: int) -> list[Registration]:
    """The registrations of the actor's organisation at the event (its colleagues included)."""
    if actor.org_id is None:
        return []
    query = select(Registration).where(
        Registration.event_id == event_id, Registration.org_id == actor.org_id, visible_registrations(actor)
    )
    return list(session.scalars(query.order_by(Registration.id)))


def list_registrations(
    session: Session, actor: Actor, *, event_id: int | None = None, status: RegistrationStatus | None = None
) -> list[Registration]:
    """Registrations the actor may see: an operator all of an event's, an organisation its own."""
    query = select(Registration).where(visible_registrations(actor)).options(selectinload(Registration.event))
    if event_id is not None:
        query = query.where(Registration.event_id == event_id)
    if status is not None:
        query = query.where(Registration.status == str(status))
    # seats first, then the waiting list in its order, then the cancelled
    rank = case((Registration.status == R.REGISTERED, 0), (Registration.status == R.WAITLISTED, 1), else_=2)
    order = (rank, Registration.waitlist_no, Registration.registered_at, Registration.id)
    return list(session.scalars(query.order_by(*order)))


def waiting_list(session: Session, event_id: int) -> list[Registration]:
    """The waiting list in its order: the number each registration drew."""
    query = select(Registration).where(Registration.event_id == event_id, Registration.status == R.WAITLISTED)
    return list(session.scalars(query.order_by(Registration.waitlist_no, Registration.id)))


def _active(session: Session, event_id: int) -> list[Registration]:
    query = select(Registration).where(
        Registration.event_id == event_id, Registration.status.in_([R.REGISTERED, R.WAITLISTED])
    )
    return list(session.scalars(query.order_by(Registration.id)))


def _open(event: Event, now: datetime) -> None:
    if event.status != EventStatus.PUBLISHED:
        raise EventClosed(N_("This event was cancelled."))
    if event.starts_at <= now:
        raise EventClosed(N_("Registration is closed: the event has started."))


def register(session: Session, actor: Actor, event_id: int, *, now: datetime | None = None) -> Registration:
    """The acting person registers for the event, for their organisation: a seat while there is one, else
    the next place on the waiting list (see the module's docstring for why this cannot over-book)."""
    actor.require(Permission.EVENT_ATTEND)
    if actor.user_id is None or actor.org_id is None or actor.on_behalf_of is not None:
        raise Invalid(N_("Only a member of an organisation registers, for themself."))
    now = now or utcnow()
    event = get_event(session, actor, event_id)
    _open(event, now)
    reg = registration_of(session, actor, event_id)
    if reg is not None and reg.status != R.CANCELLED:
        raise AlreadyRegistered(N_("You are already registered for this event."))
    seat = rows_matched(
        session,
        update(Event)
        .where(Event.id == event_id, Event.status == EventStatus.PUBLISHED, Event.seats_taken < Event.capacity)
        .values(seats_taken=Event.seats_taken + 1)
        .execution_options(synchronize_session=False),
    )
    number = None
    if seat != 1:
        number = session.execute(
            update(Event)
            .where(Event.id == event_id)
            .values(waitlist_seq=Event.waitlist_seq + 1)
            .returning(Event.waitlist_seq)
            .execution_options(synchronize_session=False)
        ).scalar_one()
    status = R.REGISTERED if seat == 1 else R.WAITLISTED
    if reg is None:
        reg = Registration(event_id=event_id, user_id=actor.user_id, org_id=actor.org_id, ticket=_ticket())
        session.add(reg)
    reg.status, reg.waitlist_no, reg.registered_at = str(status), number, now
    reg.cancelled_at = reg.promoted_at = reg.checked_in_at = None
    session.flush()
    session.expire(event, ["seats_taken", "waitlist_seq"])
    return reg


def _ticket() -> str:
    return secrets.token_urlsafe(18)


def cancel_registration(
    session: Session, actor: Actor, registration_id: int, *, now: datetime | None = None
) -> Registration:
    """The person (or a colleague, or an operator) gives the place up. A seat given up before the event goes
    to the first on the waiting list, who is told by email; with nobody waiting it is free again."""
    reg = get_registration(session, actor, registration_id)
    if not (actor.can(Permission.EVENT_MANAGE) or actor.can(Permission.EVENT_ATTEND)):
        raise NotFound(N_("Registration not found."))
    if reg.status == R.CANCELLED:
        raise Conflict(N_("This registration is already cancelled."))
    now = now or utcnow()
    event = reg.event
    if event.starts_at <= now:
        raise EventClosed(N_("The event has started: registrations can no longer be cancelled."))
    held_seat = reg.status == R.REGISTERED
    # The event row's lock first (see the module's docstring): a seat given back and a registration arriving
    # at the same moment are ordered, so nobody overtakes the waiting list.
    rows_matched(
        session,
        update(Event)
        .where(Event.id == event.id)
        .values(seats_taken=Event.seats_taken - (1 if held_seat else 0))
        .execution_options(synchronize_session=False),
    )
    reg.status, reg.cancelled_at, reg.waitlist_no = str(R.CANCELLED), now, None
    session.flush()
    if held_seat and event.status == EventStatus.PUBLISHED:
        _promote(session, event, now)
    session.expire(event, ["seats_taken", "waitlist_seq"])
    return reg


def _promote(session: Session, event: Event, now: datetime) -> Registration | None:
    """The first on the waiting list takes the free seat (each step conditional: a seat only while one is
    free, a registration only while it is still waiting)."""
    for candidate in waiting_list(session, event.id):
        seat = rows_matched(
            session,
            update(Event)
            .where(Event.id == event.id, Event.seats_taken < Event.capacity)
            .values(seats_taken=Event.seats_taken + 1)
            .execution_options(synchronize_session=False),
        )
        if seat != 1:
            return None
        moved = rows_matched(
            session,
            update(Registration)
            .where(Registration.id == candidate.id, Registration.status == R.WAITLISTED)
            .values(status=str(R.REGISTERED), promoted_at=now, waitlist_no=None)
            .execution_options(synchronize_session=False),
        )
        if moved == 1:
            session.refresh(candidate)
            _tell(
                session,
                candidate,
                N_("You have a seat: %(title)s"),
                N_("A seat became free at “%(title)s” and it is yours now. Your ticket is on the event's page."),
            )
            return candidate
        # it was cancelled meanwhile: give the seat back and try the next one
        session.execute(
            update(Event)
            .where(Event.id == event.id)
            .values(seats_taken=Event.seats_taken - 1)
            .execution_options(synchronize_session=False)
        )
    return None


def _tell(session: Session, reg: Registration, title: str, text: str) -> None:
    """An email to the registered person (a reminder, a promotion, a cancellation), in the current language."""
    user = session.get(User, reg.user_id)
    if user is None or not user.is_active or user.deleted_at is not None:
        return
    tr = translations(get_lang())
    params = {"title": reg.event.title}
    base = str(session.info.get(BASE_URL_KEY, "")).rstrip("/")
    mail.queue(
        session,
        to=user.email,
        template="notice",
        lang=get_lang(),
        params={
            "name": user.display_name,
            "title": tr.gettext(title) % params,
            "text": tr.gettext(text) % params,
            "url": f"{base}/events/{reg.event_id}",
        },
        category="account",  # about the person's own registration: like an account message, always sent
    )


# --- reminders, check-in, feedback ------------------------------------------------------------------


def send_reminders(session: Session, actor: Actor, *, now: datetime | None = None) -> int:
    """Email each registered person once, within a day before the event (the `events-reminders` job). Each
    registration is claimed by a conditional UPDATE, so two runs never remind anyone twice."""
    actor.require(Permission.EVENT_MANAGE)
    now = now or utcnow()
    due = session.scalars(
        select(Registration)
        .join(Event, Event.id == Registration.event_id)
        .where(
            Registration.status == R.REGISTERED,
            Registration.reminded_at.is_(None),
            Event.status == EventStatus.PUBLISHED,
            Event.starts_at > now,
            Event.starts_at <= now + REMIND_BEFORE,
        )
        .order_by(Registration.id)
    ).all()
    sent = 0
    for reg in due:
        claimed = rows_matched(
            session,
            update(Registration)
            .where(Registration.id == reg.id, Registration.reminded_at.is_(None))
            .values(reminded_at=now)
            .execution_options(synchronize_session=False),
        )
        if claimed == 1:
            _tell(
                session,
                reg,
                N_("Reminder: %(title)s"),
                N_("“%(title)s” is coming up. Show the QR ticket on the event's page at the entrance."),
            )
            sent += 1
    return sent


def find_by_ticket(session: Session, actor: Actor, ticket: str) -> Registration:
    """The registration a scanned QR ticket names (staff only: the ticket is the person's secret)."""
    actor.require(Permission.EVENT_MANAGE)
    found = session.scalar(select(Registration).where(Registration.ticket == ticket[:40]))
    if found is None:
        raise NotFound(N_("Registration not found."))
    return found


def check_in(session: Session, actor: Actor, registration_id: int, *, now: datetime | None = None) -> Registration:
    """Staff check a person in (from the scanned ticket or the list). Checking in twice changes nothing."""
    actor.require(Permission.EVENT_MANAGE)
    reg = get_registration(session, actor, registration_id)
    if reg.status != R.REGISTERED:
        raise Conflict(N_("Only a registration holding a seat can be checked in."))
    if reg.checked_in_at is None:
        reg.checked_in_at, reg.checked_in_by = now or utcnow(), actor.user_id
        session.flush()
    return reg


def give_feedback(
    session: Session, actor: Actor, registration_id: int, data: FeedbackIn, *, now: datetime | None = None
) -> Registration:
    """The person who attended scores the event (1-5) and may comment; once it has started. Again replaces."""
    reg = get_registration(session, actor, registration_id)
    if reg.user_id != actor.user_id:
        raise NotFound(N_("Registration not found."))
    now = now or utcnow()
    if reg.status != R.REGISTERED or reg.checked_in_at is None:
        raise Conflict(N_("Feedback comes from people who attended."))
    if reg.event.starts_at > now:
        raise Conflict(N_("Feedback opens when the event starts."))
    reg.satisfaction, reg.comment, reg.feedback_at = data.satisfaction, data.comment, now
    session.flush()
    return reg


# --- the operator's report ------------------------------------------------------------------------


@dataclass
class OrgAttendance:
    org_id: int
    name: str
    registered: int = 0
    attended: int = 0
    people: list[str] = field(default_factory=list)  # who attended


@dataclass
class EventReport:
    event: Event
    registered: int
    waitlisted: int
    cancelled: int
    attended: int
    feedback: int
    satisfaction: float | None
    scores: dict[int, int]  # score -> how many gave it
    comments: list[str]
    by_org: list[OrgAttendance]


def report(session: Session, actor: Actor, event_id: int) -> EventReport:
    """Attendance per person and per organisation, and satisfaction, for the operator."""
    actor.require(Permission.EVENT_MANAGE)
    event = get_event(session, actor, event_id)
    regs = list(
        session.scalars(
            select(Registration)
            .where(Registration.event_id == event_id)
            .options(selectinload(Registration.user), selectinload(Registration.organisation))
            .order_by(Registration.id)
        )
    )
    by_org: dict[int, OrgAttendance] = {}
    scores: dict[int, int] = defaultdict(int)
    for r in regs:
        if r.status == R.REGISTERED:
            row = by_org.setdefault(r.org_id, OrgAttendance(r.org_id, r.organisation.name))
            row.registered += 1
            if r.checked_in_at is not None:
                row.attended += 1
                row.people.append(r.user.display_name)
        if r.satisfaction is not None:
            scores[r.satisfaction] += 1
    given = [r.satisfaction for r in regs if r.satisfaction is not None]
    return EventReport(
        event=event,
        registered=sum(1 for r in regs if r.status == R.REGISTERED),
        waitlisted=sum(1 for r in regs if r.status == R.WAITLISTED),
        cancelled=sum(1 for r in regs if r.status == R.CANCELLED),
        attended=sum(1 for r in regs if r.status == R.REGISTERED and r.checked_in_at is not None),
        feedback=len(given),
        satisfaction=round(mean(given), 1) if given else None,
        scores=dict(sorted(scores.items())),
        comments=[r.comment for r in regs if r.comment],
        by_org=sorted(by_org.values(), key=lambda o: (-o.attended, o.name)),
    )


def attendance_of_org(session: Session, actor: Actor) -> list[Registration]:
    """The training record of the actor's organisation: who attended which event."""
    if actor.org_id is None:
        return []
    query = (
        select(Registration)
        .where(
            visible_registrations(actor),
            Registration.org_id == actor.org_id,
            or_(Registration.checked_in_at.is_not(None), Registration.status != R.CANCELLED),
        )
        .options(selectinload(Registration.event), selectinload(Registration.user))
        .order_by(Registration.registered_at.desc())
    )
    return list(session.scalars(query))
