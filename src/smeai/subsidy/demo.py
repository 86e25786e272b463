"""The subsidy share of `smeai demo`: pools for every programme and a few applications in each state,
all made through the service (the same checks as a user), idempotently."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from smeai.auth import service as auth_service
from smeai.auth.actor import Actor
from smeai.auth.permissions import OrgKind, Role
from smeai.auth.schemas import OrganisationIn, ProfileIn, UserIn
from smeai.config import get_settings
from smeai.db import utcnow
from smeai.storage import storage_for
from smeai.subsidy import acceptance, documents, ledger, service
from smeai.subsidy.models import Application
from smeai.subsidy.programmes import DocKind, all_programmes
from smeai.subsidy.schemas import AcceptanceIn, ApplicationIn, MeasurementIn

WAN = 1_000_000
PDF = b"%PDF-1.4\n% smeai demo document\n%%EOF\n"
ENTERPRISES: list[tuple[str, str, str, dict[str, Any]]] = [
    (
        "汉江智造科技有限公司",
        "wuhan@demo.smeai.cn",
        "周经理",
        {
            "industry_section": "C",
            "mfg_division": "39",
            "province_code": "42",
            "city": "武汉",
            "size_class": "small",
            "revenue_band": "0-2",
            "employees": 120,
            "founded_year": 2017,
        },
    ),
    (
        "杭芯视觉技术有限公司",
        "hangzhou@demo.smeai.cn",
        "吴总",
        {
            "industry_section": "I",
            "mfg_division": None,
            "province_code": "33",
            "city": "杭州",
            "size_class": "micro",
            "revenue_band": "0-2",
            "employees": 35,
            "founded_year": 2021,
        },
    ),
    (
        "苏相精密机械有限公司",
        "suzhou@demo.smeai.cn",
        "陆厂长",
        {
            "industry_section": "C",
            "mfg_division": "34",
            "province_code": "32",
            "city": "苏州",
            "size_class": "medium",
            "revenue_band": "2-4",
            "employees": 260,
            "founded_year": 2009,
        },
    ),
]
RETROFIT_CONTRACT = "SX-2026-007"
# (enterprise email, programme, contract no., contract 元, kind, description, supplier, flags, service year, end state)
CLAIMS = [
    (
        "wuhan@demo.smeai.cn",
        "wuhan-compute",
        "HJ-2026-001",
        180_000,
        "compute",
        "国产 GPU 算力租用（质检模型训练）",
        "武汉人工智能计算中心",
        [],
        1,
        "paid",
    ),
    (
        "wuhan@demo.smeai.cn",
        "wuhan-compute",
        "HJ-2026-014",
        40_000,
        "compute",
        "推理算力包（6 个月）",
        "武汉人工智能计算中心",
        [],
        1,
        "approved",
    ),
    (
        "hangzhou@demo.smeai.cn",
        "hangzhou-compute",
        "HX-2026-003",
        600_000,
        "compute",
        "国产芯片训练算力 1 年",
        "阿里云",
        ["domestic_chip"],
        1,
        "redeeming",
    ),
    (
        "hangzhou@demo.smeai.cn",
        "hangzhou-compute",
        "HX-2026-009",
        120_000,
        "model",
        "已备案大模型 API 调用",
        "阿里通义",
        ["filed_model"],
        1,
        "submitted",
    ),
    (
        "beauty@demo.smeai.cn",
        "huadu-tiered",
        "HD-2026-002",
        96_000,
        "platform",
        "一站式 AI 开发平台（营销模型）",
        "花都区新型工业数字化服务平台",
        [],
        1,
        "approved",
    ),
    (
        "beauty@demo.smeai.cn",
        "huadu-tiered",
        "HD-2026-005",
        30_000,
        "service",
        "AI 智能客服模块",
        "花都区新型工业数字化服务平台",
        [],
        1,
        "rejected",
    ),
]


def _enterprise(
    session: Session, system: Actor, name: str, email: str, contact: str, profile: dict, password: str
) -> None:
    org = auth_service.find_organisation_by_name(session, name) or auth_service.create_organisation(
        session, system, OrganisationIn(name=name, kind=OrgKind.ENTERPRISE)
    )
    if org.province_code is None:
        auth_service.update_profile(session, system, org.id, ProfileIn(**profile))
    if auth_service.find_user_by_email(session, email) is None:
        auth_service.create_user(
            session,
            system,
            UserIn(email=email, display_name=contact, password=password, role=Role.ENTERPRISE_MEMBER, org_id=org.id),
        )


def _upload(session: Session, actor: Actor, app_id: int, kinds: tuple[DocKind, ...]) -> None:
    settings = get_settings()
    for kind in kinds:
        documents.add_document(
            session,
            actor,
            app_id,
            kind=kind,
            filename=f"{kind.value}.pdf",
            data=PDF,
            store=storage_for(settings),
            max_bytes=settings.upload_max_bytes,
        )


def load(session: Session, *, password: str) -> list[tuple[str, str, str]]:
    system = Actor.system()
    for p in all_programmes().values():
        ledger.open_pool(session, p, utcnow().year)  # the demo operator opens this year
    for name, email, contact, profile in ENTERPRISES:
        _enterprise(session, system, name, email, contact, profile, password)
    session.flush()
    operator_user = auth_service.find_user_by_email(session, "operator@demo.smeai.cn")
    operator = auth_service.actor_for(operator_user) if operator_user else system
    for email, code, no, yuan, kind, description, supplier, flags, year, end in CLAIMS:
        user = auth_service.find_user_by_email(session, email)
        if user is None:
            continue
        ent = auth_service.actor_for(user)
        if session.scalar(
            select(Application.id).where(Application.org_id == ent.org_id, Application.contract_no == no)
        ):
            continue  # already loaded
        p = all_programmes()[code]
        app = service.submit_application(
            session,
            ent,
            ApplicationIn(
                programme_code=code,
                description=description,
                kind=kind,
                supplier_name=supplier,
                contract_no=no,
                contract_fen=yuan * 100,
                flags=frozenset(flags),
                service_year=year,
            ),
        )
        _upload(session, ent, app.id, tuple(p.documents.apply))
        if end == "rejected":
            reasons = "合同服务内容与平台目录不符，请补充说明后重新申领。"
            service.reject_application(session, operator, app.id, reasons=reasons)
            continue
        if end == "submitted":
            continue
        service.approve_application(session, operator, app.id, note="材料齐全，同意。")
        if end == "approved":
            continue
        _upload(session, ent, app.id, tuple(k for k in p.documents.redeem if k not in p.documents.apply))
        service.submit_redemption(session, ent, app.id)
        if end == "paid":
            service.verify_redemption(session, operator, app.id, note="发票、付款与交付证明核验无误。")
    _retrofit_award(session, operator)
    return [("enterprise_member", e[1], e[0]) for e in ENTERPRISES]


def _retrofit_award(session: Session, operator: Actor) -> None:
    """改造后补贴: a finished smart-retrofit project, accepted after a site visit, and paid."""
    user = auth_service.find_user_by_email(session, "suzhou@demo.smeai.cn")
    if user is None:
        return
    ent = auth_service.actor_for(user)
    taken = select(Application.id).where(Application.org_id == ent.org_id, Application.contract_no == RETROFIT_CONTRACT)
    if session.scalar(taken):
        return  # already loaded
    today = utcnow().date()
    p = all_programmes()["xiangcheng-retrofit"]
    app = service.submit_application(
        session,
        ent,
        ApplicationIn(
            programme_code=p.code,
            description="冲压车间智能化改造：视觉检测工位与设备联网",
            kind="appliance",
            supplier_name="苏州智造系统集成有限公司",
            contract_no=RETROFIT_CONTRACT,
            contract_fen=4_200_000 * 100,
            signed_on=today - timedelta(days=150),
            paid_on=today - timedelta(days=30),
        ),
    )
    _upload(session, ent, app.id, tuple(p.documents.apply))
    result = AcceptanceIn(
        passed=True,
        conclusion="项目按备案内容建成投产，设备均为新购，改造效果达到申报目标，同意验收。",
        reviewers=["张工（区工信局）", "刘教授（苏州大学）", "陈工（第三方审计）"],
        measurements=[
            MeasurementIn(name="冲压件不良率", unit="%", before="2.8", after="0.9"),
            MeasurementIn(name="单班产量", unit="件", before="5200", after="6900"),
            MeasurementIn(name="设备联网率", unit="%", before="35", after="96"),
        ],
        site_visit_on=today - timedelta(days=7),
    )
    acceptance.record_acceptance(session, operator, app.id, result)
    acceptance.pay_award(session, operator, app.id, note="验收通过，补助已拨付。")
