from __future__ import annotations

import os
from datetime import date, timedelta
from pathlib import Path

import pytest
from sqlalchemy import select, update

from smeai.errors import Conflict, Forbidden, Invalid, NotFound
from smeai.storage import LocalStorage
from smeai.subsidy import documents, ledger, programmes, service
from smeai.subsidy.models import ClaimLock, LedgerEntry, Pool
from smeai.subsidy.programmes import DocKind
from smeai.subsidy.schemas import ApplicationState, PurchaseIn
from tests import builders
from tests.subsidy import builders as sb
from tests.subsidy.builders import TODAY, WAN

S = ApplicationState


def pool(session, code: str = "beijing-compute") -> Pool:
    session.expire_all()
    return session.scalar(select(Pool).where(Pool.programme_code == code))


def audit_ok(session) -> None:
    report = service.audit(session, builders.admin(session))
    assert report.ok, report.problems


def test_full_flow_apply_approve_redeem_verify(session):
    ent, op = sb.beijing_enterprise(session), builders.operator(session)
    app = sb.apply(session, ent, 100 * WAN)
    assert app.state == S.SUBMITTED and app.requested_fen == 20 * WAN
    assert [r["rule"] for r in app.explanation][-2:] == ["rate", "gross"]
    service.approve_application(session, op, app.id, today=TODAY)
    assert (app.state, app.approved_fen) == (S.APPROVED, 20 * WAN)
    assert pool(session).reserved_fen == 20 * WAN
    with pytest.raises(service.MissingDocuments) as missing:
        service.submit_redemption(session, ent, app.id, today=TODAY)
    assert set(missing.value.fields) == {"invoice", "delivery"}  # 北京: 凭发票和智能算力交付凭证申请兑付
    sb.redeem_documents(session, ent, app.id)
    service.submit_redemption(session, ent, app.id, today=TODAY)
    service.verify_redemption(session, op, app.id)
    p = pool(session)
    assert (p.reserved_fen, p.paid_fen) == (0, 20 * WAN)
    kinds = [e.kind for e in service.ledger_entries(session, op, application_id=app.id)]
    assert kinds == ["reserve", "payout"]
    audit_ok(session)


def test_ineligible_application_is_refused_naming_every_failed_rule(session):
    hebei = builders.enterprise(session, profile={"province_code": "13", "city": "邢台"})
    with pytest.raises(service.NotEligible) as caught:
        service.submit_application(session, hebei, sb.compute_purchase(supplier_affiliated=True), today=TODAY)
    assert {"region", "not_affiliated"} <= set(caught.value.fields)


def test_one_claim_per_contract_until_the_first_is_rejected(session):
    ent, op = sb.beijing_enterprise(session), builders.operator(session)
    first = sb.apply(session, ent, contract_no="BJ-2025-001")
    with pytest.raises(service.AlreadyClaimed):
        sb.apply(session, ent, contract_no=" bj 2025 001 ")  # the same contract, spelt differently
    service.reject_application(session, op, first.id, reasons="合同金额与发票不符")
    assert sb.apply(session, ent, contract_no="BJ-2025-001").state == S.SUBMITTED
    audit_ok(session)


def test_per_enterprise_year_cap_holds_across_applications(session):
    ent, op = sb.beijing_enterprise(session), builders.operator(session)
    a = sb.apply(session, ent, 600 * WAN)  # 120 万 each, computed before either is approved
    b = sb.apply(session, ent, 600 * WAN)
    service.approve_application(session, op, a.id, today=TODAY)
    with pytest.raises(ledger.CapReached), session.begin_nested():
        service.approve_application(session, op, b.id, today=TODAY)
    service.approve_application(session, op, b.id, amount_fen=80 * WAN, today=TODAY)  # what is left of 200 万
    audit_ok(session)


def test_an_application_with_nothing_left_under_the_cap_is_refused(session):
    ent, op = sb.beijing_enterprise(session), builders.operator(session)
    service.approve_application(session, op, sb.apply(session, ent, 1000 * WAN).id, today=TODAY)  # 200 万
    with pytest.raises(ledger.CapReached):
        sb.apply(session, ent, 100 * WAN)


