"""Case library: collection, review, 标杆, visibility, counts per offering."""

from __future__ import annotations

import json

import pytest

from smeai.auth.actor import Actor
from smeai.cases import service
from smeai.cases.schemas import CaseIn, CaseReviewIn
from smeai.catalog import service as catalog_service
from smeai.errors import Forbidden, Invalid, NotFound
from tests import builders


def _offering(session, ext_id: str = "o-1") -> None:
    line = {
        "id": ext_id,
        "name": "光电缺陷检测",
        "provider": "赣智视觉",
        "kind": "saas",
        "summary": "多模态缺陷检测。",
        "industries": ["C39"],
        "scenarios": ["quality_inspection"],
        "deployment": ["private"],
        "pricing": {"model": "one_off", "entry_price_wan": 30},
        "regions": ["*"],
    }
    catalog_service.import_records(session, Actor.system(), [json.dumps(line, ensure_ascii=False)])


def _case(**overrides) -> CaseIn:
    data = {
        "title": "光电元器件多模态缺陷检测",
        "province_code": "36",
        "industry": "C39",
        "scenarios": ["quality_inspection"],
        "problem": "人工目检漏检率高，新员工培训周期长。",
        "solution": "多模态 AI 缺陷检测，缺陷类别分析、尺寸获取、全流程追踪。",
        "effect": "检测效率大幅提升，岗前培训周期明显缩短。",
    }
    return CaseIn(**(data | overrides))


def test_submitted_case_is_hidden_until_an_operator_publishes_it(session):
    _offering(session)
    author, stranger, op = builders.enterprise(session), builders.enterprise(session), builders.operator(session)
    case = service.submit_case(session, author, _case(offering_ids=["o-1"]))
    session.commit()
    session.expunge_all()
    assert service.get_case(session, author, case.id).providers == ["赣智视觉"]
    with pytest.raises(NotFound):
        service.get_case(session, stranger, case.id)
    with pytest.raises(NotFound):
        service.get_case(session, None, case.id)
    assert service.published_case_counts(session) == {}

    with pytest.raises(Forbidden):
        service.review_case(session, author, case.id, CaseReviewIn(approve=True))
    service.review_case(session, op, case.id, CaseReviewIn(approve=True, benchmark=True))
    session.commit()
    session.expunge_all()
    published = service.get_case(session, None, case.id)
    assert published.is_benchmark
    assert service.published_case_counts(session) == {"o-1": 1}
    offering = catalog_service.find_offering_by_ext_id(session, "o-1")
    assert [c.id for c in service.cases_for_offering(session, offering.id)] == [case.id]


def test_rejection_needs_a_reason_and_unknown_offerings_are_refused(session):
    author, op = builders.provider(session), builders.operator(session)
    with pytest.raises(Invalid):
        service.submit_case(session, author, _case(offering_ids=["nope"]))
    case = service.submit_case(session, author, _case())
    with pytest.raises(Invalid):
        service.review_case(session, op, case.id, CaseReviewIn(approve=False))
    rejected = service.review_case(session, op, case.id, CaseReviewIn(approve=False, comment="效果无数据"))
    assert rejected.status == "rejected" and not rejected.is_benchmark


def test_analyst_cannot_submit_cases(session):
    with pytest.raises(Forbidden):
        service.submit_case(session, builders.analyst(session), _case())
