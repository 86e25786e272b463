from __future__ import annotations

from datetime import date

import pytest

from smeai.assessment import benchmark, instruments, service
from smeai.assessment.instruments import Mapping
from smeai.assessment.schemas import AssessmentIn
from smeai.assessment.scoring import AnswersInvalid
from smeai.errors import Conflict, Forbidden, NotFound
from tests import builders
from tests.assessment.answers import best, worst

INST = instruments.get_instrument("smeai-ai-maturity")


def _done(session, actor, answers):
    return service.submit_answer_file(session, actor, {"instrument": INST.id, "answers": answers})


def test_save_as_you_go_then_complete_keeps_instrument_version_and_result(session):
    firm = builders.enterprise(session, profile={})
    a = service.start_assessment(session, firm, AssessmentIn())
    service.save_answers(session, firm, a.id, {"s_leadership": "sponsor", "d_quantity": 4})
    service.save_answers(session, firm, a.id, {"s_plan": "list", "s_leadership": None})
    session.commit()
    session.expunge_all()
    a = service.get_assessment(session, firm, a.id)
    assert a.answers == {"d_quantity": "r3", "s_plan": "list"}
    assert service.progress(a) == (2, len(INST.questions))
    with pytest.raises(AnswersInvalid) as exc:
        service.complete_assessment(session, firm, a.id)
    assert "answers.s_leadership" in exc.value.fields
    service.save_answers(session, firm, a.id, worst(INST) | {"use_quality_inspection": "piloting"})
    service.complete_assessment(session, firm, a.id)
    session.commit()
    session.expunge_all()
    a = service.get_assessment(session, firm, a.id)
    assert (a.status, a.instrument_id, a.instrument_version) == ("completed", INST.id, "2026.1")
    assert a.result["stage"]["id"] == "piloting" and a.overall == a.result["overall"]
    with pytest.raises(Conflict):
        service.save_answers(session, firm, a.id, {"s_plan": "none"})


def test_bad_answers_are_refused_while_saving(session):
    firm = builders.enterprise(session)
    a = service.start_assessment(session, firm, AssessmentIn())
    with pytest.raises(AnswersInvalid) as exc:
        service.save_answers(session, firm, a.id, {"s_plan": "maybe", "nope": "x"})
    assert set(exc.value.fields) == {"answers.s_plan", "answers.nope"}


def test_retake_starts_from_previous_answers_and_compares(session):
    firm = builders.enterprise(session, profile={})
    first = _done(session, firm, worst(INST))
    retake = service.start_assessment(session, firm, AssessmentIn(from_assessment_id=first.id))
    assert retake.answers == first.answers and retake.previous_id == first.id
    service.save_answers(session, firm, retake.id, {"d_storage": "central_db", "use_customer_service": "scaling"})
    service.complete_assessment(session, firm, retake.id)
    c = service.compare_assessments(session, firm, retake.id, first.id)
    assert (c.before_id, c.after_id) == (first.id, retake.id)
    changes = {d.dimension: d.change for d in c.dimensions}
    assert changes["data"] > 0 and changes["application"] > 0 and changes["talent"] == 0
    assert c.overall_change > 0


def test_change_since_previous_compares_with_the_last_earlier_completed_one(session):
    firm = builders.enterprise(session)
    first = _done(session, firm, worst(INST))
    assert service.change_since_previous(session, firm, first) is None  # nothing earlier
    second = _done(session, firm, best(INST))
    c = service.change_since_previous(session, firm, second)
    assert c is not None and (c.before_id, c.after_id) == (first.id, second.id) and c.overall_change > 0


def test_compare_across_versions_needs_a_declared_mapping(session, monkeypatch):
    firm = builders.enterprise(session)
    first = _done(session, firm, worst(INST))
    newer = INST.model_copy(update={"version": "2027.1"})
    monkeypatch.setattr(instruments, "registry", lambda: {(INST.id, "2026.1"): INST, (INST.id, "2027.1"): newer})
    second = _done(session, firm, best(INST))
    assert second.instrument_version == "2027.1"
    with pytest.raises(Conflict) as exc:
        service.compare_assessments(session, firm, first.id, second.id)
    assert exc.value.code == "assessments_not_comparable"
    mapped = newer.model_copy(
        update={"mappings": (Mapping(from_version="2026.1", dimensions={d.id: d.id for d in INST.dimensions}),)}
    )
    monkeypatch.setattr(instruments, "registry", lambda: {(INST.id, "2026.1"): INST, (INST.id, "2027.1"): mapped})
    c = service.compare_assessments(session, firm, first.id, second.id)
    assert c.overall_change == 100


