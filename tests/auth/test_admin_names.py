"""The audit log and the user list name things as people read them: a target by its title, never `#12`;
a changed field by its label; an account named after its role in the reader's language."""

from __future__ import annotations

from smeai.auth import admin
from smeai.auth.permissions import Role
from smeai.cases import service as cases
from smeai.cases.schemas import CaseIn, CaseReviewIn
from smeai.survey import service as survey
from tests import builders
from tests.screens import problems_on


def _case(session, author):
    data = CaseIn(
        title="光电元器件多模态缺陷检测",
        province_code="36",
        industry="C39",
        scenarios=["quality_inspection"],
        problem="人工目检漏检率高，新员工培训周期长。",
        solution="多模态 AI 缺陷检测，缺陷类别分析、尺寸获取、全流程追踪。",
        effect="检测效率大幅提升，岗前培训周期明显缩短。",
    )
    return cases.submit_case(session, author, data)


def test_audit_log_names_its_targets_and_fields(session, page_client_for):
    adm, op, author = builders.admin(session), builders.operator(session), builders.enterprise(session)
    case = _case(session, author)
    cases.review_case(session, op, case.id, CaseReviewIn(approve=True, benchmark=True))
    cases.set_benchmark(session, op, case.id, False)
    gone = _case(session, author)
    cases.delete_case(session, op, gone.id)
    session.commit()
    client = page_client_for(adm)
    for lang, kind in (("zh_Hans", "案例"), ("en", "Case")):
        page = client.get(f"/admin/audit?lang={lang}").text
        assert f"{kind} 光电元器件多模态缺陷检测" in page
        assert f"#{case.id}<" not in page and f"#{gone.id}<" not in page
        assert problems_on(page, lang=lang) == [], lang
    assert "标杆案例</span>：" in client.get("/admin/audit?lang=zh_Hans").text  # the field's label, a full-width colon


def test_audit_log_names_a_wave(session, page_client_for):
    adm, analyst = builders.admin(session), builders.analyst(session)
    wave = survey.create_wave(session, analyst, "2026", name="2026 年春季调查")
    from smeai.auth import audit

    audit.record(session, analyst, "survey.import", wave, after={"inserted": 3})
    session.commit()
    page = page_client_for(adm).get("/admin/audit?lang=en").text
    assert "Survey wave 2026 年春季调查" in page and "Rows added" in page


def test_an_account_named_after_its_role_reads_in_the_readers_language(session, page_client_for):
    adm = builders.admin(session)
    op = builders.operator(session)
    user = admin.change_role(session, adm, op.user_id, Role.CONSULTANT)
    user.display_name = "系统管理员"
    session.commit()
    client = page_client_for(adm)
    en = client.get("/admin/users?lang=en").text
    assert "系统管理员" not in en and problems_on(en, lang="en") == []
    assert "系统管理员" in client.get("/admin/users?lang=zh_Hans").text
