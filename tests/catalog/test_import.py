"""Interchange import and export (shared/catalog/interchange.md): idempotent on id, line-level errors."""

from __future__ import annotations

import json

import pytest

from smeai.auth.actor import Actor
from smeai.catalog import service
from smeai.catalog.models import Offering
from smeai.errors import Forbidden
from tests import builders
from tests.conftest import SHARED

DEV_POOL = SHARED / "matching" / "dev-pool.jsonl"


def _line(**overrides) -> str:
    record = {
        "id": "t-001",
        "name": "瑕疵眼·外观检测云",
        "provider": "杭州智瞳视觉科技有限公司",
        "kind": "saas",
        "summary": "产线相机拍的图传上来，自动找出划伤、脏污。",
        "industries": ["C33"],
        "scenarios": ["quality_inspection"],
        "deployment": ["saas"],
        "pricing": {"model": "subscription", "entry_price_wan": 8},
        "regions": ["*"],
    }
    record.update(overrides)
    return json.dumps({k: v for k, v in record.items() if v is not None}, ensure_ascii=False)


def test_import_gives_exactly_the_valid_records_and_again_changes_nothing(session):
    lines = [
        _line(),
        _line(id="t-002", kind="robot"),  # bad kind
        "{not json",
        _line(id="t-003", scenarios=["no_such_scenario"]),
        _line(id="t-004", regions=["*", "44"]),
        _line(id="t-005", pricing={"model": "free", "entry_price_wan": 3}),
        _line(id="t-006", min_stage=3, max_stage=1),
        _line(id="t-001", name="重复"),  # duplicate id in the file
        _line(id="t-007", kind="compute", scenarios=[], industries=["K1"], regions=["44", "11"]),
        _line(id="t-008", summary=None),
        _line(id="t-009", colour="red"),
        _line(id="t-010", pricing={"model": "per_call", "entry_price_wan": True}),
        _line(id="t-011", industries=["C99"]),
        _line(id="t-012", description=None)[:-1] + ', "description": null}',  # optional means absent
        _line(id="t-013", regions=["44", "44"], deployment=["saas", "saas"]),  # repeats are not errors
    ]
    report = service.import_records(session, Actor.system(), lines)
    session.commit()
    assert (report.created, report.updated, report.unchanged) == (3, 0, 0)
    by_line = {(p.line, p.field) for p in report.problems}
    assert {(2, "kind"), (3, "-"), (4, "scenarios"), (5, "regions"), (6, "pricing.entry_price_wan")} <= by_line
    assert {(7, "max_stage"), (8, "id"), (10, "summary"), (11, "colour"), (12, "pricing.entry_price_wan")} <= by_line
    assert {(13, "industries"), (14, "description")} <= by_line
    assert {p.line for p in report.problems} == set(range(2, 15)) - {9}

    again = service.import_records(session, Actor.system(), lines)
    session.commit()
    assert (again.created, again.updated, again.unchanged) == (0, 0, 3)
    session.expunge_all()
    assert sorted(r.id for r in service.published_offering_records(session)) == ["t-001", "t-007", "t-013"]
    assert session.query(Offering).count() == 3


def test_import_creates_missing_provider_and_publishes_at_once(session):
    service.import_records(session, Actor.system(), [_line(provider="新服务商有限公司")])
    session.commit()
    session.expunge_all()
    offering = service.find_offering_by_ext_id(session, "t-001")
    assert offering is not None and offering.status == "published"
    assert offering.provider.name == "新服务商有限公司" and offering.provider.kind == "provider"


def test_reimport_with_changes_updates_in_place(session):
    service.import_records(session, Actor.system(), [_line()])
    report = service.import_records(session, Actor.system(), [_line(name="瑕疵眼 2.0")])
    session.commit()
    session.expunge_all()
    assert (report.created, report.updated) == (0, 1)
    assert [r.name for r in service.published_offering_records(session)] == ["瑕疵眼 2.0"]


def test_dev_pool_round_trips_through_export(session):
    lines = DEV_POOL.read_text(encoding="utf-8").splitlines()
    report = service.import_records(session, Actor.system(), lines)
    session.commit()
    assert report.created == 150 and not report.problems
    exported = service.export_records(session, None)
    defaults = {"min_stage": 0, "max_stage": 4, "tags": [], "voucher_eligible": []}
    assert exported == [defaults | json.loads(line) for line in lines]


def test_only_operators_import(session):
    with pytest.raises(Forbidden):
        service.import_records(session, builders.provider(session), [_line()])
    report = service.import_records(session, builders.operator(session), [_line()])
    assert report.created == 1


def test_import_attaches_offerings_to_provider_organisations_only(session):
    from smeai.auth.models import Organisation

    firm = builders.enterprise(session, "精密五金有限公司")
    centre = builders.operator(session)
    centre_name = session.get(Organisation, centre.org_id).name
    vendor = builders.provider(session, "杭州智瞳视觉科技有限公司")
    lines = [
        _line(id="to-firm", provider="精密五金有限公司"),  # an enterprise's name: not a provider
        _line(id="to-centre", provider=centre_name),
        _line(id="to-vendor"),  # the provider of that exact name
        _line(id="look-alike", provider="杭州智瞳视觉科 技有限公司"),
        _line(id="width", provider="ＡＢＣ智能"),
        _line(id="one-char", provider="甲"),
    ]
    builders.provider(session, "ABC智能")
    report = service.import_records(session, Actor.system(), lines)
    session.commit()
    reasons = {p.line: p.reason for p in report.problems if p.field == "provider"}
    assert set(reasons) == {1, 2, 4, 5, 6}, report.problems
    assert "not a provider" in reasons[1] and "not a provider" in reasons[2]
    assert reasons[4].startswith("ambiguous") and "杭州智瞳视觉科技有限公司" in reasons[4]
    assert reasons[5].startswith("ambiguous") and "ABC智能" in reasons[5]
    session.expunge_all()
    assert [o.ext_id for o in session.query(Offering)] == ["to-vendor"]
    assert service.find_offering_by_ext_id(session, "to-vendor").provider_id == vendor.org_id
    assert session.query(Organisation).filter(Organisation.name.in_(["甲", "ＡＢＣ智能"])).count() == 0
    assert firm.org_id not in {o.provider_id for o in session.query(Offering)}
