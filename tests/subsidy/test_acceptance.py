"""改造后补贴 (相城区智能化改造项目补助): the enterprise applies with the finished project's evidence; the centre
records 验收 (measurements, reviewers, conclusion, site visit); a passed acceptance reserves the award and the
centre pays it, through the same ledger and the same no-overspend guarantees as any voucher."""

from __future__ import annotations

import threading
from datetime import date, timedelta

import pytest
from sqlalchemy import select

from smeai.auth.actor import Actor
from smeai.db import get_sessionmaker
from smeai.errors import Forbidden, Invalid, NotFound, SmeaiError
from smeai.subsidy import acceptance, ledger, service
from smeai.subsidy.models import ClaimLock, Pool
from smeai.subsidy.programmes import DocKind, all_programmes
from smeai.subsidy.schemas import AcceptanceIn, ApplicationIn, ApplicationState, MeasurementIn
from tests import builders
from tests.subsidy.builders import upload

WAN = 1_000_000
TODAY = date(2026, 6, 1)
CODE = "xiangcheng-retrofit"
SUZHOU = {"industry_section": "C", "mfg_division": "34", "province_code": "32", "city": "苏州", "size_class": "medium"}


def suzhou_enterprise(session, name: str | None = None) -> Actor:
    return builders.enterprise(session, name, profile=SUZHOU)


def apply(session, ent: Actor, contract_fen: int = 400 * WAN, *, evidence: bool = True, no: str | None = None):
    app = service.submit_application(
        session,
        ent,
        ApplicationIn(
            programme_code=CODE,
            description="冲压车间智能化改造",
            kind="appliance",
            supplier_name="苏州智造系统集成有限公司",
            contract_no=no or f"SX-{ent.org_id}-{contract_fen}",
            contract_fen=contract_fen,
            signed_on=TODAY - timedelta(days=200),
            paid_on=TODAY - timedelta(days=20),
        ),
        today=TODAY,
    )
    if evidence:
        for kind in all_programmes()[CODE].documents.apply:
            upload(session, ent, app.id, DocKind(kind))
    return app


def passed(**over: object) -> AcceptanceIn:
    data = {
        "passed": True,
        "conclusion": "按备案内容建成投产，同意验收。",
        "reviewers": ["张工", "刘教授"],
        "measurements": [MeasurementIn(name="不良率", unit="%", before="2.8", after="0.9")],
        "site_visit_on": TODAY - timedelta(days=3),
    }
    return AcceptanceIn.model_validate(data | over)


def pool(session) -> Pool:
    session.expire_all()
    return session.scalar(select(Pool).where(Pool.programme_code == CODE))


def test_a_passed_acceptance_reserves_the_award_and_the_centre_pays_it(session):
    ent, op = suzhou_enterprise(session), builders.operator(session)
    service.set_pool_budget(session, op, CODE, 1000 * WAN)
    app = apply(session, ent)
    assert app.requested_fen == 40 * WAN  # 10 % of 400 万元
    with pytest.raises(service.AcceptancePending):  # no reservation before 验收
        service.approve_application(session, op, app.id, today=TODAY)
    acceptance.record_acceptance(session, op, app.id, passed(), today=TODAY)
    assert (app.state, app.approved_fen) == (ApplicationState.APPROVED, 40 * WAN)
    assert (pool(session).reserved_fen, pool(session).paid_fen) == (40 * WAN, 0)
    with pytest.raises(service.WrongState):  # the evidence came with the application: no redemption step
        service.submit_redemption(session, ent, app.id, today=TODAY)
    acceptance.pay_award(session, op, app.id)
    assert (app.state, app.paid_fen) == (ApplicationState.PAID, 40 * WAN)
    assert (pool(session).reserved_fen, pool(session).paid_fen) == (0, 40 * WAN)
    record = acceptance.find_acceptance(session, ent, app.id)  # the enterprise sees its acceptance
    assert record is not None and record.passed and record.measurements[0]["after"] == "0.9"
    assert service.audit(session, op).ok