def test_enterprise_sees_only_its_own_and_operators_see_all(session):
    a, b = builders.enterprise(session, "甲精密"), builders.enterprise(session, "乙纺织")
    mine = _done(session, a, worst(INST))
    session.expunge_all()
    with pytest.raises(NotFound):
        service.get_assessment(session, b, mine.id)
    assert service.list_assessments(session, b) == []
    with pytest.raises(NotFound):
        service.save_answers(session, b, mine.id, {"s_plan": "none"})
    with pytest.raises(NotFound):
        service.start_assessment(session, b, AssessmentIn(from_assessment_id=mine.id))
    op = builders.operator(session)
    assert [x.id for x in service.list_assessments(session, op)] == [mine.id]
    with pytest.raises(Forbidden):
        service.start_assessment(session, op, AssessmentIn())
    with pytest.raises(Forbidden):
        service.start_assessment(session, builders.provider(session), AssessmentIn())
    with pytest.raises(NotFound):
        service.get_assessment(session, builders.provider(session), mine.id)


def test_compare_refuses_two_enterprises(session):
    op = builders.operator(session)
    x = _done(session, builders.enterprise(session), worst(INST))
    y = _done(session, builders.enterprise(session), best(INST))
    with pytest.raises(Conflict):
        service.compare_assessments(session, op, x.id, y.id)


@pytest.fixture
def cheap_passwords(monkeypatch):
    """Peers never log in: skip argon2 (0.4 s a user) when a test needs a dozen enterprises."""
    from smeai.auth import service as auth_service

    monkeypatch.setattr(auth_service, "hash_password", lambda password: "not-a-real-hash")


def _firm(session, i, **profile):
    return builders.enterprise(session, f"同行{i}有限公司", profile=profile)


def test_benchmark_percentile_and_distribution_among_peers(session, cheap_passwords):
    me = _firm(session, 0)
    mine = _done(session, me, worst(INST) | {"s_leadership": "champion", "s_plan": "integrated"})
    for i in range(1, 11):  # ten peers in the same group (K1 metal products), band and province
        answers = worst(INST) | (
            {"s_leadership": "champion", "s_plan": "integrated", "d_storage": "lake"} if i > 4 else {}
        )
        _done(session, _firm(session, i), answers)
    r = benchmark.benchmark(session, me, mine.id, small_cell_min=10)
    assert not r.suppressed and r.peers == 10
    assert r.peer_group == {"industry": "K1", "revenue_band": "0-2", "province": "44"}
    assert r.percentile == 40.0  # four peers below, none tied
    assert sum(b.count for b in r.distribution) == 10 and len(r.quartiles) == 3


def test_benchmark_widens_then_suppresses_small_groups(session, cheap_passwords):
    me = _firm(session, 0)
    mine = _done(session, me, worst(INST))
    for i in range(1, 6):
        _done(session, _firm(session, i, province_code="13", city="邢台"), worst(INST))
    r = benchmark.benchmark(session, me, mine.id, small_cell_min=5)
    assert r.peer_group == {"industry": "K1", "revenue_band": "0-2"} and r.peers == 5  # province dropped
    r = benchmark.benchmark(session, me, mine.id, small_cell_min=10)
    assert r.suppressed and r.distribution == [] and r.percentile is None


def test_scenario_recommendations_name_offerings_cases_and_programmes(session):
    from smeai.assessment import offers
    from smeai.assessment.diagnosis import evaluate
    from smeai.assessment.scoring import check_answers
    from smeai.auth.models import Organisation

    _marketing_offering(session)
    firm = builders.enterprise(session, profile={"province_code": "31", "city": "上海"})
    org = session.get(Organisation, firm.org_id)
    result = evaluate(INST, check_answers(INST, worst(INST)), service.profile_of(org))
    offers.enrich(session, org, result)
    rec = next(r for r in result.recommendations if r.scenario == "marketing_content")
    assert any("营销文案助手" in link.title for link in rec.links if link.kind == "offering")
    assert any(link.kind == "programme" for link in rec.links)  # a voucher it may use for it
    programmes = [r for r in result.recommendations if r.kind == "programme"]
    assert programmes and {link.id for link in programmes[0].links} >= {"shanghai-compute", "shanghai-model"}
    assert all(link.url == f"/subsidy/programmes/{link.id}" for link in programmes[0].links)


