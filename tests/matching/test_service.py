"""Needs and engagements through the services: structure from profile and text, each side's view."""

from __future__ import annotations

import pytest

from smeai.assessment import instruments
from smeai.assessment import service as assessment_service
from smeai.errors import Conflict, Forbidden, Invalid, NotFound
from smeai.matching import engagements, flows, service
from smeai.matching.schemas import EngagementState, NeedIn, OutcomeIn, ResponseIn, TransitionIn
from tests import builders
from tests.assessment.answers import best, worst
from tests.matching.builders import offering

S = EngagementState
INST = instruments.get_instrument("smeai-ai-maturity")
PROFILE = {"industry_section": "C", "mfg_division": "33", "province_code": "13"}


def _need(session, actor, **kw):
    data = {"title": "螺栓外观检测", "text": "出货前全靠老师傅拿眼睛挑，裂纹、缺牙经常漏掉，想自动挑出不良品。"} | kw
    return service.create_need(session, actor, NeedIn(**data))


def test_a_need_takes_industry_and_province_from_the_profile_and_scenarios_from_its_words(session):
    firm = builders.enterprise(session, profile=PROFILE)
    need = _need(session, firm, budget_fen=30_000_000)
    session.expunge_all()
    need = service.get_need(session, firm, need.id)
    assert (need.industry, need.province_code, need.status) == ("C33", "13", "open")
    assert need.scenarios[0] == "quality_inspection" and not need.scenarios_confirmed
    confirmed = service.update_need(
        session, firm, need.id, NeedIn(title=need.title, text=need.text, scenarios=["process_parameters"])
    )
    assert confirmed.scenarios == ["process_parameters"] and confirmed.scenarios_confirmed


def test_another_enterprise_cannot_see_or_edit_a_need(session):
    a, b = builders.enterprise(session, profile=PROFILE), builders.enterprise(session, profile=PROFILE)
    need = _need(session, a)
    with pytest.raises(NotFound):
        service.get_need(session, b, need.id)
    with pytest.raises(NotFound):
        service.update_need(session, b, need.id, NeedIn(title="x", text="y"))
    assert service.list_needs(session, b) == []


def test_a_provider_cannot_write_needs_and_a_consultant_writes_for_an_enterprise(session):
    firm, vendor, consultant = (
        builders.enterprise(session, profile=PROFILE),
        builders.provider(session),
        builders.operator(session),
    )
    with pytest.raises(Forbidden):
        _need(session, vendor)
    need = _need(session, consultant, org_id=firm.org_id)
    assert need.org_id == firm.org_id and service.get_need(session, firm, need.id).id == need.id
    with pytest.raises(Invalid):
        _need(session, consultant, org_id=consultant.org_id)  # a centre is not an enterprise


def test_matches_for_a_stored_need_respect_its_constraints(session):
    firm = builders.enterprise(session, profile=PROFILE)
    offering(session, "甲视觉", id="fit", industries=["K1"])
    offering(session, "乙视觉", id="elsewhere", regions=["44"])
    offering(session, "丙视觉", id="too-dear", pricing={"model": "one_off", "entry_price_wan": 100})
    need = _need(session, firm, budget_fen=30_000_000)
    ids = [m.id for m, _o in service.match_need(session, firm, need.id)]
    assert ids == ["fit"]


def _flow(session):
    firm = builders.enterprise(session, profile=PROFILE)
    vendor = builders.provider(session, "甲视觉")
    item = offering(session, "甲视觉", id="fit")
    need = _need(session, firm, budget_fen=30_000_000)
    return firm, vendor, item, need


