"""The case library's share of `smeai demo`: the report's cases (published, some as 标杆) and one
case waiting for review, all through the service."""

from __future__ import annotations

from pathlib import Path

import yaml
from sqlalchemy import select
from sqlalchemy.orm import Session

from smeai.auth import service as auth_service
from smeai.auth.actor import Actor
from smeai.cases import service
from smeai.cases.models import Case
from smeai.cases.schemas import CaseIn, CaseReviewIn

DATA = Path(__file__).parent / "data" / "demo-cases.yaml"

PENDING = CaseIn(
    title="五金厂用手机拍照做来料检验",
    enterprise_name="冀北金属制品有限公司",
    province_code="13",
    city="保定",
    industry="C33",
    scenarios=["quality_inspection", "supplier_management"],
    problem="来料检验靠仓管员目测和卡尺，规格书多，新人经常判错。",
    solution="仓管员用手机拍照，来料检验智能体比对规格书给出判定并生成 IQC 记录。",
    effect="试点一个月，来料误判明显减少（待核实数据）。",
)


def load(session: Session) -> None:
    system = Actor.system()
    existing = set(session.scalars(select(Case.title)))
    for item in yaml.safe_load(DATA.read_text(encoding="utf-8"))["cases"]:
        if item["title"] in existing:
            continue
        benchmark = bool(item.pop("benchmark", False))
        item["offering_ids"] = item.pop("offerings", [])
        case = service.submit_case(session, system, CaseIn.model_validate(item))
        service.review_case(session, system, case.id, CaseReviewIn(approve=True, benchmark=benchmark))
    if PENDING.title not in existing:
        user = auth_service.find_user_by_email(session, "metal@demo.smeai.cn")
        author = auth_service.actor_for(user) if user is not None else system
        service.submit_case(session, author, PENDING)
    session.flush()
