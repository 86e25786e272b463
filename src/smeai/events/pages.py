"""Pages under /events: the list (with what a diagnosis recommends), an event with its registration, QR
ticket and feedback, the operator's publishing form, check-in (the ticket scanned by staff, or the list) and
report, and a matchmaking day's meetings. Each page shows the caller's side; the services decide what that is.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any
from zoneinfo import ZoneInfo

import segno
from fastapi import APIRouter, Depends, Request
from fastapi.responses import HTMLResponse, Response
from markupsafe import Markup
from starlette.datastructures import FormData

from smeai import taxonomy
from smeai.auth.deps import PageActor, commit_and_mail
from smeai.auth.models import Organisation
from smeai.auth.permissions import OrgKind, Permission
from smeai.db import DbSession, utcnow
from smeai.errors import Invalid
from smeai.events import flows, meetings, service
from smeai.events.models import Event, Registration
from smeai.events.schemas import EventIn, FeedbackIn, MeetingIn
from smeai.i18n import N_, _, get_lang
from smeai.inputs import RecordId
from smeai.web.csrf import csrf_protect
from smeai.web.flash import redirect_with_message
from smeai.web.forms import parse_form
from smeai.web.render import render

router = APIRouter(include_in_schema=False)
CSRF = [Depends(csrf_protect)]
LOCAL = ZoneInfo("Asia/Shanghai")  # events happen in China: times are read and shown in its time

KINDS = {
    "course": N_("Training course"),
    "seminar": N_("Seminar"),
    "matchmaking": N_("Matchmaking day"),
    "site_visit": N_("Site visit to a benchmark"),
    "launch": N_("Solution launch"),
    "competition": N_("Competition"),
}
REG_STATUS = {
    "registered": N_("Seat confirmed"),
    "waitlisted": N_("On the waiting list"),
    "cancelled": N_("Cancelled"),
}
EVENT_STATUS = {"published": N_("Open"), "cancelled": N_("Cancelled")}
LABELS = {"kind": KINDS, "reg": REG_STATUS, "status": EVENT_STATUS}


def when(dt: datetime | None, fmt: str = "%Y-%m-%d %H:%M") -> str:
    return dt.astimezone(LOCAL).strftime(fmt) if dt is not None else "—"


def joined(names: list[str]) -> str:
    return (", " if get_lang() == "en" else "、").join(names)


def _page(request: Request, template: str, status: int = 200, **context: Any) -> HTMLResponse:
    context.setdefault("errors", {})
    dims = flows.dimension_names()
    return render(
        request,
        template,
        status,
        active="events",
        L=LABELS,
        when=when,
        dims=dims,
        names=lambda kind, codes: joined([taxonomy.name(kind, c) for c in codes]),
        dim_names=lambda codes: joined([dims.get(c, c) for c in codes]),
        joined=joined,
        **context,
    )


def _list(form: FormData, key: str) -> list[str]:
    return [v for v in form.getlist(key) if isinstance(v, str) and v]


def _local(raw: object, field: str) -> datetime | None:
    if not isinstance(raw, str) or not raw.strip():
        return None
    try:
        return datetime.fromisoformat(raw.strip()).replace(tzinfo=LOCAL)
    except ValueError:
        raise Invalid(N_("Please correct the marked fields."), fields={field: "invalid"}) from None


def _event_data(form: FormData, providers: dict[int, str]) -> tuple[dict[str, object], dict[str, object]]:
    """(what the form showed, EventIn's input): times read in China time, experts one a line."""
    values: dict[str, object] = {k: form.get(k) for k in form if k != "csrf_token"}
    for key in ("industries", "provinces", "stages", "topics", "speaker_orgs"):
        values[key] = _list(form, key)
    speakers: list[dict[str, object]] = []
    for raw in _list(form, "speaker_orgs"):
        org_id = int(raw) if raw.isdigit() else 0
        speakers.append({"name": providers.get(org_id, "?"), "provider_org_id": org_id or None})
    for line in str(values.get("experts") or "").splitlines():
        parts = [p.strip() for p in line.replace("，", ",").split(",")]
        if parts and parts[0]:
            padded = [*parts, "", ""]
            speakers.append({"name": padded[0], "affiliation": padded[1] or None, "topic": padded[2] or None})
    data = {
        k: v
        for k, v in values.items()
        if k in ("kind", "title", "summary", "agenda", "place", "online_url", "capacity", "slot_minutes")
        and v not in (None, "")
    }
    data |= {
        "starts_at": _local(values.get("starts_at"), "starts_at"),
        "ends_at": _local(values.get("ends_at"), "ends_at"),
        "industries": values["industries"],
        "provinces": values["provinces"],
        "stages": values["stages"],
        "topics": values["topics"],
        "speakers": speakers,
    }
    return values, {k: v for k, v in data.items() if v is not None}


def ticket_qr(request: Request, reg: Registration) -> Markup:
    """The QR code of a ticket: the check-in page's address, which staff open by scanning it."""
    url = str(request.base_url).rstrip("/") + f"/events/checkin/{reg.ticket}"
    return Markup(segno.make(url, error="m").svg_inline(scale=5, dark="#1f2937", light="#ffffff"))


# --- the list ---------------------------------------------------------------------------------------


@router.get("/events")
def index(request: Request, session: DbSession, actor: PageActor) -> HTMLResponse:
    upcoming = service.list_events(session, actor, upcoming=True)
    past = service.list_events(session, actor, upcoming=False)[:20]
    attending = actor.can(Permission.EVENT_ATTEND)
    org = session.get(Organisation, actor.org_id) if actor.org_id is not None else None
    _gaps, stage = flows.diagnosis_gaps(session, actor)
    return _page(
        request,
        "events/index.html",
        upcoming=upcoming,
        past=past,
        fits={e.id: service.audience_fits(e, org, stage) for e in upcoming},
        recommended=flows.recommended_events(session, actor),
        mine=service.attendance_of_org(session, actor) if attending else [],
        my_meetings=meetings.my_meetings(session, actor),
        speaking=service.speaking_at(session, actor) if actor.org_kind == OrgKind.PROVIDER else [],
        can_manage=actor.can(Permission.EVENT_MANAGE),
        attending=attending,
    )


# --- publishing -------------------------------------------------------------------------------------


def _form(request: Request, session: DbSession, status: int = 200, **context: Any) -> HTMLResponse:
    return _page(
        request,
        "events/form.html",
        status,
        providers=service.speaker_choices(session),
        kinds=[(k, _(v)) for k, v in KINDS.items()],
        provinces=taxonomy.choices("provinces"),
        sections=taxonomy.choices("sections"),
        stages=taxonomy.choices("stages"),
        **context,
    )


@router.get("/events/new")
def new_event(request: Request, session: DbSession, actor: PageActor) -> HTMLResponse:
    actor.require(Permission.EVENT_MANAGE)
    return _form(request, session, values={"kind": "course", "capacity": 30}, errors={})


@router.post("/events/new", dependencies=CSRF)
async def publish(request: Request, session: DbSession, actor: PageActor) -> Response:
    actor.require(Permission.EVENT_MANAGE)
    form = await request.form()
    values: dict[str, object] = {}
    try:
        values, data = _event_data(form, dict(service.speaker_choices(session)))
        event = service.publish_event(session, actor, parse_form(EventIn, data))
    except Invalid as exc:
        session.rollback()
        errors = {k.split(".")[0]: v for k, v in exc.fields.items()}
        return _form(request, session, 422, values=values, errors=errors, messages=[("error", _(exc.message))])
    session.commit()
    return redirect_with_message(request, f"/events/{event.id}", _("Event published."))


# --- one event --------------------------------------------------------------------------------------


@router.get("/events/{event_id}")
def event_page(event_id: RecordId, request: Request, session: DbSession, actor: PageActor) -> HTMLResponse:
    event = service.get_event(session, actor, event_id)
    mine = service.registration_of(session, actor, event_id)
    can_manage = actor.can(Permission.EVENT_MANAGE)
    now = utcnow()
    return _page(
        request,
        "events/event.html",
        event=event,
        mine=mine,
        qr=ticket_qr(request, mine) if mine is not None and mine.status == "registered" else None,
        colleagues=[r for r in service.org_registrations(session, actor, event_id) if r.user_id != actor.user_id],
        registrations=service.list_registrations(session, actor, event_id=event_id) if can_manage else [],
        can_manage=can_manage,
        can_attend=actor.can(Permission.EVENT_ATTEND) and actor.on_behalf_of is None,
        is_open=event.status == "published" and event.starts_at > now,
        started=event.starts_at <= now,
        speaker=service.is_speaker(event, actor),
    )


@router.post("/events/{event_id}/register", dependencies=CSRF)
def register(event_id: RecordId, request: Request, session: DbSession, actor: PageActor) -> Response:
    reg = service.register(session, actor, event_id)
    commit_and_mail(request, session)
    if reg.status == "registered":
        text = _("You are registered. Your ticket is below.")
    else:
        text = _("The event is full: you are number %(n)s on the waiting list.") % {"n": reg.waitlist_no}
    return redirect_with_message(request, f"/events/{event_id}", text)


@router.post("/events/registrations/{registration_id}/cancel", dependencies=CSRF)
def cancel_registration(registration_id: RecordId, request: Request, session: DbSession, actor: PageActor) -> Response:
    reg = service.cancel_registration(session, actor, registration_id)
    commit_and_mail(request, session)
    return redirect_with_message(request, f"/events/{reg.event_id}", _("Registration cancelled."))


@router.post("/events/registrations/{registration_id}/feedback", dependencies=CSRF)
async def feedback(registration_id: RecordId, request: Request, session: DbSession, actor: PageActor) -> Response:
    data = parse_form(FeedbackIn, dict(await request.form()))
    reg = service.give_feedback(session, actor, registration_id, data)
    session.commit()
    return redirect_with_message(request, f"/events/{reg.event_id}", _("Thank you for your feedback."))


@router.post("/events/{event_id}/cancel", dependencies=CSRF)
def cancel_event(event_id: RecordId, request: Request, session: DbSession, actor: PageActor) -> Response:
    service.cancel_event(session, actor, event_id)
    commit_and_mail(request, session)
    return redirect_with_message(request, f"/events/{event_id}", _("Event cancelled; registrants are told by email."))


# --- check-in ---------------------------------------------------------------------------------------


@router.get("/events/checkin/{ticket}")
def checkin_page(ticket: str, request: Request, session: DbSession, actor: PageActor) -> HTMLResponse:
    """What staff see when they scan a ticket: who it is, for which event, and the check-in button."""
    reg = service.find_by_ticket(session, actor, ticket)
    return _page(request, "events/checkin.html", reg=reg, event=reg.event)


@router.post("/events/registrations/{registration_id}/checkin", dependencies=CSRF)
async def check_in(registration_id: RecordId, request: Request, session: DbSession, actor: PageActor) -> Response:
    reg = service.check_in(session, actor, registration_id)
    session.commit()
    back = str((await request.form()).get("back") or "")
    target = back if back.startswith("/events/") else f"/events/{reg.event_id}"
    return redirect_with_message(request, target, _("%(name)s is checked in.") % {"name": reg.user.display_name})


@router.get("/events/{event_id}/report")
def report(event_id: RecordId, request: Request, session: DbSession, actor: PageActor) -> HTMLResponse:
    rep = service.report(session, actor, event_id)
    return _page(
        request, "events/report.html", rep=rep, event=rep.event, follow=flows.follow_up(session, actor, event_id)
    )


# --- a matchmaking day's meetings -------------------------------------------------------------------


def _meetings_page(
    request: Request, session: DbSession, actor: PageActor, event: Event, status: int = 200, **extra: Any
) -> HTMLResponse:
    side = actor.org_kind if actor.can(Permission.EVENT_ATTEND) else None
    others: list = []
    if side == OrgKind.ENTERPRISE:
        others = meetings.participants(session, event.id, OrgKind.PROVIDER)
    elif side == OrgKind.PROVIDER:
        others = meetings.participants(session, event.id, OrgKind.ENTERPRISE)
    mine = meetings.schedule(session, actor, event.id, org_id=actor.org_id if side else None)
    registered = service.registration_of(session, actor, event.id)
    enterprise_id = actor.org_id if side == OrgKind.ENTERPRISE else None
    provider_id = actor.org_id if side == OrgKind.PROVIDER else None
    return _page(
        request,
        "events/meetings.html",
        status,
        event=event,
        meetings=mine,
        others=others,
        slots=meetings.slots(event),
        busy=meetings.busy_slots(session, event.id, [actor.org_id] if actor.org_id else []),
        slot_key=meetings.slot_key,
        side=side,
        can_book=bool(side)
        and registered is not None
        and registered.status == "registered"
        and event.status == "published"
        and event.starts_at > utcnow(),
        needs=meetings.needs_of(session, enterprise_id) if enterprise_id else [],
        offerings=meetings.offerings_of(session, provider_id) if provider_id else [],
        counterpart=lambda m: meetings.counterpart(actor, m),
        offerings_of=lambda org_id: meetings.offerings_of(session, org_id),
        needs_of=lambda org_id: meetings.needs_of(session, org_id),
        values=extra.pop("values", {}),
        errors=extra.pop("errors", {}),
        **extra,
    )


@router.get("/events/{event_id}/meetings")
def meetings_page(event_id: RecordId, request: Request, session: DbSession, actor: PageActor) -> HTMLResponse:
    event = service.get_event(session, actor, event_id)
    return _meetings_page(request, session, actor, event)


@router.post("/events/{event_id}/meetings", dependencies=CSRF)
async def book(event_id: RecordId, request: Request, session: DbSession, actor: PageActor) -> Response:
    form = await request.form()
    values = {k: form.get(k) for k in form if k != "csrf_token"}
    try:
        data: dict[str, object] = dict(values)
        slot = data.pop("slot", None)
        if isinstance(slot, str) and slot:
            data["slot_at"] = datetime.fromisoformat(slot)
        meeting = meetings.book(session, actor, event_id, parse_form(MeetingIn, data))
    except (Invalid, ValueError) as exc:
        session.rollback()
        message = exc.message if isinstance(exc, Invalid) else N_("Please correct the marked fields.")
        errors = exc.fields if isinstance(exc, Invalid) else {"slot": "invalid"}
        event = service.get_event(session, actor, event_id)
        return _meetings_page(
            request, session, actor, event, 422, values=values, errors=errors, messages=[("error", _(message))]
        )
    session.commit()
    return redirect_with_message(
        request,
        f"/events/{meeting.event_id}/meetings",
        _("Meeting booked for %(time)s.") % {"time": when(meeting.slot_at, "%H:%M")},
    )


@router.post("/events/meetings/{meeting_id}/cancel", dependencies=CSRF)
def cancel_meeting(meeting_id: RecordId, request: Request, session: DbSession, actor: PageActor) -> Response:
    meeting = meetings.cancel(session, actor, meeting_id)
    session.commit()
    return redirect_with_message(request, f"/events/{meeting.event_id}/meetings", _("Meeting cancelled."))


@router.post("/events/meetings/{meeting_id}/engagement", dependencies=CSRF)
async def open_engagement(meeting_id: RecordId, request: Request, session: DbSession, actor: PageActor) -> Response:
    form = await request.form()
    subject = {
        k: int(v) if isinstance(v, str) and v.isdigit() else None
        for k in ("need_id", "offering_id")
        for v in [form.get(k)]
    }
    if any(subject.values()):
        flows.set_meeting_subject(session, actor, meeting_id, **subject)
    e = flows.open_engagement(session, actor, meeting_id)
    commit_and_mail(request, session)
    return redirect_with_message(request, f"/matching/engagements/{e.id}", _("Engagement opened from the meeting."))