def test_engagement_runs_from_interest_to_evaluated_with_who_and_when(session):
    firm, vendor, item, need = _flow(session)
    assert engagements.recommend(session, firm, need.id) == []  # a list of matches starts no engagement
    assert engagements.list_engagements(session, firm) == [] and engagements.list_engagements(session, vendor) == []
    assert [m["id"] for m in service.get_need(session, firm, need.id).snapshot["matches"]] == ["fit"]
    rec = engagements.express_interest(session, firm, need.id, item.id, note="想约个时间聊聊")
    assert rec.score is not None and rec.reasons  # taken from the need's list
    assert [e.id for e in engagements.list_engagements(session, vendor)] == [rec.id]
    engagements.respond(session, vendor, rec.id, ResponseIn(accept=True, note="周三上门看产线"))
    for to in (S.MEETING_HELD, S.PROPOSAL, S.CONTRACT_SIGNED, S.DELIVERED):
        engagements.advance(session, vendor if to == S.PROPOSAL else firm, rec.id, TransitionIn(to=to, note=to))
    with pytest.raises(Conflict):
        engagements.advance(session, firm, rec.id, TransitionIn(to=S.EVALUATED))  # only via the outcome report
    with pytest.raises(NotFound):
        engagements.report_outcome(session, vendor, rec.id, OutcomeIn(cost_fen=1, effect="x", satisfaction=5))
    done = engagements.report_outcome(
        session, firm, rec.id, OutcomeIn(cost_fen=18_000_000, effect="漏检率从 3% 降到 0.5%", satisfaction=5)
    )
    session.expunge_all()
    events = engagements.history(session, firm, done.id)
    assert [e.to_state for e in events] == [
        "interest",
        "introduced",
        "meeting_held",
        "proposal",
        "contract_signed",
        "delivered",
        "evaluated",
    ]
    assert all(e.user_id is not None and e.at is not None for e in events)
    assert service.get_need(session, firm, need.id).status == "matched"


def test_steps_cannot_be_skipped_and_closing_needs_a_reason(session):
    firm, _vendor, item, need = _flow(session)
    e = engagements.express_interest(session, firm, need.id, item.id)
    with pytest.raises(Conflict):
        engagements.advance(session, firm, e.id, TransitionIn(to=S.CONTRACT_SIGNED))
    with pytest.raises(Conflict):
        engagements.advance(session, firm, e.id, TransitionIn(to=S.INTRODUCED))  # the provider answers
    with pytest.raises(Invalid):
        engagements.advance(session, firm, e.id, TransitionIn(to=S.CLOSED))
    closed = engagements.advance(session, firm, e.id, TransitionIn(to=S.CLOSED, note="预算冻结"))
    assert (closed.state, closed.closed_reason) == ("closed", "预算冻结")


def test_a_provider_declining_closes_the_engagement_and_others_never_see_it(session):
    firm, vendor, item, need = _flow(session)
    stranger_vendor, stranger_firm = builders.provider(session), builders.enterprise(session)
    e = engagements.express_interest(session, firm, need.id, item.id)
    for outsider in (stranger_vendor, stranger_firm):
        with pytest.raises(NotFound):
            engagements.get_engagement(session, outsider, e.id)
        with pytest.raises(NotFound):
            engagements.respond(session, outsider, e.id, ResponseIn(accept=True, note="我来"))
    with pytest.raises(NotFound):
        engagements.respond(session, firm, e.id, ResponseIn(accept=True, note="自己答应自己"))
    declined = engagements.respond(session, vendor, e.id, ResponseIn(accept=False, note="不做这个行业"))
    assert (declined.state, declined.closed_reason) == ("closed", "不做这个行业")


def test_an_outcome_shared_as_a_case_is_submitted_to_the_case_library(session):
    firm, vendor, item, need = _flow(session)
    e = engagements.express_interest(session, firm, need.id, item.id)
    engagements.respond(session, vendor, e.id, ResponseIn(accept=True, note="好"))
    for to in (S.MEETING_HELD, S.PROPOSAL, S.CONTRACT_SIGNED, S.DELIVERED):
        engagements.advance(session, firm, e.id, TransitionIn(to=to))
    done = flows.report_outcome(
        session, firm, e.id, OutcomeIn(cost_fen=1, effect="漏检率降到 0.5%", satisfaction=4, share_as_case=True)
    )
    from smeai.cases import service as cases_service

    case = cases_service.list_own_cases(session, firm)[0]
    assert done.case_id == case.id and case.status == "submitted" and "0.5%" in case.effect


