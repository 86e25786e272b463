"""Interchange import and export (shared/catalog/interchange.md): idempotent on id, line-level errors."""

from __future__ import annotations

import io
import json
import tracemalloc

import pytest

from smeai.auth.actor import Actor
from smeai.catalog import service
from smeai.catalog.models import Offering
from smeai.catalog.schemas import MAX_REPORTED_PROBLEMS
from smeai.errors import Forbidden
from smeai.jsonl import read_lines
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


def _stream(*lines: bytes) -> io.BytesIO:
    return io.BytesIO(b"\n".join(lines) + b"\n")


def test_lines_that_cannot_be_read_are_row_errors_and_the_rest_imports(session):
    good = _line().encode()
    lines = [
        b'{"id": "deep", "tags": ' + b"[" * 20_000 + b"]" * 20_000 + b"}",  # once a 500 (RecursionError)
        b'{"id": "big", "min_stage": ' + b"9" * 5000 + b"}",  # beyond int's 4,300 digits
        b'{"id": "long", "description": "' + "很长".encode() * 20_000 + b'"}',  # 120 KB
        b'{"id": "bytes", "name": "\xff\xfe"}',
        b"[1, 2]",
        b"",
        good,
    ]
    report = service.import_records(session, Actor.system(), read_lines(_stream(*lines)))
    assert report.created == 1 and report.invalid_lines == 6
    codes = {p.line: p.code for p in report.problems}
    assert codes == {
        1: "too_deep",
        2: "invalid_json",
        3: "line_too_long",
        4: "not_utf8",
        5: "not_object",
        6: "blank_line",
    }
    assert all(len(p.reason) <= 300 for p in report.problems)
    assert service.find_offering_by_ext_id(session, "t-001") is not None


def test_a_file_of_broken_lines_gives_a_bounded_report_in_bounded_memory(session):
    noisy = json.dumps({f"x{i}": "很长" * 200 for i in range(39)}, ensure_ascii=False).encode()  # 39 + 10 problems
    wide = json.dumps({f"x{i}": i for i in range(3000)}).encode()  # refused whole
    body = _stream(*([b"{not json", noisy, b"[" * 50, wide] * 300))
    size = len(body.getvalue())
    tracemalloc.start()
    try:
        report = service.import_records(session, Actor.system(), read_lines(body))
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    assert report.invalid_lines == 1200 and report.imported == 0
    assert len(report.problems) == MAX_REPORTED_PROBLEMS
    assert report.problem_count == sum(report.problem_counts.values()) == 300 * (1 + 49 + 1 + 1)
    assert report.problem_counts["invalid_json"] == report.problem_counts["too_deep"] == 300
    assert report.problem_counts["extra_forbidden"] == 300 * 39 and report.problem_counts["too_many_fields"] == 300
    assert [p.line for p in report.problems] == sorted(p.line for p in report.problems)
    assert len(report.model_dump_json()) < size / 50  # once ~60 times the input
    assert peak < 16 * 2**20, peak  # the file is 6 MB; it once took 11.4 GiB for 20 MB


def test_the_api_answers_row_errors_for_any_line(session, client_for):
    api = client_for(builders.operator(session))
    body = b"\n".join([b'{"id": ' + b"[" * 10_000 + b"]" * 10_000 + b"}", b'{"min_stage": ' + b"1" * 5000 + b"}"])
    r = api.post("/api/v1/catalog/import", content=body)
    assert r.status_code == 200, r.text[:300]
    assert [(p["line"], p["code"]) for p in r.json()["problems"]] == [(1, "too_deep"), (2, "invalid_json")]


def test_strict_import_is_all_or_nothing(session, client_for):
    api = client_for(builders.operator(session))
    builders.enterprise(session, "同名企业有限公司")
    session.commit()
    for bad in ('{"id": "x"}', _line(id="t-009", provider="同名企业有限公司")):  # a bad line, a bad provider
        r = api.post("/api/v1/catalog/import", params={"strict": "true"}, content="\n".join([_line(), bad]).encode())
        assert r.status_code == 422 and "line 2" in r.json()["fields"], r.text
        assert api.get("/api/v1/catalog/export").text == ""
    r = api.post("/api/v1/catalog/import", params={"strict": "true"}, content=_line().encode())
    assert r.status_code == 200 and r.json()["created"] == 1
