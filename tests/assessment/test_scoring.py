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
        "dr_basic": ["connectivity", "website", "forms", "ecommerce", "collaboration", "einvoice"],  # 6 of 11
        "dr_simulation": "5",
        "dr_vr": "0",
        "dr_cad": "2",
        "dr_mes": "3",
        "dr_iot": "0",
        "dr_blockchain": "0",
        "dr_additive": "4",  # 14 of 35 -> 4.0
        "hc_skills": ["assessment", "plan", "short"],  # 3 of 6 -> 5.0
        "hc_engagement": ["awareness"],  # 1 of 6
        "dm_practices": [],  # 0
        "dm_security": ["policy", "clients", "training", "monitoring", "backup", "continuity"],  # 10
        "ai_nlp": 4,
        "ai_vision": 0,
        "ai_audio": 1,
        "ai_robotics": 0,
        "ai_bi": 5,  # mean 2.0 of 5 -> 4.0
        "gd_uses": ["paperless", "energy"],  # 2 of 7
        "gd_choices": [],  # 0
    }
    return answers | overrides


def test_dma_reproduces_a_hand_worked_assessment():
    r = evaluate(DMA, check_answers(DMA, dma_answers()))
    # a dimension = the mean of its questions (0-10) x 10; the seven advanced technologies are one question
    assert r.dimensions == {
        "strategy": 55.0,  # (4 + 7) / 2 x 10
        "readiness": 47.3,  # (60/11 + 4) / 2 x 10
        "human": 33.3,  # (5 + 10/6) / 2 x 10
        "data": 50.0,
        "automation": 40.0,
        "green": 14.3,  # (20/7 + 0) / 2 x 10
    }
    assert r.overall == 40.0  # the plain mean of the six
    assert (r.level.id, r.level.rank) == ("average", 1)
    assert r.questions["dbs_areas"] == 4.0 and r.questions["ai_nlp"] == 8.0
    assert r.stage is None and r.role is None
    assert {x.id for x in r.recommendations} >= {"dma-readiness", "dma-human", "dma-automation", "dma-green"}


def test_dma_has_no_not_applicable_answer():
    """The JRC questionnaire has no n/a: every question must be answered, and "n/a" is refused."""
    assert not any(q.not_applicable for q in DMA.questions.values())
    with pytest.raises(AnswersInvalid) as exc:
        check_answers(DMA, dma_answers(dr_iot="n/a"))
    assert "answers.dr_iot" in exc.value.fields
    with pytest.raises(AnswersInvalid) as exc:
        check_answers(DMA, {k: v for k, v in dma_answers().items() if k != "dr_vr"})
    assert exc.value.fields == {"answers.dr_vr": "required answer missing"}


def test_dma_lists_the_jrc_items_in_full():
    """Audio and speech under AI; VR/AR, MES, blockchain and additive manufacturing under advanced technologies."""
    assert {"ai_nlp", "ai_vision", "ai_audio", "ai_robotics", "ai_bi"} == {
        q.id for q in DMA.dimension("automation").questions
    }
    readiness = {q.id for q in DMA.dimension("readiness").questions}
    assert {"dr_vr", "dr_mes", "dr_blockchain", "dr_additive", "dr_simulation", "dr_cad", "dr_iot"} <= readiness
    assert [(t.id, t.min_score) for t in DMA.levels] == [
        ("basic", 0),
        ("average", 26),
        ("moderately_advanced", 51),
        ("advanced", 71),
    ]


def test_dma_bands():
    top = best(DMA)
    r = evaluate(DMA, check_answers(DMA, top | {"gd_uses": [], "gd_choices": []}))
    assert r.overall == 83.3 and r.level.id == "advanced"  # (5 x 100 + 0) / 6
    strategy_only = worst(DMA) | {"dbs_areas": top["dbs_areas"], "dbs_readiness": top["dbs_readiness"]}
    r = evaluate(DMA, check_answers(DMA, strategy_only))
    assert r.overall == 16.7 and r.level.id == "basic"
    readiness = [q.id for q in DMA.dimension("readiness").questions]
    three = strategy_only | {k: top[k] for k in [*readiness, "hc_skills", "hc_engagement"]}
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
    """A high score is not enough: L4 融合 also needs 3 scenarios at scale and data >= 50."""
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


def test_every_level_gets_concrete_next_steps():
    """A firm at any level, the top one included, is told what to do next, from its weakest dimensions."""
    top = best(SMEAI) | {"sec_incidents": "informal", "use_product_design": "scaling"}
    r = evaluate(SMEAI, check_answers(SMEAI, top))
    assert r.level.id == "leader" and r.next_level is None
    assert r.recommendations, "the top level still gets next steps"
    weakest = min(r.dimensions, key=lambda d: r.dimensions[d])
    assert any(x.dimension == weakest for x in r.recommendations)
    assert any(x.scenario == "product_design" for x in r.recommendations)  # at scale, not yet embedded
    for answers in (worst(SMEAI), best(SMEAI) | {"s_plan": "list", "use_quality_inspection": "piloting"}):
        r = evaluate(SMEAI, check_answers(SMEAI, answers))
        assert r.recommendations and all(x.title and x.text for x in r.recommendations)


def test_levels_say_they_are_smeais_own_not_miits():
    """MIIT's 一级-四级 (20/40/60/80) rate digitalisation with MIIT's questionnaire; smeai's L1-L5 are its own."""
    names = [t.name.zh for t in SMEAI.levels]
    assert names == ["L1 起步", "L2 探索", "L3 试点", "L4 融合", "L5 引领"]
    assert not any(word in n for n in names for word in ("一级", "二级", "三级", "四级", "五级"))
    r = evaluate(SMEAI, check_answers(SMEAI, worst(SMEAI)))
    assert "smeai" in r.levels_note and "专精特新" in r.levels_note
    assert r.next_level_missing and all("smeai" in m for m in r.next_level_missing[1:])  # gates: smeai's own rules
