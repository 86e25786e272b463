"""Calls test data, made through services."""

from __future__ import annotations

from datetime import date, timedelta

from sqlalchemy.orm import Session

from smeai.auth.actor import Actor
from smeai.auth.permissions import OrgKind, Role
from smeai.calls import campaigns, service
from smeai.calls.schemas import CampaignIn, CriterionIn, ScenarioIn, ScenarioListIn
from smeai.cases.schemas import CaseIn
from smeai.db import utcnow
from tests import builders


def government(session: Session, name: str = "测试市工业和信息化局") -> Actor:
    return builders._user(session, role=Role.ANALYST, org_name=name, kind=OrgKind.GOVERNMENT)


def lead_firm(session: Session) -> Actor:
    return builders.enterprise(session, profile={"size_class": "large", "revenue_band": "8+"})


def scenario(**over: object) -> ScenarioIn:
    data = {
        "title": "紧固件表面缺陷检测",
        "industry": "C33",
        "scenario_code": "quality_inspection",
        "problem": "人工目检漏检率约 3%。",
        "data_offered": "缺陷图片 4 万张。",
        "site_offered": "一条冷镦产线。",
        "expected_result": "漏检率低于 0.5%。",
    }
    return ScenarioIn.model_validate(data | over)


def scenario_list(session: Session, publisher: Actor, *, scenarios: int = 1, days: int = 30):
    return service.publish_list(
        session,
        publisher,
        ScenarioListIn(
            title="测试场景清单",
            summary="向服务商开放生产环节场景。",
            province_code="13",
            deadline_on=utcnow().date() + timedelta(days=days),
            scenarios=[scenario(title=f"场景{i}") for i in range(scenarios)],
        ),
    )


def case(**over: object) -> CaseIn:
    data = {
        "title": "冷镦产线 AI 视觉质检",
        "enterprise_name": "某紧固件企业",
        "province_code": "13",
        "industry": "C33",
        "scenarios": ["quality_inspection"],
        "problem": "表面缺陷靠人工目检，漏检率高。",
        "solution": "工业相机加缺陷分割模型，边缘推理。",
        "effect": "漏检率从 3.1% 降到 0.4%。",
    }
    return CaseIn.model_validate(data | over)


def campaign(session: Session, operator: Actor, reviewers: list[Actor], *, deadline: date | None = None):
    return campaigns.create_campaign(
        session,
        operator,
        CampaignIn(
            title="AI 先锋案例征集",
            summary="征集中小企业应用 AI 的实效案例。",
            deadline_on=deadline or utcnow().date() + timedelta(days=30),
            criteria=[CriterionIn(name="创新性", weight_pct=30), CriterionIn(name="实施成效", weight_pct=70)],
            reviewer_ids=[r.user_id for r in reviewers if r.user_id is not None],
        ),
    )


def evaluated_engagement(session: Session):
    """An enterprise's engagement run to an evaluated outcome through matching's services."""
    from smeai.matching import engagements
    from smeai.matching import service as matching_service
    from smeai.matching.schemas import EngagementState as S
    from smeai.matching.schemas import NeedIn, OutcomeIn, ResponseIn, TransitionIn
    from tests.matching.builders import offering

    profile = {"industry_section": "C", "mfg_division": "33", "province_code": "13", "city": "邢台"}
    firm = builders.enterprise(session, profile=profile)
    vendor = builders.provider(session, "甲视觉")
    item = offering(session, "甲视觉", id="fit")
    text = "出货前全靠老师傅拿眼睛挑，裂纹、缺牙经常漏掉，想自动挑出不良品。"
    need = matching_service.create_need(session, firm, NeedIn(title="螺栓外观检测", text=text, budget_fen=30_000_000))
    e = engagements.express_interest(session, firm, need.id, item.id)
    engagements.respond(session, vendor, e.id, ResponseIn(accept=True, note="好"))
    for to in (S.MEETING_HELD, S.PROPOSAL, S.CONTRACT_SIGNED, S.DELIVERED):
        engagements.advance(session, firm, e.id, TransitionIn(to=to))
    engagements.report_outcome(session, firm, e.id, OutcomeIn(cost_fen=1, effect="漏检率降到 0.5%", satisfaction=4))
    return firm, e
