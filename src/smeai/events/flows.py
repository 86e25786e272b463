"""Work that starts at an event and reaches other domains (Dispatch's flows.py). Events sit above matching,
assessment and subsidy in the import order, and nothing imports events, so what ties them together is
composed here, from the events side, through those domains' services and visibility rules:

- a matchmaking meeting opens an engagement (matching's engagements service: the enterprise shows interest
  in the offering it met, an operator introduces the two);
- a diagnosis recommends upcoming events that work on its gaps (assessment's latest completed result; shown
  on the events pages, which the diagnosis page's readers reach from the portal navigation);
- the operator's follow-up of a course: which attending organisations later diagnosed, posted needs or
  applied for vouchers (each domain's own `visible_*` rule scopes what is counted).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from smeai.assessment import instruments
from smeai.assessment import service as assessment_service
from smeai.assessment.models import Assessment
from smeai.assessment.schemas import AssessmentStatus
from smeai.auth.actor import Actor
from smeai.auth.models import Organisation
from smeai.auth.permissions import Permission
from smeai.db import utcnow
from smeai.errors import Conflict, Invalid, NotFound
from smeai.events import meetings, service
from smeai.events.models import Event, Meeting, Registration
from smeai.events.schemas import MeetingStatus, RegistrationStatus
from smeai.i18n import N_
from smeai.matching import engagements
from smeai.matching import service as matching_service
from smeai.matching.models import Engagement, Need
from smeai.subsidy import service as subsidy_service
from smeai.subsidy.models import Application

INSTRUMENT = "smeai-ai-maturity"


# --- a meeting opens an engagement ----------------------------------------------------------------


def open_engagement(session: Session, actor: Actor, meeting_id: int, *, note: str | None = None) -> Engagement:
    """The meeting went well: an engagement on the meeting's need and offering starts (interest shown by the
    enterprise, or an introduction by an operator), and the meeting links to it. The provider sees it as its
    notification, as any engagement. An engagement already open on the pair is linked instead of doubled."""
    meeting = meetings.get_meeting(session, actor, meeting_id)
    side = meetings.side_of(actor, meeting)
    if side not in ("enterprise", "centre"):
        raise NotFound(N_("Meeting not found."))  # the provider's side: the enterprise decides to follow up
    if meeting.status != MeetingStatus.BOOKED:
        raise Conflict(N_("This meeting is cancelled."))
    if meeting.engagement_id is not None:
        raise Conflict(N_("This meeting has already opened an engagement."))
    if meeting.need_id is None or meeting.offering_id is None:
        raise Invalid(
            N_("Choose the need and the offering the meeting was about first."), fields={"need_id": "required"}
        )
    text = note or meeting.topic or N_("Met at a matchmaking day")
    existing = session.scalar(
        select(Engagement).where(
            Engagement.need_id == meeting.need_id,
            Engagement.offering_id == meeting.offering_id,
            engagements.visible_engagements(actor),
        )
    )
    if existing is not None:
        e = existing
    elif side == "centre":
        e = engagements.introduce(session, actor, meeting.need_id, meeting.offering_id, note=text)
    else:
        e = engagements.express_interest(session, actor, meeting.need_id, meeting.offering_id, note=text)
    meeting.engagement_id = e.id
    session.flush()
    return e


def set_meeting_subject(
    session: Session, actor: Actor, meeting_id: int, *, need_id: int | None, offering_id: int | None
) -> Meeting:
    """Either side names the need and the offering the meeting is about (before opening an engagement)."""
    meeting = meetings.get_meeting(session, actor, meeting_id)
    if meetings.side_of(actor, meeting) is None:
        raise NotFound(N_("Meeting not found."))
    if need_id is not None:
        need = session.get(Need, need_id)
        if need is None or need.org_id != meeting.enterprise_org_id:
            raise Invalid(N_("Choose one of the enterprise's needs."), fields={"need_id": "invalid"})
        meeting.need_id = need_id
    if offering_id is not None:
        if offering_id not in {o.id for o in meetings.offerings_of(session, meeting.provider_org_id)}:
            raise Invalid(N_("Choose one of the provider's offerings."), fields={"offering_id": "invalid"})
        meeting.offering_id = offering_id
    session.flush()
    return meeting


# --- a diagnosis recommends events ----------------------------------------------------------------


@dataclass
class Recommended:
    event: Event
    gaps: list[str]  # the diagnosis's gaps (dimension ids) the event works on


def diagnosis_gaps(session: Session, actor: Actor) -> tuple[list[str], str | None]:
    """The gaps and the application stage of the actor's enterprise's latest completed self-diagnosis."""
    if actor.org_id is None or not actor.can(Permission.ASSESSMENT_READ_OWN):
        return [], None
    latest = assessment_service.latest_completed(session, actor, actor.org_id, INSTRUMENT)
    if latest is None:
        return [], None
    result = assessment_service.result_of(session, latest)
    stage = None
    if result.stage is not None:
        stage = next((code for code, t in _stages().items() if t == result.stage.id), None)
    return list(result.gaps), stage


def _stages() -> dict[str, str]:
    from smeai import taxonomy

    return {code: str(t.extra.get("code")) for code, t in taxonomy.load().stages.items()}


def recommended_events(session: Session, actor: Actor, *, now: datetime | None = None) -> list[Recommended]:
    """Upcoming events whose topics meet the gaps of the enterprise's latest diagnosis, within its audience."""
    gaps, stage = diagnosis_gaps(session, actor)
    if not gaps:
        return []
    org = session.get(Organisation, actor.org_id) if actor.org_id is not None else None
    out = []
    for event in service.list_events(session, actor, upcoming=True, now=now):
        hits = [g for g in gaps if g in (event.topics or [])]
        if hits and service.audience_fits(event, org, stage) and event.starts_at > (now or utcnow()):
            out.append(Recommended(event, hits))
    return out