def test_vouchers_that_ended_are_not_recommended(session):
    """北京市算力券 ended 2025-12-31: a Beijing firm is not sent to it."""
    from smeai.assessment import offers
    from smeai.assessment.diagnosis import evaluate
    from smeai.assessment.scoring import check_answers
    from smeai.auth.models import Organisation

    firm = builders.enterprise(session, profile={"province_code": "11", "city": "北京"})
    org = session.get(Organisation, firm.org_id)
    assert [x.id for x in offers._programmes(org, date(2025, 6, 1))] == ["beijing-compute"]
    assert offers._programmes(org, date(2026, 1, 1)) == []
    result = evaluate(INST, check_answers(INST, worst(INST)), service.profile_of(org))
    offers.enrich(session, org, result)
    assert not any(link.id == "beijing-compute" for r in result.recommendations for link in r.links)


def test_display_result_equals_the_stored_numbers_in_the_readers_language(session):
    from smeai.i18n import set_lang

    firm = builders.enterprise(session, profile={})
    set_lang("en")
    try:
        a = _done(session, firm, worst(INST) | {"use_quality_inspection": "piloting"})
    finally:
        set_lang("zh_Hans")
    shown = service.display_result(session, a)
    stored = service.result_of(session, a)
    assert (shown.overall, shown.dimensions, shown.level.id) == (stored.overall, stored.dimensions, stored.level.id)
    assert stored.level.name == "L1 · Starting" and shown.level.name == "L1 起步"


def test_start_resumes_the_open_draft(session):
    firm = builders.enterprise(session)
    a = service.start_assessment(session, firm, AssessmentIn())
    assert service.start_assessment(session, firm, AssessmentIn()).id == a.id
    assert service.start_assessment(session, firm, AssessmentIn(instrument="eu-dma")).id != a.id


def test_benchmark_places_the_stage_among_surveyed_firms(session):
    from smeai.survey import service as survey
    from smeai.survey import synth

    header, rows = synth.text_rows(synth.generate(150, 7))
    text = "\n".join(",".join(r) for r in [header, *rows])
    survey.import_file(session, builders.analyst(session), "2025", text.encode(), filename="s.csv")
    firm = _firm(session, 0)
    mine = _done(session, firm, worst(INST) | {"use_quality_inspection": "piloting"})  # stage: piloting
    r = benchmark.benchmark(session, firm, mine.id, small_cell_min=10)
    s = r.survey_stage
    assert s is not None and s.wave == "2025" and s.firms >= 10 and s.stage == "piloting"
    assert abs(sum(s.shares.values()) - 100) < 0.5 and list(s.shares) == [t.id for t in INST.stages]
    assert 0 < s.percentile < 100
    assert r.suppressed  # no assessed peers: the survey part stands on its own
    r = benchmark.benchmark(session, firm, mine.id, small_cell_min=10_000)
    assert r.survey_stage is None  # too few surveyed firms anywhere: suppressed, never shown


def _marketing_offering(session, ext_id="t-1", name="营销文案助手", regions=("*",)):
    import json

    from smeai.auth.actor import Actor
    from smeai.catalog import service as catalog

    record = {
        "id": ext_id,
        "name": name,
        "provider": "测试服务商",
        "kind": "saas",
        "summary": "一键生成营销文案和短视频脚本。",
        "industries": ["*"],
        "scenarios": ["marketing_content"],
        "deployment": ["saas"],
        "pricing": {"model": "subscription", "entry_price_wan": 0.5},
        "regions": list(regions),
        "min_stage": 0,
        "max_stage": 4,
        "tags": [],
    }
    catalog.import_records(session, Actor.system(), [json.dumps(record, ensure_ascii=False)])
    return catalog.find_offering_by_ext_id(session, ext_id)


