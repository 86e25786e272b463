"""The calls share of `smeai demo`: a government department's published scenario list with responses and
one outcome, and an open case-collection campaign with entries and a score; made through the services,
idempotently (each is looked up by its title first)."""

from __future__ import annotations

from datetime import timedelta

from sqlalchemy import select
from sqlalchemy.orm import Session

from smeai.auth import service as auth_service
from smeai.auth.actor import Actor
from smeai.auth.permissions import OrgKind, Role
from smeai.auth.schemas import OrganisationIn, UserIn
from smeai.calls import campaigns, service
from smeai.calls.models import Campaign, ScenarioList
from smeai.calls.schemas import (
    CampaignIn,
    CriterionIn,
    OutcomeIn,
    ResponseIn,
    ScenarioIn,
    ScenarioListIn,
    ScoreIn,
)
from smeai.cases.schemas import CaseIn
from smeai.db import utcnow

GOVERNMENT = "邢台市工业和信息化局"
GOV_EMAIL = "gov@demo.smeai.cn"
REVIEWER_EMAIL = "reviewer@demo.smeai.cn"
LIST_TITLE = "邢台市 2026 年制造业 AI 应用场景清单（第一批）"
CAMPAIGN_TITLE = "2026 年度中小企业 AI 先锋案例征集"


def _actor(session: Session, email: str) -> Actor | None:
    user = auth_service.find_user_by_email(session, email)
    return auth_service.actor_for(user) if user else None


def _accounts(session: Session, system: Actor, password: str) -> list[tuple[str, str, str]]:
    gov = auth_service.find_organisation_by_name(session, GOVERNMENT) or auth_service.create_organisation(
        session, system, OrganisationIn(name=GOVERNMENT, kind=OrgKind.GOVERNMENT)
    )
    gov.province_code, gov.city = "13", "邢台"
    if auth_service.find_user_by_email(session, GOV_EMAIL) is None:
        auth_service.create_user(
            session,
            system,
            UserIn(
                email=GOV_EMAIL, display_name="孙科长（工信局）", password=password, role=Role.ANALYST, org_id=gov.id
            ),
        )
    centre = auth_service.find_organisation_by_name(session, "示范 AI 应用赋能中心")
    logins = [(str(Role.ANALYST), GOV_EMAIL, gov.name)]
    if centre is not None:
        if auth_service.find_user_by_email(session, REVIEWER_EMAIL) is None:
            auth_service.create_user(
                session,
                system,
                UserIn(
                    email=REVIEWER_EMAIL,
                    display_name="钱专家（评审顾问）",
                    password=password,
                    role=Role.CONSULTANT,
                    org_id=centre.id,
                ),
            )
        logins.append((str(Role.CONSULTANT), REVIEWER_EMAIL, centre.name))
    session.flush()
    return logins


def _scenario_list(session: Session) -> None:
    gov = _actor(session, GOV_EMAIL)
    if gov is None or session.scalar(select(ScenarioList.id).where(ScenarioList.title == LIST_TITLE)):
        return
    today = utcnow().date()
    listing = service.publish_list(
        session,
        gov,
        ScenarioListIn(
            title=LIST_TITLE,
            summary="面向本地紧固件、特钢产业集群开放生产、物流环节的 AI 应用场景，提供数据与现场供服务商验证。",
            province_code="13",
            deadline_on=today + timedelta(days=45),
            scenarios=[
                ScenarioIn(
                    title="紧固件表面缺陷视觉检测",
                    industry="C33",
                    scenario_code="quality_inspection",
                    problem="螺栓、螺母表面裂纹与毛刺靠人工目检，漏检率约 3%，夜班更高。",
                    data_offered="三条产线近一年的缺陷图片约 4 万张（已标注 6 千张）。",
                    site_offered="清河园区一条冷镦产线，可停线 2 天安装相机。",
                    expected_result="漏检率降到 0.5% 以下，单件检测不超过 1 秒。",
                ),
                ScenarioIn(
                    title="特钢轧线能耗优化",
                    industry="C31",
                    scenario_code="energy_management",
                    problem="加热炉燃气单耗偏高，调度凭经验。",
                    data_offered="加热炉与轧线 DCS 历史数据两年。",
                    site_offered="一座步进式加热炉，可做为期一个月的对照试验。",
                    expected_result="吨钢燃气单耗下降 3% 以上。",
                ),
            ],
        ),
    )
    first = listing.scenarios[0]
    chosen = None
    for email, approach in (
        ("heihu@demo.smeai.cn", "边缘相机 + 缺陷分割模型，两周内上线试运行，按漏检率验收。"),
        ("aliyun@demo.smeai.cn", "云端视觉质检平台，利用已标注样本微调，产线侧部署推理盒子。"),
    ):
        provider = _actor(session, email)
        if provider is not None:
            response = service.respond(session, provider, first.id, ResponseIn(approach=approach))
            chosen = chosen or response
    if chosen is not None:
        service.select_response(session, gov, chosen.id)
        result = "试运行 30 天：漏检率由 3.1% 降至 0.4%，单件检测 0.6 秒，已在第二条产线复制。"
        service.record_result(session, gov, first.id, OutcomeIn(result=result))


