"""Need → match → interest → provider response → contract → outcome → case, in a real browser, with
each role seeing only its side."""

from __future__ import annotations

import pytest

from tests import builders
from tests.e2e.helpers import log_out, login, shot
from tests.matching.builders import offering


def _shot(page, name: str) -> None:
    shot(page, name, prefix="matching-")


pytestmark = pytest.mark.e2e


def _logout(page) -> None:
    log_out(page)


def test_need_to_case_with_each_side_seeing_only_its_own(session, live_server, page):
    profile = {"industry_section": "C", "mfg_division": "33", "province_code": "13", "city": "邯郸"}
    builders.enterprise(session, "永年紧固件有限公司", profile=profile, email="boss@bolts.cn")
    builders.enterprise(session, "邻厂纺织有限公司", profile=profile, email="other@textile.cn")
    builders.provider(session, "杭州智瞳视觉科技有限公司", email="sales@zhitong.cn")
    builders.provider(session, "别家视觉", email="rival@vision.cn")
    offering(session, "杭州智瞳视觉科技有限公司", id="e2e-qc", name="瑕疵眼·工业外观缺陷检测云")
    offering(
        session, "别家视觉", id="e2e-other", name="别家质检盒子", pricing={"model": "one_off", "entry_price_wan": 12}
    )
    session.commit()

    # The enterprise describes its need in its own words.
    login(page, live_server, "boss@bolts.cn")
    page.goto(live_server + "/matching/needs/new")
    page.fill("#f-title", "螺栓出货前外观全检")
    page.fill("#f-text", "出货前全靠几个老师傅拿眼睛挑，裂纹、缺牙经常漏掉，客户已经退过两次货。")
    page.fill("#f-budget_wan", "30")
    page.click("text=保存并匹配方案")
    matches = page.locator("#matches")
    assert "瑕疵眼·工业外观缺陷检测云" in matches.inner_text()
    assert "适用行业：金属制品业" in matches.inner_text() and "符合预算" in matches.inner_text()
    assert page.locator("#scenarios input[value=quality_inspection]").is_checked()  # detected from the words
    _shot(page, "need")
    need_url = page.url
    page.click("button[data-offering=e2e-qc]")
    assert "服务商已收到通知" in page.locator("#actions").inner_text()
    engagement_url = page.url
    engagement_api = live_server + "/api/v1/engagements/" + engagement_url.rsplit("/", 1)[1]
    need_api = live_server + "/api/v1/needs/" + need_url.rsplit("/", 1)[1]
    _logout(page)

    # Another enterprise and the provider that was not chosen see nothing of it.
    for outsider in ("other@textile.cn", "rival@vision.cn"):
        login(page, live_server, outsider)
        # Asked with the browser's own session (the page edge calls the same scoped services).
        assert page.request.get(engagement_api).status == 404
        assert page.request.get(need_api).status in (403, 404)
        page.goto(live_server + "/matching")
        assert "螺栓出货前外观全检" not in page.locator("main").inner_text()
        _logout(page)

    # The provider is notified and responds; it cannot open the need itself.
    login(page, live_server, "sales@zhitong.cn")
    page.goto(live_server + "/matching")
    assert "有 1 家企业对您的方案表达了意向" in page.locator("#notifications").inner_text()
    page.click("#engagements a")
    page.fill("#f-note", "周三上门看产线，带样机试检")
    page.click("text=接受并联系企业")
    assert "周三上门看产线" in page.locator("#response").inner_text()
    page.click("text=标记为：已会谈")
    page.click("text=标记为：方案洽谈")
    _shot(page, "provider")
    assert page.request.get(need_api).status in (403, 404)
    _logout(page)

    # The enterprise signs, takes delivery and reports the outcome as a case.
    login(page, live_server, "boss@bolts.cn")
    page.goto(engagement_url)
    page.click("text=标记为：已签约")
    page.click("text=标记为：已交付")
    page.fill("#f-cost_wan", "18")
    page.fill("#f-effect", "漏检率从 3% 降到 0.5%，一年没再退货")
    page.check("input[name=share_as_case]")
    page.click("text=填报成效")
    assert "漏检率从 3% 降到 0.5%" in page.locator("#outcome").inner_text()
    assert page.locator("#outcome a", has_text="已提交为案例").count() == 1
    history = page.locator("#history").inner_text()
    # the engagement starts when the enterprise acts (interest); a recommendation is not an engagement
    assert "已推荐" not in history
    for label in ("已表达意向", "已引荐", "已会谈", "方案洽谈", "已签约", "已交付", "已评价"):
        assert label in history
    _shot(page, "evaluated")
