"""Hand-worked results and the engine's rules: n/a, refusals, tiers with gates."""

from __future__ import annotations

import pytest

from smeai.assessment import instruments
from smeai.assessment.diagnosis import evaluate
from smeai.assessment.scoring import AnswersInvalid, check_answer_file, check_answers
from tests.assessment.answers import best, worst

DMA = instruments.get_instrument("eu-dma")
SMEAI = instruments.get_instrument("smeai-ai-maturity")


def dma_answers(**overrides):
    answers = {
        "dbs_areas": ["design", "operations", "marketing", "admin"],  # 4 of 10 -> 4.0
        "dbs_readiness": ["needs", "finance", "infrastructure", "management", "departments", "model", "plan"],  # 7.0
        "dr_basic": ["connectivity", "website", "forms", "ecommerce", "collaboration", "einvoice"],  # 6.0
        "dr_cloud": "5",
        "dr_iot": "0",
        "dr_cad": "2",
        "dr_erp": "3",  # 10, 0, 4, 6 -> mean 5.0
        "hc_skills": ["assessment", "plan", "short"],  # 3 of 5 -> 6.0
        "hc_engagement": ["awareness"],  # 1 of 5 -> 2.0
        "dm_practices": ["none"],  # 0
        "dm_security": ["policy", "clients", "training", "monitoring", "backup"],  # 10
        "ai_nlp": 4,
        "ai_vision": 0,
        "ai_robotics": 1,
        "ai_bi": 5,  # 8, 0, 2, 10 -> 5.0
        "gd_uses": ["paperless", "energy"],  # 4.0
        "gd_choices": [],  # 0
    }
    return answers | overrides


def test_dma_reproduces_a_hand_worked_assessment():
    r = evaluate(DMA, check_answers(DMA, dma_answers()))
    # dimension = mean of its questions (0-10) x 10; the advanced-technology items share one question
    assert r.dimensions == {
        "strategy": 55.0,
        "readiness": 55.0,
        "human": 40.0,
        "data": 50.0,
        "automation": 50.0,
        "green": 20.0,
    }
    assert r.overall == 45.0  # (55 + 55 + 40 + 50 + 50 + 20) / 6
    assert (r.level.id, r.level.rank) == ("average", 1)
    assert r.questions["dbs_areas"] == 4.0 and r.questions["ai_nlp"] == 8.0
    assert r.stage is None and r.role is None
    assert {x.id for x in r.recommendations} == {"dma-human", "dma-green"}


def test_dma_bands():
    top = best(DMA)
    r = evaluate(DMA, check_answers(DMA, top | {"gd_uses": [], "gd_choices": []}))
    assert r.overall == 83.3 and r.level.id == "advanced"  # (5 x 100 + 0) / 6
    strategy_only = worst(DMA) | {"dbs_areas": top["dbs_areas"], "dbs_readiness": top["dbs_readiness"]}
    r = evaluate(DMA, check_answers(DMA, strategy_only))
    assert r.overall == 16.7 and r.level.id == "basic"
    three = strategy_only | {
        k: top[k] for k in ("dr_basic", "dr_cloud", "dr_iot", "dr_cad", "dr_erp", "hc_skills", "hc_engagement")
    }
    r = evaluate(DMA, check_answers(DMA, three))
    assert r.overall == 50.0 and r.level.id == "average"
    r = evaluate(DMA, check_answers(DMA, three | {"dm_practices": top["dm_practices"]}))
    assert r.overall == 58.3 and r.level.id == "moderately_advanced"


def test_smeai_not_applicable_leaves_the_denominator():
    answers = worst(SMEAI) | {"use_quality_inspection": "scaling", "use_product_design": "n/a"}
    r = evaluate(SMEAI, check_answers(SMEAI, answers))
    # application: a_general 0 (weight 1) + 20 rated scenarios, one at 75 -> 75 / 21 of the 21 answered
    assert r.dimensions["application"] == round(100 * 0.75 / 21, 1)
    assert r.questions["use_product_design"] is None
    assert r.stage.id == "piloting" and r.role.id == "assistant"


def test_smeai_gates_hold_a_level_back():
    """A high score is not enough: 四级·融合 also needs 3 scenarios at scale and data >= 50."""
    answers = best(SMEAI) | {q: "piloting" for q in SMEAI.questions if q.startswith("use_")}
    r = evaluate(SMEAI, check_answers(SMEAI, answers))
    assert r.overall >= 60
    assert r.level.id == "practitioner"
    assert r.next_level.id == "integrator"
    assert any("3" in m for m in r.next_level_missing)
    assert r.stage.id == "piloting"