def _campaign(session: Session) -> None:
    operator = _actor(session, "operator@demo.smeai.cn")
    if operator is None or session.scalar(select(Campaign.id).where(Campaign.title == CAMPAIGN_TITLE)):
        return
    panel = [a for a in (_actor(session, "consultant@demo.smeai.cn"), _actor(session, REVIEWER_EMAIL)) if a]
    if not panel:
        return
    campaign = campaigns.create_campaign(
        session,
        operator,
        CampaignIn(
            title=CAMPAIGN_TITLE,
            summary=(
                "征集中小企业应用 AI 取得实效的案例：问题清楚、做法可复制、效果可量化。入选案例作为标杆收入案例库。"
            ),
            deadline_on=utcnow().date() + timedelta(days=30),
            criteria=[
                CriterionIn(name="创新性", weight_pct=30),
                CriterionIn(name="实施成效", weight_pct=50),
                CriterionIn(name="可复制性", weight_pct=20),
            ],
            reviewer_ids=[a.user_id for a in panel if a.user_id is not None],
        ),
    )
    entries = []
    for email, case in (
        (
            "fastener@demo.smeai.cn",
            CaseIn(
                title="紧固件冷镦产线 AI 视觉质检",
                enterprise_name="冀中精工紧固件有限公司",
                province_code="13",
                city="邢台",
                industry="C33",
                scenarios=["quality_inspection"],
                problem="表面裂纹与毛刺靠人工目检，漏检率约 3%，客户投诉多。",
                solution="在冷镦和搓丝工位加装工业相机，缺陷分割模型边缘推理，不良品自动剔除。",
                effect="漏检率从 3.1% 降到 0.4%，质检人员由 6 人减到 2 人。",
                providers=["黑湖科技"],
            ),
        ),
        (
            "heihu@demo.smeai.cn",
            CaseIn(
                title="离散制造小批量订单智能排产",
                enterprise_name="浙江某五金企业",
                province_code="33",
                city="台州",
                industry="C33",
                scenarios=["production_scheduling"],
                problem="插单频繁，计划员手工排产，交期达成率不足 80%。",
                solution="基于工单与设备状态的排产优化，计划员在看板上确认。",
                effect="交期达成率提升到 95%，换线时间减少 20%。",
                providers=["黑湖科技"],
            ),
        ),
    ):
        author = _actor(session, email)
        if author is not None:
            entries.append(campaigns.submit_entry(session, author, campaign.id, case))
    if entries and panel:
        campaigns.score_entry(session, panel[0], entries[0].id, ScoreIn(points=[8, 9, 7], comment="成效数据完整。"))


def load(session: Session, *, password: str) -> list[tuple[str, str, str]]:
    logins = _accounts(session, Actor.system(), password)
    _scenario_list(session)
    _campaign(session)
    session.flush()
    return logins
