"""/api/v1/events: the same services as the pages, with the paging envelope for lists."""

from __future__ import annotations

from fastapi import APIRouter

from smeai.auth.deps import CurrentActor
from smeai.db import DbSession
from smeai.events import flows, meetings, service
from smeai.events.schemas import (
    EventIn,
    EventKind,
    EventOut,
    FeedbackIn,
    MeetingIn,
    MeetingOut,
    RegistrationOut,
    RegistrationStatus,
)
from smeai.inputs import RecordId
from smeai.web.paging import Page, PageParams, page_of

router = APIRouter(prefix="/api/v1/events", tags=["events"])


@router.get("", summary="Events (upcoming: true for those not ended yet, false for past ones)")
def list_events(
    session: DbSession,
    actor: CurrentActor,
    paging: PageParams,
    upcoming: bool | None = None,
    kind: EventKind | None = None,
) -> Page[EventOut]:
    return page_of(service.list_events(session, actor, upcoming=upcoming, kind=kind), paging, EventOut.model_validate)


@router.post("", status_code=201, summary="Publish an event (operators)")
def publish(data: EventIn, session: DbSession, actor: CurrentActor) -> EventOut:
    event = service.publish_event(session, actor, data)
    session.commit()
    return EventOut.model_validate(event)


@router.get("/registrations", summary="Registrations the caller may see (its organisation's; operators: all)")
def list_registrations(
    session: DbSession,
    actor: CurrentActor,
    paging: PageParams,
    event_id: RecordId | None = None,
    status: RegistrationStatus | None = None,
) -> Page[RegistrationOut]:
    rows = service.list_registrations(session, actor, event_id=event_id, status=status)
    return page_of(rows, paging, RegistrationOut.model_validate)


@router.get("/{event_id}", summary="One event")
def read_event(event_id: RecordId, session: DbSession, actor: CurrentActor) -> EventOut:
    return EventOut.model_validate(service.get_event(session, actor, event_id))


@router.post("/{event_id}/registrations", status_code=201, summary="Register the caller (a seat or the waiting list)")
def register(event_id: RecordId, session: DbSession, actor: CurrentActor) -> RegistrationOut:
    reg = service.register(session, actor, event_id)
    session.commit()
    return RegistrationOut.model_validate(reg)


@router.post("/registrations/{registration_id}/cancel", summary="Cancel a registration (the waiting list moves up)")
def cancel(registration_id: RecordId, session: DbSession, actor: CurrentActor) -> RegistrationOut:
    reg = service.cancel_registration(session, actor, registration_id)
    session.commit()
    return RegistrationOut.model_validate(reg)


@router.post("/registrations/{registration_id}/checkin", summary="Check a person in (staff)")
def check_in(registration_id: RecordId, session: DbSession, actor: CurrentActor) -> RegistrationOut:
    reg = service.check_in(session, actor, registration_id)
    session.commit()
    return RegistrationOut.model_validate(reg)


@router.post("/registrations/{registration_id}/feedback", summary="Score an attended event (1-5) with a comment")
def feedback(registration_id: RecordId, data: FeedbackIn, session: DbSession, actor: CurrentActor) -> RegistrationOut:
    reg = service.give_feedback(session, actor, registration_id, data)
    session.commit()
    return RegistrationOut.model_validate(reg)


@router.get("/{event_id}/meetings", summary="A matchmaking day's meetings the caller may see, by slot")
def list_meetings(event_id: RecordId, session: DbSession, actor: CurrentActor, paging: PageParams) -> Page[MeetingOut]:
    return page_of(meetings.schedule(session, actor, event_id), paging, MeetingOut.model_validate)


@router.post("/{event_id}/meetings", status_code=201, summary="Book a one-to-one meeting at a matchmaking day")
def book(event_id: RecordId, data: MeetingIn, session: DbSession, actor: CurrentActor) -> MeetingOut:
    meeting = meetings.book(session, actor, event_id, data)
    session.commit()
    return MeetingOut.model_validate(meeting)


@router.post("/meetings/{meeting_id}/engagement", summary="Open an engagement from a meeting")
def open_engagement(meeting_id: RecordId, session: DbSession, actor: CurrentActor) -> MeetingOut:
    flows.open_engagement(session, actor, meeting_id)
    session.commit()
    return MeetingOut.model_validate(meetings.get_meeting(session, actor, meeting_id))