def test_pool_budget_is_never_exceeded(session):
    ent, op = sb.beijing_enterprise(session), builders.operator(session)
    service.set_pool_budget(session, op, "beijing-compute", 30 * WAN)
    a, b = sb.apply(session, ent, 100 * WAN), sb.apply(session, ent, 100 * WAN)
    service.approve_application(session, op, a.id, today=TODAY)
    with pytest.raises(ledger.BudgetExhausted), session.begin_nested():
        service.approve_application(session, op, b.id, today=TODAY)
    assert pool(session).reserved_fen == 20 * WAN
    with pytest.raises(Conflict), session.begin_nested():  # below reserved + paid
        service.set_pool_budget(session, op, "beijing-compute", 10 * WAN)
    audit_ok(session)


def test_two_operators_cannot_both_approve(session):
    ent, op1, op2 = sb.beijing_enterprise(session), builders.operator(session), builders.operator(session)
    app = sb.apply(session, ent)
    service.approve_application(session, op1, app.id, today=TODAY)
    with pytest.raises(service.WrongState):
        service.approve_application(session, op2, app.id, today=TODAY)
    assert pool(session).reserved_fen == 20 * WAN


def test_withdrawal_releases_the_reservation_and_the_contract(session):
    ent, op = sb.beijing_enterprise(session), builders.operator(session)
    app = sb.apply(session, ent, contract_no="W-1")
    service.approve_application(session, op, app.id, today=TODAY)
    service.withdraw_application(session, ent, app.id)
    assert pool(session).reserved_fen == 0
    assert session.scalars(select(ClaimLock).where(ClaimLock.application_id == app.id)).all() == []
    sb.apply(session, ent, contract_no="W-1")
    audit_ok(session)


def test_unredeemed_approvals_expire_and_release(session):
    ent, op = sb.beijing_enterprise(session), builders.operator(session)
    app = sb.apply(session, ent)
    service.approve_application(session, op, app.id, today=TODAY)
    assert service.expire_applications(session, op, today=TODAY + timedelta(days=180)) == []
    assert [a.id for a in service.expire_applications(session, op, today=TODAY + timedelta(days=181))] == [app.id]
    assert app.state == S.EXPIRED and pool(session).reserved_fen == 0
    audit_ok(session)


def test_verified_for_less_pays_that_and_releases_the_rest(session):
    ent, op = sb.beijing_enterprise(session), builders.operator(session)
    app = sb.apply(session, ent)
    service.approve_application(session, op, app.id, today=TODAY)
    sb.redeem_documents(session, ent, app.id)
    service.submit_redemption(session, ent, app.id, today=TODAY)
    service.return_redemption(session, op, app.id, reasons="发票抬头不符")
    sb.upload(session, ent, app.id, DocKind.INVOICE)
    service.submit_redemption(session, ent, app.id, today=TODAY)
    with pytest.raises(Invalid):
        service.verify_redemption(session, op, app.id, paid_fen=21 * WAN)
    service.verify_redemption(session, op, app.id, paid_fen=15 * WAN)
    p = pool(session)
    assert (p.reserved_fen, p.paid_fen) == (0, 15 * WAN)
    audit_ok(session)


def test_approval_needs_the_signed_contract_uploaded(session):
    ent, op = sb.beijing_enterprise(session), builders.operator(session)
    app = sb.apply(session, ent, contract=False)
    with pytest.raises(service.MissingDocuments):
        service.approve_application(session, op, app.id, today=TODAY)


# --- who may do what ---


def test_another_enterprise_and_providers_see_nothing(session):
    a, b, prov = sb.beijing_enterprise(session), sb.beijing_enterprise(session), builders.provider(session)
    app = sb.apply(session, a)
    session.commit()
    session.expunge_all()
    for outsider in (b, prov):
        with pytest.raises(NotFound):
            service.get_application(session, outsider, app.id)
        with pytest.raises(NotFound):
            service.approve_application(session, outsider, app.id, today=TODAY)
        with pytest.raises(NotFound):
            service.withdraw_application(session, outsider, app.id)
        assert service.list_applications(session, outsider) == []


def test_providers_never_apply_and_enterprises_never_decide(session):
    ent, prov = sb.beijing_enterprise(session), builders.provider(session)
    with pytest.raises(Forbidden):
        service.submit_application(session, prov, sb.compute_purchase(), today=TODAY)
    app = sb.apply(session, ent)
    with pytest.raises(Forbidden):
        service.approve_application(session, ent, app.id, today=TODAY)
    with pytest.raises(Forbidden):
        service.set_pool_budget(session, ent, "beijing-compute", 1)
    with pytest.raises(Forbidden):
        service.audit(session, ent)


