"""Case-collection campaigns (案例征集): the centre opens a campaign with weighted criteria, a deadline and a
panel of consultants; enterprises and providers submit structured cases (or promote an engagement's
evaluated outcome); each reviewer scores every entry against the criteria on their own, and never sees
another reviewer's scores; operators see all scores and select; a selected case becomes a 标杆 of the case
library, its source the campaign's name.
"""

from __future__ import annotations

from datetime import date

from sqlalchemy import ColumnElement, false, select, true
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from smeai.auth import audit
from smeai.auth.actor import Actor
from smeai.auth.models import User
from smeai.auth.permissions import OrgKind, Permission, Role
from smeai.calls.models import Campaign, Entry, Score, campaign_reviewers
from smeai.calls.schemas import CampaignIn, EntryStatus, ScoreIn
from smeai.cases import service as cases_service
from smeai.cases.schemas import CaseIn
from smeai.db import utcnow
from smeai.errors import Conflict, Forbidden, Invalid, NotFound
from smeai.i18n import N_
from smeai.matching import engagements, flows
from smeai.matching.schemas import EngagementState

E = EntryStatus


class CampaignClosed(Conflict):
    """The campaign's deadline has passed: it takes no more cases."""

    code = "campaign_closed"


class AlreadyScored(Conflict):
    """A reviewer scores an entry once; the score is then fixed."""

    code = "already_scored"


def reviewer_choices(session: Session, actor: Actor) -> list[User]:
    """Whom an operator may put on a panel: active consultants (AI 转型顾问)."""
    actor.require(Permission.CASE_REVIEW)
    query = select(User).where(User.role == str(Role.CONSULTANT), User.is_active).order_by(User.display_name)
    return list(session.scalars(query))


def create_campaign(session: Session, actor: Actor, data: CampaignIn, *, today: date | None = None) -> Campaign:
    actor.require(Permission.CASE_REVIEW)
    if data.deadline_on < (today or utcnow().date()):
        raise Invalid(N_("The deadline has passed."), fields={"deadline_on": "in the past"})
    allowed = {u.id for u in reviewer_choices(session, actor)}
    wrong = [i for i in data.reviewer_ids if i not in allowed]
    if wrong:  # an operator on the panel would read the others' scores before scoring: consultants only
        raise Invalid(N_("Please correct the marked fields."), fields={"reviewer_ids": "consultants only"})
    campaign = Campaign(
        title=data.title,
        summary=data.summary,
        deadline_on=data.deadline_on,
        criteria=[c.model_dump() for c in data.criteria],
        created_by_id=actor.user_id,
        created_at=utcnow(),
    )
    session.add(campaign)
    session.flush()
    session.execute(
        campaign_reviewers.insert(),
        [{"campaign_id": campaign.id, "user_id": i} for i in dict.fromkeys(data.reviewer_ids)],
    )
    return campaign


def list_campaigns(session: Session) -> list[Campaign]:
    """Campaigns are public calls: newest first."""
    return list(session.scalars(select(Campaign).order_by(Campaign.deadline_on.desc(), Campaign.id.desc())))


def get_campaign(session: Session, campaign_id: int) -> Campaign:
    found = session.get(Campaign, campaign_id)
    if found is None:
        raise NotFound(N_("Campaign not found."))
    return found


def is_open(campaign: Campaign, today: date | None = None) -> bool:
    return campaign.deadline_on >= (today or utcnow().date())


def reviewer_ids(session: Session, campaign_id: int) -> set[int]:
    query = select(campaign_reviewers.c.user_id).where(campaign_reviewers.c.campaign_id == campaign_id)
    return set(session.scalars(query))


def panel(session: Session, campaign_id: int) -> list[User]:
    ids = reviewer_ids(session, campaign_id)
    return list(session.scalars(select(User).where(User.id.in_(ids)).order_by(User.display_name))) if ids else []


def is_reviewer(session: Session, actor: Actor | None, campaign_id: int) -> bool:
    return actor is not None and actor.user_id is not None and actor.user_id in reviewer_ids(session, campaign_id)


def reviewing(session: Session, actor: Actor) -> list[Campaign]:
    """The campaigns whose panel the actor sits on."""
    if actor.user_id is None:
        return []
    query = (
        select(Campaign)
        .join(campaign_reviewers, campaign_reviewers.c.campaign_id == Campaign.id)
        .where(campaign_reviewers.c.user_id == actor.user_id)
    )
    return list(session.scalars(query.order_by(Campaign.deadline_on.desc())))


def may_submit(actor: Actor | None) -> bool:
    return (
        actor is not None
        and actor.can(Permission.CASE_SUBMIT)
        and actor.org_kind in (OrgKind.ENTERPRISE, OrgKind.PROVIDER)
    )


def submit_entry(
    session: Session,
    actor: Actor,
    campaign_id: int,
    data: CaseIn,
    *,
    engagement_id: int | None = None,
    today: date | None = None,
) -> Entry:
    """An enterprise or a provider submits a case to an open campaign."""
    if not may_submit(actor):
        raise Forbidden(N_("Enterprises and providers submit cases."))
    campaign = get_campaign(session, campaign_id)
    if not is_open(campaign, today):
        raise CampaignClosed(N_("The campaign has closed."))
    entry = Entry(
        campaign_id=campaign.id,
        org_id=actor.org_id,
        author_id=actor.user_id,
        engagement_id=engagement_id,
        case=data.model_dump(mode="json"),
        status=str(E.SUBMITTED),
        submitted_at=utcnow(),
    )
    session.add(entry)
    session.flush()
    return entry


