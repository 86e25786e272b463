"""Scenario lists and case-collection campaigns: who may publish, respond, score and select, and what
each side sees."""

from __future__ import annotations

from datetime import date, timedelta

import pytest
from sqlalchemy import select

from smeai.auth import audit
from smeai.calls import campaigns, service
from smeai.calls.schemas import OutcomeIn, ResponseIn, ScoreIn
from smeai.cases import service as cases_service
from smeai.cases.models import Case
from smeai.errors import Conflict, Forbidden, Invalid, NotFound
from tests import builders
from tests.calls import builders as cb

# --- scenario lists ---------------------------------------------------------------------------------------


def test_a_government_department_or_a_lead_firm_publishes_but_not_any_enterprise(session):
    gov, lead, small = cb.government(session), cb.lead_firm(session), builders.enterprise(session, profile={})
    assert cb.scenario_list(session, gov).scenarios[0].status == "open"
    assert cb.scenario_list(session, lead).org_id == lead.org_id
    for nobody in (small, builders.provider(session), builders.operator(session), builders.analyst(session)):
        with pytest.raises(Forbidden):
            cb.scenario_list(session, nobody)
    with pytest.raises(Invalid):
        cb.scenario_list(session, gov, days=-1)


def test_providers_respond_once_and_see_only_their_own_response(session):
    gov = cb.government(session)
    listing = cb.scenario_list(session, gov)
    s = listing.scenarios[0]
    a, b = builders.provider(session), builders.provider(session)
    service.respond(session, a, s.id, ResponseIn(approach="边缘相机加分割模型。"))
    service.respond(session, b, s.id, ResponseIn(approach="云端质检平台。"))
    with pytest.raises(Conflict):
        service.respond(session, a, s.id, ResponseIn(approach="再来一次。"))
    with pytest.raises(Forbidden):
        service.respond(session, builders.enterprise(session), s.id, ResponseIn(approach="企业不能揭榜。"))
    session.expunge_all()
    listing = service.get_list(session, listing.id)
    seen_by = lambda actor: [r.org_id for r in service.responses_by_scenario(session, actor, listing)[s.id]]  # noqa: E731
    assert seen_by(a) == [a.org_id]
    assert seen_by(gov) == [a.org_id, b.org_id]
    assert len(seen_by(builders.operator(session))) == 2
    assert seen_by(None) == [] and seen_by(builders.enterprise(session)) == []


def test_the_publisher_selects_one_provider_and_records_the_result(session):
    gov, p1, p2 = cb.government(session), builders.provider(session), builders.provider(session)
    s = cb.scenario_list(session, gov).scenarios[0]
    r1 = service.respond(session, p1, s.id, ResponseIn(approach="方案甲。"))
    r2 = service.respond(session, p2, s.id, ResponseIn(approach="方案乙。"))
    with pytest.raises(NotFound):  # a competitor, or the centre, cannot decide for the publisher
        service.select_response(session, p2, r1.id)
    with pytest.raises(NotFound):
        service.select_response(session, builders.operator(session), r1.id)
    with pytest.raises(service.ScenarioClosed):
        service.record_result(session, gov, s.id, OutcomeIn(result="还没选。"))
    service.shortlist(session, gov, r1.id)
    service.select_response(session, gov, r1.id)
    assert (s.status, s.selected_org_id, r1.status, r2.status) == ("selected", p1.org_id, "selected", "declined")
    with pytest.raises(service.ScenarioClosed):
        service.select_response(session, gov, r2.id)
    with pytest.raises(service.ScenarioClosed):  # decided: no more responses
        service.respond(session, builders.provider(session), s.id, ResponseIn(approach="迟到的方案。"))
    service.record_result(session, gov, s.id, OutcomeIn(result="漏检率降到 0.4%。"))
    assert (s.status, s.result) == ("validated", "漏检率降到 0.4%。")
    [entry] = audit.list_entries(session, builders.admin(session), action="scenario.select")
    assert entry.target_id == str(s.id)


def test_a_list_past_its_deadline_takes_no_responses(session):
    gov = cb.government(session)
    s = cb.scenario_list(session, gov, days=1).scenarios[0]
    later = date.today() + timedelta(days=5)
    with pytest.raises(service.ScenarioClosed):
        service.respond(session, builders.provider(session), s.id, ResponseIn(approach="太晚了。"), today=later)


# --- campaigns --------------------------------------------------------------------------------------------


def _campaign_with_entries(session):
    op = builders.operator(session)
    r1, r2 = builders.consultant(session), builders.consultant(session)
    campaign = cb.campaign(session, op, [r1, r2])
    ent, prov = builders.enterprise(session), builders.provider(session)
    e1 = campaigns.submit_entry(session, ent, campaign.id, cb.case())
    e2 = campaigns.submit_entry(session, prov, campaign.id, cb.case(title="智能排产"))
    return op, r1, r2, campaign, ent, prov, e1, e2