# --- the ledger ---


def test_the_ledger_is_append_only(session):
    ent, op = sb.beijing_enterprise(session), builders.operator(session)
    service.approve_application(session, op, sb.apply(session, ent).id, today=TODAY)
    entry = session.scalars(select(LedgerEntry)).first()
    entry.amount_fen = 1
    with pytest.raises(RuntimeError):
        session.flush()
    session.rollback()


def test_audit_finds_a_tampered_pool(session):
    ent, op = sb.beijing_enterprise(session), builders.operator(session)
    service.approve_application(session, op, sb.apply(session, ent).id, today=TODAY)
    session.execute(update(Pool).values(reserved_fen=Pool.reserved_fen + 5))
    problems = service.audit(session, op).problems
    assert any("beijing-compute" in p and "reserved" in p for p in problems)


# --- the calculator ---


def test_calculator_for_an_enterprise_and_a_free_text_purchase(session):
    ent = sb.beijing_enterprise(session)
    purchase = PurchaseIn(
        description="GPU 租用",
        kind="compute",
        supplier_name="京算科技",
        contract_fen=1500 * WAN,
        signed_on=TODAY,
        starts_on=TODAY,
        ends_on=TODAY + timedelta(days=300),
    )
    quote = service.calculate(session, ent, purchase, today=TODAY)
    assert quote.best == ["beijing-compute"]
    assert (quote.total_fen, quote.net_fen) == (200 * WAN, 1300 * WAN)
    beijing = next(q for q in quote.programmes if q.code == "beijing-compute")
    assert "cap_org_year" in [r.rule for r in beijing.reasons]
    assert not next(q for q in quote.programmes if q.code == "wuhan-compute").eligible


def test_calculator_counts_what_the_enterprise_already_holds_this_year(session):
    ent, op = sb.beijing_enterprise(session), builders.operator(session)
    service.approve_application(session, op, sb.apply(session, ent, 750 * WAN).id, today=TODAY)  # 150 万
    purchase = PurchaseIn(
        description="GPU",
        kind="compute",
        contract_fen=500 * WAN,
        signed_on=TODAY,
        starts_on=TODAY,
        ends_on=TODAY + timedelta(days=300),
    )
    assert service.calculate(session, ent, purchase, today=TODAY).total_fen == 50 * WAN


def test_an_operators_own_programme_file_stacks_against_the_shipped_one(session, tmp_path, monkeypatch):
    folder = tmp_path / "subsidy" / "programmes"
    folder.mkdir(parents=True)
    (folder / "haidian.yaml").write_text(
        sb.sourced(
            "code: haidian-compute\nname: {zh: 海淀区算力补贴}\nissuer: {zh: 海淀区}\nvoucher: innovation\n"
            "region: {provinces: ['11']}\neligibility: {kinds: [compute]}\nrate: 10%\n"
            "exclusivity: {no_stacking_with: [beijing-compute]}\n"
        ),
        encoding="utf-8",
    )
    monkeypatch.setattr(programmes, "operator_store", lambda: LocalStorage(tmp_path))
    ent = sb.beijing_enterprise(session)
    purchase = PurchaseIn(
        description="GPU",
        kind="compute",
        contract_fen=100 * WAN,
        signed_on=TODAY,
        starts_on=TODAY,
        ends_on=TODAY + timedelta(days=300),
    )
    quote = service.calculate(session, ent, purchase, today=TODAY)
    assert {q.code for q in quote.programmes if q.eligible} == {"beijing-compute", "haidian-compute"}
    assert quote.best == ["beijing-compute"] and quote.total_fen == 20 * WAN
    sb.apply(session, ent, contract_no="HD-1")
    with pytest.raises(service.AlreadyClaimed):
        sb.apply(session, ent, contract_no="HD-1", programme_code="haidian-compute")


# --- uploads ---