def promotable_engagements(session: Session, actor: Actor) -> list:
    """The actor's own evaluated engagements (enterprise or provider side), which can become an entry."""
    if not may_submit(actor):
        return []
    found = engagements.list_engagements(session, actor, state=EngagementState.EVALUATED)
    return [e for e in found if engagements.side_of(actor, e) in ("enterprise", "provider")]


def promote_engagement(
    session: Session, actor: Actor, campaign_id: int, engagement_id: int, *, today: date | None = None
) -> Entry:
    """An engagement's evaluated outcome, told as a case (matching.flows.case_from_outcome), entered."""
    e = engagements.get_engagement(session, actor, engagement_id)
    if engagements.side_of(actor, e) not in ("enterprise", "provider"):
        raise NotFound(N_("Engagement not found."))
    if e.state != EngagementState.EVALUATED or not e.outcome:
        raise Conflict(N_("Only an engagement with an evaluated outcome can be entered."))
    taken = select(Entry.id).where(Entry.campaign_id == campaign_id, Entry.engagement_id == e.id)
    if session.scalar(taken) is not None:
        raise Conflict(N_("This engagement is already entered in the campaign."))
    data = flows.case_from_outcome(e, str(e.outcome.get("effect") or ""))
    return submit_entry(session, actor, campaign_id, data, engagement_id=e.id, today=today)


def visible_entries(session: Session, actor: Actor | None, campaign_id: int) -> ColumnElement[bool]:
    """Operators and the campaign's reviewers see every entry; a submitter its organisation's."""
    if actor is None:
        return false()
    if actor.can(Permission.CASE_REVIEW) or is_reviewer(session, actor, campaign_id):
        return true()
    return Entry.org_id == actor.org_id if actor.org_id is not None else false()


def list_entries(session: Session, actor: Actor | None, campaign_id: int) -> list[Entry]:
    query = select(Entry).where(Entry.campaign_id == campaign_id, visible_entries(session, actor, campaign_id))
    return list(session.scalars(query.order_by(Entry.id)))


def get_entry(session: Session, actor: Actor, entry_id: int) -> Entry:
    entry = session.get(Entry, entry_id)
    if (
        entry is None
        or session.scalar(
            select(Entry.id).where(Entry.id == entry_id, visible_entries(session, actor, entry.campaign_id))
        )
        is None
    ):
        raise NotFound(N_("Entry not found."))
    return entry


def weighted_x100(criteria: list[dict], points: list[int]) -> int:
    """Σ points × weight: 0..1000 for 0..10 points and weights summing to 100 (integers: no float)."""
    return sum(p * int(c["weight_pct"]) for c, p in zip(criteria, points, strict=True))


def score_entry(session: Session, actor: Actor, entry_id: int, data: ScoreIn) -> Score:
    """A panel member's scores, once per entry, before anyone on the panel sees anyone else's."""
    entry = get_entry(session, actor, entry_id)
    if not is_reviewer(session, actor, entry.campaign_id):
        raise NotFound(N_("Entry not found."))
    campaign = get_campaign(session, entry.campaign_id)
    if len(data.points) != len(campaign.criteria):
        raise Invalid(N_("Please correct the marked fields."), fields={"points": "one score per criterion"})
    if entry.status != E.SUBMITTED:
        raise Conflict(N_("The entry is already decided."))
    if own_score(session, actor, entry.id) is not None:
        raise AlreadyScored(N_("You have already scored this entry."))
    score = Score(
        entry_id=entry.id,
        reviewer_id=actor.user_id,
        points=list(data.points),
        weighted_x100=weighted_x100(campaign.criteria, data.points),
        comment=data.comment or None,
        submitted_at=utcnow(),
    )
    session.add(score)
    try:
        session.flush()
    except IntegrityError:  # the same reviewer, twice at once: the unique key refuses the second
        raise AlreadyScored(N_("You have already scored this entry.")) from None
    return score


def own_score(session: Session, actor: Actor, entry_id: int) -> Score | None:
    """A reviewer's own score of an entry: all a reviewer ever sees of the scoring."""
    if actor.user_id is None:
        return None
    return session.scalar(select(Score).where(Score.entry_id == entry_id, Score.reviewer_id == actor.user_id))


def scores(session: Session, actor: Actor, campaign_id: int) -> dict[int, list[Score]]:
    """Every score of every entry (operators only): entry id -> the panel's scores."""
    actor.require(Permission.CASE_REVIEW)
    query = select(Score).join(Entry, Entry.id == Score.entry_id).where(Entry.campaign_id == campaign_id)
    out: dict[int, list[Score]] = {}
    for s in session.scalars(query.order_by(Score.id)):
        out.setdefault(s.entry_id, []).append(s)
    return out


def mean_x100(found: list[Score]) -> int | None:
    """The panel's mean weighted score, ×100, rounded half up; None before any score."""
    if not found:
        return None
    total = sum(s.weighted_x100 for s in found)
    return (2 * total + len(found)) // (2 * len(found))


def select_entry(session: Session, actor: Actor, entry_id: int) -> Entry:
    """The operator selects an entry: it becomes a published 标杆 case named after the campaign."""
    actor.require(Permission.CASE_REVIEW)
    entry = get_entry(session, actor, entry_id)
    if entry.status != E.SUBMITTED:
        raise Conflict(N_("The entry is already decided."))
    campaign = get_campaign(session, entry.campaign_id)
    data = CaseIn.model_validate(entry.case | {"source": campaign.title[:200]})
    case = cases_service.publish_benchmark(
        session, actor, data, org_id=entry.org_id, user_id=entry.author_id, comment=campaign.title
    )
    entry.status, entry.case_id = str(E.SELECTED), case.id
    session.flush()
    audit.record(
        session, actor, "campaign.select", entry, {"status": "submitted"}, {"case_id": case.id}, org_id=entry.org_id
    )
    return entry