def test_an_outcome_a_case_cannot_hold_is_a_field_error_and_a_long_need_is_cut_to_fit(session):
    firm, vendor, item, need = _flow(session)
    need.text = "裂纹经常漏掉，" * 700  # 4,900 characters: more than a case's problem takes
    e = engagements.express_interest(session, firm, need.id, item.id)
    engagements.respond(session, vendor, e.id, ResponseIn(accept=True, note="好"))
    for to in (S.MEETING_HELD, S.PROPOSAL, S.CONTRACT_SIGNED, S.DELIVERED):
        engagements.advance(session, firm, e.id, TransitionIn(to=to))
    session.commit()
    with pytest.raises(Invalid) as exc:  # one character of effect: a case needs two
        flows.report_outcome(
            session, firm, e.id, OutcomeIn(cost_fen=1, effect="好", satisfaction=4, share_as_case=True)
        )
    assert "case.effect" in exc.value.fields
    session.rollback()
    e = engagements.get_engagement(session, firm, e.id)
    assert e.state == "delivered"  # nothing half-applied once the edge rolls back
    done = flows.report_outcome(
        session, firm, e.id, OutcomeIn(cost_fen=1, effect="漏检率降到 0.5%", satisfaction=4, share_as_case=True)
    )
    assert done.case_id is not None


def test_funnel_starts_at_matched_needs_counts_each_need_once_and_needs_the_operator(session):
    firm, vendor, item, need = _flow(session)
    second = offering(session, "乙视觉", id="second")
    builders.provider(session, "乙视觉")
    engagements.recommend(session, firm, need.id)
    _need(session, firm, title="另一个需求")  # matched, nobody acted
    _need(session, firm, title="无匹配", text="想租几台挖掘机", budget_fen=1)  # nothing passes: not matched
    engagements.express_interest(session, firm, need.id, second.id)
    e = engagements.express_interest(session, firm, need.id, item.id)
    engagements.respond(session, vendor, e.id, ResponseIn(accept=True, note="好"))
    for to in (S.MEETING_HELD, S.PROPOSAL, S.CONTRACT_SIGNED):
        engagements.advance(session, firm, e.id, TransitionIn(to=to))
    with pytest.raises(Forbidden):
        engagements.funnel(session, firm)
    figures = engagements.funnel(session, builders.operator(session))
    stages = {s["state"]: s["count"] for s in figures["stages"]}
    assert figures["stages"][0]["state"] == "matched"
    assert (stages["matched"], stages["interest"], stages["contract_signed"]) == (2, 1, 1)  # one need, twice
    assert (figures["matched"], figures["realised"]) == (2, 1)
    assert figures["by_scenario"]["quality_inspection"] == {"engagements": 2, "realised": 1}
    assert figures["by_industry"]["C33"]["realised"] == 1


def test_matches_show_the_price_after_subsidy_where_the_enterprise_qualifies(session):
    profile = PROFILE | {"province_code": "44", "city": "广州", "size_class": "small", "revenue_band": "0-2"}
    firm = builders.enterprise(session, profile=profile)
    offering(session, "甲视觉", id="fit")
    need = _need(session, firm)
    ((match, _o),) = service.match_need(session, firm, need.id)
    assert any(r.startswith("补贴后约") for r in match.reasons), match.reasons


def test_stage_comes_from_the_latest_self_diagnosis_when_not_given(session):
    firm = builders.enterprise(session, profile=PROFILE)
    assert _need(session, firm).stage is None  # no assessment yet: no guess
    first = _diagnosis(session, firm, best(INST))
    latest = _diagnosis(session, firm, worst(INST) | {"use_quality_inspection": "piloting"})
    assert first.result["stage"]["rank"] != latest.result["stage"]["rank"]  # so "the latest" is visible
    assert _need(session, firm).stage == latest.result["stage"]["rank"] == 2
    assert _need(session, firm, stage=4).stage == 4  # a stage the author gives wins


def test_a_consultant_writing_for_an_enterprise_gets_its_stage_too(session):
    firm, consultant = builders.enterprise(session, profile=PROFILE), builders.operator(session)
    done = _diagnosis(session, firm, best(INST))
    assert _need(session, consultant, org_id=firm.org_id).stage == done.result["stage"]["rank"]


def _diagnosis(session, firm, answers):
    return assessment_service.submit_answer_file(session, firm, {"instrument": INST.id, "answers": answers})