def test_the_programme_requires_a_site_visit_date_and_the_evidence(session):
    ent, op = suzhou_enterprise(session), builders.operator(session)
    app = apply(session, ent)
    with pytest.raises(Invalid) as exc:
        acceptance.record_acceptance(session, op, app.id, passed(site_visit_on=None), today=TODAY)
    assert "site_visit_on" in exc.value.fields
    with pytest.raises(Invalid):  # a visit not yet made
        acceptance.record_acceptance(session, op, app.id, passed(site_visit_on=TODAY + timedelta(days=1)), today=TODAY)
    bare = apply(session, suzhou_enterprise(session), evidence=False)
    with pytest.raises(service.MissingDocuments):  # contract, invoice, payment, delivery of the finished project
        acceptance.record_acceptance(session, op, bare.id, passed(), today=TODAY)


def test_a_failed_acceptance_rejects_the_claim_and_holds_nothing(session):
    ent, op = suzhou_enterprise(session), builders.operator(session)
    app = apply(session, ent)
    acceptance.record_acceptance(session, op, app.id, passed(passed=False, conclusion="设备为二手设备。"), today=TODAY)
    assert app.state == ApplicationState.REJECTED and app.decision_note == "设备为二手设备。"
    assert session.scalar(select(ClaimLock).where(ClaimLock.application_id == app.id)) is None
    assert service.audit(session, op).ok


def test_only_the_centre_records_acceptance_and_only_the_owner_sees_it(session):
    ent, other, op = suzhou_enterprise(session), suzhou_enterprise(session), builders.operator(session)
    app = apply(session, ent)
    with pytest.raises(Forbidden):
        acceptance.record_acceptance(session, ent, app.id, passed(), today=TODAY)
    with pytest.raises(NotFound):
        acceptance.find_acceptance(session, other, app.id)
    with pytest.raises(NotFound):
        acceptance.record_acceptance(session, builders.provider(session), app.id, passed(), today=TODAY)
    acceptance.record_acceptance(session, op, app.id, passed(), today=TODAY)
    with pytest.raises(service.WrongState):  # recorded once
        acceptance.record_acceptance(session, op, app.id, passed(), today=TODAY)


def test_a_voucher_programme_has_no_acceptance_step(session):
    from tests.subsidy import builders as sb

    ent, op = sb.beijing_enterprise(session), builders.operator(session)
    app = sb.apply(session, ent, 100 * WAN)
    with pytest.raises(service.WrongState):
        acceptance.record_acceptance(session, op, app.id, passed(), today=TODAY)


@pytest.mark.parametrize("workers", [6])
def test_concurrent_acceptances_never_overspend_the_pool(session, db_url, workers):
    """Six accepted projects of 40 万元 each race for a pool of 100 万元: two are reserved (and paid), the
    others are refused whole (acceptance record included), on SQLite and PostgreSQL alike."""
    op = builders.operator(session)
    service.set_pool_budget(session, op, CODE, 100 * WAN)
    apps = [apply(session, suzhou_enterprise(session)).id for _ in range(workers)]
    session.commit()
    barrier = threading.Barrier(workers)
    outcomes: list[str] = []

    def accept(app_id: int) -> None:
        s = get_sessionmaker(db_url)()
        try:
            barrier.wait(timeout=30)
            acceptance.record_acceptance(s, op, app_id, passed(), today=TODAY)
            acceptance.pay_award(s, op, app_id)
            s.commit()
            outcomes.append("paid")
        except SmeaiError as exc:
            s.rollback()
            outcomes.append(getattr(exc, "code", "error"))
        finally:
            s.close()

    threads = [threading.Thread(target=accept, args=(i,)) for i in apps]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=120)
    assert sorted(outcomes) == sorted(["paid", "paid"] + [ledger.BudgetExhausted.code] * (workers - 2))
    p = pool(session)
    assert (p.reserved_fen, p.paid_fen, p.budget_fen) == (0, 80 * WAN, 100 * WAN)
    refused = [a for a in apps if acceptance.find_acceptance(session, op, a) is None]
    assert len(refused) == workers - 2  # a refused award leaves no acceptance behind: it may be recorded again
    assert service.audit(session, op).ok
