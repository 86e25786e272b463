"""A provider lists an offering, an operator approves it (遴选), and an enterprise finds it by a Chinese
query that uses a synonym rather than the listing's own words: in a real browser."""

from __future__ import annotations

import pytest
from playwright.sync_api import expect

from tests import builders
from tests.e2e.helpers import log_out, login, shot

_shot = shot

pytestmark = pytest.mark.e2e


def _logout(page) -> None:
    log_out(page)


def test_provider_lists_operator_approves_enterprise_finds_by_synonym(session, live_server, page):
    builders.provider(session, "绍兴织眼科技有限公司", email="pm@zhiyan.cn")
    builders.operator(session, email="wang@centre.cn")
    builders.enterprise(session, "柯桥印染有限公司", email="boss@keqiao.cn")
    session.commit()

    # the provider lists and submits
    login(page, live_server, "pm@zhiyan.cn")
    page.goto(live_server + "/catalog/provider/new")
    page.fill("#f-name", "织物外观检测仪")
    page.select_option("#f-kind", "appliance")
    page.fill("#f-summary", "装在验布机上，自动发现布匹上的断经、破洞和油污。")
    page.check("input[name=scenarios][value=quality_inspection]")
    page.select_option("#f-industries", ["L5"])
    page.check("input[name=deployment][value=appliance]")
    page.select_option("#f-pricing_model", "one_off")
    page.fill("#f-entry_price_wan", "16")
    page.fill("#f-tags", "验布, 疵点")
    _shot(page, "catalog-form")
    page.click("text=保存并提交审核")
    page.wait_for_url(live_server + "/catalog/provider")
    assert "审核中" in page.locator("table.data").inner_text()
    _logout(page)

    # not visible to anyone before review
    page.goto(live_server + "/catalog?q=验布")
    assert "织物外观检测仪" not in page.content()

    # the operator reviews against the checklist and approves
    login(page, live_server, "wang@centre.cn")
    page.goto(live_server + "/catalog/review")
    page.click("text=织物外观检测仪")
    for box in page.locator("#review-form input[type=checkbox]").all():
        box.check()
    _shot(page, "catalog-review")
    page.click("text=通过并发布")
    page.wait_for_url(live_server + "/catalog/review")
    assert "暂无待审核内容" in page.content()
    _logout(page)

    # the enterprise searches with a synonym ("瑕疵检测" is none of the listing's words)
    login(page, live_server, "boss@keqiao.cn")
    page.goto(live_server + "/catalog")
    page.fill("input[name=q]", "瑕疵检测")
    page.click(".searchbar button")
    page.wait_for_selector("text=织物外观检测仪")
    _shot(page, "catalog-search")
    page.click("text=织物外观检测仪")
    assert "16 万元" in page.locator("main").inner_text()
    assert "绍兴织眼科技有限公司" in page.locator("main").inner_text()


def test_facets_filter_in_place(session, live_server, page):
    from smeai.auth.actor import Actor
    from smeai.catalog import service
    from tests.catalog import builders as cb

    service.import_records(
        session,
        Actor.system(),
        [
            cb.record(id="f-1", name="验布机疵点检测", kind="appliance"),
            cb.record(id="f-2", name="质检模型训练云", kind="saas", deployment=["saas"]),
        ],
    )
    session.commit()
    page.goto(live_server + "/catalog?q=质检")
    assert page.locator(".hit").count() == 2
    page.check("input[name=kind][value=saas]")  # htmx swaps the results without a page load
    page.wait_for_url("**kind=saas**")
    expect(page.locator(".hit")).to_have_count(1)  # no string eval: the page's CSP forbids it
    assert page.locator(".hit h3").inner_text() == "质检模型训练云"
    assert page.locator("input[name=kind][value=saas]").is_checked()
