"""发榜/揭榜: publish, propose, shortlist, award; the award opens an engagement."""

from __future__ import annotations

from datetime import date, timedelta

import pytest

from smeai.errors import Conflict, Forbidden, Invalid, NotFound
from smeai.matching import challenges, engagements
from smeai.matching.schemas import ChallengeIn, ProposalIn
from tests import builders


def _challenge(session, firm):
    return challenges.publish_challenge(
        session,
        firm,
        ChallengeIn(
            title="焊缝缺陷识别",
            problem="焊缝气孔、夹渣靠人工看片，想要自动识别。",
            data_available="3 万张 X 光片",
            budget_fen=50_000_000,
            deadline_on=date.today() + timedelta(days=30),
        ),
    )


def test_proposers_see_open_challenges_but_not_each_others_proposals(session):
    firm, a, b = builders.enterprise(session), builders.provider(session), builders.provider(session)
    c = _challenge(session, firm)
    pa = challenges.submit_proposal(session, a, c.id, ProposalIn(summary="小样本缺陷检测", price_fen=30_000_000))
    challenges.submit_proposal(session, b, c.id, ProposalIn(summary="另一方案"))
    assert [p.id for p in challenges.list_proposals(session, a, c.id)] == [pa.id]
    assert len(challenges.list_proposals(session, firm, c.id)) == 2
    with pytest.raises(NotFound):
        challenges.get_proposal(session, b, pa.id)
    with pytest.raises(Forbidden):
        challenges.submit_proposal(session, firm, c.id, ProposalIn(summary="自己揭自己的榜"))
    other_firm = builders.enterprise(session)
    with pytest.raises(NotFound):
        challenges.get_challenge(session, other_firm, c.id)  # open challenges are for proposers


def test_award_declines_the_rest_closes_the_challenge_and_opens_an_engagement(session):
    firm, a, b = builders.enterprise(session), builders.provider(session), builders.provider(session)
    c = _challenge(session, firm)
    pa = challenges.submit_proposal(session, a, c.id, ProposalIn(summary="方案甲"))
    pb = challenges.submit_proposal(session, b, c.id, ProposalIn(summary="方案乙"))
    with pytest.raises(NotFound):
        challenges.shortlist_proposal(session, a, pa.id)  # only the challenge's enterprise decides
    challenges.shortlist_proposal(session, firm, pa.id)
    awarded = challenges.award_proposal(session, firm, pa.id)
    session.expunge_all()
    assert challenges.get_proposal(session, firm, pb.id).status == "declined"
    assert challenges.get_challenge(session, firm, c.id).status == "awarded"
    e = engagements.get_engagement(session, a, awarded.engagement_id)
    assert (e.state, e.enterprise_org_id, e.provider_org_id) == ("proposal", firm.org_id, a.org_id)
    with pytest.raises(NotFound):
        engagements.get_engagement(session, b, e.id)
    with pytest.raises(Conflict):
        challenges.submit_proposal(session, b, c.id, ProposalIn(summary="迟到"))


def test_a_deadline_in_the_past_is_refused(session):
    firm = builders.enterprise(session)
    with pytest.raises(Invalid):
        challenges.publish_challenge(
            session, firm, ChallengeIn(title="t", problem="p", deadline_on=date.today() - timedelta(days=1))
        )