def _links(session, a, kind):
    result = service.display_result(session, a)
    rec = next(r for r in result.recommendations if r.scenario == "marketing_content")
    return [link.title for link in rec.links if link.kind == kind]


def test_recommended_offerings_and_cases_follow_every_edit_at_once(session):
    """The searches behind a result's links are remembered per catalog and case stamp: a rename, a
    withdrawal, a newly published case and a deleted one show on the very next view."""
    from smeai.cases import service as cases
    from smeai.cases.schemas import CaseIn, CaseReviewIn
    from smeai.catalog import service as catalog

    offering = _marketing_offering(session)
    firm = builders.enterprise(session, profile={"province_code": "31", "city": "上海"})
    a = _done(session, firm, worst(INST))
    assert any("营销文案助手" in t for t in _links(session, a, "offering"))
    assert _links(session, a, "offering") == _links(session, a, "offering")  # remembered: the same answer

    offering.name = "营销文案助手专业版"  # an ORM write: bumps the catalog's change stamp
    session.flush()
    assert any("营销文案助手专业版" in t for t in _links(session, a, "offering"))
    catalog.delete_offering(session, builders.admin(session), offering.id)
    session.flush()
    assert not any("营销文案助手" in t for t in _links(session, a, "offering"))

    assert _links(session, a, "case") == []
    case = cases.submit_case(
        session,
        builders.enterprise(session),
        CaseIn(
            title="服装企业营销文案提效",
            province_code="33",
            industry="C18",
            scenarios=["marketing_content"],
            problem="文案靠人工，周期长。",
            solution="AI 营销文案助手。",
            effect="文案产出效率大幅提升。",
        ),
    )
    session.flush()
    assert _links(session, a, "case") == []  # submitted, not published: the public search has nothing
    op = builders.operator(session)
    cases.review_case(session, op, case.id, CaseReviewIn(approve=True))
    session.flush()
    assert any("服装企业营销文案提效" in t for t in _links(session, a, "case"))
    cases.delete_case(session, op, case.id)
    session.flush()
    assert _links(session, a, "case") == []


def test_recommended_offerings_are_each_enterprises_own(session):
    """An offering that serves Shanghai only is recommended to a Shanghai firm and, though remembered
    for it, never to a Beijing firm with the same answers (the region is part of what is remembered)."""
    _marketing_offering(session, regions=["31"])
    shanghai = builders.enterprise(session, profile={"province_code": "31", "city": "上海"})
    beijing = builders.enterprise(session, profile={"province_code": "11", "city": "北京"})
    mine, theirs = _done(session, shanghai, worst(INST)), _done(session, beijing, worst(INST))
    assert any("营销文案助手" in t for t in _links(session, mine, "offering"))
    assert not any("营销文案助手" in t for t in _links(session, theirs, "offering"))
    assert any("营销文案助手" in t for t in _links(session, mine, "offering"))


def test_survey_stage_follows_a_new_import_and_each_enterprises_profile(session):
    """The stage comparison's peer group is remembered per wave version and profile: another import
    into the wave shows on the next view, and a firm elsewhere gets its own group."""
    from smeai.survey import service as survey
    from smeai.survey import synth

    def import_(seed):
        header, rows = synth.text_rows(synth.generate(150, seed))
        text = "\n".join(",".join(r) for r in [header, *rows])
        survey.import_file(session, builders.analyst(session), "2025", text.encode(), filename=f"s{seed}.csv")

    import_(7)
    firm = _firm(session, 0)
    mine = _done(session, firm, worst(INST) | {"use_quality_inspection": "piloting"})
    before = benchmark.benchmark(session, firm, mine.id, small_cell_min=10).survey_stage
    assert before is not None
    assert benchmark.benchmark(session, firm, mine.id, small_cell_min=10).survey_stage == before
    import_(8)
    after = benchmark.benchmark(session, firm, mine.id, small_cell_min=10).survey_stage
    assert after is not None and after.firms > before.firms
    other = _firm(session, 1, industry_section="A", mfg_division=None, province_code="65")
    theirs = _done(session, other, worst(INST) | {"use_quality_inspection": "piloting"})
    elsewhere = benchmark.benchmark(session, other, theirs.id, small_cell_min=10).survey_stage
    assert elsewhere is not None and elsewhere.peer_group != after.peer_group
