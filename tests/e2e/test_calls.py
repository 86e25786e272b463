"""Issue 20 in a real browser (a phone screen): a case-collection campaign collects a case, a consultant on
the panel scores it, the operator selects it and it is a 标杆 in the case library; a post-completion award
(改造后补贴) passes acceptance and is paid. Each role sees only its side."""

from __future__ import annotations

from datetime import timedelta

import pytest

from smeai.db import utcnow
from smeai.subsidy import service as subsidy_service
from tests import builders
from tests.calls import builders as cb
from tests.e2e.helpers import login, shot
from tests.subsidy.test_acceptance import SUZHOU, apply

pytestmark = pytest.mark.e2e


def _login(browser, base: str, email: str):
    context = browser.new_context(viewport={"width": 390, "height": 844}, locale="zh-CN")
    page = context.new_page()
    page.set_default_timeout(15_000)
    page.on("dialog", lambda dialog: dialog.accept())
    login(page, base, email)
    return page


def test_a_campaign_collects_scores_and_selects_a_case(session, live_server, browser):
    op = builders.operator(session, email="op@centre.cn")
    reviewer = builders.consultant(session, email="zhao@centre.cn")
    other_reviewer = builders.consultant(session, email="qian@centre.cn")
    builders.enterprise(session, "冀中精工紧固件有限公司", email="firm@fastener.cn")
    builders.enterprise(session, "另一家企业有限公司", email="other@else.cn")
    campaign = cb.campaign(session, op, [reviewer, other_reviewer])
    session.commit()
    path = f"{live_server}/calls/campaigns/{campaign.id}"

    firm = _login(browser, live_server, "firm@fastener.cn")
    firm.goto(live_server + "/calls")
    firm.click(f"a[href='/calls/campaigns/{campaign.id}']")
    firm.fill("#f-title", "冷镦产线 AI 视觉质检")
    firm.select_option("#f-province_code", "13")
    firm.select_option("#f-industry", "C33")
    firm.check("input[name=scenarios][value=quality_inspection]")
    firm.fill("#f-problem", "表面裂纹靠人工目检，漏检率约 3%。")
    firm.fill("#f-solution", "工业相机加缺陷分割模型，边缘推理。")
    firm.fill("#f-effect", "漏检率从 3.1% 降到 0.4%。")
    firm.click(f"form[action='/calls/campaigns/{campaign.id}/entries'] button")
    assert "评审组将进行评审" in firm.locator(".alert").first.inner_text()
    assert firm.locator("section.card h3", has_text="冷镦产线 AI 视觉质检").count() == 1
    shot(firm, "entered", prefix="calls-")

    other = _login(browser, live_server, "other@else.cn")
    other.goto(path)
    assert other.locator("text=冷镦产线 AI 视觉质检").count() == 0  # another enterprise sees no entry
    other.context.close()

    zhao = _login(browser, live_server, "zhao@centre.cn")
    zhao.goto(path)
    selects = zhao.locator("form[action$='/score'] select")
    selects.nth(0).select_option("8")
    selects.nth(1).select_option("9")
    zhao.click("form[action$='/score'] button")
    assert "8.70" in zhao.locator("main").inner_text()  # 8×30 + 9×70 = 870: its own weighted score
    qian = _login(browser, live_server, "qian@centre.cn")
    qian.goto(path)
    assert "8.70" not in qian.locator("main").inner_text()  # never another reviewer's score
    assert qian.locator("form[action$='/score']").count() == 1
    qian.context.close()

    operator = _login(browser, live_server, "op@centre.cn")
    operator.goto(path)
    assert "8.70" in operator.locator("main").inner_text()
    operator.click("form[action$='/select'] button")
    assert "标杆" in operator.locator(".alert").first.inner_text()
    operator.click("text=在案例库中查看")
    assert operator.locator(".badge.bench").count() == 1
    assert campaign.title in operator.locator("main").inner_text()
    shot(operator, "benchmark", prefix="calls-")


def test_a_post_completion_award_passes_acceptance_and_is_paid(session, live_server, browser):
    ent = builders.enterprise(session, "苏相精密机械有限公司", profile=SUZHOU, email="lu@suxiang.cn")
    op = builders.operator(session, email="wang@centre.cn")
    builders.provider(session, email="sales@supplier.cn")
    subsidy_service.set_pool_budget(session, op, "xiangcheng-retrofit", 1000 * 1_000_000)
    app = apply(session, ent)  # the finished project's contract, invoice, payment and delivery proof
    session.commit()
    url = f"{live_server}/subsidy/applications/{app.id}"

    lu = _login(browser, live_server, "lu@suxiang.cn")
    lu.goto(url)
    assert lu.locator("form[action$='/accept']").count() == 0  # the centre's side only
    assert lu.locator("form[action$='/redeem']").count() == 0  # nothing to redeem: the centre pays

    provider = _login(browser, live_server, "sales@supplier.cn")
    assert provider.goto(url).status == 404
    provider.context.close()

    wang = _login(browser, live_server, "wang@centre.cn")
    wang.goto(url)
    visit = (utcnow().date() - timedelta(days=2)).isoformat()
    wang.fill("#f-site_visit_on", visit)
    wang.fill("#f-m_name_0", "冲压件不良率")
    wang.fill("#f-m_before_0", "2.8")
    wang.fill("#f-m_after_0", "0.9")
    wang.fill("#f-m_unit_0", "%")
    wang.fill("#f-reviewers", "张工, 刘教授")
    wang.fill("#f-conclusion", "按备案内容建成投产，同意验收。")
    wang.check("input[name=passed][value=yes]")
    wang.click("form[action$='/accept'] button[type=submit]")
    assert wang.locator(".state").first.inner_text() == "已批准（已预留）"
    shot(wang, "accepted", prefix="calls-")
    wang.click("form[action$='/pay'] button[type=submit]")
    assert wang.locator(".state").first.inner_text() == "已兑付"

    lu.goto(url)
    text = lu.locator("main").inner_text()
    assert "已兑付" in text and "冲压件不良率" in text and "同意验收" in text
    shot(lu, "paid", prefix="calls-")
