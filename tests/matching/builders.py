"""Matching's test data, made through the catalog's and matching's own services."""

from __future__ import annotations

import json

from sqlalchemy.orm import Session

from smeai.auth.actor import Actor
from smeai.catalog import service as catalog_service
from smeai.catalog.models import Offering
from tests.conftest import SHARED

DEV = SHARED / "matching"


def dev_lines() -> list[str]:
    return (DEV / "dev-pool.jsonl").read_text(encoding="utf-8").splitlines()


def dev_needs() -> list[dict]:
    return [json.loads(line) for line in (DEV / "dev-needs.jsonl").read_text(encoding="utf-8").splitlines()]


def offering(session: Session, provider_name: str, **overrides) -> Offering:
    """One published offering of the named provider organisation (imported, as an operator would)."""
    record = {
        "id": overrides.pop("id", f"t-{provider_name}"),
        "name": "瑕疵眼·外观缺陷检测云",
        "provider": provider_name,
        "kind": "saas",
        "summary": "产线相机拍的图传上来，自动找出划伤、脏污、缺料等外观缺陷。",
        "industries": ["C"],
        "scenarios": ["quality_inspection"],
        "deployment": ["saas"],
        "pricing": {"model": "subscription", "entry_price_wan": 8},
        "regions": ["*"],
    } | overrides
    report = catalog_service.import_records(session, Actor.system(), [json.dumps(record, ensure_ascii=False)])
    assert not report.problems, report.problems
    found = catalog_service.find_offering_by_ext_id(session, record["id"])
    assert found is not None
    return found
