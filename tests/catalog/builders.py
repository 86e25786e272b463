"""Offerings made through the catalog service (a provider's listing, an operator's import)."""

from __future__ import annotations

import itertools
import json

from sqlalchemy.orm import Session

from smeai.auth.actor import Actor
from smeai.catalog import service
from smeai.catalog.models import Offering
from smeai.catalog.schemas import OfferingFields, ReviewIn

_n = itertools.count(1)


# The listing form as a provider fills it in (page tests send it with their CSRF token and changes).
LISTING_FORM = {
    "name": "小批量排单助手",
    "kind": "agent",
    "summary": "按交期和机台自动排单。",
    "industries": ["C"],
    "scenarios": ["production_scheduling"],
    "deployment": ["saas"],
    "regions": ["*"],
    "pricing_model": "subscription",
    "entry_price_wan": "2",
}


def fields(**overrides) -> OfferingFields:
    data = {
        "name": "布面瑕疵在线检测",
        "kind": "appliance",
        "summary": "装在验布机上，自动找出断经、破洞和油污。",
        "industries": ["L5"],
        "scenarios": ["quality_inspection"],
        "deployment": ["appliance"],
        "pricing": {"model": "one_off", "entry_price_wan": 16},
        "regions": ["*"],
    }
    return OfferingFields.model_validate(data | overrides)


def record(**overrides) -> str:
    data = fields().model_dump(mode="json", exclude_none=True) | {"id": f"b-{next(_n):04d}", "provider": "测试服务商甲"}
    data |= overrides
    return json.dumps(data, ensure_ascii=False)


def listed(session: Session, provider: Actor, **overrides) -> Offering:
    return service.create_offering(session, provider, fields(**overrides))


def published(session: Session, provider: Actor, reviewer: Actor, **overrides) -> Offering:
    offering = listed(session, provider, **overrides)
    service.submit_offering(session, provider, offering.id)
    return service.review_offering(session, reviewer, offering.id, approve())


def approve() -> ReviewIn:
    return ReviewIn(approve=True, checklist=dict.fromkeys(service.CHECKLIST, True))


def imported(session: Session, *lines: str) -> None:
    report = service.import_records(session, Actor.system(), list(lines))
    assert not report.problems, report.problems