def dimension_names() -> dict[str, str]:
    """The self-diagnosis dimensions an event may work on, named in the current language."""
    from smeai.i18n import get_lang

    inst = instruments.get_instrument(INSTRUMENT)
    return {d.id: (d.name.en if get_lang() == "en" else d.name.zh) for d in inst.dimensions}


# --- the operator's follow-up of a course ---------------------------------------------------------


@dataclass
class FollowUp:
    org_id: int
    name: str
    attended: int
    diagnosed: bool
    needs: int
    vouchers: int


def follow_up(session: Session, actor: Actor, event_id: int) -> list[FollowUp]:
    """For each organisation that attended: whether it later completed a self-diagnosis, and how many needs
    and voucher applications it filed, since the event started."""
    actor.require(Permission.EVENT_MANAGE)
    event = service.get_event(session, actor, event_id)
    attended = session.execute(
        select(Registration.org_id, Organisation.name, func.count())
        .join(Organisation, Organisation.id == Registration.org_id)
        .where(
            Registration.event_id == event_id,
            Registration.status == RegistrationStatus.REGISTERED,
            Registration.checked_in_at.is_not(None),
        )
        .group_by(Registration.org_id, Organisation.name)
        .order_by(Organisation.name)
    ).all()
    orgs = [org_id for org_id, _name, _n in attended]
    if not orgs:
        return []
    since = event.starts_at
    diagnosed = set(
        session.scalars(
            select(Assessment.org_id).where(
                assessment_service.visible_assessments(actor),
                Assessment.org_id.in_(orgs),
                Assessment.status == AssessmentStatus.COMPLETED,
                Assessment.completed_at >= since,
            )
        )
    )
    needs = dict(
        session.execute(
            select(Need.org_id, func.count())
            .where(matching_service.visible_needs(actor), Need.org_id.in_(orgs), Need.created_at >= since)
            .group_by(Need.org_id)
        ).all()
    )
    vouchers = dict(
        session.execute(
            select(Application.org_id, func.count())
            .where(
                subsidy_service.visible_applications(actor),
                Application.org_id.in_(orgs),
                Application.created_at >= since,
            )
            .group_by(Application.org_id)
        ).all()
    )
    return [
        FollowUp(org_id, name, n, org_id in diagnosed, needs.get(org_id, 0), vouchers.get(org_id, 0))
        for org_id, name, n in attended
    ]
