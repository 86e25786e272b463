"""Case collection (征集) and selection (遴选) in a real browser: an enterprise submits a case about the
offering it used, an operator publishes it as 标杆, and it shows beside that offering."""

from __future__ import annotations

import pytest

from smeai.auth.actor import Actor
from smeai.catalog import service as catalog_service
from tests import builders
from tests.catalog import builders as cb
from tests.e2e.helpers import log_out, login

pytestmark = pytest.mark.e2e


def test_enterprise_submits_operator_publishes_benchmark_shown_beside_offering(session, live_server, page):
    catalog_service.import_records(session, Actor.system(), [cb.record(id="cloth-1", name="验布机疵点检测")])
    builders.enterprise(session, "柯桥织造有限公司", email="boss@keqiao.cn")
    builders.operator(session, email="wang@centre.cn")
    session.commit()
    offering = catalog_service.find_offering_by_ext_id(session, "cloth-1")

    login(page, live_server, "boss@keqiao.cn")
    page.goto(live_server + "/cases/new")
    page.fill("#f-title", "织造厂验布机加装疵点检测")
    page.select_option("#f-province_code", "33")
    page.select_option("#f-industry", "C17")
    page.check("input[name=scenarios][value=quality_inspection]")
    page.fill("#f-problem", "夜班验布工疲劳，细小疵点漏检，客户退货索赔频繁。")
    page.fill("#f-solution", "在现有验布机上加装相机与疵点检测系统。")
    page.fill("#f-effect", "漏检率由约 8% 降到 2% 以内。")
    page.fill("#f-offering_ids", "cloth-1")
    page.click("text=提交审核")
    assert "感谢提交" in page.locator(".alert.ok").inner_text()
    log_out(page)

    login(page, live_server, "wang@centre.cn")
    page.goto(live_server + "/cases/review")
    page.click("text=织造厂验布机加装疵点检测")
    page.check("input[name=benchmark]")
    page.click("button:has-text('发布')")
    page.wait_for_url(live_server + "/cases/review")
    log_out(page)

    page.goto(live_server + f"/catalog/offerings/{offering.id}")
    assert "织造厂验布机加装疵点检测" in page.locator("main").inner_text()
    assert "标杆案例" in page.locator("main").inner_text()
    page.goto(live_server + "/cases?q=瑕疵检测&benchmark=yes")
    assert page.locator(".hit h3 a").first.inner_text() == "织造厂验布机加装疵点检测"