def test_only_consultants_sit_on_a_panel_and_weights_add_up(session):
    op, other_op = builders.operator(session), builders.operator(session)
    with pytest.raises(Invalid) as exc:
        cb.campaign(session, op, [other_op])
    assert "reviewer_ids" in exc.value.fields
    with pytest.raises(Forbidden):
        cb.campaign(session, builders.consultant(session), [builders.consultant(session)])
    with pytest.raises(ValueError):
        from smeai.calls.schemas import CampaignIn, CriterionIn

        CampaignIn(
            title="权重不对",
            summary="权重合计不是 100。",
            deadline_on=date.today(),
            criteria=[CriterionIn(name="甲", weight_pct=40)],
            reviewer_ids=[1],
        )


def test_each_side_sees_its_own_entries_and_reviewers_see_all(session):
    op, r1, _r2, campaign, ent, prov, e1, e2 = _campaign_with_entries(session)
    ids = lambda actor: [e.id for e in campaigns.list_entries(session, actor, campaign.id)]  # noqa: E731
    assert ids(ent) == [e1.id] and ids(prov) == [e2.id]
    assert ids(r1) == ids(op) == [e1.id, e2.id]
    assert ids(builders.enterprise(session)) == [] and ids(None) == []
    assert ids(builders.consultant(session)) == []  # a consultant not on the panel
    with pytest.raises(NotFound):
        campaigns.get_entry(session, ent, e2.id)
    with pytest.raises(Forbidden):  # the centre does not enter its own cases
        campaigns.submit_entry(session, op, campaign.id, cb.case())


def test_reviewers_score_independently_and_only_operators_see_all_scores(session):
    op, r1, r2, campaign, ent, _prov, e1, _e2 = _campaign_with_entries(session)
    s1 = campaigns.score_entry(session, r1, e1.id, ScoreIn(points=[8, 9]))
    assert s1.weighted_x100 == 8 * 30 + 9 * 70  # 870 = 8.70
    assert campaigns.own_score(session, r2, e1.id) is None  # r2 sees nothing of r1's score
    with pytest.raises(Forbidden):
        campaigns.scores(session, r2, campaign.id)
    with pytest.raises(campaigns.AlreadyScored):
        campaigns.score_entry(session, r1, e1.id, ScoreIn(points=[10, 10]))
    with pytest.raises(Invalid):
        campaigns.score_entry(session, r2, e1.id, ScoreIn(points=[8]))
    with pytest.raises(NotFound):  # not on the panel
        campaigns.score_entry(session, builders.consultant(session), e1.id, ScoreIn(points=[5, 5]))
    with pytest.raises(NotFound):
        campaigns.score_entry(session, ent, e1.id, ScoreIn(points=[10, 10]))
    campaigns.score_entry(session, r2, e1.id, ScoreIn(points=[6, 7]))  # 6*30 + 7*70 = 670
    found = campaigns.scores(session, op, campaign.id)[e1.id]
    assert [s.weighted_x100 for s in found] == [870, 670]
    assert campaigns.mean_x100(found) == 770


def test_a_selected_entry_becomes_a_benchmark_named_after_the_campaign(session):
    op, r1, _r2, campaign, ent, _prov, e1, _e2 = _campaign_with_entries(session)
    campaigns.score_entry(session, r1, e1.id, ScoreIn(points=[9, 9]))
    with pytest.raises(Forbidden):
        campaigns.select_entry(session, r1, e1.id)
    entry = campaigns.select_entry(session, op, e1.id)
    case = session.scalar(select(Case).where(Case.id == entry.case_id))
    assert case is not None
    assert (case.status, case.is_benchmark, case.source) == ("published", True, campaign.title)
    assert case.submitted_by_org_id == ent.org_id  # filed under the organisation that submitted it
    assert cases_service.get_case(session, None, case.id).id == case.id  # public
    with pytest.raises(Conflict):
        campaigns.select_entry(session, op, e1.id)
    with pytest.raises(Conflict):  # decided: no more scores
        campaigns.score_entry(session, _r2, e1.id, ScoreIn(points=[1, 1]))


def test_a_closed_campaign_takes_no_entries(session):
    op = builders.operator(session)
    campaign = cb.campaign(session, op, [builders.consultant(session)])
    with pytest.raises(campaigns.CampaignClosed):
        campaigns.submit_entry(
            session, builders.enterprise(session), campaign.id, cb.case(), today=date.today() + timedelta(days=60)
        )


def test_an_evaluated_engagement_is_promoted_as_an_entry(session):
    op = builders.operator(session)
    campaign = cb.campaign(session, op, [builders.consultant(session)])
    ent, engagement = cb.evaluated_engagement(session)
    assert [e.id for e in campaigns.promotable_engagements(session, ent)] == [engagement.id]
    entry = campaigns.promote_engagement(session, ent, campaign.id, engagement.id)
    assert entry.engagement_id == engagement.id and entry.case["effect"]
    with pytest.raises(Conflict):
        campaigns.promote_engagement(session, ent, campaign.id, engagement.id)