def test_smeai_roles_follow_the_path():
    base = worst(SMEAI)
    r = evaluate(SMEAI, check_answers(SMEAI, base | {"use_marketing_content": "exploring"}))
    assert r.role.id == "assistant" and r.stage.id == "exploring"
    partner = base | {
        "use_quality_inspection": "scaling",
        "d_integration": "unified",
        "d_quantity": "r4",
        "d_quality": "5",
        "d_storage": "lake",
        "d_management": "governance",
    }
    r = evaluate(SMEAI, check_answers(SMEAI, partner))
    assert r.role.id == "partner"
    expert = partner | {
        "d_types": ["transactions", "production", "sensor", "images", "documents"],
        "d_systems": ["erp", "mes", "crm", "scm"],
        "use_customer_profiling": "scaling",
        "use_decision_support": "embedded",
    }
    r = evaluate(SMEAI, check_answers(SMEAI, expert))
    assert r.role.id == "expert"


def test_smeai_recommendations_come_from_answers():
    weak_data = best(SMEAI) | {"d_storage": "paper", "d_management": "none"}
    ids = {x.id for x in evaluate(SMEAI, check_answers(SMEAI, weak_data)).recommendations}
    assert {"data-storage", "data-governance"} <= ids
    assert "genai-rules" not in ids  # security answered well
    r = evaluate(SMEAI, check_answers(SMEAI, worst(SMEAI)))
    scen = [x for x in r.recommendations if x.kind == "scenario"]
    assert scen and all(x.role == "assistant" for x in scen)  # no AI yet: start as an assistant
    assert all(x.reasons for x in r.recommendations)


def test_next_scenarios_follow_industry_and_skip_production_outside_manufacturing():
    from smeai.assessment.recommend import Profile

    answers = check_answers(SMEAI, worst(SMEAI) | {"use_marketing_content": "exploring"})
    retail = evaluate(SMEAI, answers, Profile(section="F"))
    scen = [x.scenario for x in retail.recommendations if x.kind == "scenario"]
    assert "marketing_content" in scen or "customer_profiling" in scen
    assert not {"quality_inspection", "safety_monitoring", "energy_management"} & set(scen)


def test_refusal_lists_every_problem():
    bad = worst(SMEAI)
    del bad["s_plan"]  # missing
    bad |= {
        "nope": 1,
        "d_storage": "cloud9",
        "d_types": "images",
        "t_staff": "many",
        "s_goals": "n/a",
        "d_systems": ["erp", "erp"],
    }
    with pytest.raises(AnswersInvalid) as exc:
        check_answer_file(SMEAI, {"instrument": "smeai-ai-maturity", "answers": bad})
    f = exc.value.fields
    assert f["answers.s_plan"] == "required answer missing"
    assert f["answers.nope"] == "unknown question"
    assert "unknown option" in f["answers.d_storage"]
    assert "list" in f["answers.d_types"]
    assert "number" in f["answers.t_staff"]
    assert "n/a" in f["answers.s_goals"]
    assert "twice" in f["answers.d_systems"]


def test_answer_file_for_another_instrument_is_refused():
    with pytest.raises(AnswersInvalid) as exc:
        check_answer_file(DMA, {"instrument": "smeai-ai-maturity", "answers": dma_answers()})
    assert "instrument" in exc.value.fields


def test_numbers_fall_into_range_buckets_and_scale_points():
    a = check_answers(SMEAI, worst(SMEAI) | {"d_quantity": 4, "d_quality": 3, "t_staff": 4.0, "v_amount": 60})
    assert a["d_quantity"] == "r3" and a["d_quality"] == "3"
    r = evaluate(SMEAI, a)
    assert r.questions["d_quantity"] == 75.0 and r.questions["t_staff"] == 50.0 and r.questions["v_amount"] == 75.0
    with pytest.raises(AnswersInvalid):
        check_answers(SMEAI, worst(SMEAI) | {"t_staff": -1})


def test_every_option_of_a_multi_question_scores_the_best_points():
    """A checker that ticks every option (the exclusive "none" included) gets the full points."""
    every = {q.id: [o.id for o in q.options] for q in SMEAI.questions.values() if q.type == "multi"}
    r = evaluate(SMEAI, check_answers(SMEAI, best(SMEAI) | every))
    assert r.overall == 100