def test_uploads_are_checked_by_content_size_and_name(session, tmp_path):
    ent = sb.beijing_enterprise(session)
    app = sb.apply(session, ent, contract=False)
    store = LocalStorage(tmp_path)

    def add(data: bytes, name: str, max_bytes: int = 1000):
        return documents.add_document(
            session, ent, app.id, kind=DocKind.CONTRACT, filename=name, data=data, store=store, max_bytes=max_bytes
        )

    for data, name in (
        (b"MZ\x90\0 not a pdf", "合同.pdf"),
        (sb.PDF, "合同.png"),
        (sb.PDF * 100, "合同.pdf"),
        (b"", "a.pdf"),
        (b"#!/bin/sh\nrm -rf /", "run.sh"),
    ):
        with pytest.raises(Invalid):
            add(data, name)
    doc = add(sb.PDF, "../../etc/合同 (签字版).pdf")
    assert doc.filename == "合同 (签字版).pdf"
    stored = tmp_path / doc.stored_name
    assert stored.read_bytes() == sb.PDF and stored.suffix == ".pdf"
    assert not os.access(stored, os.X_OK) and stored.stat().st_mode & 0o111 == 0
    assert Path(doc.stored_name).parts[:3] == ("uploads", "subsidy", str(app.id))
    other = sb.beijing_enterprise(session)
    with pytest.raises(NotFound):
        documents.read_document(session, other, app.id, doc.id, store)


# --- a purchase from the resource pool ---


def test_an_offering_from_the_resource_pool_fills_kind_supplier_and_description(session):
    from tests.catalog import builders as catalog_builders

    prov, op = builders.provider(session, "武汉智算服务有限公司"), builders.operator(session)
    ent = sb.wuhan_enterprise(session)
    offering = catalog_builders.published(
        session, prov, op, name="昇腾训练算力包", kind="compute", scenarios=[], deployment=["api"]
    )
    purchase = PurchaseIn(offering_id=offering.id, contract_fen=30 * WAN)
    quote = service.calculate(session, ent, purchase)
    assert quote.best == ["wuhan-compute"] and quote.total_fen == 15 * WAN
    app = service.submit_application(
        session,
        ent,
        sb.compute_purchase(
            30 * WAN,
            programme_code="wuhan-compute",
            offering_id=offering.id,
            description=None,
            kind=None,
            supplier_name=None,
            signed_on=None,
            starts_on=None,
            ends_on=None,
        ),
    )
    assert (app.kind, app.description, app.supplier_name) == ("compute", "昇腾训练算力包", "武汉智算服务有限公司")


def test_a_free_text_purchase_needs_a_description():
    with pytest.raises(ValueError):
        PurchaseIn(contract_fen=100)


def wuhan_claim(session, ent, contract_fen: int, applied_on: date, **over):
    """A Wuhan claim made on APPLIED_ON (the server's date at submission), its contract uploaded."""
    data = {"programme_code": "wuhan-compute", "signed_on": None, "starts_on": None, "ends_on": None} | over
    app = service.submit_application(session, ent, sb.compute_purchase(contract_fen, **data), today=applied_on)
    sb.upload(session, ent, app.id, DocKind.CONTRACT)
    return app


def test_an_annual_pool_is_a_fresh_pool_each_budget_year(session):
    ent, op = sb.wuhan_enterprise(session), builders.operator(session)
    service.set_pool_budget(session, op, "wuhan-compute", 10 * WAN, year=2025)  # 2025's pool nearly gone
    service.set_pool_budget(session, op, "wuhan-compute", 1000 * WAN, year=2026)
    old = wuhan_claim(session, ent, 30 * WAN, date(2025, 12, 30))
    new = wuhan_claim(session, ent, 30 * WAN, date(2026, 1, 2), signed_on=date(2025, 12, 1))
    assert (old.budget_year, new.budget_year) == (2025, 2026)  # the year of the claim, not of the signing
    with pytest.raises(ledger.BudgetExhausted), session.begin_nested():
        service.approve_application(session, op, old.id, today=TODAY)
    service.approve_application(session, op, new.id, today=TODAY)
    assert pool(session, "wuhan-compute@2026").reserved_fen == 15 * WAN
    assert pool(session, "wuhan-compute@2025").reserved_fen == 0
    audit_ok(session)


def test_the_database_refuses_to_change_a_ledger_row(session, backend):
    from sqlalchemy import text
    from sqlalchemy.exc import DBAPIError

    ent, op = sb.beijing_enterprise(session), builders.operator(session)
    service.approve_application(session, op, sb.apply(session, ent).id, today=TODAY)
    session.commit()
    statements = ["UPDATE subsidy_ledger_entries SET amount_fen = 1"]
    if backend == "postgresql":
        statements.append("DELETE FROM subsidy_ledger_entries")
    for sql in statements:
        with pytest.raises(DBAPIError, match="append-only"):
            session.execute(text(sql))
        session.rollback()
    assert [e.amount_fen for e in service.ledger_entries(session, op)] == [20 * WAN]
