"""Challenges (发榜/揭榜): an enterprise publishes a problem; providers and research institutes submit
proposals; the enterprise shortlists and awards, and the award opens an engagement.

Open challenges are visible to every signed-in organisation that may propose; proposals are visible
to their author's organisation and to the challenge's enterprise (not to competing proposers).
"""

from __future__ import annotations

from sqlalchemy import ColumnElement, false, or_, select, true
from sqlalchemy.orm import Session

from smeai.auth.actor import Actor
from smeai.auth.permissions import Permission
from smeai.catalog.models import Offering
from smeai.db import utcnow
from smeai.errors import Conflict, Invalid, NotFound
from smeai.i18n import N_
from smeai.matching import service
from smeai.matching.models import Challenge, Engagement, EngagementEvent, Need, Proposal
from smeai.matching.schemas import (
    ChallengeIn,
    ChallengeStatus,
    EngagementState,
    NeedStatus,
    ProposalIn,
    ProposalStatus,
)


class ChallengeClosed(Conflict):
    code = "challenge_closed"


def visible_challenges(actor: Actor) -> ColumnElement[bool]:
    if actor.can(Permission.NEED_READ_ANY):
        return true()
    own = Challenge.org_id == actor.org_id if actor.can(Permission.CHALLENGE_PUBLISH) else false()
    if not actor.can(Permission.PROPOSAL_SUBMIT):
        return own
    answered = Challenge.id.in_(select(Proposal.challenge_id).where(Proposal.org_id == actor.org_id))
    return or_(own, Challenge.status == str(ChallengeStatus.OPEN), answered)  # proposers follow theirs


def get_challenge(session: Session, actor: Actor, challenge_id: int) -> Challenge:
    found = session.scalar(select(Challenge).where(Challenge.id == challenge_id, visible_challenges(actor)))
    if found is None:
        raise NotFound(N_("Challenge not found."))
    return found


def list_challenges(session: Session, actor: Actor, *, status: ChallengeStatus | None = None) -> list[Challenge]:
    query = select(Challenge).where(visible_challenges(actor))
    if status is not None:
        query = query.where(Challenge.status == str(status))
    return list(session.scalars(query.order_by(Challenge.id.desc())))


def publish_challenge(session: Session, actor: Actor, data: ChallengeIn) -> Challenge:
    actor.require(Permission.CHALLENGE_PUBLISH)
    if data.deadline_on is not None and data.deadline_on < utcnow().date():
        raise Invalid(N_("The deadline has passed."), fields={"deadline_on": "in the past"})
    challenge = Challenge(
        org_id=actor.org_id,
        author_id=actor.user_id,
        status=str(ChallengeStatus.OPEN),
        created_at=utcnow(),
        **data.model_dump(),
    )
    session.add(challenge)
    session.flush()
    return challenge


def _own_challenge(session: Session, actor: Actor, challenge_id: int) -> Challenge:
    challenge = get_challenge(session, actor, challenge_id)
    if challenge.org_id != actor.org_id and not actor.can(Permission.NEED_WRITE_ANY):
        raise NotFound(N_("Challenge not found."))
    return challenge


def visible_proposals(actor: Actor) -> ColumnElement[bool]:
    if actor.can(Permission.NEED_READ_ANY):
        return true()
    owner = Proposal.challenge_id.in_(select(Challenge.id).where(Challenge.org_id == actor.org_id))
    return or_(Proposal.org_id == actor.org_id, owner) if actor.org_id else false()


def list_proposals(session: Session, actor: Actor, challenge_id: int) -> list[Proposal]:
    get_challenge(session, actor, challenge_id)
    query = select(Proposal).where(Proposal.challenge_id == challenge_id, visible_proposals(actor))
    return list(session.scalars(query.order_by(Proposal.id)))


def get_proposal(session: Session, actor: Actor, proposal_id: int) -> Proposal:
    found = session.scalar(select(Proposal).where(Proposal.id == proposal_id, visible_proposals(actor)))
    if found is None:
        raise NotFound(N_("Proposal not found."))
    return found


def submit_proposal(session: Session, actor: Actor, challenge_id: int, data: ProposalIn) -> Proposal:
    actor.require(Permission.PROPOSAL_SUBMIT)
    challenge = get_challenge(session, actor, challenge_id)
    if challenge.status != ChallengeStatus.OPEN:
        raise ChallengeClosed(N_("This challenge no longer takes proposals."))
    if challenge.deadline_on is not None and challenge.deadline_on < utcnow().date():
        raise ChallengeClosed(N_("This challenge no longer takes proposals."))
    if data.offering_id is not None:
        offering = session.get(Offering, data.offering_id)
        if offering is None or offering.provider_id != actor.org_id:
            raise Invalid(N_("Name one of your own offerings."), fields={"offering_id": "not yours"})
    proposal = Proposal(
        challenge_id=challenge.id,
        org_id=actor.org_id,
        author_id=actor.user_id,
        status=str(ProposalStatus.SUBMITTED),
        created_at=utcnow(),
        **data.model_dump(),
    )
    session.add(proposal)
    session.flush()
    return proposal


def shortlist_proposal(session: Session, actor: Actor, proposal_id: int) -> Proposal:
    proposal = get_proposal(session, actor, proposal_id)
    challenge = _own_challenge(session, actor, proposal.challenge_id)
    if challenge.status != ChallengeStatus.OPEN or proposal.status != ProposalStatus.SUBMITTED:
        raise ChallengeClosed(N_("Only a submitted proposal on an open challenge can be shortlisted."))
    proposal.status = str(ProposalStatus.SHORTLISTED)
    session.flush()
    return proposal


def award_proposal(session: Session, actor: Actor, proposal_id: int) -> Proposal:
    """揭榜挂帅: the award closes the challenge, declines the others and opens an engagement."""
    proposal = get_proposal(session, actor, proposal_id)
    challenge = _own_challenge(session, actor, proposal.challenge_id)
    if challenge.status != ChallengeStatus.OPEN:
        raise ChallengeClosed(N_("This challenge is already decided."))
    if challenge.need_id is None:
        need = Need(
            org_id=challenge.org_id,
            author_id=actor.user_id,
            title=challenge.title,
            text=challenge.problem,
            budget_fen=challenge.budget_fen,
            deployment=[],
            scenarios=service.detect_scenarios(challenge.problem),
            urgency="normal",
            status=str(NeedStatus.MATCHED),
            source="challenge",
            created_at=utcnow(),
            updated_at=utcnow(),
        )
        session.add(need)
        session.flush()
        challenge.need_id = need.id
    now = utcnow()
    engagement = Engagement(
        need_id=challenge.need_id,
        offering_id=proposal.offering_id,
        enterprise_org_id=challenge.org_id,
        provider_org_id=proposal.org_id,
        state=str(EngagementState.PROPOSAL),
        reasons=[],
        provider_response=proposal.summary,
        provider_notified_at=now,
        created_at=now,
        updated_at=now,
    )
    session.add(engagement)
    session.add(
        EngagementEvent(
            engagement=engagement,
            from_state=None,
            to_state=str(EngagementState.PROPOSAL),
            user_id=actor.user_id,
            note=proposal.summary,
            at=now,
        )
    )
    session.flush()
    for other in session.scalars(select(Proposal).where(Proposal.challenge_id == challenge.id)):
        other.status = str(ProposalStatus.AWARDED if other.id == proposal.id else ProposalStatus.DECLINED)
    proposal.engagement_id = engagement.id
    challenge.status = str(ChallengeStatus.AWARDED)
    session.flush()
    return proposal
