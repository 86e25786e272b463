"""The assessment share of `smeai demo`: completed diagnoses for two demo enterprises (one retaken)."""

from __future__ import annotations

from typing import Any

from sqlalchemy.orm import Session

from smeai.assessment import instruments, service
from smeai.assessment.schemas import AssessmentIn
from smeai.auth import service as auth_service

# 赣光电子: optics, piloting visual inspection, knowledge Q&A for onboarding (report case, 江西).
OPTICS: dict[str, Any] = {
    "s_leadership": "sponsor",
    "s_plan": "list",
    "s_goals": "some",
    "s_knowledge": 3,
    "d_quantity": 4,
    "d_quality": "3",
    "d_storage": "dept_systems",
    "d_management": "owner",
    "d_types": ["transactions", "production", "images", "documents"],
    "d_systems": ["finance", "erp", "mes"],
    "d_integration": "some",
    "t_staff": 3,
    "t_usage": 15,
    "t_training": "once",
    "t_process": "person",
    "i_compute": "api",
    "i_cloud": "2",
    "i_equipment": 40,
    "a_general": ["chat", "office", "meeting"],
    "v_amount": 30,
    "v_share": 0.8,
    "v_subsidy": "aware",
    "sec_rules": "verbal",
    "sec_measures": ["access", "backup"],
    "sec_incidents": "informal",
    "o_measured": "some",
    "o_efficiency": 8,
    "o_quality_cost": 10,
    "o_new_value": "none",
}
OPTICS_SCENARIOS = {
    "quality_inspection": "piloting",
    "knowledge_qa": "exploring",
    "office_collaboration": "scaling",
    "marketing_content": "exploring",
}
NOT_RELEVANT = ("generative_simulation", "warehouse_layout", "logistics_dispatch", "energy_management")

# 冀北金属制品: metal structures; scattered ERP/MES/SCM data, decisions by experience.
METAL: dict[str, Any] = {
    "s_leadership": "interested",
    "s_plan": "ideas",
    "s_goals": "none",
    "s_knowledge": 1,
    "d_quantity": 6,
    "d_quality": "2",
    "d_storage": "dept_systems",
    "d_management": "adhoc",
    "d_types": ["transactions", "production", "documents"],
    "d_systems": ["finance", "erp", "mes", "scm"],
    "d_integration": "isolated",
    "t_staff": 2,
    "t_usage": 5,
    "t_training": "none",
    "t_process": "none",
    "i_compute": "saas",
    "i_cloud": "1",
    "i_equipment": 20,
    "a_general": ["chat"],
    "v_amount": 5,
    "v_share": 0.2,
    "v_subsidy": "unaware",
    "sec_rules": "none",
    "sec_measures": ["backup"],
    "sec_incidents": "none",
    "o_measured": "impression",
    "o_efficiency": 0,
    "o_quality_cost": 0,
    "o_new_value": "n/a",
}
METAL_SCENARIOS = {"office_collaboration": "exploring", "safety_monitoring": "exploring"}


def _answers(base: dict[str, Any], scenarios: dict[str, str]) -> dict[str, Any]:
    inst = instruments.get_instrument("smeai-ai-maturity")
    out = dict(base)
    for q in inst.questions.values():
        if q.scenario:
            out[q.id] = scenarios.get(q.scenario, "n/a" if q.scenario in NOT_RELEVANT else "none")
    return out


def _load_one(session: Session, email: str, rounds: list[dict[str, Any]]) -> None:
    user = auth_service.find_user_by_email(session, email)
    if user is None:
        return
    actor = auth_service.actor_for(user)
    if service.list_assessments(session, actor):
        return  # idempotent: this enterprise already has its diagnoses
    previous = None
    for answers in rounds:
        a = service.start_assessment(session, actor, AssessmentIn(from_assessment_id=previous))
        service.save_answers(session, actor, a.id, answers)
        service.complete_assessment(session, actor, a.id)
        previous = a.id


def load(session: Session) -> None:
    first = _answers(OPTICS, OPTICS_SCENARIOS)
    later = _answers(
        OPTICS
        | {
            "d_integration": "core",
            "d_quality": "4",
            "t_training": "regular",
            "sec_rules": "written",
            "v_subsidy": "applied",
        },
        OPTICS_SCENARIOS | {"quality_inspection": "scaling", "knowledge_qa": "piloting"},
    )
    _load_one(session, "optics@demo.smeai.cn", [first, later])
    _load_one(session, "metal@demo.smeai.cn", [_answers(METAL, METAL_SCENARIOS)])
    session.flush()
