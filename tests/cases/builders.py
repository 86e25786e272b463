"""A published case that used some offerings, for tests of the pages that show cases."""

from __future__ import annotations

from sqlalchemy.orm import Session

from smeai.auth.actor import Actor
from smeai.cases import service
from smeai.cases.models import Case
from smeai.cases.schemas import CaseIn, CaseReviewIn


def published(session: Session, author: Actor, reviewer: Actor, offering_ids: list[str], **overrides) -> Case:
    data = {
        "title": "零部件外观检测",
        "province_code": "33",
        "industry": "C36",
        "scenarios": ["quality_inspection"],
        "problem": "人工目检漏检率高。",
        "solution": "视觉检测工位。",
        "effect": "漏检明显减少。",
        "offering_ids": offering_ids,
    }
    case = service.submit_case(session, author, CaseIn(**(data | overrides)))
    return service.review_case(session, reviewer, case.id, CaseReviewIn(approve=True))
