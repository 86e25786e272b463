"""Every privileged action the domains offer leaves an audit entry naming actor, target and the change."""

from __future__ import annotations

import json

from smeai.auth import audit
from smeai.auth.actor import Actor
from smeai.cases import service as cases_service
from smeai.cases.schemas import CaseIn, CaseReviewIn
from smeai.catalog import service as catalog_service
from smeai.subsidy import service as subsidy_service
from smeai.subsidy.models import Application
from tests import builders
from tests.catalog import builders as cb
from tests.subsidy import builders as sb


def _entries(session, actor: Actor, action: str) -> list[audit.AuditEntry]:
    return audit.list_entries(session, actor, action=action)


def test_offering_review_is_recorded_with_its_decision(session):
    provider, op = builders.provider(session), builders.operator(session)
    offering = cb.published(session, provider, op)
    [entry] = _entries(session, op, "offering.review")
    assert (entry.actor_id, entry.target_type, entry.target_id) == (op.user_id, "offerings", str(offering.id))
    assert entry.org_id == provider.org_id
    assert (entry.before, entry.after) == ({"status": "submitted"}, {"status": "published"})


def test_case_review_is_recorded(session):
    line = {"id": "o-1", "name": "光电缺陷检测", "provider": "赣智视觉", "kind": "saas", "summary": "多模态缺陷检测。"}
    line |= {"industries": ["C39"], "scenarios": ["quality_inspection"], "deployment": ["private"], "regions": ["*"]}
    line |= {"pricing": {"model": "one_off", "entry_price_wan": 30}}
    catalog_service.import_records(session, Actor.system(), [json.dumps(line, ensure_ascii=False)])
    author, op = builders.enterprise(session), builders.operator(session)
    case = cases_service.submit_case(
        session,
        author,
        CaseIn(
            title="光电元器件多模态缺陷检测",
            province_code="36",
            industry="C39",
            scenarios=["quality_inspection"],
            problem="人工目检漏检率高，新员工培训周期长。",
            solution="多模态 AI 缺陷检测，缺陷类别分析、尺寸获取、全流程追踪。",
            effect="检测效率大幅提升，岗前培训周期明显缩短。",
            offering_ids=["o-1"],
        ),
    )
    cases_service.review_case(session, op, case.id, CaseReviewIn(approve=False, comment="数据不全"))
    [entry] = _entries(session, op, "case.review")
    assert (entry.target_id, entry.org_id, entry.after["status"]) == (str(case.id), author.org_id, "rejected")


def test_voucher_decisions_redemption_and_budget_are_recorded(session):
    ent, op = sb.beijing_enterprise(session), builders.operator(session)
    subsidy_service.set_pool_budget(session, op, "beijing-compute", 500 * sb.WAN)
    app = sb.apply(session, ent, 100 * sb.WAN)
    subsidy_service.approve_application(session, op, app.id, today=sb.TODAY)
    sb.redeem_documents(session, ent, app.id)
    subsidy_service.submit_redemption(session, ent, app.id, today=sb.TODAY)
    subsidy_service.verify_redemption(session, op, app.id)
    [budget] = _entries(session, op, "pool.budget")
    assert budget.after == {"budget_fen": 500 * sb.WAN} and budget.actor_id == op.user_id
    [approve] = _entries(session, op, "voucher.approve")
    assert (approve.target_type, approve.target_id, approve.org_id) == ("subsidy_applications", str(app.id), ent.org_id)
    assert approve.before == {"state": "submitted"}
    assert approve.after["state"] == "approved" and approve.after["approved_fen"] == 20 * sb.WAN
    [redeem] = _entries(session, op, "voucher.redeem")
    assert redeem.actor_id == ent.user_id
    [verify] = _entries(session, op, "voucher.verify")
    assert verify.after == {"state": "paid", "paid_fen": 20 * sb.WAN}
    history = audit.list_entries(session, op, target_type="subsidy_applications", target_id=str(app.id))
    assert [e.action for e in history] == ["voucher.verify", "voucher.redeem", "voucher.approve"]
    assert session.get(Application, app.id) is not None


def test_a_signed_in_catalog_export_is_recorded(session):
    op = builders.operator(session)
    lines = catalog_service.export_lines(session, op)
    [entry] = _entries(session, op, "catalog.export")
    assert entry.after == {"offerings": len(lines)}


def test_catalog_imports_are_recorded(session):
    op = builders.operator(session)
    cb.imported(session, cb.record())
    [entry] = _entries(session, op, "catalog.import")
    assert entry.actor_id is None and entry.after == {"created": 1, "updated": 0, "problems": 0}
    catalog_service.import_records(session, op, [cb.record(), "not json"])
    latest = _entries(session, op, "catalog.import")[0]
    assert latest.actor_id == op.user_id and latest.after["problems"] == 1


def test_an_operator_writing_for_an_enterprise_and_introducing_it_is_recorded(session):
    from smeai.matching import engagements
    from smeai.matching import service as matching_service
    from smeai.matching.schemas import NeedIn
    from tests.matching import builders as mb

    op, ent = builders.operator(session), builders.enterprise(session, profile={})
    offering = mb.offering(session, "测试服务商乙")
    need = matching_service.create_need(
        session, op, NeedIn(title="质检", text="想用视觉检测替代人工目检", org_id=ent.org_id)
    )
    engagement = engagements.introduce(session, op, need.id, offering.id)
    [written] = _entries(session, op, "need.create")
    assert (written.actor_id, written.on_behalf_of, written.org_id) == (op.user_id, None, ent.org_id)
    [introduced] = _entries(session, op, "engagement.introduce")
    assert (introduced.target_id, introduced.org_id) == (str(engagement.id), ent.org_id)
    own = builders.enterprise(session, profile={})
    matching_service.create_need(session, own, NeedIn(title="排产", text="想用 AI 做排产优化"))
    assert len(_entries(session, op, "need.create")) == 1  # an enterprise's own need is not a privileged action


def test_a_survey_import_is_recorded(session):
    from smeai.survey import service as survey_service
    from tests.survey import handmade

    analyst, op = builders.analyst(session), builders.operator(session)
    out = survey_service.import_file(session, analyst, "2025", handmade.csv_text().encode(), filename="s.csv")
    [entry] = _entries(session, op, "survey.import")
    assert (entry.actor_id, entry.target_type, entry.target_id) == (
        analyst.user_id,
        "survey_imports",
        str(out.record.id),
    )
    assert entry.after == {"wave": "2025", "inserted": 8, "rejected": 20}
