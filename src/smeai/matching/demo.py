"""Matching's share of `smeai demo`, through the services: needs in owners' words with their
recommendations, one engagement followed to a signed contract, one declined, an open challenge with a
proposal, and a module menu from 黑湖科技. Idempotent: a need or challenge with the same title is kept."""

from __future__ import annotations

from datetime import timedelta

from sqlalchemy import select
from sqlalchemy.orm import Session

from smeai.auth import service as auth_service
from smeai.catalog import service as catalog_service
from smeai.db import utcnow
from smeai.matching import challenges, engagements, menu, pools, service
from smeai.matching.models import Challenge, Need, OfferingModule
from smeai.matching.schemas import ChallengeIn, EngagementState, ModuleIn, NeedIn, ProposalIn, ResponseIn, TransitionIn

NEEDS = [
    (
        "fastener@demo.smeai.cn",
        NeedIn(
            title="非标紧固件快速出设计方案",
            text="客户老要非标的螺栓，每次都得工程师重新画图、算强度，一单要拖一两周。想让电脑按客户给的参数先出个初步方案。",
            budget_fen=20_000_000,
        ),
    ),
    (
        "optics@demo.smeai.cn",
        NeedIn(
            title="元器件外观缺陷自动检出",
            text="现在全靠人工在显微镜下目检，漏检率高，新员工要培训好几个月才能上岗。想找能自动检出缺陷、还能告诉我们是哪道工序出问题的方案。",
            budget_fen=50_000_000,
        ),
    ),
    (
        "beauty@demo.smeai.cn",
        NeedIn(
            title="订单多了车间排不过来",
            text="旺季订单一多车间就乱，插单、缺料全靠主管拍脑袋，交期老是拖，客户天天催。",
            budget_fen=10_000_000,
            deployment=["saas"],
        ),
    ),
]
HEIHU = "heihu@demo.smeai.cn"
MODULES = [
    ("demo-005", "生产执行基础包（工单、报工）", 3_000_000),
    ("demo-153", "智能排产模块", 2_000_000),
    ("demo-154", "质量追溯模块", 1_500_000),
]


def _need(session: Session, email: str, data: NeedIn) -> Need:
    actor = auth_service.actor_for_email(session, email)
    found = session.scalar(select(Need).where(Need.org_id == actor.org_id, Need.title == data.title))
    if found is not None:
        return found
    need = service.create_need(session, actor, data)
    with pools.synchronous():  # the recommendations the app will show, not a lexical first guess
        engagements.recommend(session, actor, need.id)  # its list (snapshot), as its page shows it
    return need


def load(session: Session) -> None:
    needs = [_need(session, email, data) for email, data in NEEDS]
    heihu = auth_service.actor_for_email(session, HEIHU)

    # 粤美日化 chooses 黑湖's scheduling agent; 黑湖 answers and the contract is signed.
    beauty = auth_service.actor_for_email(session, "beauty@demo.smeai.cn")
    scheduling = catalog_service.find_offering_by_ext_id(session, "demo-153")
    if scheduling is not None and not engagements.list_engagements(
        session, beauty, need_id=needs[2].id, state=EngagementState.CONTRACT_SIGNED
    ):
        e = engagements.express_interest(session, beauty, needs[2].id, scheduling.id, note="想先试用一个月")
        engagements.respond(session, heihu, e.id, ResponseIn(accept=True, note="可以，下周安排实施顾问上门"))
        for to in (EngagementState.MEETING_HELD, EngagementState.PROPOSAL, EngagementState.CONTRACT_SIGNED):
            engagements.advance(session, beauty, e.id, TransitionIn(to=to, note=None))

    # 燕赵特钢 publishes a challenge; 阿里云 proposes.
    steel = auth_service.actor_for_email(session, "steel@demo.smeai.cn")
    title = "转炉终点碳温预测"
    if session.scalar(select(Challenge).where(Challenge.org_id == steel.org_id, Challenge.title == title)) is None:
        c = challenges.publish_challenge(
            session,
            steel,
            ChallengeIn(
                title=title,
                problem="转炉吹炼终点的碳含量和钢水温度全靠炉长经验判断，补吹率偏高。希望用过程数据实时预测终点碳温。",
                data_available="近三年 2 万炉次的吹炼过程数据和终点化验结果",
                budget_fen=150_000_000,
                deadline_on=utcnow().date() + timedelta(days=60),
            ),
        )
        aliyun = auth_service.actor_for_email(session, "aliyun@demo.smeai.cn")
        challenges.submit_proposal(
            session,
            aliyun,
            c.id,
            ProposalIn(
                summary="基于百炼平台训练炼钢过程时序模型，三个月完成离线验证，再上线实时预测。", price_fen=120_000_000
            ),
        )

    # 黑湖's module menu.
    for ext_id, name, price_fen in MODULES:
        offering = catalog_service.find_offering_by_ext_id(session, ext_id)
        if offering is None:
            continue
        exists = session.scalar(
            select(OfferingModule).where(OfferingModule.offering_id == offering.id, OfferingModule.name == name)
        )
        if exists is None:
            menu.add_module(session, heihu, ModuleIn(offering_id=offering.id, name=name, price_fen=price_fen))
